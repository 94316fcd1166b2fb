package graph

import (
	"fmt"
	"math"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Embedding maps integer ids in [0, vocab) to learned vectors of size dim:
// ids of shape (batch) or (batch, steps) give (batch, dim) or (batch, steps,
// dim), row id of the table name+"/w" (vocab, dim), initialized by init
// (nil: Normal(0, 1), as PyTorch's nn.Embedding). The ids may be an input of
// the graph's float dtype holding whole numbers (as datasets load them;
// float32 holds every integer up to 2^24 exactly) or a node of an integer
// dtype (tensor.Int, Int64, Int32). An id that is not a whole number in [0,
// vocab) is an error of the run naming its position. The table's gradient
// adds up the gradients of every occurrence of a row.
func Embedding(b *Builder, name string, ids *G.Node, vocab, dim int, init Initializer) (*G.Node, error) {
	what := describe("Embedding", name, ids)
	if ids == nil {
		return nil, errors.New(what)
	}
	if err := b.check(); err != nil {
		return nil, errors.Wrap(err, what)
	}
	if vocab <= 0 || dim <= 0 {
		return nil, errors.Errorf("%s: vocab %d, dim %d: want both > 0", what, vocab, dim)
	}
	if ids.IsScalar() || ids.Dims() < 1 {
		return nil, errors.Errorf("%s: want ids of shape (batch) or (batch, steps)", what)
	}
	if _, ok := idReader(ids.Dtype()); !ok && ids.Dtype() != b.Dtype() {
		return nil, errors.Errorf("%s: ids of dtype %v: want %v or an integer dtype", what, ids.Dtype(), b.Dtype())
	}
	if init == nil {
		init = Normal(0, 1)
	}
	w, err := b.Param(name+"/w", tensor.Shape{vocab, dim}, init)
	if err != nil {
		return nil, errors.Wrap(err, what)
	}
	return guard(what, func() (*G.Node, error) { return apply(embOp{dims: ids.Dims(), idT: ids.Dtype()}, ids, w) })
}

// embOp is (ids, W) ↦ W[ids]; embGradOp is (ids, g) ↦ ∂W, the sum of the
// rows of g into the rows their ids name.
type embOp struct {
	dims int
	idT  tensor.Dtype // the ids' dtype
}

type embGradOp struct {
	embOp
	vocab int
}

func (k embOp) String() string { return fmt.Sprintf("Embedding{%d,%v}", k.dims, k.idT) }
func (k embOp) arity() int     { return 2 }
func (k embOp) ids(i int) bool { return i == 0 }
func (k embOp) typ() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(G.TensorType{Dims: k.dims, Of: k.idT}, G.TensorType{Dims: 2, Of: a}, G.TensorType{Dims: k.dims + 1, Of: a})
}
func (k embOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	if len(in[1]) != 2 {
		return nil, errors.Errorf("table shape %v: want (vocab, dim)", in[1])
	}
	return append(in[0].Clone(), in[1][1]), nil
}
func (k embOp) diff() []bool { return []bool{false, true} }
func (k embOp) grad(in G.Nodes, _, g *G.Node) (G.Nodes, error) {
	d, err := apply(embGradOp{embOp: k, vocab: in[1].Shape()[0]}, in[0], g)
	return G.Nodes{nil, d}, err
}

func (k embOp) run(dst *tensor.Dense, in []G.Value) error {
	ids, w := arg(in, 0), arg(in, 1)
	vocab, dim := w.Shape()[0], w.Shape()[1]
	if err := sizes(in, dst.Shape().TotalSize()/dim); err != nil {
		return err
	}
	if dst.Dtype() == tensor.Float64 {
		return embed(ids, w.Float64s(), dst.Float64s(), vocab, dim, false)
	}
	return embed(ids, w.Float32s(), dst.Float32s(), vocab, dim, false)
}

func (k embGradOp) String() string {
	return fmt.Sprintf("∂Embedding{%d,%v,%d}", k.dims, k.idT, k.vocab)
}
func (k embGradOp) typ() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(G.TensorType{Dims: k.dims, Of: k.idT}, G.TensorType{Dims: k.dims + 1, Of: a}, G.TensorType{Dims: 2, Of: a})
}
func (k embGradOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	return tensor.Shape{k.vocab, in[1][len(in[1])-1]}, nil
}
func (k embGradOp) diff() []bool { return []bool{false, false} }
func (k embGradOp) grad(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.Errorf("%v: second derivatives are not implemented", k)
}
func (k embGradOp) run(dst *tensor.Dense, in []G.Value) error {
	ids := arg(in, 0)
	dim := dst.Shape()[1]
	if err := sizes(in, -1, ids.Shape().TotalSize()*dim); err != nil {
		return err
	}
	if dst.Dtype() == tensor.Float64 {
		return embed(ids, dst.Float64s(), arg(in, 1).Float64s(), k.vocab, dim, true)
	}
	return embed(ids, dst.Float32s(), arg(in, 1).Float32s(), k.vocab, dim, true)
}

// embed copies row ids[i] of w into row i of out, or, back, zeroes w and
// adds row i of out into row ids[i].
func embed[T float](ids *tensor.Dense, w, out []T, vocab, dim int, back bool) error {
	read, ok := idReader(ids.Dtype())
	if !ok {
		return errors.Errorf("ids of dtype %v", ids.Dtype())
	}
	if back {
		for i := range w[:vocab*dim] {
			w[i] = 0
		}
	}
	n := ids.Shape().TotalSize()
	for i := 0; i < n; i++ {
		id, ok := read(ids, i)
		if !ok || id < 0 || id >= vocab {
			return errors.Errorf("id %v at flat position %d of ids %v is not a whole number in [0, %d)", ids.Get(i), i, ids.Shape(), vocab)
		}
		row, o := w[id*dim:(id+1)*dim], out[i*dim:(i+1)*dim]
		if back {
			for j, v := range o {
				row[j] += v
			}
		} else {
			copy(o, row)
		}
	}
	return nil
}

// idReader returns a function reading the i-th id of a tensor of dtype dt
// (false: not a whole number).
func idReader(dt tensor.Dtype) (func(t *tensor.Dense, i int) (int, bool), bool) {
	switch dt {
	case tensor.Float64:
		return func(t *tensor.Dense, i int) (int, bool) { return wholeID(t.Float64s()[i]) }, true
	case tensor.Float32:
		return func(t *tensor.Dense, i int) (int, bool) { return wholeID(float64(t.Float32s()[i])) }, true
	case tensor.Int:
		return func(t *tensor.Dense, i int) (int, bool) { return t.Ints()[i], true }, true
	case tensor.Int64:
		return func(t *tensor.Dense, i int) (int, bool) { return int(t.Int64s()[i]), true }, true
	case tensor.Int32:
		return func(t *tensor.Dense, i int) (int, bool) { return int(t.Int32s()[i]), true }, true
	}
	return nil, false
}

func wholeID(v float64) (int, bool) {
	if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
		return 0, false
	}
	return int(v), true
}
