package graph

import (
	"fmt"
	"math"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// CopyFloat64s returns a copy of the named parameter's or buffer's values
// as float64s, in row-major order (nil if there is no such parameter or
// buffer). Writing into the copy changes nothing: set values with
// SetFloat64s.
func (p *Params) CopyFloat64s(name string) []float64 {
	if p == nil {
		return nil
	}
	t := p.values[name]
	if t == nil {
		t = p.buffers[name]
	}
	if t == nil {
		return nil
	}
	return Float64s(t)
}

// SetFloat64s writes vals, in row-major order, into the named parameter's
// tensor, converting them to the Params' dtype (float32 or float64): every
// graph built from p sees them. vals must hold exactly as many values as the
// parameter's shape; an unknown name, a wrong count or a NaN or ±Inf value is
// an error naming it, and leaves the parameter unchanged.
func (p *Params) SetFloat64s(name string, vals []float64) error {
	if err := p.Validate(); err != nil {
		return err
	}
	t := p.values[name]
	if t == nil {
		return errors.Errorf("graph: SetFloat64s: no parameter %q (have %q)", name, p.names)
	}
	if n := t.Shape().TotalSize(); len(vals) != n {
		return errors.Errorf("graph: SetFloat64s: parameter %q has shape %v (%d values), got %d values", name, t.Shape(), n, len(vals))
	}
	for i, v := range vals {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return errors.Errorf("graph: SetFloat64s: parameter %q: value %d is %v", name, i, v)
		}
		if p.dtype == tensor.Float32 && math.Abs(v) > math.MaxFloat32 {
			return errors.Errorf("graph: SetFloat64s: parameter %q: value %d = %v overflows float32", name, i, v)
		}
	}
	setFloat64s(t, vals)
	return nil
}

// Validate reports, as an error saying what is wrong, Params that cannot be
// used: nil, the zero value (not made by NewParams), or of a dtype other
// than float32 and float64.
func (p *Params) Validate() error {
	if p == nil {
		return errors.New("graph: params are nil (make them with graph.NewParams)")
	}
	if p.values == nil {
		return errors.New("graph: params are a zero value (make them with graph.NewParams)")
	}
	return checkDtype(p.dtype)
}

// String describes p: dtype, number of tensors and of scalars. It is safe
// on nil and zero-value Params.
func (p *Params) String() string {
	if p == nil {
		return "Params(nil)"
	}
	if p.values == nil {
		return "Params(zero value)"
	}
	return fmt.Sprintf("Params{%s, %d tensors, %d scalars}", DtypeName(p.dtype), len(p.names), p.NumScalars())
}

// DtypeName names dt; unlike dt.String it does not panic on the zero Dtype.
func DtypeName(dt tensor.Dtype) string {
	if dt.Type == nil {
		return "no dtype"
	}
	return dt.String()
}
