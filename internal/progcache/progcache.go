// Package progcache compiles a model's forward function over its Params once per
// batch size and keeps the programs, so that training, evaluation and
// prediction each build one graph per batch shape for a whole run.
package progcache

import (
	"fmt"

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
	// Create lets the model create its parameters in Params when they are
	// empty (Init, a first Fit). Otherwise, and whenever Params hold any
	// parameter, they must hold exactly the model's: a parameter the model
	// asks for that is missing, or one it never uses, is an error naming
	// them, and Params are never changed.
	Create bool
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
	if err := s.Params.Validate(); err != nil {
		return nil, err
	}
	target := s.Params
	if s.Params.Len() > 0 || !s.Create {
		// Build on a Params sharing the caller's tensors: what the model
		// creates lands there, and shows what the caller's Params lack.
		target = graph.NewParams(s.Params.Dtype(), s.Params.Seed())
		for _, name := range s.Params.Names() {
			if err := target.Add(name, s.Params.Value(name)); err != nil {
				return nil, err
			}
		}
		// Buffers too (BatchNorm's running statistics): graphs read and
		// commit the caller's.
		for _, name := range s.Params.BufferNames() {
			if err := target.AddBuffer(name, s.Params.Buffer(name)); err != nil {
				return nil, err
			}
		}
	}
	b := graph.NewBuilder(target)
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
	if target != s.Params {
		if err := matchParams(s.Params, target, b); err != nil {
			return nil, err
		}
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

// matchParams reports, naming them, the parameters the model built by b
// created in built (the caller's Params lack them) and those of have the
// model never asked for.
func matchParams(have, built *graph.Params, b *graph.Builder) error {
	var missing, unused []string
	for _, name := range built.Names() {
		if have.Value(name) == nil {
			missing = append(missing, name)
		}
	}
	for _, name := range built.BufferNames() {
		if have.Buffer(name) == nil {
			missing = append(missing, name)
		}
	}
	used := map[string]bool{}
	for _, n := range b.Learnables() {
		used[n.Name()] = true
	}
	for _, name := range have.Names() {
		if !used[name] {
			unused = append(unused, name)
		}
	}
	if len(missing) == 0 && len(unused) == 0 {
		return nil
	}
	if have.Len() == 0 {
		return errors.Errorf("the params are empty: the model has %d parameter tensors %q (fill them with models.Init and training, or by loading a checkpoint)", len(missing), missing)
	}
	msg := "the params do not fit the model:"
	if len(missing) > 0 {
		msg += fmt.Sprintf(" missing parameters %q (the model asks for them)", missing)
		if len(unused) > 0 {
			msg += ";"
		}
	}
	if len(unused) > 0 {
		msg += fmt.Sprintf(" unexpected parameters %q (the model never uses them: misspelled, or params of another model?)", unused)
	}
	return errors.New(msg)
}
