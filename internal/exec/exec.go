// Package exec compiles a model's forward function over its Params once per
// batch size and keeps the programs, so that training, evaluation and
// prediction each build one graph per batch shape for a whole run.
package exec

import (
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/graph"
)

// Forward is a model's forward function.
type Forward func(b *graph.Builder, x *G.Node) (*G.Node, error)

// Spec says what to compile.
type Spec struct {
	Forward  Forward
	Params   *graph.Params
	X        tensor.Shape // one example's input shape
	Y        tensor.Shape // one example's target shape; nil with Loss nil
	Loss     graph.Loss   // nil: outputs only
	Training bool         // compute gradients; random layers active
	Seed     int64        // seed of random layers
}

// Compiled is one program with its input tensors.
type Compiled struct {
	*graph.Program
	N    int           // batch size
	X, Y *tensor.Dense // input tensors owned by the program
	Out  tensor.Shape  // the model's output shape
}

// Cache holds one Compiled per batch size.
type Cache struct {
	spec  Spec
	progs map[int]*Compiled
	runs  map[int]uint64 // run counts to give programs when they are compiled
}

// New returns an empty cache for spec.
func New(spec Spec) *Cache { return &Cache{spec: spec, progs: map[int]*Compiled{}} }

// Get returns the program for batch size n, compiling it the first time.
func (c *Cache) Get(n int) (*Compiled, error) {
	if p, ok := c.progs[n]; ok {
		return p, nil
	}
	p, err := compile(c.spec, n)
	if err != nil {
		return nil, err
	}
	p.SetRuns(c.runs[n])
	c.progs[n] = p
	return p, nil
}

// Runs returns the run count of every program, by batch size: where the
// random layers' streams stand.
func (c *Cache) Runs() map[int]uint64 {
	out := map[int]uint64{}
	for n, p := range c.progs {
		if k := p.Runs(); k > 0 {
			out[n] = k
		}
	}
	return out
}

// SetRuns sets the run counts, by batch size, of the programs compiled now
// and later (missing sizes count from 0): how a resumed run continues the
// random layers' streams.
func (c *Cache) SetRuns(runs map[int]uint64) {
	c.runs = map[int]uint64{}
	for n, k := range runs {
		c.runs[n] = k
	}
	for n, p := range c.progs {
		p.SetRuns(c.runs[n])
	}
}

// Len is the number of compiled programs (one per batch size seen).
func (c *Cache) Len() int { return len(c.progs) }

// Close releases every program.
func (c *Cache) Close() {
	for _, p := range c.progs {
		p.Close()
	}
}

func batchShape(n int, s tensor.Shape) tensor.Shape {
	return append(tensor.Shape{n}, s...)
}

func compile(s Spec, n int) (*Compiled, error) {
	if s.Forward == nil {
		return nil, errors.New("no model")
	}
	b := graph.NewBuilder(s.Params)
	b.SetTraining(s.Training)
	b.SetSeed(s.Seed)
	x, err := b.Input("x", batchShape(n, s.X))
	if err != nil {
		return nil, err
	}
	out, err := safeForward(s.Forward, b, x)
	if err != nil {
		return nil, errors.Wrapf(err, "model forward on input shape %v", x.Shape())
	}
	if out == nil {
		return nil, errors.Errorf("model forward on input shape %v returned no output", x.Shape())
	}
	c := &Compiled{N: n, X: b.InputTensor("x"), Out: out.Shape().Clone()}
	var loss *G.Node
	if s.Loss != nil {
		y, err := b.Input("y", batchShape(n, s.Y))
		if err != nil {
			return nil, err
		}
		c.Y = b.InputTensor("y")
		if loss, err = s.Loss(b, out, y); err != nil {
			return nil, errors.Wrapf(err, "loss of model output %v and targets %v", out.Shape(), y.Shape())
		}
	}
	if c.Program, err = b.Compile(loss, out); err != nil {
		return nil, err
	}
	return c, nil
}

// safeForward keeps a panic in user model code from escaping.
func safeForward(f Forward, b *graph.Builder, x *G.Node) (out *G.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, errors.Errorf("panic: %v", r)
		}
	}()
	return f(b, x)
}
