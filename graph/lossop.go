package graph

import (
	"fmt"
	"hash"
	"hash/fnv"
	"math"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The losses are fused gorgonia ops rather than compositions of gorgonia's
// elementwise ops: one pass computes a numerically stable value (log-sum-exp,
// softplus), and the gradient with respect to the model output is the short
// closed form (softmax − target, sigmoid − target, 2(o − y)) instead of a chain
// of intermediate tensors. Targets are not differentiated.

type lossKind byte

const (
	lossMSE lossKind = iota
	lossBCE
	lossSCE
)

func (k lossKind) String() string {
	switch k {
	case lossMSE:
		return "MSE"
	case lossBCE:
		return "BinaryCrossEntropy"
	}
	return "SoftmaxCrossEntropy"
}

// lossOp maps (output, target) to the scalar mean loss.
type lossOp struct {
	kind             lossKind
	outDims, tgtDims int
}

// lossGradOp maps (output, target, upstream scalar grad) to d loss / d output.
type lossGradOp struct{ lossOp }

func (op lossOp) Arity() int { return 2 }
func (op lossOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(G.TensorType{Dims: op.outDims, Of: a}, G.TensorType{Dims: op.tgtDims, Of: a}, a)
}
func (op lossOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return tensor.ScalarShape(), nil }
func (op lossOp) ReturnsPtr() bool                               { return false }
func (op lossOp) CallsExtern() bool                              { return false }
func (op lossOp) OverwritesInput() int                           { return -1 }
func (op lossOp) WriteHash(h hash.Hash)                          { fmt.Fprint(h, op.String()) }
func (op lossOp) Hashcode() uint32                               { return hashOf(op) }
func (op lossOp) String() string {
	return fmt.Sprintf("%v{%d,%d}", op.kind, op.outDims, op.tgtDims)
}
func (op lossOp) DiffWRT(int) []bool { return []bool{true, false} }

// indices reports whether the target holds class indices, one per example,
// rather than rows as wide as the output. It is decided by the target's rank,
// not its length: with one class both have one value per example.
func (op lossOp) indices() bool { return op.kind == lossSCE && op.tgtDims == 1 }

func (op lossOp) SymDiff(inputs G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	d, err := G.ApplyOp(lossGradOp{op}, inputs[0], inputs[1], grad)
	return G.Nodes{d, nil}, err
}

func (op lossOp) Do(vals ...G.Value) (G.Value, error) {
	out, _, err := lossInputs(vals)
	if err != nil {
		return nil, err
	}
	switch out.Dtype() {
	case tensor.Float64:
		return op.UsePreallocDo(G.NewF64(0), vals...)
	case tensor.Float32:
		return op.UsePreallocDo(G.NewF32(0), vals...)
	}
	return nil, errors.Errorf("%v: unsupported dtype %v", op, out.Dtype())
}

// UsePreallocDo writes the loss into a preallocated *gorgonia.F64 or
// *gorgonia.F32 of the inputs' dtype.
func (op lossOp) UsePreallocDo(prealloc G.Value, vals ...G.Value) (G.Value, error) {
	out, tgt, err := lossInputs(vals)
	if err != nil {
		return nil, err
	}
	switch out.Dtype() {
	case tensor.Float64:
		o := out.Float64s()
		dst, ok := prealloc.(*G.F64)
		if !ok {
			return nil, errors.Errorf("%v: bad preallocated value %T", op, prealloc)
		}
		l, err := lossValue(op.kind, o, tgt.Float64s(), out.Shape(), op.indices())
		if err != nil {
			return nil, errors.Wrapf(err, "%v", op)
		}
		*dst = G.F64(l)
		return dst, nil
	case tensor.Float32:
		o := out.Float32s()
		dst, ok := prealloc.(*G.F32)
		if !ok {
			return nil, errors.Errorf("%v: bad preallocated value %T", op, prealloc)
		}
		l, err := lossValue(op.kind, o, tgt.Float32s(), out.Shape(), op.indices())
		if err != nil {
			return nil, errors.Wrapf(err, "%v", op)
		}
		*dst = G.F32(float32(l))
		return dst, nil
	}
	return nil, errors.Errorf("%v: unsupported dtype %v", op, out.Dtype())
}

func (op lossOp) preallocScalar() {}

func (op lossGradOp) Arity() int { return 3 }
func (op lossGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	o := G.TensorType{Dims: op.outDims, Of: a}
	return hm.NewFnType(o, G.TensorType{Dims: op.tgtDims, Of: a}, a, o)
}
func (op lossGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, ok := in[0].(tensor.Shape)
	if !ok {
		return nil, errors.Errorf("%v: cannot infer shape from %T", op, in[0])
	}
	return s.Clone(), nil
}
func (op lossGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op lossGradOp) Hashcode() uint32      { return hashOf(op) }
func (op lossGradOp) String() string        { return "∂" + op.lossOp.String() }

func (op lossGradOp) Do(vals ...G.Value) (G.Value, error) {
	if len(vals) != 3 {
		return nil, errors.Errorf("%v: want 3 inputs, got %d", op, len(vals))
	}
	out, ok := vals[0].(*tensor.Dense)
	if !ok {
		return nil, errors.Errorf("%v: output is %T, want *tensor.Dense", op, vals[0])
	}
	dst := tensor.New(tensor.Of(out.Dtype()), tensor.WithShape(out.Shape().Clone()...))
	return op.UsePreallocDo(dst, vals...)
}

func (op lossGradOp) UsePreallocDo(prealloc G.Value, vals ...G.Value) (G.Value, error) {
	if len(vals) != 3 {
		return nil, errors.Errorf("%v: want 3 inputs, got %d", op, len(vals))
	}
	out, tgt, err := lossInputs(vals[:2])
	if err != nil {
		return nil, err
	}
	dst, ok := prealloc.(*tensor.Dense)
	if !ok || dst.Dtype() != out.Dtype() || dst.Shape().TotalSize() != out.Shape().TotalSize() {
		return nil, errors.Errorf("%v: bad preallocated value %v", op, prealloc)
	}
	g, err := scalarOf(vals[2])
	if err != nil {
		return nil, errors.Wrapf(err, "%v", op)
	}
	switch out.Dtype() {
	case tensor.Float64:
		lossGrad(op.kind, out.Float64s(), tgt.Float64s(), out.Shape(), op.indices(), g, dst.Float64s())
	case tensor.Float32:
		lossGrad(op.kind, out.Float32s(), tgt.Float32s(), out.Shape(), op.indices(), g, dst.Float32s())
	default:
		return nil, errors.Errorf("%v: unsupported dtype %v", op, out.Dtype())
	}
	return dst, nil
}

func lossInputs(vals []G.Value) (out, tgt *tensor.Dense, err error) {
	if len(vals) < 2 {
		return nil, nil, errors.Errorf("loss: want 2 inputs, got %d", len(vals))
	}
	out, ok1 := vals[0].(*tensor.Dense)
	tgt, ok2 := vals[1].(*tensor.Dense)
	if !ok1 || !ok2 {
		return nil, nil, errors.Errorf("loss: inputs are %T and %T, want dense tensors", vals[0], vals[1])
	}
	if out.Dtype() != tgt.Dtype() {
		return nil, nil, errors.Errorf("loss: output dtype %v, target dtype %v", out.Dtype(), tgt.Dtype())
	}
	return out, tgt, nil
}

func scalarOf(v G.Value) (float64, error) {
	switch s := v.(type) {
	case *G.F64:
		return float64(*s), nil
	case *G.F32:
		return float64(*s), nil
	case tensor.Tensor:
		if s.Shape().TotalSize() == 1 {
			switch d := s.Data().(type) {
			case float64:
				return d, nil
			case float32:
				return float64(d), nil
			case []float64:
				return d[0], nil
			case []float32:
				return float64(d[0]), nil
			}
		}
	}
	return 0, errors.Errorf("upstream gradient %v is not a scalar", v)
}

func hashOf(s fmt.Stringer) uint32 {
	h := fnv.New32a()
	fmt.Fprint(h, s.String())
	return h.Sum32()
}

type float interface{ ~float32 | ~float64 }

// rows splits an output of the given shape into (batch, width): losses are
// means over the batch (axis 0) of per-example sums, except MSE and BCE,
// which are means over all elements, as their names promise.
func rows(shape tensor.Shape) (n, k int) {
	if len(shape) == 0 {
		return 1, 1
	}
	n = shape[0]
	return n, shape.TotalSize() / n
}

// lossValue is accumulated in float64 whatever T, so float32 training reports
// losses without float32 summation error.
func lossValue[T float](kind lossKind, o, y []T, shape tensor.Shape, indices bool) (float64, error) {
	var sum float64
	switch kind {
	case lossMSE:
		for i, v := range o {
			d := float64(v) - float64(y[i])
			sum += d * d
		}
		return sum / float64(len(o)), nil
	case lossBCE:
		for i, v := range o {
			z, t := float64(v), float64(y[i])
			if !(t >= 0 && t <= 1) {
				return 0, errors.Errorf("element %d: target %v is not in [0, 1]", i, y[i])
			}
			sum += math.Max(z, 0) - z*t + math.Log1p(math.Exp(-math.Abs(z)))
		}
		return sum / float64(len(o)), nil
	}
	n, k := rows(shape)
	for b := 0; b < n; b++ {
		z := o[b*k : (b+1)*k]
		lse := logSumExp(z)
		if indices {
			c := float64(y[b])
			if c < 0 || c >= float64(k) || c != math.Trunc(c) {
				return 0, errors.Errorf("example %d: target class %v is not an index into %d outputs", b, y[b], k)
			}
			sum += lse - float64(z[int(c)])
			continue
		}
		for j, t := range y[b*k : (b+1)*k] {
			if t != 0 {
				sum += float64(t) * (lse - float64(z[j]))
			}
		}
	}
	return sum / float64(n), nil
}

func lossGrad[T float](kind lossKind, o, y []T, shape tensor.Shape, indices bool, g float64, dst []T) {
	switch kind {
	case lossMSE:
		s := 2 * g / float64(len(o))
		for i, v := range o {
			dst[i] = T(s * (float64(v) - float64(y[i])))
		}
		return
	case lossBCE:
		s := g / float64(len(o))
		for i, v := range o {
			dst[i] = T(s * (sigmoid(float64(v)) - float64(y[i])))
		}
		return
	}
	n, k := rows(shape)
	s := g / float64(n)
	for b := 0; b < n; b++ {
		z := o[b*k : (b+1)*k]
		d := dst[b*k : (b+1)*k]
		lse := logSumExp(z)
		if indices {
			for j, v := range z {
				d[j] = T(s * math.Exp(float64(v)-lse))
			}
			d[int(y[b])] -= T(s)
			continue
		}
		t := y[b*k : (b+1)*k]
		var mass float64
		for _, v := range t {
			mass += float64(v)
		}
		for j, v := range z {
			d[j] = T(s * (mass*math.Exp(float64(v)-lse) - float64(t[j])))
		}
	}
}

func logSumExp[T float](z []T) float64 {
	m := math.Inf(-1)
	for _, v := range z {
		m = math.Max(m, float64(v))
	}
	var s float64
	for _, v := range z {
		s += math.Exp(float64(v) - m)
	}
	return m + math.Log(s)
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}
