package models

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"math"
	"os"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/atomicfile"
)

// The checkpoint format (version 1), all integers little-endian:
//
//	magic    8 bytes  "DSCNTPRM"
//	version  uint32   1
//	dtype    uint8    1 = float32, 2 = float64
//	seed     int64    the Params seed
//	count    uint32   number of tensors (at most 2^20)
//	count times, in Params order:
//	  name   uint16 length (≥ 1), then that many bytes of UTF-8
//	  dims   uint8 count (1..8), then uint32 per dimension (1..2^31−1;
//	         at most 2^31−1 elements in all)
//	  data   the values, IEEE 754, 4 or 8 bytes each, row-major
//	sum      32 bytes SHA-256 of every byte before it
//
// The encoding is canonical: a checkpoint that loads is saved again to the
// same bytes. Readers reject other magics, versions and dtype codes, then
// truncated files, checksum mismatches, trailing bytes and implausible sizes,
// never allocating more than the input's own size for them.
const (
	checkpointMagic   = "DSCNTPRM"
	checkpointVersion = 1
	headerSize        = len(checkpointMagic) + 4 + 1 // magic, version, dtype
	sumSize           = sha256.Size
	maxDims           = 8
	maxTensors        = 1 << 20
	maxElements       = math.MaxInt32
)

// Save writes p to w in the checkpoint format. Parameters the format cannot
// hold (a scalar, more than 8 dimensions, a name longer than 65535 bytes, more
// than 2^31−1 elements) are reported before anything is written.
func Save(w io.Writer, p *graph.Params) error {
	if p == nil {
		return errors.New("models: Save: nil params")
	}
	if w == nil {
		return errors.New("models: Save: nil writer")
	}
	if err := p.Validate(); err != nil {
		return errors.Wrap(err, "models: Save")
	}
	code, err := dtypeCode(p.Dtype())
	if err != nil {
		return errors.Wrap(err, "models: Save")
	}
	if p.Len() > maxTensors {
		return errors.Errorf("models: Save: %d parameters, the format holds at most %d", p.Len(), maxTensors)
	}
	for i := 0; i < p.Len(); i++ {
		if err := checkSavable(p.Name(i), p.At(i)); err != nil {
			return errors.Wrap(err, "models: Save")
		}
	}
	h := sha256.New()
	bw := bufio.NewWriter(io.MultiWriter(w, h))
	le := binary.LittleEndian
	put := func(v interface{}) { _ = binary.Write(bw, le, v) } // bufio defers errors to Flush
	bw.WriteString(checkpointMagic)
	put(uint32(checkpointVersion))
	put(code)
	put(p.Seed())
	put(uint32(p.Len()))
	for i := 0; i < p.Len(); i++ {
		name, t := p.Name(i), p.At(i)
		put(uint16(len(name)))
		bw.WriteString(name)
		put(uint8(t.Dims()))
		for _, d := range t.Shape() {
			put(uint32(d))
		}
		put(t.Data()) // []float32 or []float64, checked by checkSavable
	}
	if err := bw.Flush(); err != nil {
		return errors.Wrap(err, "models: Save")
	}
	if _, err := w.Write(h.Sum(nil)); err != nil {
		return errors.Wrap(err, "models: Save")
	}
	return nil
}

func dtypeCode(dt tensor.Dtype) (uint8, error) {
	switch dt {
	case tensor.Float32:
		return 1, nil
	case tensor.Float64:
		return 2, nil
	}
	return 0, errors.Errorf("unsupported dtype %v (want float32 or float64)", dt)
}

// checkSavable reports a parameter the format cannot hold.
func checkSavable(name string, t *tensor.Dense) error {
	switch {
	case name == "" || len(name) > math.MaxUint16:
		return errors.Errorf("parameter name %.40q: length %d not in 1..%d", name, len(name), math.MaxUint16)
	case t == nil:
		return errors.Errorf("parameter %q: nil tensor", name)
	case t.Dims() < 1 || t.Dims() > maxDims:
		return errors.Errorf("parameter %q: shape %v has %d dimensions, the format holds 1..%d", name, t.Shape(), t.Dims(), maxDims)
	case t.Shape().TotalSize() > maxElements:
		return errors.Errorf("parameter %q: shape %v has more than %d elements", name, t.Shape(), maxElements)
	}
	n := t.Shape().TotalSize()
	switch d := t.Data().(type) {
	case []float32:
		if len(d) == n {
			return nil
		}
	case []float64:
		if len(d) == n {
			return nil
		}
	}
	return errors.Errorf("parameter %q: data of %T does not hold the %d values of shape %v", name, t.Data(), n, t.Shape())
}

// SaveFile writes p to path atomically: to a temporary file in the same
// directory, synced, then renamed over path, so a crash or a full disk never
// leaves a partial checkpoint where a good one was. On failure the file at
// path, if any, is untouched and the temporary file is removed.
func SaveFile(path string, p *graph.Params) error {
	if p == nil {
		return errors.Errorf("models: SaveFile %s: nil params", path)
	}
	err := atomicfile.Write(path, func(f *os.File) error { return Save(f, p) })
	return errors.Wrapf(err, "models: SaveFile %s", path)
}

// Load reads a checkpoint, to the end of r, into new Params.
func Load(r io.Reader) (*graph.Params, error) {
	p, err := load(r)
	if err != nil {
		return nil, errors.Wrap(err, "models: Load")
	}
	return p, nil
}

// LoadFile reads the checkpoint at path into new Params.
func LoadFile(path string) (*graph.Params, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errors.Wrap(err, "models: LoadFile")
	}
	defer f.Close()
	p, err := load(f)
	if err != nil {
		return nil, errors.Wrapf(err, "models: LoadFile %s", path)
	}
	return p, nil
}

// LoadInto reads a checkpoint and copies it into p, whose parameters (made
// by training or by Init) must match it exactly: a missing or extra
// parameter, or a shape or dtype that differs, is an error naming it, and p
// is then left unchanged. Graphs already bound to p see the loaded values;
// p keeps its own seed.
func LoadInto(p *graph.Params, r io.Reader) error {
	if p == nil {
		return errors.New("models: LoadInto: nil params (make them with graph.NewParams and Init)")
	}
	q, err := load(r)
	if err != nil {
		return errors.Wrap(err, "models: LoadInto")
	}
	if err := p.CopyFrom(q); err != nil {
		return errors.Wrap(err, "models: LoadInto: the checkpoint does not match the model")
	}
	return nil
}

func load(r io.Reader) (*graph.Params, error) {
	if r == nil {
		return nil, errors.New("nil reader")
	}
	// Check the header before reading the rest, so that a file of another
	// kind is rejected at once whatever its size.
	head := make([]byte, headerSize)
	n, err := io.ReadFull(r, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, err
	}
	d := &decoder{buf: head[:n]}
	if _, _, err := d.header(); err != nil {
		return nil, err
	}
	buf := bytes.NewBuffer(head)
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, err
	}
	return decode(buf.Bytes())
}

// decode parses a whole checkpoint. A structural error (a size that runs
// past the end, an implausible dimension) in a file whose checksum does not
// hold is reported as a checksum mismatch: the file was damaged or cut, and
// the structural error only says where that showed.
func decode(data []byte) (*graph.Params, error) {
	d := &decoder{buf: data}
	p, err := d.params()
	if err == nil {
		end := d.off
		switch left := len(data) - end; {
		case left < sumSize:
			err = errors.Errorf("truncated at byte %d: checksum incomplete (%d of %d bytes)", len(data), left, sumSize)
		case !sumHolds(data[:end], data[end:end+sumSize]):
			got, want := data[end:end+sumSize], sha256.Sum256(data[:end])
			return nil, errors.Errorf("checksum mismatch: stored %x, computed %x (the file is corrupted)", got, want)
		case left > sumSize:
			return nil, errors.Errorf("%d unexpected bytes after the checksum (which ends at byte %d)", left-sumSize, end+sumSize)
		default:
			return p, nil
		}
	}
	if d.headerErr || (len(data) >= headerSize+sumSize && sumHolds(data[:len(data)-sumSize], data[len(data)-sumSize:])) {
		return nil, err // the bytes are as they were written
	}
	return nil, errors.Wrap(err, "checksum mismatch (the file is corrupted or truncated)")
}

func sumHolds(data, sum []byte) bool {
	s := sha256.Sum256(data)
	return bytes.Equal(s[:], sum)
}

// decoder reads the fields of a checkpoint held in memory, checking every
// size against the bytes left before using it.
type decoder struct {
	buf       []byte
	off       int
	headerErr bool // the error is in the magic, version or dtype
}

func (d *decoder) next(field string, n int) ([]byte, error) {
	if n > len(d.buf)-d.off {
		return nil, errors.Errorf("truncated at byte %d reading %s (%d bytes needed, %d left)", len(d.buf), field, n, len(d.buf)-d.off)
	}
	b := d.buf[d.off : d.off+n]
	d.off += n
	return b, nil
}

func (d *decoder) uint(field string, size int) (uint64, error) {
	b, err := d.next(field, size)
	if err != nil {
		return 0, err
	}
	var v [8]byte
	copy(v[:], b)
	return binary.LittleEndian.Uint64(v[:]), nil
}

// header reads the magic, the version and the dtype code.
func (d *decoder) header() (tensor.Dtype, int, error) {
	d.headerErr = true
	have := d.buf[d.off:]
	if len(have) > len(checkpointMagic) {
		have = have[:len(checkpointMagic)]
	}
	if !bytes.HasPrefix([]byte(checkpointMagic), have) {
		return tensor.Dtype{}, 0, errors.Errorf("not a descent checkpoint (magic %q, want %q)", have, checkpointMagic)
	}
	if _, err := d.next("magic", len(checkpointMagic)); err != nil {
		return tensor.Dtype{}, 0, err
	}
	version, err := d.uint("version", 4)
	if err != nil {
		return tensor.Dtype{}, 0, err
	}
	if version != checkpointVersion {
		return tensor.Dtype{}, 0, errors.Errorf("unknown checkpoint version %d (this reader knows %d)", version, checkpointVersion)
	}
	code, err := d.uint("dtype", 1)
	if err != nil {
		return tensor.Dtype{}, 0, err
	}
	d.headerErr = false
	switch code {
	case 1:
		return tensor.Float32, 4, nil
	case 2:
		return tensor.Float64, 8, nil
	}
	d.headerErr = true
	return tensor.Dtype{}, 0, errors.Errorf("unknown dtype code %d (1 is float32, 2 float64)", code)
}

// params reads everything up to the checksum.
func (d *decoder) params() (*graph.Params, error) {
	dt, size, err := d.header()
	if err != nil {
		return nil, err
	}
	seed, err := d.uint("seed", 8)
	if err != nil {
		return nil, err
	}
	count, err := d.uint("tensor count", 4)
	if err != nil {
		return nil, err
	}
	if count > maxTensors {
		return nil, errors.Errorf("implausible tensor count %d (at most %d)", count, maxTensors)
	}
	p := graph.NewParams(dt, int64(seed))
	for i := uint64(0); i < count; i++ {
		name, t, err := d.tensor(i, dt, size)
		if err != nil {
			return nil, err
		}
		if err := p.Add(name, t); err != nil {
			return nil, errors.Wrapf(err, "tensor %d", i)
		}
	}
	return p, nil
}

func (d *decoder) tensor(i uint64, dt tensor.Dtype, size int) (string, *tensor.Dense, error) {
	nlen, err := d.uint("name length", 2)
	if err != nil {
		return "", nil, errors.Wrapf(err, "tensor %d", i)
	}
	nb, err := d.next("name", int(nlen))
	if err != nil {
		return "", nil, errors.Wrapf(err, "tensor %d", i)
	}
	name := string(nb)
	dims, err := d.uint("rank", 1)
	if err != nil {
		return "", nil, errors.Wrapf(err, "parameter %q", name)
	}
	if dims < 1 || dims > maxDims {
		return "", nil, errors.Errorf("parameter %q: rank %d outside 1..%d", name, dims, maxDims)
	}
	shape := make(tensor.Shape, dims)
	total := 1
	for j := range shape {
		dim, err := d.uint("dimension", 4)
		if err != nil {
			return "", nil, errors.Wrapf(err, "parameter %q", name)
		}
		if dim == 0 || dim > maxElements || total > maxElements/int(dim) {
			return "", nil, errors.Errorf("parameter %q: implausible dimension %d (shape so far %v)", name, dim, shape[:j])
		}
		shape[j] = int(dim)
		total *= int(dim)
	}
	// The size is checked against the bytes left before the tensor is made:
	// a corrupt header claiming a huge tensor fails without allocating.
	raw, err := d.next("data", total*size)
	if err != nil {
		return "", nil, errors.Wrapf(err, "parameter %q %v", name, shape)
	}
	t := tensor.New(tensor.Of(dt), tensor.WithShape(shape...))
	switch v := t.Data().(type) {
	case []float32:
		for k := range v {
			v[k] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*k:]))
		}
	case []float64:
		for k := range v {
			v[k] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*k:]))
		}
	}
	return name, t, nil
}
