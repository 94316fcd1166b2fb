package graph

import (
	"sort"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// Params holds a model's parameters: named tensors that live apart from any
// graph, in the order they were first created. The zero value is not usable;
// make one with NewParams.
//
// Besides the trainable parameters it holds buffers: non-trainable state such
// as BatchNorm's running statistics (Builder.Buffer). Buffers have names of
// their own (no name is both a parameter and a buffer), are never
// differentiated nor seen by an optimizer, and are saved, cloned and copied
// with the parameters. Names, Len, At and NumScalars are about the trainable
// parameters only; BufferNames, NumBuffers and BufferAt about the buffers.
//
// Params is not safe for concurrent mutation; concurrent reads are fine, and
// so are concurrent Runs of Programs built from the same Params (each graph
// has its own tensor headers over the shared memory) while nothing writes the
// parameters.
type Params struct {
	dtype  tensor.Dtype
	seed   int64
	names  []string
	values map[string]*tensor.Dense

	bufNames []string // buffers, in creation order
	buffers  map[string]*tensor.Dense
}

// NewParams returns an empty set of parameters of the given dtype (Float32 or
// Float64; another dtype is reported by the first Builder.Param). seed seeds
// every initializer, each under its parameter's name.
func NewParams(dt tensor.Dtype, seed int64) *Params {
	return &Params{dtype: dt, seed: seed, values: map[string]*tensor.Dense{}, buffers: map[string]*tensor.Dense{}}
}

// Dtype is the element type of every parameter.
func (p *Params) Dtype() tensor.Dtype { return p.dtype }

// Seed is the seed initializers draw from.
func (p *Params) Seed() int64 { return p.seed }

// Len is the number of parameter tensors.
func (p *Params) Len() int { return len(p.names) }

// Names lists the parameters in creation order (a copy).
func (p *Params) Names() []string { return append([]string(nil), p.names...) }

// Name is the i-th parameter's name in creation order.
func (p *Params) Name(i int) string { return p.names[i] }

// Value returns the tensor of the named parameter, or nil if there is none.
// Every graph built from p reads this tensor's memory: writing into it
// changes the model.
func (p *Params) Value(name string) *tensor.Dense { return p.values[name] }

// At returns the i-th parameter's tensor in creation order.
func (p *Params) At(i int) *tensor.Dense { return p.values[p.names[i]] }

// NumScalars is the total number of scalars over all parameters.
func (p *Params) NumScalars() int {
	n := 0
	for _, name := range p.names {
		n += p.values[name].Shape().TotalSize()
	}
	return n
}

// Add stores t under name. It is how loaders restore saved parameters; models
// create theirs through Builder.Param. t must have the Params' dtype and the
// name must be new.
func (p *Params) Add(name string, t *tensor.Dense) error {
	if err := p.checkNew("parameter", name, t); err != nil {
		return err
	}
	p.names = append(p.names, name)
	p.values[name] = t
	return nil
}

// AddBuffer stores t under name as a buffer: non-trainable state. It is how
// loaders restore saved buffers; layers create theirs through
// Builder.Buffer. t must have the Params' dtype and the name must be new
// among parameters and buffers.
func (p *Params) AddBuffer(name string, t *tensor.Dense) error {
	if err := p.checkNew("buffer", name, t); err != nil {
		return err
	}
	if p.buffers == nil {
		p.buffers = map[string]*tensor.Dense{}
	}
	p.bufNames = append(p.bufNames, name)
	p.buffers[name] = t
	return nil
}

// checkNew reports why t cannot be stored under name.
func (p *Params) checkNew(kind, name string, t *tensor.Dense) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if name == "" {
		return errors.Errorf("graph: %s name is empty", kind)
	}
	if t == nil {
		return errors.Errorf("graph: %s %q: nil tensor", kind, name)
	}
	for other, m := range map[string]map[string]*tensor.Dense{"parameter": p.values, "buffer": p.buffers} {
		if _, ok := m[name]; ok && other == kind {
			return errors.Errorf("graph: %s %q already exists", kind, name)
		} else if ok {
			return errors.Errorf("graph: %s %q: a %s of that name already exists", kind, name, other)
		}
	}
	if t.Dtype() != p.dtype {
		return errors.Errorf("graph: %s %q has dtype %s, params are %v", kind, name, DtypeName(t.Dtype()), p.dtype)
	}
	if !t.IsNativelyAccessible() || t.RequiresIterator() {
		return errors.Errorf("graph: %s %q must be a contiguous dense tensor", kind, name)
	}
	return nil
}

// NumBuffers is the number of buffers.
func (p *Params) NumBuffers() int { return len(p.bufNames) }

// BufferNames lists the buffers in creation order (a copy).
func (p *Params) BufferNames() []string { return append([]string(nil), p.bufNames...) }

// BufferName is the i-th buffer's name in creation order.
func (p *Params) BufferName(i int) string { return p.bufNames[i] }

// Buffer returns the tensor of the named buffer, or nil if there is none.
// Evaluation graphs read it; a training Program writes it only in
// CommitState.
func (p *Params) Buffer(name string) *tensor.Dense { return p.buffers[name] }

// BufferAt returns the i-th buffer's tensor in creation order.
func (p *Params) BufferAt(i int) *tensor.Dense { return p.buffers[p.bufNames[i]] }

// Clone returns a deep copy: same names, shapes, seed and values, buffers
// included, new tensors.
func (p *Params) Clone() *Params {
	q := NewParams(p.dtype, p.seed)
	for _, name := range p.names {
		q.names = append(q.names, name)
		q.values[name] = p.values[name].Clone().(*tensor.Dense)
	}
	for _, name := range p.bufNames {
		q.bufNames = append(q.bufNames, name)
		q.buffers[name] = p.buffers[name].Clone().(*tensor.Dense)
	}
	return q
}

// CopyFrom copies src's values, buffers included, into p's existing tensors,
// so graphs bound to p see them. Both must hold the same names with the same
// shapes and dtype.
func (p *Params) CopyFrom(src *Params) error {
	if err := p.Compatible(src); err != nil {
		return err
	}
	for _, name := range p.names {
		if err := copyData(p.values[name], src.values[name]); err != nil {
			return errors.Wrapf(err, "graph: parameter %q", name)
		}
	}
	for _, name := range p.bufNames {
		if err := copyData(p.buffers[name], src.buffers[name]); err != nil {
			return errors.Wrapf(err, "graph: buffer %q", name)
		}
	}
	return nil
}

// Compatible reports, as an error naming the first difference, whether q has
// exactly p's parameter and buffer names, shapes and dtype.
func (p *Params) Compatible(q *Params) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if err := q.Validate(); err != nil {
		return err
	}
	if p.dtype != q.dtype {
		return errors.Errorf("graph: params dtype %v differs from %v", q.dtype, p.dtype)
	}
	if err := sameTensors("parameter", p.names, p.values, q.names, q.values); err != nil {
		return err
	}
	return sameTensors("buffer", p.bufNames, p.buffers, q.bufNames, q.buffers)
}

// sameTensors reports the first difference between two named sets of
// tensors: a missing name, a shape, or unexpected names.
func sameTensors(kind string, names []string, values map[string]*tensor.Dense, qnames []string, qvalues map[string]*tensor.Dense) error {
	for _, name := range names {
		t, ok := qvalues[name]
		if !ok {
			return errors.Errorf("graph: %s %q is missing", kind, name)
		}
		if want := values[name].Shape(); !SameShape(t.Shape(), want) {
			return errors.Errorf("graph: %s %q has shape %v, want %v", kind, name, t.Shape(), want)
		}
	}
	if len(qnames) != len(names) {
		var extra []string
		for _, name := range qnames {
			if _, ok := values[name]; !ok {
				extra = append(extra, name)
			}
		}
		sort.Strings(extra)
		return errors.Errorf("graph: unexpected %ss %q", kind, extra)
	}
	return nil
}

// Float64s is CopyFloat64s.
//
// Deprecated: use CopyFloat64s, whose name says that it returns a copy
// (writing into it changes nothing; SetFloat64s sets values).
func (p *Params) Float64s(name string) []float64 { return p.CopyFloat64s(name) }

func checkDtype(dt tensor.Dtype) error {
	if dt != tensor.Float32 && dt != tensor.Float64 {
		return errors.Errorf("graph: dtype %s is not supported (want float32 or float64)", DtypeName(dt))
	}
	return nil
}

func copyData(dst, src *tensor.Dense) error {
	if dst.Dtype() != src.Dtype() || dst.Shape().TotalSize() != src.Shape().TotalSize() {
		return errors.Errorf("cannot copy %v %v into %v %v", src.Dtype(), src.Shape(), dst.Dtype(), dst.Shape())
	}
	// Float64s and Float32s, not Data: Data boxes the slice (an allocation).
	switch dst.Dtype() {
	case tensor.Float64:
		copy(dst.Float64s(), src.Float64s())
	case tensor.Float32:
		copy(dst.Float32s(), src.Float32s())
	default:
		return errors.Errorf("unsupported dtype %v", dst.Dtype())
	}
	return nil
}
