package datasets

import (
	"compress/gzip"
	"context"
	"encoding/csv"
	"io"
	"os"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// IDXStreamOptions say how OpenIDXStream reads a pair of IDX files.
type IDXStreamOptions struct {
	// Dtype is tensor.Float64 (the default, as in MNISTOptions) or
	// tensor.Float32.
	Dtype tensor.Dtype
	// Layout is Flat (the default) or NCHW.
	Layout ImageLayout
	// Stream sets the shuffle buffer, prefetching and memory budget.
	Stream StreamOptions
}

// IDXStream is a Source streamed from an IDX file of images (unsigned
// bytes, dimensions (N, rows, cols) or (N, features...)) and one of labels
// (N), gzip-compressed or not: the MNIST family without loading it. Pixels
// are scaled to [0, 1] and labels are class indices, exactly as LoadMNIST
// does. Part r of P keeps the examples i ≡ r (mod P) of the files; a file
// is read in order, so a shuffled pass mixes only through the shuffle
// buffer (convert to shards with WriteShards for shard-level shuffling).
type IDXStream struct {
	images, labels string
	sh             streamShape
	n              int
	hdr            [2]int // header bytes of the two files
	opt            StreamOptions
	lut            [256]float64
}

// OpenIDXStream reads the headers of the images and labels files and checks
// that they agree; it reads no examples.
func OpenIDXStream(images, labels string, opt IDXStreamOptions) (*IDXStream, error) {
	dt := opt.Dtype
	if dt.Type == nil {
		dt = tensor.Float64
	}
	if err := checkDtype("OpenIDXStream", dt); err != nil {
		return nil, err
	}
	is, err := idxFileShape(images)
	if err != nil {
		return nil, err
	}
	ls, err := idxFileShape(labels)
	if err != nil {
		return nil, err
	}
	if len(is) < 2 {
		return nil, errors.Errorf("datasets: OpenIDXStream: %s has dimensions %v: want (examples, features...)", images, tensor.Shape(is))
	}
	if len(ls) != 1 {
		return nil, errors.Errorf("datasets: OpenIDXStream: %s has dimensions %v: want (labels)", labels, tensor.Shape(ls))
	}
	if is[0] != ls[0] {
		return nil, errors.Errorf("datasets: OpenIDXStream: %s holds %d images but %s holds %d labels", images, is[0], labels, ls[0])
	}
	xs := tensor.Shape{sizeOf(is[1:])}
	switch {
	case opt.Layout == NCHW && len(is) == 3:
		xs = tensor.Shape{1, is[1], is[2]}
	case opt.Layout == NCHW:
		return nil, errors.Errorf("datasets: OpenIDXStream: %s has dimensions %v: NCHW needs (images, rows, cols)", images, tensor.Shape(is))
	case opt.Layout != Flat:
		return nil, errors.Errorf("datasets: OpenIDXStream: unknown layout %d", opt.Layout)
	}
	s := &IDXStream{images: images, labels: labels, sh: newStreamShape(dt, xs, tensor.Shape{}), n: is[0], opt: opt.Stream,
		hdr: [2]int{4 + 4*len(is), 4 + 4*len(ls)}}
	if err := checkStreamOptions("OpenIDXStream "+images, opt.Stream, s.sh); err != nil {
		return nil, err
	}
	for i := range s.lut {
		if dt == tensor.Float32 {
			s.lut[i] = float64(float32(i) / 255)
		} else {
			s.lut[i] = float64(i) / 255
		}
	}
	return s, nil
}

// idxFileShape reads the dimensions of an IDX file.
func idxFileShape(path string) ([]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errors.Wrap(err, "datasets: OpenIDXStream")
	}
	defer f.Close()
	src, closer, err := maybeGunzip(f)
	if err != nil {
		return nil, errors.Wrapf(err, "datasets: %s", path)
	}
	defer closer.Close()
	shape, size, err := readIDXHeader(src, path, maxIDXBytes, "")
	if err != nil {
		return nil, err
	}
	// An uncompressed file's length is known now: a header that promises
	// more or less data than the file holds is an error here, not after a
	// pass has begun (a gzipped file's is checked as it is read).
	if _, gz := closer.(*gzip.Reader); !gz {
		st, err := f.Stat()
		if err != nil {
			return nil, errors.Wrap(err, "datasets: OpenIDXStream")
		}
		if want := int64(4+4*len(shape)) + int64(size); st.Mode().IsRegular() && st.Size() != want {
			return nil, errors.Errorf("datasets: %s: %d bytes, but its dimensions %v need %d (a %d-byte header and %d bytes of data)",
				path, st.Size(), tensor.Shape(shape), want, 4+4*len(shape), size)
		}
	}
	return shape, nil
}

func (s *IDXStream) Len() int                    { return s.n }
func (s *IDXStream) XShape() tensor.Shape        { return s.sh.xshape.Clone() }
func (s *IDXStream) YShape() tensor.Shape        { return tensor.Shape{} }
func (s *IDXStream) Dtype() tensor.Dtype         { return s.sh.dt }
func (s *IDXStream) PartLen(part, parts int) int { return StridedLen(s.n, part, parts) }

// Open starts a pass over the examples i ≡ Part (mod Parts), in file
// order, through the shuffle buffer when Shuffle.
func (s *IDXStream) Open(ctx context.Context, p Pass) (Stream, error) {
	parts, err := checkPass("IDXStream.Open", p, s.PartLen)
	if err != nil {
		return nil, err
	}
	it := &idxIter{s: s, part: p.Part, parts: parts, pix: make([]byte, s.sh.xf)}
	for k, path := range []string{s.images, s.labels} {
		f, err := os.Open(path)
		if err != nil {
			it.close()
			return nil, errors.Wrap(err, "datasets: IDXStream.Open")
		}
		it.f[k] = f
		src, closer, err := maybeGunzip(f)
		if err != nil {
			it.close()
			return nil, errors.Wrapf(err, "datasets: %s", path)
		}
		it.src[k], it.z[k] = src, closer
		if _, _, err := readIDXHeader(src, path, maxIDXBytes, ""); err != nil {
			it.close()
			return nil, err
		}
	}
	o := s.opt.forPart(s.PartLen(p.Part, parts))
	return newPipeStream(ctx, s.sh, newPipe(it, s.sh.recBytes(), p, p.Part, o), o), nil
}

type idxIter struct {
	s           *IDXStream
	part, parts int
	f           [2]*os.File
	src         [2]io.Reader
	z           [2]io.Closer
	i           int // next example of the files
	pix         []byte
	lab         [1]byte
}

func (it *idxIter) next(dst []byte) error {
	s := it.s
	for ; it.i < s.n; it.i++ {
		if k, err := io.ReadFull(it.src[0], it.pix); err != nil {
			return it.truncated(0, int64(s.hdr[0])+int64(it.i)*int64(len(it.pix))+int64(k), err)
		}
		if k, err := io.ReadFull(it.src[1], it.lab[:]); err != nil {
			return it.truncated(1, int64(s.hdr[1])+int64(it.i)+int64(k), err)
		}
		if it.i%it.parts != it.part {
			continue
		}
		for j, p := range it.pix {
			putValue(dst, s.sh.dt, j, s.lut[p])
		}
		putValue(dst, s.sh.dt, len(it.pix), float64(it.lab[0]))
		it.i++
		return nil
	}
	for k, path := range []string{s.images, s.labels} {
		var b [1]byte
		if m, _ := io.ReadFull(it.src[k], b[:]); m > 0 {
			return errors.Errorf("datasets: %s: offset %d: more data than the dimensions say", path, s.hdr[k]+s.n*[]int{len(it.pix), 1}[k])
		}
	}
	return io.EOF
}

func (it *idxIter) truncated(k int, off int64, err error) error {
	path := []string{it.s.images, it.s.labels}[k]
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errors.Errorf("datasets: %s: offset %d (uncompressed): truncated in example %d of %d", path, off, it.i, it.s.n)
	}
	return errors.Wrapf(err, "datasets: %s: offset %d (uncompressed), example %d", path, off, it.i)
}

func (it *idxIter) close() error {
	var first error
	for k := range it.f {
		if it.z[k] != nil {
			it.z[k].Close()
		}
		if it.f[k] != nil {
			if err := it.f[k].Close(); err != nil && first == nil {
				first = err
			}
			it.f[k] = nil
		}
	}
	return first
}

// CSVStream is a Source streamed from a CSV file (gzip-compressed or not),
// parsed as ReadCSV does. OpenCSVStream reads the file once to count and
// check its lines; a pass reads it again, keeping the lines i ≡ Part
// (mod Parts), in file order (shuffled only through the shuffle buffer).
type CSVStream struct {
	path string
	copt CSVOptions
	sh   streamShape
	n    int
	opt  StreamOptions
}

// OpenCSVStream checks every line of the file, holding one at a time.
func OpenCSVStream(path string, copt CSVOptions, opt StreamOptions) (*CSVStream, error) {
	s := &CSVStream{path: path, copt: copt, opt: opt}
	it, err := s.iter(0, 1)
	if err != nil {
		return nil, err
	}
	defer it.close()
	for {
		_, err := it.row()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		s.n++
	}
	if s.n == 0 {
		return nil, errors.Errorf("datasets: %s: no data lines", path)
	}
	ys := tensor.Shape{len(it.rows.targets)}
	if copt.ClassIndex {
		ys = tensor.Shape{}
	}
	s.sh = newStreamShape(it.dt, tensor.Shape{it.rows.width - len(it.rows.targets)}, ys)
	if err := checkStreamOptions("OpenCSVStream "+path, opt, s.sh); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *CSVStream) Len() int                    { return s.n }
func (s *CSVStream) XShape() tensor.Shape        { return s.sh.xshape.Clone() }
func (s *CSVStream) YShape() tensor.Shape        { return s.sh.yshape.Clone() }
func (s *CSVStream) Dtype() tensor.Dtype         { return s.sh.dt }
func (s *CSVStream) PartLen(part, parts int) int { return StridedLen(s.n, part, parts) }

// Open starts a pass over the lines i ≡ Part (mod Parts).
func (s *CSVStream) Open(ctx context.Context, p Pass) (Stream, error) {
	parts, err := checkPass("CSVStream.Open", p, s.PartLen)
	if err != nil {
		return nil, err
	}
	it, err := s.iter(p.Part, parts)
	if err != nil {
		return nil, err
	}
	o := s.opt.forPart(s.PartLen(p.Part, parts))
	return newPipeStream(ctx, s.sh, newPipe(it, s.sh.recBytes(), p, p.Part, o), o), nil
}

func (s *CSVStream) iter(part, parts int) (*csvIter, error) {
	f, err := os.Open(s.path)
	if err != nil {
		return nil, errors.Wrap(err, "datasets: CSVStream")
	}
	cr, z, dt, err := newCSVReader(f, s.path, s.copt, 0)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &csvIter{s: s, f: f, z: z, cr: cr, dt: dt, part: part, parts: parts}, nil
}

type csvIter struct {
	s           *CSVStream
	f           *os.File
	z           io.Closer
	cr          *csv.Reader
	dt          tensor.Dtype
	rows        csvRows
	xs, ys      []float64
	i           int
	part, parts int
}

// row reads and parses the next line into it.xs, it.ys.
func (it *csvIter) row() (int, error) {
	rec, err := it.rows.next(it.cr, it.s.path, it.s.copt)
	if err != nil {
		return 0, err
	}
	it.xs, it.ys, err = it.rows.parse(it.cr, rec, it.s.path, it.s.copt, it.dt, it.xs[:0], it.ys[:0])
	it.i++
	return it.i - 1, err
}

func (it *csvIter) next(dst []byte) error {
	for {
		i, err := it.row()
		if err == io.EOF && it.i != it.s.n {
			return errors.Errorf("datasets: %s: %d data lines, there were %d when it was opened", it.s.path, it.i, it.s.n)
		}
		if err != nil {
			return err
		}
		if it.i > it.s.n {
			return errors.Errorf("datasets: %s: more than the %d data lines there were when it was opened", it.s.path, it.s.n)
		}
		if len(it.xs) != it.s.sh.xf || len(it.ys) != it.s.sh.yf {
			return errors.Errorf("datasets: %s: line of data %d has %d features and %d targets, want %d and %d", it.s.path, i, len(it.xs), len(it.ys), it.s.sh.xf, it.s.sh.yf)
		}
		if i%it.parts != it.part {
			continue
		}
		for j, v := range it.xs {
			putValue(dst, it.dt, j, v)
		}
		for j, v := range it.ys {
			putValue(dst, it.dt, it.s.sh.xf+j, v)
		}
		return nil
	}
}

func (it *csvIter) close() error {
	it.z.Close()
	return it.f.Close()
}
