package graph

import "gorgonia.org/tensor"

// Re-exports of what callers need from gorgonia.org/tensor, so that a
// notebook, whose interpreter cannot import gorgonia and tensor together,
// never has to import tensor.
var (
	Float32 = tensor.Float32
	Float64 = tensor.Float64
)

// Shape is a tensor shape, e.g. graph.Shape{28, 28}.
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
