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
// Params is not safe for concurrent mutation; concurrent reads are fine, and
// so are concurrent Runs of Programs built from the same Params (each graph
// has its own tensor headers over the shared memory) while nothing writes the
// parameters.
type Params struct {
	dtype  tensor.Dtype
	seed   int64
	names  []string
	values map[string]*tensor.Dense
}

// NewParams returns an empty set of parameters of the given dtype (Float32 or
// Float64; another dtype is reported by the first Builder.Param). seed seeds
// every initializer, each under its parameter's name.
func NewParams(dt tensor.Dtype, seed int64) *Params {
	return &Params{dtype: dt, seed: seed, values: map[string]*tensor.Dense{}}
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
	if err := p.Validate(); err != nil {
		return err
	}
	if name == "" {
		return errors.New("graph: parameter name is empty")
	}
	if t == nil {
		return errors.Errorf("graph: parameter %q: nil tensor", name)
	}
	if _, ok := p.values[name]; ok {
		return errors.Errorf("graph: parameter %q already exists", name)
	}
	if t.Dtype() != p.dtype {
		return errors.Errorf("graph: parameter %q has dtype %s, params are %v", name, DtypeName(t.Dtype()), p.dtype)
	}
	if !t.IsNativelyAccessible() || t.RequiresIterator() {
		return errors.Errorf("graph: parameter %q must be a contiguous dense tensor", name)
	}
	p.names = append(p.names, name)
	p.values[name] = t
	return nil
}

// Clone returns a deep copy: same names, shapes, seed and values, new tensors.
func (p *Params) Clone() *Params {
	q := NewParams(p.dtype, p.seed)
	for _, name := range p.names {
		q.names = append(q.names, name)
		q.values[name] = p.values[name].Clone().(*tensor.Dense)
	}
	return q
}

// CopyFrom copies src's values into p's existing tensors, so graphs bound to
// p see them. Both must hold the same names with the same shapes and dtype.
func (p *Params) CopyFrom(src *Params) error {
	if err := p.Compatible(src); err != nil {
		return err
	}
	for _, name := range p.names {
		if err := copyData(p.values[name], src.values[name]); err != nil {
			return errors.Wrapf(err, "graph: parameter %q", name)
		}
	}
	return nil
}

// Compatible reports, as an error naming the first difference, whether q has
// exactly p's parameter names, shapes and dtype.
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
	for _, name := range p.names {
		t, ok := q.values[name]
		if !ok {
			return errors.Errorf("graph: parameter %q is missing", name)
		}
		if want := p.values[name].Shape(); !SameShape(t.Shape(), want) {
			return errors.Errorf("graph: parameter %q has shape %v, want %v", name, t.Shape(), want)
		}
	}
	if len(q.names) != len(p.names) {
		var extra []string
		for _, name := range q.names {
			if _, ok := p.values[name]; !ok {
				extra = append(extra, name)
			}
		}
		sort.Strings(extra)
		return errors.Errorf("graph: unexpected parameters %q", extra)
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
	switch d := dst.Data().(type) {
	case []float64:
		copy(d, src.Data().([]float64))
	case []float32:
		copy(d, src.Data().([]float32))
	default:
		return errors.Errorf("unsupported dtype %v", dst.Dtype())
	}
	return nil
}
