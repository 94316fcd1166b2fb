package graph

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"github.com/descent-go/descent/internal/kernels"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Fused layer ops. gorgonia builds a bias add as Reshape → Reshape → SizeOf
// → Repeat (a batch-sized copy of the bias) → Add, whose gradient is a Sum
// and two Reshapes; and ReLU as x ⊙ (x ≥ 0), whose gradient also computes
// the unused derivative with respect to the mask. These ops do the same
// arithmetic in one pass each, write into preallocated values, and give
// gorgonia.Grad their closed-form derivatives:
//
//	biasAdd(x, b)   = x + b along axis     ∂x = g, ∂b = biasGrad(g) = Σ g over the other axes
//	relu(x)         = x ⊙ (x ≥ 0)          ∂x = reluGrad(x, g) = g ⊙ (x ≥ 0)   (kernels.ReluMask32/64)
//
// Elementwise results are bit for bit those of gorgonia's compositions
// (x + b, x·1 or x·0); the bias gradient sums in the same order as
// gorgonia's Sum over axis 0 for a Dense layer.

type biasAddOp struct{ axis, dims int }

type biasGradOp struct{ axis, dims int }

type reluOp struct{ dims int }

type reluGradOp struct{ dims int }

func (op biasAddOp) Arity() int { return 2 }
func (op biasAddOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	x := G.TensorType{Dims: op.dims, Of: a}
	return hm.NewFnType(x, G.TensorType{Dims: 1, Of: a}, x)
}
func (op biasAddOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) { return shapeOf(op, in) }
func (op biasAddOp) ReturnsPtr() bool                                  { return false }
func (op biasAddOp) CallsExtern() bool                                 { return false }
func (op biasAddOp) OverwritesInput() int                              { return -1 }
func (op biasAddOp) WriteHash(h hash.Hash)                             { fmt.Fprint(h, op.String()) }
func (op biasAddOp) Hashcode() uint32                                  { return hashOf(op) }
func (op biasAddOp) String() string                                    { return fmt.Sprintf("BiasAdd{%d,%d}", op.axis, op.dims) }
func (op biasAddOp) DiffWRT(int) []bool                                { return []bool{true, true} }
func (op biasAddOp) SymDiff(inputs G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	db, err := G.ApplyOp(biasGradOp(op), grad)
	return G.Nodes{grad, db}, err
}

func (op biasAddOp) Do(vals ...G.Value) (G.Value, error) {
	x, err := denseArg(vals, 2, 0)
	if err != nil {
		return nil, errors.Wrapf(err, "%v", op)
	}
	return op.UsePreallocDo(newDenseLike(x), vals...)
}

func (op biasAddOp) UsePreallocDo(prealloc G.Value, vals ...G.Value) (G.Value, error) {
	x, err := denseArg(vals, 2, 0)
	if err != nil {
		return nil, errors.Wrapf(err, "%v", op)
	}
	b, err := denseArg(vals, 2, 1)
	if err != nil {
		return nil, errors.Wrapf(err, "%v", op)
	}
	dst, err := preallocArg(prealloc, x.Dtype(), x.Shape().TotalSize())
	if err != nil {
		return nil, errors.Wrapf(err, "%v", op)
	}
	outer, mid, inner, err := splitAxis(x.Shape(), op.axis)
	if err != nil {
		return nil, errors.Wrapf(err, "%v", op)
	}
	if b.Dtype() != x.Dtype() || b.Shape().TotalSize() != mid {
		return nil, errors.Errorf("%v: bias %v %v for input %v %v", op, b.Dtype(), b.Shape(), x.Dtype(), x.Shape())
	}
	switch x.Dtype() {
	case tensor.Float32:
		if inner >= 8 { // a convolution's planes: vector adds
			biasAddPlanes32(x.Float32s(), b.Float32s(), dst.Float32s(), outer, mid, inner)
			break
		}
		biasAdd(x.Float32s(), b.Float32s(), dst.Float32s(), outer, mid, inner)
	case tensor.Float64:
		biasAdd(x.Float64s(), b.Float64s(), dst.Float64s(), outer, mid, inner)
	default:
		return nil, errors.Errorf("%v: unsupported dtype %v", op, x.Dtype())
	}
	return dst, nil
}

func biasAdd[T float](x, b, dst []T, outer, mid, inner int) {
	k := 0
	for o := 0; o < outer; o++ {
		if inner == 1 {
			row, out := x[k:k+mid], dst[k:k+mid]
			for m, v := range b[:mid] {
				out[m] = row[m] + v
			}
			k += mid
			continue
		}
		for m := 0; m < mid; m++ {
			v := b[m]
			row, out := x[k:k+inner], dst[k:k+inner]
			for i := range row {
				out[i] = row[i] + v
			}
			k += inner
		}
	}
}

// biasAddPlanes32 is biasAdd for float32 planes of inner values, each
// plane's bias added by kernels.AddScalar32: the same sums.
func biasAddPlanes32(x, b, dst []float32, outer, mid, inner int) {
	k := 0
	for o := 0; o < outer; o++ {
		for _, v := range b[:mid] {
			kernels.AddScalar32(x[k:k+inner], v, dst[k:k+inner])
			k += inner
		}
	}
}

func (op biasGradOp) Arity() int { return 1 }
func (op biasGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(G.TensorType{Dims: op.dims, Of: a}, G.TensorType{Dims: 1, Of: a})
}
func (op biasGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(op, in)
	if err != nil {
		return nil, err
	}
	if op.axis >= len(s) {
		return nil, errors.Errorf("%v: input shape %v", op, s)
	}
	return tensor.Shape{s[op.axis]}, nil
}
func (op biasGradOp) ReturnsPtr() bool      { return false }
func (op biasGradOp) CallsExtern() bool     { return false }
func (op biasGradOp) OverwritesInput() int  { return -1 }
func (op biasGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op biasGradOp) Hashcode() uint32      { return hashOf(op) }
func (op biasGradOp) String() string        { return fmt.Sprintf("BiasGrad{%d,%d}", op.axis, op.dims) }

func (op biasGradOp) Do(vals ...G.Value) (G.Value, error) {
	g, err := denseArg(vals, 1, 0)
	if err != nil {
		return nil, errors.Wrapf(err, "%v", op)
	}
	if op.axis >= g.Dims() {
		return nil, errors.Errorf("%v: input shape %v", op, g.Shape())
	}
	dst := tensor.New(tensor.Of(g.Dtype()), tensor.WithShape(g.Shape()[op.axis]))
	return op.UsePreallocDo(dst, vals...)
}

func (op biasGradOp) UsePreallocDo(prealloc G.Value, vals ...G.Value) (G.Value, error) {
	g, err := denseArg(vals, 1, 0)
	if err != nil {
		return nil, errors.Wrapf(err, "%v", op)
	}
	outer, mid, inner, err := splitAxis(g.Shape(), op.axis)
	if err != nil {
		return nil, errors.Wrapf(err, "%v", op)
	}
	dst, err := preallocArg(prealloc, g.Dtype(), mid)
	if err != nil {
		return nil, errors.Wrapf(err, "%v", op)
	}
	switch g.Dtype() {
	case tensor.Float32:
		biasGrad(g.Float32s(), dst.Float32s(), outer, mid, inner)
	case tensor.Float64:
		biasGrad(g.Float64s(), dst.Float64s(), outer, mid, inner)
	default:
		return nil, errors.Errorf("%v: unsupported dtype %v", op, g.Dtype())
	}
	return dst, nil
}

// biasGrad sums g over every axis but the middle one, row after row, as
// gorgonia's Sum along axis 0 does for a matrix; a convolution's rows
// (inner > 1) are summed four ways at once (sum4).
func biasGrad[T float](g, dst []T, outer, mid, inner int) {
	dst = dst[:mid]
	for m := range dst {
		dst[m] = 0
	}
	k := 0
	for o := 0; o < outer; o++ {
		if inner == 1 {
			for m, v := range g[k : k+mid] {
				dst[m] += v
			}
			k += mid
			continue
		}
		for m := 0; m < mid; m++ {
			dst[m] += sum4(g[k : k+inner])
			k += inner
		}
	}
}

// sum4 is the sum of g in four interleaved partial sums, added at the end:
// four chains of additions where one would wait on each add's latency.
func sum4[T float](g []T) T {
	var s0, s1, s2, s3 T
	i := 0
	for ; i+4 <= len(g); i += 4 {
		s0 += g[i]
		s1 += g[i+1]
		s2 += g[i+2]
		s3 += g[i+3]
	}
	for ; i < len(g); i++ {
		s0 += g[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func (op reluOp) Arity() int { return 1 }
func (op reluOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	x := G.TensorType{Dims: op.dims, Of: a}
	return hm.NewFnType(x, x)
}
func (op reluOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) { return shapeOf(op, in) }
func (op reluOp) ReturnsPtr() bool                                  { return false }
func (op reluOp) CallsExtern() bool                                 { return false }
func (op reluOp) OverwritesInput() int                              { return -1 }
func (op reluOp) WriteHash(h hash.Hash)                             { fmt.Fprint(h, op.String()) }
func (op reluOp) Hashcode() uint32                                  { return hashOf(op) }
func (op reluOp) String() string                                    { return fmt.Sprintf("ReLU{%d}", op.dims) }
func (op reluOp) DiffWRT(int) []bool                                { return []bool{true} }
func (op reluOp) SymDiff(inputs G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	d, err := G.ApplyOp(reluGradOp(op), inputs[0], grad)
	return G.Nodes{d}, err
}

func (op reluOp) Do(vals ...G.Value) (G.Value, error) {
	x, err := denseArg(vals, 1, 0)
	if err != nil {
		return nil, errors.Wrapf(err, "%v", op)
	}
	return op.UsePreallocDo(newDenseLike(x), vals...)
}

func (op reluOp) UsePreallocDo(prealloc G.Value, vals ...G.Value) (G.Value, error) {
	x, err := denseArg(vals, 1, 0)
	if err != nil {
		return nil, errors.Wrapf(err, "%v", op)
	}
	dst, err := preallocArg(prealloc, x.Dtype(), x.Shape().TotalSize())
	if err != nil {
		return nil, errors.Wrapf(err, "%v", op)
	}
	switch x.Dtype() {
	case tensor.Float32:
		kernels.ReluMask32(x.Float32s(), x.Float32s(), dst.Float32s())
	case tensor.Float64:
		kernels.ReluMask64(x.Float64s(), x.Float64s(), dst.Float64s())
	default:
		return nil, errors.Errorf("%v: unsupported dtype %v", op, x.Dtype())
	}
	return dst, nil
}

func (op reluGradOp) Arity() int { return 2 }
func (op reluGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	x := G.TensorType{Dims: op.dims, Of: a}
	return hm.NewFnType(x, x, x)
}
func (op reluGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) { return shapeOf(op, in) }
func (op reluGradOp) ReturnsPtr() bool                                  { return false }
func (op reluGradOp) CallsExtern() bool                                 { return false }
func (op reluGradOp) OverwritesInput() int                              { return -1 }
func (op reluGradOp) WriteHash(h hash.Hash)                             { fmt.Fprint(h, op.String()) }
func (op reluGradOp) Hashcode() uint32                                  { return hashOf(op) }
func (op reluGradOp) String() string                                    { return fmt.Sprintf("∂ReLU{%d}", op.dims) }

func (op reluGradOp) Do(vals ...G.Value) (G.Value, error) {
	x, err := denseArg(vals, 2, 0)
	if err != nil {
		return nil, errors.Wrapf(err, "%v", op)
	}
	return op.UsePreallocDo(newDenseLike(x), vals...)
}

func (op reluGradOp) UsePreallocDo(prealloc G.Value, vals ...G.Value) (G.Value, error) {
	x, err := denseArg(vals, 2, 0)
	if err != nil {
		return nil, errors.Wrapf(err, "%v", op)
	}
	g, err := denseArg(vals, 2, 1)
	if err != nil {
		return nil, errors.Wrapf(err, "%v", op)
	}
	n := x.Shape().TotalSize()
	if g.Dtype() != x.Dtype() || g.Shape().TotalSize() != n {
		return nil, errors.Errorf("%v: gradient %v %v for input %v %v", op, g.Dtype(), g.Shape(), x.Dtype(), x.Shape())
	}
	dst, err := preallocArg(prealloc, x.Dtype(), n)
	if err != nil {
		return nil, errors.Wrapf(err, "%v", op)
	}
	switch x.Dtype() {
	case tensor.Float32:
		kernels.ReluMask32(x.Float32s(), g.Float32s(), dst.Float32s())
	case tensor.Float64:
		kernels.ReluMask64(x.Float64s(), g.Float64s(), dst.Float64s())
	default:
		return nil, errors.Errorf("%v: unsupported dtype %v", op, x.Dtype())
	}
	return dst, nil
}

// shapeOf is the first input's shape.
func shapeOf(op fmt.Stringer, in []G.DimSizer) (tensor.Shape, error) {
	if len(in) == 0 {
		return nil, errors.Errorf("%v: no input shape", op)
	}
	s, ok := in[0].(tensor.Shape)
	if !ok {
		return nil, errors.Errorf("%v: cannot infer shape from %T", op, in[0])
	}
	return s.Clone(), nil
}

// denseArg returns input i as a contiguous dense tensor (a copy if it is a
// view, which the machine's values never are).
func denseArg(vals []G.Value, arity, i int) (*tensor.Dense, error) {
	if len(vals) != arity {
		return nil, errors.Errorf("want %d inputs, got %d", arity, len(vals))
	}
	d, ok := vals[i].(*tensor.Dense)
	if !ok {
		return nil, errors.Errorf("input %d is %T, want a dense tensor", i, vals[i])
	}
	if d.IsView() || d.RequiresIterator() {
		d = d.Materialize().(*tensor.Dense)
	}
	return d, nil
}

func preallocArg(prealloc G.Value, dt tensor.Dtype, size int) (*tensor.Dense, error) {
	dst, ok := prealloc.(*tensor.Dense)
	if !ok || dst.Dtype() != dt || dst.Shape().TotalSize() != size || dst.IsView() {
		return nil, errors.Errorf("bad preallocated value %v", prealloc)
	}
	return dst, nil
}

func newDenseLike(x *tensor.Dense) *tensor.Dense {
	return tensor.New(tensor.Of(x.Dtype()), tensor.WithShape(x.Shape().Clone()...))
}

// splitAxis views shape as (outer, shape[axis], inner).
func splitAxis(s tensor.Shape, axis int) (outer, mid, inner int, err error) {
	if axis < 0 || axis >= len(s) {
		return 0, 0, 0, errors.Errorf("axis %d of shape %v", axis, s)
	}
	outer, inner = 1, 1
	for _, d := range s[:axis] {
		outer *= d
	}
	for _, d := range s[axis+1:] {
		inner *= d
	}
	return outer, s[axis], inner, nil
}
