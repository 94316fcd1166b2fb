package graph

import "gorgonia.org/tensor"

// Re-exports of what callers need from gorgonia.org/tensor, so that a
// notebook, whose interpreter cannot import gorgonia and tensor together,
// never has to import tensor.
var (
	Float32 = tensor.Float32
	Float64 = tensor.Float64
)

// Shape is a tensor shape, e.g. graph.Shape{28, 28}: gorgonia's
// tensor.Shape under the name graph's signatures use, so that a notebook,
// which cannot import tensor beside gorgonia, can write one.
type Shape = tensor.Shape

// NewTensor returns a zeroed tensor of the given dtype (Float32 or Float64)
// and shape.
func NewTensor(dt tensor.Dtype, shape ...int) *tensor.Dense {
	return tensor.New(tensor.Of(dt), tensor.WithShape(shape...))
}

// NewTensorFrom returns a tensor of the given shape backed by data (no copy).
func NewTensorFrom(data []float64, shape ...int) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
}

// Float64s returns a copy of a float32 or float64 tensor's values as
// float64s (nil for another dtype): the easy way to read outputs, gradients
// and weights in a test or a notebook.
func Float64s(t *tensor.Dense) []float64 {
	if t == nil {
		return nil
	}
	switch d := t.Data().(type) {
	case []float64:
		return append([]float64(nil), d...)
	case []float32:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out
	case float64:
		return []float64{d}
	case float32:
		return []float64{float64(d)}
	}
	return nil
}

// SameShape reports whether a and b have the same dimensions in the same
// order. Unlike tensor.Shape.Eq it does not hold (3) and (3, 1) equal, nor
// (1) and (): a parameter, a checkpoint or a target of the one shape is not
// one of the other.
func SameShape(a, b Shape) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Float64Data returns a float64 tensor's own values, not a copy: writing into
// the slice writes the tensor (a parameter, a gradient). It is nil for a nil
// tensor or one of another dtype. In a notebook that imports
// gorgonia.org/tensor, where the interpreter cannot compile t.Data(), it is the
// way to a tensor's memory (an optimizer written in the notebook, say).
func Float64Data(t *tensor.Dense) []float64 {
	if t == nil {
		return nil
	}
	d, _ := t.Data().([]float64)
	return d
}

// Float32Data is Float64Data for float32 tensors.
func Float32Data(t *tensor.Dense) []float32 {
	if t == nil {
		return nil
	}
	d, _ := t.Data().([]float32)
	return d
}
