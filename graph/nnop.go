package graph

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The layers of norm.go, activation.go, pool.go, embedding.go and
// recurrent.go are fused ops like those of fusedop.go: one pass each, a
// result written into the machine's preallocated value, and closed-form
// gradients built from more such ops. A kernel says what one op computes; op
// wraps it into a gorgonia op.

// A kernel is the arithmetic of one fused op.
type kernel interface {
	// String names the op and every parameter it depends on (it is also its
	// hash: equal strings compute the same function of the same inputs).
	String() string
	arity() int
	typ() hm.Type
	shape(in []tensor.Shape) (tensor.Shape, error)
	// run computes the result into dst, which has the result's dtype
	// (Float32 or Float64, that of every input but ids) and shape; in are
	// the inputs, contiguous dense tensors (read them with arg).
	run(dst *tensor.Dense, in []G.Value) error
	// ids reports whether input i holds integer ids of any dtype.
	ids(i int) bool
	// diff says which inputs the op is differentiable with respect to, and
	// grad builds their gradients (nil for the others) given the output
	// node and the gradient flowing into it.
	diff() []bool
	grad(in G.Nodes, out, g *G.Node) (G.Nodes, error)
}

// op adapts a kernel to gorgonia's Op, UsePreallocDoer and SDOp.
type op struct{ k kernel }

// apply adds k applied to in to the graph.
func apply(k kernel, in ...*G.Node) (*G.Node, error) { return G.ApplyOp(op{k}, in...) }

func (o op) Arity() int            { return o.k.arity() }
func (o op) Type() hm.Type         { return o.k.typ() }
func (o op) ReturnsPtr() bool      { return false }
func (o op) CallsExtern() bool     { return false }
func (o op) OverwritesInput() int  { return -1 }
func (o op) WriteHash(h hash.Hash) { fmt.Fprint(h, o.k.String()) }
func (o op) Hashcode() uint32      { return hashOf(o.k) }
func (o op) String() string        { return o.k.String() }
func (o op) DiffWRT(n int) []bool  { return o.k.diff() }
func (o op) SymDiff(in G.Nodes, out, g *G.Node) (G.Nodes, error) {
	return o.k.grad(in, out, g)
}

func (o op) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	shapes := make([]tensor.Shape, len(in))
	for i, d := range in {
		s, ok := d.(tensor.Shape)
		if !ok {
			return nil, errors.Errorf("%v: cannot infer a shape from %T", o.k, d)
		}
		shapes[i] = s
	}
	s, err := o.k.shape(shapes)
	return s, errors.Wrapf(err, "%v", o.k)
}

// contiguous returns vals with every input a contiguous dense tensor: vals
// itself when they all are (the machine's values always are), else a copy
// with views materialized.
func (o op) contiguous(vals []G.Value) ([]G.Value, error) {
	if len(vals) != o.k.arity() {
		return nil, errors.Errorf("%v: want %d inputs, got %d", o.k, o.k.arity(), len(vals))
	}
	out := vals
	for i, v := range vals {
		d, ok := v.(*tensor.Dense)
		if !ok {
			return nil, errors.Errorf("%v: input %d is %T, want a dense tensor", o.k, i, v)
		}
		if d.IsView() || d.RequiresIterator() {
			if &out[0] == &vals[0] {
				out = append([]G.Value(nil), vals...)
			}
			out[i] = d.Materialize().(*tensor.Dense)
		}
	}
	return out, nil
}

func (o op) Do(vals ...G.Value) (G.Value, error) {
	in, err := o.contiguous(vals)
	if err != nil {
		return nil, err
	}
	shapes := make([]tensor.Shape, len(in))
	for i, t := range in {
		shapes[i] = t.(*tensor.Dense).Shape()
	}
	s, err := o.k.shape(shapes)
	if err != nil {
		return nil, errors.Wrapf(err, "%v", o.k)
	}
	return o.do(tensor.New(tensor.Of(o.outDtype(in)), tensor.WithShape(s...)), in)
}

// UsePreallocDo runs the kernel into prealloc, allocating nothing.
func (o op) UsePreallocDo(prealloc G.Value, vals ...G.Value) (G.Value, error) {
	in, err := o.contiguous(vals)
	if err != nil {
		return nil, err
	}
	dst, ok := prealloc.(*tensor.Dense)
	if !ok || dst.IsView() || dst.Dtype() != o.outDtype(in) {
		return nil, errors.Errorf("%v: bad preallocated value %v", o.k, prealloc)
	}
	return o.do(dst, in)
}

// outDtype is the result's dtype: the last input's (the weights', for an
// embedding of integer ids).
func (o op) outDtype(in []G.Value) tensor.Dtype { return in[len(in)-1].(*tensor.Dense).Dtype() }

func (o op) do(dst *tensor.Dense, in []G.Value) (G.Value, error) {
	dt := dst.Dtype()
	if dt != tensor.Float32 && dt != tensor.Float64 {
		return nil, errors.Errorf("%v: unsupported dtype %v", o.k, dt)
	}
	for i := range in[:len(in)-1] {
		if d := in[i].(*tensor.Dense).Dtype(); d != dt && !o.k.ids(i) {
			return nil, errors.Errorf("%v: input %d has dtype %v, want %v", o.k, i, d, dt)
		}
	}
	if err := o.k.run(dst, in); err != nil {
		return nil, errors.Wrapf(err, "%v", o.k)
	}
	return dst, nil
}

// arg is input i of a kernel's run (contiguous dense: see op.contiguous).
func arg(in []G.Value, i int) *tensor.Dense { return in[i].(*tensor.Dense) }

// fnType is the type of an op from tensors of the given ranks, all of one
// element type, to a tensor of rank out.
func fnType(out int, in ...int) hm.Type {
	a := hm.TypeVariable('a')
	ts := make([]hm.Type, 0, len(in)+1)
	for _, d := range in {
		ts = append(ts, G.TensorType{Dims: d, Of: a})
	}
	return hm.NewFnType(append(ts, G.TensorType{Dims: out, Of: a})...)
}

// sameShapes checks that every input has the first input's shape and
// returns it.
func sameShapes(in []tensor.Shape) (tensor.Shape, error) {
	for _, s := range in[1:] {
		if !SameShape(s, in[0]) {
			return nil, errors.Errorf("input shapes %v differ", in)
		}
	}
	return in[0].Clone(), nil
}

// noIDs is embedded by kernels whose inputs are all of the result's dtype.
type noIDs struct{}

func (noIDs) ids(int) bool { return false }

// sizes checks that input i holds n[i] values (any number if n[i] < 0).
func sizes(in []G.Value, n ...int) error {
	for i, want := range n {
		if err := size(in, i, want); err != nil {
			return err
		}
	}
	return nil
}

// size checks that input i holds n values (any number if n < 0).
func size(in []G.Value, i, n int) error {
	if got := arg(in, i).Shape().TotalSize(); n >= 0 && got != n {
		return errors.Errorf("input %d has %d values (shape %v), want %d", i, got, arg(in, i).Shape(), n)
	}
	return nil
}
