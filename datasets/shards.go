package datasets

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/atomicfile"
	"github.com/descent-go/descent/internal/rng"
)

// The shard format (docs/datasets.md, "Larger than memory"): a directory
// holding manifest.json and shard files. A shard file is a 32-byte header
// then fixed-size records, so record i is at byte shardHeaderSize +
// i*(payload+4):
//
//	header:  "DSCSHARD" | version uint32 | dtype uint32 (1 float32, 2 float64)
//	         | examples uint64 | payload bytes uint32 | CRC-32C of bytes 0..27
//	record:  x values | y values (little-endian dtype) | CRC-32C of them (uint32)
//
// All integers are little-endian.
const (
	shardMagic      = "DSCSHARD"
	shardVersion    = 1
	shardHeaderSize = 32
	// ManifestName is the name of a shard directory's manifest.
	ManifestName = "manifest.json"
	// manifestFormat names the format in the manifest.
	manifestFormat = "descent-shards"
	// maxManifestBytes bounds the manifest read.
	maxManifestBytes = 64 << 20
	// maxShards bounds the number of shards in a manifest.
	maxShards = 1 << 20
	// maxRecordBytes bounds one record's payload (64 MiB).
	maxRecordBytes = 64 << 20
	// maxExamples bounds the examples of a data set (2^48).
	maxExamples = 1 << 48
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ShardManifest is the content of a shard directory's manifest.json.
type ShardManifest struct {
	Format  string      `json:"format"`  // "descent-shards"
	Version int         `json:"version"` // 1
	Dtype   string      `json:"dtype"`   // "float32" or "float64"
	XShape  []int       `json:"x_shape"` // one example's input shape
	YShape  []int       `json:"y_shape"` // one example's target shape; [] for class indices
	Shards  []ShardInfo `json:"shards"`
}

// ShardInfo describes one shard file.
type ShardInfo struct {
	File     string `json:"file"`     // name in the directory
	Examples int    `json:"examples"` // records in the file
	SHA256   string `json:"sha256"`   // of the whole file, hex
}

// Shards is a Source streamed from a directory of shard files written by
// WriteShards. Part r of P reads the shards i ≡ r (mod P) of the manifest
// and nothing else; a shuffled pass permutes the part's shards (from Seed,
// Epoch and Part) and then mixes their records through the shuffle buffer.
// Every record's CRC is checked as it is read.
type Shards struct {
	dir   string
	man   ShardManifest
	sh    streamShape
	cls   bool
	n     int
	opt   StreamOptions
	paths []string
}

// OpenShards reads and checks the manifest of the shard directory dir and
// the sizes and headers of all its shards; it reads no records. A missing
// shard, a shard whose size or header disagrees with the manifest, or a bad
// manifest is an error naming the file.
func OpenShards(dir string, opt StreamOptions) (*Shards, error) {
	mpath := filepath.Join(dir, ManifestName)
	f, err := os.Open(mpath)
	if err != nil {
		return nil, errors.Wrap(err, "datasets: OpenShards")
	}
	defer f.Close()
	man, err := ReadShardManifest(f, mpath)
	if err != nil {
		return nil, err
	}
	s, err := newShards(dir, man, opt)
	if err != nil {
		return nil, err
	}
	for i := range s.man.Shards {
		g, err := s.openShard(i)
		if err != nil {
			return nil, err
		}
		g.Close()
	}
	return s, nil
}

// ReadShardManifest reads and checks a manifest; name is used in errors.
func ReadShardManifest(r io.Reader, name string) (ShardManifest, error) {
	var m ShardManifest
	b, err := io.ReadAll(io.LimitReader(r, maxManifestBytes+1))
	if err != nil {
		return m, errors.Wrapf(err, "datasets: %s", name)
	}
	if len(b) > maxManifestBytes {
		return m, errors.Errorf("datasets: %s: manifest larger than %d bytes", name, maxManifestBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, errors.Wrapf(err, "datasets: %s: bad manifest", name)
	}
	if dec.More() {
		return m, errors.Errorf("datasets: %s: bad manifest: data after the JSON object", name)
	}
	if err := checkManifest(m); err != nil {
		return m, errors.Wrapf(err, "datasets: %s: bad manifest", name)
	}
	return m, nil
}

func checkManifest(m ShardManifest) error {
	if m.Format != manifestFormat {
		return errors.Errorf("format %q, want %q", m.Format, manifestFormat)
	}
	if m.Version != shardVersion {
		return errors.Errorf("version %d, this reader knows %d", m.Version, shardVersion)
	}
	if _, err := manifestDtype(m.Dtype); err != nil {
		return err
	}
	if len(m.XShape) == 0 {
		return errors.New("x_shape is empty")
	}
	if len(m.XShape) > 8 || len(m.YShape) > 8 {
		return errors.Errorf("x_shape %v or y_shape %v has more than 8 dimensions", m.XShape, m.YShape)
	}
	vals := 0
	for _, s := range [][]int{m.XShape, m.YShape} {
		for i, v := range s {
			if v <= 0 {
				return errors.Errorf("shape %v: dimension %d is %d", s, i, v)
			}
		}
		n, ok := checkedSize(s)
		if !ok || n > maxRecordBytes {
			return errors.Errorf("shape %v is too large", s)
		}
		vals += n
	}
	if vals*8 > maxRecordBytes {
		return errors.Errorf("records of x_shape %v and y_shape %v exceed %d bytes", m.XShape, m.YShape, maxRecordBytes)
	}
	if len(m.Shards) == 0 {
		return errors.New("no shards")
	}
	if len(m.Shards) > maxShards {
		return errors.Errorf("%d shards, at most %d", len(m.Shards), maxShards)
	}
	total := 0
	seen := make(map[string]int, len(m.Shards))
	for i, s := range m.Shards {
		if s.File == "" || s.File != filepath.Base(s.File) || s.File == "." || s.File == ".." || strings.ContainsAny(s.File, `/\`) || s.File == ManifestName {
			return errors.Errorf("shard %d: file %q must be a plain file name in the directory", i, s.File)
		}
		if j, ok := seen[s.File]; ok {
			return errors.Errorf("shards %d and %d are both %q", j, i, s.File)
		}
		seen[s.File] = i
		if s.Examples <= 0 || s.Examples > maxExamples {
			return errors.Errorf("shard %d (%s): %d examples: want 1..%d", i, s.File, s.Examples, int64(maxExamples))
		}
		if b, err := hex.DecodeString(s.SHA256); err != nil || len(b) != sha256.Size {
			return errors.Errorf("shard %d (%s): sha256 %q is not 64 hex digits", i, s.File, s.SHA256)
		}
		total += s.Examples
		if total > maxExamples {
			return errors.Errorf("more than %d examples", int64(maxExamples))
		}
	}
	return nil
}

func manifestDtype(s string) (tensor.Dtype, error) {
	switch s {
	case "float32":
		return tensor.Float32, nil
	case "float64":
		return tensor.Float64, nil
	}
	return tensor.Dtype{}, errors.Errorf("dtype %q, want float32 or float64", s)
}

func newShards(dir string, m ShardManifest, opt StreamOptions) (*Shards, error) {
	dt, _ := manifestDtype(m.Dtype)
	s := &Shards{dir: dir, man: m, sh: newStreamShape(dt, m.XShape, m.YShape), cls: len(m.YShape) == 0, opt: opt}
	if err := checkStreamOptions("OpenShards "+dir, opt, s.sh); err != nil {
		return nil, err
	}
	for _, si := range m.Shards {
		s.n += si.Examples
		s.paths = append(s.paths, filepath.Join(dir, si.File))
	}
	return s, nil
}

// Manifest returns a copy of the manifest.
func (s *Shards) Manifest() ShardManifest {
	m := s.man
	m.Shards = append([]ShardInfo(nil), m.Shards...)
	return m
}

func (s *Shards) Len() int             { return s.n }
func (s *Shards) XShape() tensor.Shape { return s.sh.xshape.Clone() }
func (s *Shards) Dtype() tensor.Dtype  { return s.sh.dt }
func (s *Shards) recordFileBytes() int { return s.sh.recBytes() + 4 }
func (s *Shards) String() string {
	return fmt.Sprintf("Shards{%s: %d examples in %d shards}", s.dir, s.n, len(s.paths))
}
func (s *Shards) YShape() tensor.Shape {
	if len(s.sh.yshape) == 0 {
		return tensor.Shape{}
	}
	return s.sh.yshape.Clone()
}

// PartLen is the number of examples in the shards i ≡ part (mod parts).
func (s *Shards) PartLen(part, parts int) int {
	if parts <= 0 {
		parts = 1
	}
	if part < 0 || part >= parts {
		return 0
	}
	n := 0
	for i := part; i < len(s.man.Shards); i += parts {
		n += s.man.Shards[i].Examples
	}
	return n
}

// openShard opens shard i and checks its size and header against the
// manifest.
func (s *Shards) openShard(i int) (*os.File, error) {
	path := s.paths[i]
	f, err := os.Open(path)
	if err != nil {
		return nil, errors.Wrapf(err, "datasets: shard %d", i)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, errors.Wrapf(err, "datasets: %s", path)
	}
	n := s.man.Shards[i].Examples
	want := int64(shardHeaderSize) + int64(n)*int64(s.recordFileBytes())
	if fi.Size() != want {
		f.Close()
		what := "truncated"
		if fi.Size() > want {
			what = "too long"
		}
		return nil, errors.Errorf("datasets: %s: %s: %d bytes, the manifest's %d examples of %d bytes need %d (the file ends at offset %d)", path, what, fi.Size(), n, s.recordFileBytes(), want, fi.Size())
	}
	var h [shardHeaderSize]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		f.Close()
		return nil, errors.Wrapf(err, "datasets: %s: header", path)
	}
	if err := s.checkHeader(h[:], n); err != nil {
		f.Close()
		return nil, errors.Wrapf(err, "datasets: %s: offset 0: header", path)
	}
	return f, nil
}

func (s *Shards) checkHeader(h []byte, n int) error {
	want := shardHeader(s.sh.dt, n, s.sh.recBytes())
	if string(h[:8]) != shardMagic {
		return errors.Errorf("magic %q, want %q", h[:8], shardMagic)
	}
	if crc32.Checksum(h[:28], castagnoli) != binary.LittleEndian.Uint32(h[28:]) {
		return errors.New("CRC mismatch")
	}
	if !bytes.Equal(h, want) {
		return errors.Errorf("version %d, dtype code %d, %d examples of %d bytes; the manifest says version %d, dtype %s, %d examples of %d bytes",
			binary.LittleEndian.Uint32(h[8:]), binary.LittleEndian.Uint32(h[12:]), binary.LittleEndian.Uint64(h[16:]), binary.LittleEndian.Uint32(h[24:]),
			shardVersion, s.man.Dtype, n, s.sh.recBytes())
	}
	return nil
}

// shardHeader returns the header of a shard of n records of payload bytes.
func shardHeader(dt tensor.Dtype, n, payload int) []byte {
	h := make([]byte, 0, shardHeaderSize)
	h = append(h, shardMagic...)
	h = binary.LittleEndian.AppendUint32(h, shardVersion)
	code := uint32(2)
	if dt == tensor.Float32 {
		code = 1
	}
	h = binary.LittleEndian.AppendUint32(h, code)
	h = binary.LittleEndian.AppendUint64(h, uint64(n))
	h = binary.LittleEndian.AppendUint32(h, uint32(payload))
	return binary.LittleEndian.AppendUint32(h, crc32.Checksum(h, castagnoli))
}

// Open starts a pass over part Pass.Part of Pass.Parts: the shards
// i ≡ Part (mod Parts), in an order drawn from (Seed, Epoch, Part) when
// Shuffle, then through the shuffle buffer.
func (s *Shards) Open(ctx context.Context, p Pass) (Stream, error) {
	parts, err := checkPass("Shards.Open", p, s.PartLen)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, errors.Wrap(err, "datasets: Shards.Open")
	}
	var order []int
	for i := p.Part; i < len(s.paths); i += parts {
		order = append(order, i)
	}
	if p.Shuffle {
		shuffle(order, rng.New(p.Seed, "shard order", uint64(p.Epoch), uint64(p.Part)))
	}
	it := &shardIter{s: s, order: order, rec: make([]byte, s.recordFileBytes())}
	o := s.opt.forPart(s.PartLen(p.Part, parts))
	return newPipeStream(ctx, s.sh, newPipe(it, s.sh.recBytes(), p, p.Part, o), o), nil
}

// shardIter reads the records of a list of shards in turn.
type shardIter struct {
	s     *Shards
	order []int
	k     int // position in order of the open shard
	f     *os.File
	br    *bufio.Reader
	i     int // next record of the open shard
	rec   []byte
}

func (it *shardIter) next(dst []byte) error {
	for it.f == nil || it.i == it.s.man.Shards[it.order[it.k]].Examples {
		if it.f != nil {
			it.f.Close()
			it.f = nil
			it.k++
		}
		if it.k >= len(it.order) {
			return io.EOF
		}
		f, err := it.s.openShard(it.order[it.k])
		if err != nil {
			return err
		}
		it.f, it.i = f, 0
		if it.br == nil {
			it.br = bufio.NewReaderSize(f, readBufSize)
		} else {
			it.br.Reset(f)
		}
	}
	si := it.order[it.k]
	off := int64(shardHeaderSize) + int64(it.i)*int64(len(it.rec))
	// the payload goes straight into dst, then its CRC
	pay := dst[:len(it.rec)-4]
	k, err := io.ReadFull(it.br, pay)
	if err == nil {
		var m int
		m, err = io.ReadFull(it.br, it.rec[:4])
		k += m
	}
	if err != nil {
		return errors.Errorf("datasets: %s: offset %d: record %d: %d of %d bytes: %v", it.s.paths[si], off+int64(k), it.i, k, len(it.rec), err)
	}
	if crc32.Checksum(pay, castagnoli) != binary.LittleEndian.Uint32(it.rec[:4]) {
		return errors.Errorf("datasets: %s: offset %d: record %d: CRC mismatch (corrupt data)", it.s.paths[si], off, it.i)
	}
	if v, what, bad := checkRecord(pay, it.s.sh.dt, it.s.sh.xf, it.s.sh.yf, it.s.cls); bad {
		return errors.Errorf("datasets: %s: offset %d: record %d: value %d is %s", it.s.paths[si], off+int64(v*it.s.sh.esize), it.i, v, what)
	}
	it.i++
	return nil
}

func (it *shardIter) close() error {
	if it.f != nil {
		err := it.f.Close()
		it.f = nil
		return err
	}
	return nil
}

// VerifyShards checks every shard of the directory against the SHA-256 sum
// in its manifest, reading all the data once. OpenShards checks only sizes
// and headers, and reads check each record's CRC.
func VerifyShards(ctx context.Context, dir string) error {
	s, err := OpenShards(dir, StreamOptions{})
	if err != nil {
		return err
	}
	for i, si := range s.man.Shards {
		if err := ctx.Err(); err != nil {
			return errors.Wrap(err, "datasets: VerifyShards")
		}
		f, err := os.Open(s.paths[i])
		if err != nil {
			return errors.Wrap(err, "datasets: VerifyShards")
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return errors.Wrapf(err, "datasets: %s", s.paths[i])
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != strings.ToLower(si.SHA256) {
			return errors.Errorf("datasets: %s: SHA-256 %s, the manifest says %s", s.paths[i], got, si.SHA256)
		}
	}
	return nil
}

// ShardWriteOptions say how WriteShards cuts a Source into shards.
type ShardWriteOptions struct {
	// ExamplesPerShard is the number of examples per shard (the last one
	// may hold fewer); it must be at least 1. Many shards of 64–256 MB
	// let parts and shuffling work; MNIST-shaped float32 examples take
	// 3144 bytes on disk, so 32768 per shard make 100 MB shards.
	ExamplesPerShard int
	// Shuffle writes the examples in the order of the source's pass with
	// Shuffle and Seed (a *Dataset: a full permutation), so that shards
	// are mixed even if the source is sorted, e.g. by class.
	Shuffle bool
	Seed    int64
}

// WriteShards reads one pass of src and writes it into dir (which must
// exist) as shards shard-00000.bin, ... and manifest.json, each file
// atomically, the manifest last. It returns the manifest. A source that
// yields fewer examples than its Len is an error.
func WriteShards(ctx context.Context, dir string, src Source, opt ShardWriteOptions) (ShardManifest, error) {
	var man ShardManifest
	if src == nil {
		return man, errors.New("datasets: WriteShards: nil Source")
	}
	if opt.ExamplesPerShard <= 0 {
		return man, errors.Errorf("datasets: WriteShards: ExamplesPerShard = %d, want >= 1", opt.ExamplesPerShard)
	}
	dt := src.Dtype()
	if err := checkDtype("WriteShards", dt); err != nil {
		return man, err
	}
	n := src.Len()
	if n <= 0 {
		return man, errors.Errorf("datasets: WriteShards: source holds %d examples", n)
	}
	sh := newStreamShape(dt, src.XShape(), src.YShape())
	man = ShardManifest{Format: manifestFormat, Version: shardVersion, Dtype: dt.String(), XShape: []int(sh.xshape.Clone()), YShape: []int(sh.yshape.Clone())}
	if man.YShape == nil {
		man.YShape = []int{}
	}
	if err := checkManifest(ShardManifest{Format: man.Format, Version: man.Version, Dtype: man.Dtype, XShape: man.XShape, YShape: man.YShape,
		Shards: []ShardInfo{{File: "x", Examples: 1, SHA256: strings.Repeat("0", 64)}}}); err != nil {
		return man, errors.Wrap(err, "datasets: WriteShards")
	}
	st, err := src.Open(ctx, Pass{Shuffle: opt.Shuffle, Seed: opt.Seed, Parts: 1})
	if err != nil {
		return man, errors.Wrap(err, "datasets: WriteShards")
	}
	defer st.Close()
	const batch = 256
	x := newZeros(dt, append(tensor.Shape{batch}, sh.xshape...))
	y := newZeros(dt, append(tensor.Shape{batch}, sh.yshape...))
	rec := make([]byte, 0, sh.recBytes()+4)
	done := 0
	for k := 0; done < n; k++ {
		m := opt.ExamplesPerShard
		if m > n-done {
			m = n - done
		}
		name := fmt.Sprintf("shard-%05d.bin", k)
		h := sha256.New()
		err := atomicfile.Write(filepath.Join(dir, name), func(f *os.File) error {
			w := bufio.NewWriterSize(io.MultiWriter(f, h), readBufSize)
			if _, err := w.Write(shardHeader(dt, m, sh.recBytes())); err != nil {
				return err
			}
			for left := m; left > 0; {
				if err := ctx.Err(); err != nil {
					return err
				}
				b := batch
				if b > left {
					b = left
				}
				got, err := st.Read(x, y, b)
				if err == io.EOF || (err == nil && got < b) {
					return errors.Errorf("datasets: WriteShards: the source yielded %d examples, its Len is %d", done+m-left+got, n)
				}
				if err != nil {
					return err
				}
				for r := 0; r < got; r++ {
					rec = encodeRow(rec[:0], dt, x, y, r, sh.xf, sh.yf)
					rec = binary.LittleEndian.AppendUint32(rec, crc32.Checksum(rec, castagnoli))
					if _, err := w.Write(rec); err != nil {
						return err
					}
				}
				left -= got
			}
			return w.Flush()
		})
		if err != nil {
			return man, errors.Wrapf(err, "datasets: WriteShards: %s", filepath.Join(dir, name))
		}
		man.Shards = append(man.Shards, ShardInfo{File: name, Examples: m, SHA256: hex.EncodeToString(h.Sum(nil))})
		done += m
	}
	if k, err := st.Read(x, y, 1); err != io.EOF {
		return man, errors.Errorf("datasets: WriteShards: the source yields more than its Len %d examples (read %d more, %v)", n, k, err)
	}
	b, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return man, errors.Wrap(err, "datasets: WriteShards")
	}
	err = atomicfile.Write(filepath.Join(dir, ManifestName), func(f *os.File) error {
		_, err := f.Write(append(b, '\n'))
		return err
	})
	return man, errors.Wrap(err, "datasets: WriteShards")
}
