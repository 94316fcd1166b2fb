package models

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/graph"
)

// The checkpoint format (version 1), all integers little-endian:
//
//	magic    8 bytes  "DSCNTPRM"
//	version  uint32   1
//	dtype    uint8    1 = float32, 2 = float64
//	seed     int64    the Params seed
//	count    uint32   number of tensors
//	count times, in Params order:
//	  name   uint16 length, then that many bytes of UTF-8
//	  dims   uint8 count (1..8), then uint32 per dimension
//	  data   the values, IEEE 754, 4 or 8 bytes each, row-major
//	sum      32 bytes SHA-256 of every byte before it
//
// Readers reject other magics and versions, truncated files, checksum
// mismatches and implausible sizes before allocating for them.
const (
	checkpointMagic   = "DSCNTPRM"
	checkpointVersion = 1
	maxDims           = 8
	maxTensors        = 1 << 20
)

// Save writes p to w in the checkpoint format.
func Save(w io.Writer, p *graph.Params) error {
	if p == nil {
		return errors.New("models: Save: nil params")
	}
	var code uint8
	switch p.Dtype() {
	case tensor.Float32:
		code = 1
	case tensor.Float64:
		code = 2
	default:
		return errors.Errorf("models: Save: unsupported dtype %v", p.Dtype())
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
		if len(name) > math.MaxUint16 || t.Dims() > maxDims {
			return errors.Errorf("models: Save: parameter %q: name or rank too large", name)
		}
		put(uint16(len(name)))
		bw.WriteString(name)
		put(uint8(t.Dims()))
		for _, d := range t.Shape() {
			put(uint32(d))
		}
		put(t.Data()) // []float32 or []float64
	}
	if err := bw.Flush(); err != nil {
		return errors.Wrap(err, "models: Save")
	}
	if _, err := w.Write(h.Sum(nil)); err != nil {
		return errors.Wrap(err, "models: Save")
	}
	return nil
}

// SaveFile writes p to path atomically: to a temporary file in the same
// directory, synced, then renamed over path, so a crash or a full disk never
// leaves a partial checkpoint where a good one was.
func SaveFile(path string, p *graph.Params) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return errors.Wrap(err, "models: SaveFile")
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = Save(f, p); err != nil {
		return errors.Wrapf(err, "models: SaveFile %s", path)
	}
	if err = f.Sync(); err != nil {
		return errors.Wrapf(err, "models: SaveFile %s", path)
	}
	if err = f.Close(); err != nil {
		return errors.Wrapf(err, "models: SaveFile %s", path)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return errors.Wrapf(err, "models: SaveFile %s", path)
	}
	if d, derr := os.Open(dir); derr == nil { // persist the rename
		d.Sync()
		d.Close()
	}
	return nil
}

// Load reads a checkpoint into new Params.
func Load(r io.Reader) (*graph.Params, error) {
	cr := &checkReader{r: bufio.NewReader(r), h: sha256.New()}
	p, err := readParams(cr)
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
	p, err := Load(f)
	return p, errors.Wrapf(err, "%s", path)
}

// LoadInto reads a checkpoint and copies it into p, whose parameters (made
// by training or by Init) must match it exactly: a missing or extra
// parameter, or a shape or dtype that differs, is an error naming it, and p
// is then left unchanged.
func LoadInto(p *graph.Params, r io.Reader) error {
	q, err := Load(r)
	if err != nil {
		return err
	}
	if err := p.CopyFrom(q); err != nil {
		return errors.Wrap(err, "models: checkpoint does not match the model")
	}
	return nil
}

// checkReader hashes what it reads, so the trailing sum can be checked.
type checkReader struct {
	r   *bufio.Reader
	h   hash.Hash
	off int64
}

func (c *checkReader) read(field string, buf []byte) error {
	n, err := io.ReadFull(c.r, buf)
	c.h.Write(buf[:n])
	c.off += int64(n)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return errors.Errorf("truncated at byte %d reading %s", c.off, field)
	}
	return errors.Wrapf(err, "reading %s", field)
}

func (c *checkReader) uint(field string, size int) (uint64, error) {
	var b [8]byte
	if err := c.read(field, b[:size]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

func readParams(c *checkReader) (*graph.Params, error) {
	magic := make([]byte, len(checkpointMagic))
	if err := c.read("magic", magic); err != nil {
		return nil, err
	}
	if string(magic) != checkpointMagic {
		return nil, errors.Errorf("not a descent checkpoint (magic %q)", magic)
	}
	version, err := c.uint("version", 4)
	if err != nil {
		return nil, err
	}
	if version != checkpointVersion {
		return nil, errors.Errorf("unknown checkpoint version %d (this reader knows %d)", version, checkpointVersion)
	}
	code, err := c.uint("dtype", 1)
	if err != nil {
		return nil, err
	}
	dt, size := tensor.Float32, 4
	switch code {
	case 1:
	case 2:
		dt, size = tensor.Float64, 8
	default:
		return nil, errors.Errorf("unknown dtype code %d", code)
	}
	seed, err := c.uint("seed", 8)
	if err != nil {
		return nil, err
	}
	count, err := c.uint("tensor count", 4)
	if err != nil {
		return nil, err
	}
	if count > maxTensors {
		return nil, errors.Errorf("implausible tensor count %d", count)
	}
	p := graph.NewParams(dt, int64(seed))
	for i := uint64(0); i < count; i++ {
		name, t, err := readTensor(c, i, dt, size)
		if err != nil {
			return nil, err
		}
		if err := p.Add(name, t); err != nil {
			return nil, err
		}
	}
	want := c.h.Sum(nil)
	got := make([]byte, sha256.Size)
	if _, err := io.ReadFull(c.r, got); err != nil {
		return nil, errors.Errorf("truncated: checksum missing after byte %d", c.off)
	}
	if !bytes.Equal(got, want) {
		return nil, errors.Errorf("checksum mismatch: stored %x, computed %x", got[:8], want[:8])
	}
	if _, err := c.r.ReadByte(); err != io.EOF {
		return nil, errors.New("unexpected bytes after the checksum")
	}
	return p, nil
}

func readTensor(c *checkReader, i uint64, dt tensor.Dtype, size int) (string, *tensor.Dense, error) {
	nlen, err := c.uint("name length", 2)
	if err != nil {
		return "", nil, errors.Wrapf(err, "tensor %d", i)
	}
	nb := make([]byte, nlen)
	if err := c.read("name", nb); err != nil {
		return "", nil, errors.Wrapf(err, "tensor %d", i)
	}
	name := string(nb)
	dims, err := c.uint("rank", 1)
	if err != nil {
		return "", nil, errors.Wrapf(err, "parameter %q", name)
	}
	if dims < 1 || dims > maxDims {
		return "", nil, errors.Errorf("parameter %q: rank %d outside 1..%d", name, dims, maxDims)
	}
	shape := make(tensor.Shape, dims)
	total := 1
	for j := range shape {
		d, err := c.uint("dimension", 4)
		if err != nil {
			return "", nil, errors.Wrapf(err, "parameter %q", name)
		}
		if d == 0 || d > math.MaxInt32 || total > math.MaxInt32/int(d) {
			return "", nil, errors.Errorf("parameter %q: implausible shape dimension %d", name, d)
		}
		shape[j] = int(d)
		total *= int(d)
	}
	// Read in bounded pieces: a corrupt header claiming a huge tensor fails
	// at the end of the file instead of allocating for the claim.
	raw := make([]byte, 0, minInt(total*size, 1<<20))
	buf := make([]byte, minInt(total*size, 1<<20))
	for left := total * size; left > 0; {
		piece := buf[:minInt(left, len(buf))]
		if err := c.read("data", piece); err != nil {
			return "", nil, errors.Wrapf(err, "parameter %q %v", name, shape)
		}
		raw = append(raw, piece...)
		left -= len(piece)
	}
	t := tensor.New(tensor.Of(dt), tensor.WithShape(shape...))
	switch d := t.Data().(type) {
	case []float32:
		for k := range d {
			d[k] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*k:]))
		}
	case []float64:
		for k := range d {
			d[k] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*k:]))
		}
	}
	return name, t, nil
}

func minInt(a, b int) int {
	if a < b {
		return a
	}
	return b
}
