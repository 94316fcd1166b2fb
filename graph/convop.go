package graph

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/kernels"
)

// Convolution and max-pooling ops on internal/kernels. gorgonia's Conv2d
// builds im2col, a reshape, a matrix product, a transpose and their
// gradients as separate ops, each allocating, and its MaxPool2D keeps an
// argmax mask it allocates per run; these ops do the same arithmetic (to
// rounding: the sums are the same, grouped as the GEMM groups them) with
// one im2col matrix and one product per pass over the whole batch, into
// values allocated once:
//
//	conv(x, w)          = y (N, F, OH, OW)   ∂w = convFilters(x, ∂y), ∂x = convInput(w, ∂y)
//	maxPool(x)          = y (N, C, OH, OW)   ∂x = maxPoolGrad(x, ∂y)
//
// The geometry (every size) is fixed when the graph is built, as a
// graph's shapes are. A convolution and its gradients share their scratch
// buffers (convState), and convFilters reuses the im2col matrix the forward
// pass left when it is of the same input, as it is within a run.

type convOp struct {
	g  kernels.Conv
	st *convState
}

type convFiltersOp convOp

type convInputOp convOp

// convState is one convolution's buffers, sized on first use.
type convState struct {
	col32, dcol32, t32 []float32
	col64, dcol64, t64 []float64
	// colOf32/colOf64 is the input whose im2col matrix col holds.
	colOf32 *float32
	colOf64 *float64
}

type maxPoolOp struct {
	g  kernels.Pool
	st *poolState
}

type maxPoolGradOp maxPoolOp

// poolState is where the forward pass leaves its maxima's positions for
// the backward pass, and of which input.
type poolState struct {
	arg     []int32
	argOf32 *float32
	argOf64 *float64
}

func tensor4(a hm.TypeVariable) G.TensorType { return G.TensorType{Dims: 4, Of: a} }

func fn4(arity int) hm.Type {
	a := hm.TypeVariable('a')
	ts := make([]hm.Type, arity+1)
	for i := range ts {
		ts[i] = tensor4(a)
	}
	return hm.NewFnType(ts...)
}

func (c convOp) xShape() tensor.Shape { return tensor.Shape{c.g.N, c.g.C, c.g.H, c.g.W} }
func (c convOp) xLen() int            { return c.g.N * c.g.C * c.g.H * c.g.W }
func (c convOp) wLen() int            { return c.g.F * c.g.C * c.g.K * c.g.K }
func (c convOp) yLen() int            { return c.g.TLen() }
func (c convOp) wShape() tensor.Shape { return tensor.Shape{c.g.F, c.g.C, c.g.K, c.g.K} }
func (c convOp) yShape() tensor.Shape { return tensor.Shape{c.g.N, c.g.F, c.g.OutH(), c.g.OutW()} }

func (op convOp) Arity() int                                     { return 2 }
func (op convOp) Type() hm.Type                                  { return fn4(2) }
func (op convOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.yShape(), nil }
func (op convOp) ReturnsPtr() bool                               { return false }
func (op convOp) CallsExtern() bool                              { return false }
func (op convOp) OverwritesInput() int                           { return -1 }
func (op convOp) WriteHash(h hash.Hash)                          { fmt.Fprint(h, op.String()) }
func (op convOp) Hashcode() uint32                               { return hashOf(op) }
func (op convOp) String() string                                 { return fmt.Sprintf("Conv2D%v", op.g) }
func (op convOp) DiffWRT(int) []bool                             { return []bool{true, true} }
func (op convOp) SymDiff(inputs G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(convInputOp(op), inputs[1], grad)
	if err != nil {
		return nil, err
	}
	dw, err := G.ApplyOp(convFiltersOp(op), inputs[0], grad)
	return G.Nodes{dx, dw}, err
}

func (op convOp) Do(vals ...G.Value) (G.Value, error) {
	return op.UsePreallocDo(newDenseOf(vals, op.yShape()), vals...)
}

func (op convOp) UsePreallocDo(prealloc G.Value, vals ...G.Value) (G.Value, error) {
	ins, dst, err := opArgs(prealloc, vals, op.yLen(), op.xLen(), op.wLen())
	if err != nil {
		return nil, errors.Wrapf(err, "%v", op)
	}
	x, w := ins[0], ins[1]
	st := op.st
	switch dst.Dtype() {
	case tensor.Float32:
		xs := x.Float32s()
		st.col32, st.t32 = kernels.Grow(st.col32, op.g.ColLen()), kernels.Grow(st.t32, op.g.TLen())
		op.g.Forward32(xs, w.Float32s(), st.col32, st.t32, dst.Float32s())
		st.colOf32 = &xs[0]
	case tensor.Float64:
		xs := x.Float64s()
		st.col64, st.t64 = kernels.Grow(st.col64, op.g.ColLen()), kernels.Grow(st.t64, op.g.TLen())
		op.g.Forward64(xs, w.Float64s(), st.col64, st.t64, dst.Float64s())
		st.colOf64 = &xs[0]
	}
	return dst, nil
}

func (op convFiltersOp) Arity() int    { return 2 }
func (op convFiltersOp) Type() hm.Type { return fn4(2) }
func (op convFiltersOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return convOp(op).wShape(), nil
}
func (op convFiltersOp) ReturnsPtr() bool      { return false }
func (op convFiltersOp) CallsExtern() bool     { return false }
func (op convFiltersOp) OverwritesInput() int  { return -1 }
func (op convFiltersOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op convFiltersOp) Hashcode() uint32      { return hashOf(op) }
func (op convFiltersOp) String() string        { return fmt.Sprintf("∂wConv2D%v", op.g) }

func (op convFiltersOp) Do(vals ...G.Value) (G.Value, error) {
	return op.UsePreallocDo(newDenseOf(vals, convOp(op).wShape()), vals...)
}

func (op convFiltersOp) UsePreallocDo(prealloc G.Value, vals ...G.Value) (G.Value, error) {
	c := convOp(op)
	ins, dst, err := opArgs(prealloc, vals, c.wLen(), c.xLen(), c.yLen())
	if err != nil {
		return nil, errors.Wrapf(err, "%v", op)
	}
	x, dy := ins[0], ins[1]
	st := op.st
	switch dst.Dtype() {
	case tensor.Float32:
		xs := x.Float32s()
		if st.colOf32 != &xs[0] || len(st.col32) != op.g.ColLen() {
			st.col32 = kernels.Grow(st.col32, op.g.ColLen())
			op.g.Im2col32(xs, st.col32)
			st.colOf32 = &xs[0]
		}
		st.t32 = kernels.Grow(st.t32, op.g.TLen())
		op.g.Filters32(st.col32, dy.Float32s(), st.t32, dst.Float32s())
	case tensor.Float64:
		xs := x.Float64s()
		if st.colOf64 != &xs[0] || len(st.col64) != op.g.ColLen() {
			st.col64 = kernels.Grow(st.col64, op.g.ColLen())
			op.g.Im2col64(xs, st.col64)
			st.colOf64 = &xs[0]
		}
		st.t64 = kernels.Grow(st.t64, op.g.TLen())
		op.g.Filters64(st.col64, dy.Float64s(), st.t64, dst.Float64s())
	}
	return dst, nil
}

func (op convInputOp) Arity() int    { return 2 }
func (op convInputOp) Type() hm.Type { return fn4(2) }
func (op convInputOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return convOp(op).xShape(), nil
}
func (op convInputOp) ReturnsPtr() bool      { return false }
func (op convInputOp) CallsExtern() bool     { return false }
func (op convInputOp) OverwritesInput() int  { return -1 }
func (op convInputOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op convInputOp) Hashcode() uint32      { return hashOf(op) }
func (op convInputOp) String() string        { return fmt.Sprintf("∂xConv2D%v", op.g) }

func (op convInputOp) Do(vals ...G.Value) (G.Value, error) {
	return op.UsePreallocDo(newDenseOf(vals, convOp(op).xShape()), vals...)
}

func (op convInputOp) UsePreallocDo(prealloc G.Value, vals ...G.Value) (G.Value, error) {
	c := convOp(op)
	ins, dst, err := opArgs(prealloc, vals, c.xLen(), c.wLen(), c.yLen())
	if err != nil {
		return nil, errors.Wrapf(err, "%v", op)
	}
	w, dy := ins[0], ins[1]
	st := op.st
	switch dst.Dtype() {
	case tensor.Float32:
		st.dcol32, st.t32 = kernels.Grow(st.dcol32, op.g.ColLen()), kernels.Grow(st.t32, op.g.TLen())
		op.g.Input32(w.Float32s(), dy.Float32s(), st.dcol32, st.t32, dst.Float32s())
	case tensor.Float64:
		st.dcol64, st.t64 = kernels.Grow(st.dcol64, op.g.ColLen()), kernels.Grow(st.t64, op.g.TLen())
		op.g.Input64(w.Float64s(), dy.Float64s(), st.dcol64, st.t64, dst.Float64s())
	}
	return dst, nil
}

func (op maxPoolOp) xShape() tensor.Shape { return tensor.Shape{op.g.N, op.g.C, op.g.H, op.g.W} }
func (op maxPoolOp) xLen() int            { return op.g.N * op.g.C * op.g.H * op.g.W }
func (op maxPoolOp) yLen() int            { return op.g.N * op.g.C * op.g.OutH() * op.g.OutW() }
func (op maxPoolOp) yShape() tensor.Shape {
	return tensor.Shape{op.g.N, op.g.C, op.g.OutH(), op.g.OutW()}
}

func (op maxPoolOp) Arity() int                                     { return 1 }
func (op maxPoolOp) Type() hm.Type                                  { return fn4(1) }
func (op maxPoolOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.yShape(), nil }
func (op maxPoolOp) ReturnsPtr() bool                               { return false }
func (op maxPoolOp) CallsExtern() bool                              { return false }
func (op maxPoolOp) OverwritesInput() int                           { return -1 }
func (op maxPoolOp) WriteHash(h hash.Hash)                          { fmt.Fprint(h, op.String()) }
func (op maxPoolOp) Hashcode() uint32                               { return hashOf(op) }
func (op maxPoolOp) String() string                                 { return fmt.Sprintf("MaxPool2D%v", op.g) }
func (op maxPoolOp) DiffWRT(int) []bool                             { return []bool{true} }
func (op maxPoolOp) SymDiff(inputs G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(maxPoolGradOp(op), inputs[0], grad)
	return G.Nodes{dx}, err
}

func (op maxPoolOp) Do(vals ...G.Value) (G.Value, error) {
	return op.UsePreallocDo(newDenseOf(vals, op.yShape()), vals...)
}

func (op maxPoolOp) UsePreallocDo(prealloc G.Value, vals ...G.Value) (G.Value, error) {
	ins, dst, err := opArgs(prealloc, vals, op.yLen(), op.xLen())
	if err != nil {
		return nil, errors.Wrapf(err, "%v", op)
	}
	st := op.st
	st.arg = kernels.Grow(st.arg, op.yLen())
	switch dst.Dtype() {
	case tensor.Float32:
		xs := ins[0].Float32s()
		op.g.Max32(xs, dst.Float32s(), st.arg)
		st.argOf32 = &xs[0]
	case tensor.Float64:
		xs := ins[0].Float64s()
		op.g.Max64(xs, dst.Float64s(), st.arg)
		st.argOf64 = &xs[0]
	}
	return dst, nil
}

func (op maxPoolGradOp) Arity() int    { return 2 }
func (op maxPoolGradOp) Type() hm.Type { return fn4(2) }
func (op maxPoolGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return maxPoolOp(op).xShape(), nil
}
func (op maxPoolGradOp) ReturnsPtr() bool      { return false }
func (op maxPoolGradOp) CallsExtern() bool     { return false }
func (op maxPoolGradOp) OverwritesInput() int  { return -1 }
func (op maxPoolGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op maxPoolGradOp) Hashcode() uint32      { return hashOf(op) }
func (op maxPoolGradOp) String() string        { return fmt.Sprintf("∂MaxPool2D%v", op.g) }

func (op maxPoolGradOp) Do(vals ...G.Value) (G.Value, error) {
	return op.UsePreallocDo(newDenseOf(vals, maxPoolOp(op).xShape()), vals...)
}

func (op maxPoolGradOp) UsePreallocDo(prealloc G.Value, vals ...G.Value) (G.Value, error) {
	p := maxPoolOp(op)
	ins, dst, err := opArgs(prealloc, vals, p.xLen(), p.xLen(), p.yLen())
	if err != nil {
		return nil, errors.Wrapf(err, "%v", op)
	}
	// The positions the forward pass found, if they are of this input (as
	// within a run); else search again.
	st, ok := op.st, len(op.st.arg) == p.yLen()
	switch dst.Dtype() {
	case tensor.Float32:
		if xs := ins[0].Float32s(); ok && st.argOf32 == &xs[0] {
			op.g.Scatter32(st.arg, ins[1].Float32s(), dst.Float32s())
		} else {
			op.g.MaxGrad32(xs, ins[1].Float32s(), dst.Float32s())
		}
	case tensor.Float64:
		if xs := ins[0].Float64s(); ok && st.argOf64 == &xs[0] {
			op.g.Scatter64(st.arg, ins[1].Float64s(), dst.Float64s())
		} else {
			op.g.MaxGrad64(xs, ins[1].Float64s(), dst.Float64s())
		}
	}
	return dst, nil
}

// opArgs checks an op's inputs against the sizes it was built for (the
// machine's values are contiguous) and its preallocated result against out,
// all float32 or all float64. Errors name no op: the callers wrap them.
func opArgs(prealloc G.Value, vals []G.Value, out int, in ...int) (ds [3]*tensor.Dense, dst *tensor.Dense, err error) {
	if len(vals) != len(in) || len(in) > len(ds) {
		return ds, nil, errors.Errorf("want %d inputs, got %d", len(in), len(vals))
	}
	for i := range vals {
		d, err := denseArg(vals, len(in), i)
		if err != nil {
			return ds, nil, err
		}
		if d.Shape().TotalSize() != in[i] || (i > 0 && d.Dtype() != ds[0].Dtype()) {
			return ds, nil, errors.Errorf("input %d is %v %v, want %d values of input 0's dtype", i, d.Dtype(), d.Shape(), in[i])
		}
		ds[i] = d
	}
	dt := ds[0].Dtype()
	if dt != tensor.Float32 && dt != tensor.Float64 {
		return ds, nil, errors.Errorf("unsupported dtype %v", dt)
	}
	dst, err = preallocArg(prealloc, dt, out)
	return ds, dst, err
}

// newDenseOf is a new tensor of shape s and the dtype of vals[0] (nil, to be
// refused by opArgs, if there is none or it is not a tensor).
func newDenseOf(vals []G.Value, s tensor.Shape) G.Value {
	if len(vals) == 0 {
		return nil
	}
	d, ok := vals[0].(*tensor.Dense)
	if !ok {
		return nil
	}
	return tensor.New(tensor.Of(d.Dtype()), tensor.WithShape(s.Clone()...))
}
