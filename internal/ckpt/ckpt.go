// Package ckpt is the one codec of descent's checkpoint files: named tensors,
// each with a role (a model parameter, a non-trainable buffer, an optimizer's
// or a callback's state), plus an opaque metadata record, versioned and
// checksummed. models.Save/Load (weights) and the trainers' training
// checkpoints (weights, optimizer state, progress) both read and write it.
package ckpt

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"math"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/graph"
)

// The format, all integers little-endian:
//
//	magic    8 bytes  "DSCNTPRM"
//	version  uint32   2 (1: the first format, still read)
//	dtype    uint8    1 = float32, 2 = float64
//	seed     int64    the Params seed
//	count    uint32   number of tensors (at most 2^20)
//	count times, parameters first in Params order:
//	  role   uint8    1 parameter, 2 buffer, 3 optimizer state, 4 callback state (version ≥ 2 only)
//	  name   uint16 length (≥ 1), then that many bytes of UTF-8
//	  dims   uint8 count (1..8), then uint32 per dimension (1..2^31−1;
//	         at most 2^31−1 elements in all)
//	  data   the values, IEEE 754, 4 or 8 bytes each, row-major
//	meta     uint32 length, then that many bytes (version ≥ 2 only; a
//	         training checkpoint's progress record, JSON; empty for weights)
//	sum      32 bytes SHA-256 of every byte before it
//
// Version 1 is version 2 without roles (every tensor a parameter) and without
// meta. The encoding is canonical: a version-2 file that decodes encodes
// again to the same bytes. Decode rejects other magics, versions and dtype
// codes, then truncated files, checksum mismatches, trailing bytes and
// implausible sizes, never allocating more than the input's own size.
const (
	Magic       = "DSCNTPRM"
	Version     = 2
	headerSize  = len(Magic) + 4 + 1 // magic, version, dtype
	sumSize     = sha256.Size
	maxDims     = 8
	maxTensors  = 1 << 20
	maxElements = math.MaxInt32
)

// Role says what a tensor of a checkpoint is.
type Role uint8

const (
	Param     Role = 1 // a trainable model parameter
	Buffer    Role = 2 // non-trainable model state (running statistics)
	Optimizer Role = 3 // an optimizer's state (momentum, moments)
	Callback  Role = 4 // a callback's state (EarlyStopping's best weights)
)

func (r Role) String() string {
	switch r {
	case Param:
		return "parameter"
	case Buffer:
		return "buffer"
	case Optimizer:
		return "optimizer state"
	case Callback:
		return "callback state"
	}
	return "unknown role"
}

// Entry is one named tensor of a checkpoint.
type Entry struct {
	Role   Role
	Name   string
	Tensor *tensor.Dense
}

// File is a checkpoint's content.
type File struct {
	Version int // of the file decoded; Encode always writes Version
	Dtype   tensor.Dtype
	Seed    int64
	Tensors []Entry
	Meta    []byte
}

// Encode writes f to w. Tensors the format cannot hold (a scalar, more than 8
// dimensions, a name longer than 65535 bytes, more than 2^31−1 elements, a
// dtype other than f's) are reported before anything is written.
func Encode(w io.Writer, f *File) error {
	if w == nil {
		return errors.New("nil writer")
	}
	code, err := dtypeCode(f.Dtype)
	if err != nil {
		return err
	}
	if len(f.Tensors) > maxTensors {
		return errors.Errorf("%d tensors, the format holds at most %d", len(f.Tensors), maxTensors)
	}
	if len(f.Meta) > math.MaxUint32 {
		return errors.Errorf("metadata of %d bytes, the format holds at most %d", len(f.Meta), math.MaxUint32)
	}
	for _, e := range f.Tensors {
		if err := checkSavable(e, f.Dtype); err != nil {
			return err
		}
	}
	h := sha256.New()
	bw := bufio.NewWriter(io.MultiWriter(w, h))
	le := binary.LittleEndian
	put := func(v interface{}) { _ = binary.Write(bw, le, v) } // bufio defers errors to Flush
	bw.WriteString(Magic)
	put(uint32(Version))
	put(code)
	put(f.Seed)
	put(uint32(len(f.Tensors)))
	for _, e := range f.Tensors {
		put(uint8(e.Role))
		put(uint16(len(e.Name)))
		bw.WriteString(e.Name)
		put(uint8(e.Tensor.Dims()))
		for _, d := range e.Tensor.Shape() {
			put(uint32(d))
		}
		put(e.Tensor.Data()) // []float32 or []float64, checked by checkSavable
	}
	put(uint32(len(f.Meta)))
	bw.Write(f.Meta)
	if err := bw.Flush(); err != nil {
		return err
	}
	_, err = w.Write(h.Sum(nil))
	return err
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

// checkSavable reports a tensor the format cannot hold.
func checkSavable(e Entry, dt tensor.Dtype) error {
	name, t := e.Name, e.Tensor
	switch {
	case e.Role < Param || e.Role > Callback:
		return errors.Errorf("tensor %.40q: unknown role %d", name, e.Role)
	case name == "" || len(name) > math.MaxUint16:
		return errors.Errorf("%s name %.40q: length %d not in 1..%d", e.Role, name, len(name), math.MaxUint16)
	case t == nil:
		return errors.Errorf("%s %q: nil tensor", e.Role, name)
	case t.Dims() < 1 || t.Dims() > maxDims:
		return errors.Errorf("%s %q: shape %v has %d dimensions, the format holds 1..%d", e.Role, name, t.Shape(), t.Dims(), maxDims)
	case t.Shape().TotalSize() > maxElements:
		return errors.Errorf("%s %q: shape %v has more than %d elements", e.Role, name, t.Shape(), maxElements)
	case t.Dtype() != dt:
		return errors.Errorf("%s %q: dtype %v, the checkpoint is %v", e.Role, name, t.Dtype(), dt)
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
	return errors.Errorf("%s %q: data of %T does not hold the %d values of shape %v", e.Role, name, t.Data(), n, t.Shape())
}

// Decode reads a checkpoint, to the end of r.
func Decode(r io.Reader) (*File, error) {
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
	if _, err := d.header(); err != nil {
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
func decode(data []byte) (*File, error) {
	d := &decoder{buf: data}
	f, err := d.file()
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
			return f, nil
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
	version   int
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
func (d *decoder) header() (tensor.Dtype, error) {
	d.headerErr = true
	have := d.buf[d.off:]
	if len(have) > len(Magic) {
		have = have[:len(Magic)]
	}
	if !bytes.HasPrefix([]byte(Magic), have) {
		return tensor.Dtype{}, errors.Errorf("not a descent checkpoint (magic %q, want %q)", have, Magic)
	}
	if _, err := d.next("magic", len(Magic)); err != nil {
		return tensor.Dtype{}, err
	}
	version, err := d.uint("version", 4)
	if err != nil {
		return tensor.Dtype{}, err
	}
	if version < 1 || version > Version {
		return tensor.Dtype{}, errors.Errorf("unknown checkpoint version %d (this reader knows versions 1 to %d)", version, Version)
	}
	d.version = int(version)
	code, err := d.uint("dtype", 1)
	if err != nil {
		return tensor.Dtype{}, err
	}
	d.headerErr = false
	switch code {
	case 1:
		return tensor.Float32, nil
	case 2:
		return tensor.Float64, nil
	}
	d.headerErr = true
	return tensor.Dtype{}, errors.Errorf("unknown dtype code %d (1 is float32, 2 float64)", code)
}

// file reads everything up to the checksum.
func (d *decoder) file() (*File, error) {
	dt, err := d.header()
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
	f := &File{Version: d.version, Dtype: dt, Seed: int64(seed)}
	seen := map[Role]map[string]bool{}
	for i := uint64(0); i < count; i++ {
		e, err := d.tensor(i, dt)
		if err != nil {
			return nil, err
		}
		if seen[e.Role] == nil {
			seen[e.Role] = map[string]bool{}
		}
		if seen[e.Role][e.Name] {
			return nil, errors.Errorf("tensor %d: %s %q appears twice", i, e.Role, e.Name)
		}
		seen[e.Role][e.Name] = true
		f.Tensors = append(f.Tensors, e)
	}
	if d.version >= 2 {
		n, err := d.uint("metadata length", 4)
		if err != nil {
			return nil, err
		}
		// Bounded by the bytes left: next fails before any allocation.
		meta, err := d.next("metadata", int(n))
		if err != nil {
			return nil, err
		}
		if n > 0 {
			f.Meta = append([]byte(nil), meta...)
		}
	}
	return f, nil
}

func (d *decoder) tensor(i uint64, dt tensor.Dtype) (Entry, error) {
	role := Param
	if d.version >= 2 {
		r, err := d.uint("role", 1)
		if err != nil {
			return Entry{}, errors.Wrapf(err, "tensor %d", i)
		}
		if role = Role(r); role < Param || role > Callback {
			return Entry{}, errors.Errorf("tensor %d: unknown role %d", i, r)
		}
	}
	nlen, err := d.uint("name length", 2)
	if err != nil {
		return Entry{}, errors.Wrapf(err, "tensor %d", i)
	}
	if nlen == 0 {
		return Entry{}, errors.Errorf("tensor %d: %s name is empty", i, role)
	}
	nb, err := d.next("name", int(nlen))
	if err != nil {
		return Entry{}, errors.Wrapf(err, "tensor %d", i)
	}
	name := string(nb)
	dims, err := d.uint("rank", 1)
	if err != nil {
		return Entry{}, errors.Wrapf(err, "%s %q", role, name)
	}
	if dims < 1 || dims > maxDims {
		return Entry{}, errors.Errorf("%s %q: rank %d outside 1..%d", role, name, dims, maxDims)
	}
	shape := make(tensor.Shape, dims)
	total := 1
	for j := range shape {
		dim, err := d.uint("dimension", 4)
		if err != nil {
			return Entry{}, errors.Wrapf(err, "%s %q", role, name)
		}
		if dim == 0 || dim > maxElements || total > maxElements/int(dim) {
			return Entry{}, errors.Errorf("%s %q: implausible dimension %d (shape so far %v)", role, name, dim, shape[:j])
		}
		shape[j] = int(dim)
		total *= int(dim)
	}
	size := 4
	if dt == tensor.Float64 {
		size = 8
	}
	// The size is checked against the bytes left before the tensor is made:
	// a corrupt header claiming a huge tensor fails without allocating.
	raw, err := d.next("data", total*size)
	if err != nil {
		return Entry{}, errors.Wrapf(err, "%s %q %v", role, name, shape)
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
	return Entry{Role: role, Name: name, Tensor: t}, nil
}

// Weights lists p's tensors as entries: its parameters, in Params order,
// then its buffers (non-trainable state, once graph.Params holds any).
func Weights(p *graph.Params) []Entry {
	out := make([]Entry, 0, p.Len())
	for i := 0; i < p.Len(); i++ {
		out = append(out, Entry{Role: Param, Name: p.Name(i), Tensor: p.At(i)})
	}
	if b, ok := interface{}(p).(buffers); ok {
		for i := 0; i < b.NumBuffers(); i++ {
			out = append(out, Entry{Role: Buffer, Name: b.BufferName(i), Tensor: b.BufferAt(i)})
		}
	}
	return out
}

// buffers is how Params expose non-trainable state; asserted rather than
// called, so that this codec reads and writes buffers as soon as
// graph.Params has them.
type buffers interface {
	NumBuffers() int
	BufferName(i int) string
	BufferAt(i int) *tensor.Dense
}

// Params collects f's parameters and buffers into new Params.
func (f *File) Params() (*graph.Params, error) {
	p := graph.NewParams(f.Dtype, f.Seed)
	for i, e := range f.Tensors {
		var err error
		switch e.Role {
		case Param:
			err = p.Add(e.Name, e.Tensor)
		case Buffer:
			b, ok := interface{}(p).(interface {
				AddBuffer(name string, t *tensor.Dense) error
			})
			if !ok {
				return nil, errors.Errorf("tensor %d: buffer %q, which these Params cannot hold", i, e.Name)
			}
			err = b.AddBuffer(e.Name, e.Tensor)
		}
		if err != nil {
			return nil, errors.Wrapf(err, "tensor %d", i)
		}
	}
	return p, nil
}
