package graph

import (
	"fmt"
	"math/rand"

	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/rng"
)

// A Builder makes one gorgonia graph bound to a Params. Parameter nodes it
// creates hold the memory of the Params' own tensors, so every graph built
// from the same Params reads and trains the same weights. Input nodes hold
// tensors the graph owns, which callers fill in place before each run.
//
// A Builder is used once: build the graph, then Compile it.
type Builder struct {
	g        *G.ExprGraph
	p        *Params
	seed     int64
	training bool
	params   map[string]*G.Node
	buffers  map[string]*G.Node
	updates  []stateUpdate // buffers a run computes anew (UpdateBuffer)
	inputs   map[string]*tensor.Dense
	feeds    []func() error // refill derived inputs (dropout masks) before each run
	rands    []layerRand    // generators of random layers, reseeded before each run
	compiled bool
}

// NewBuilder returns a Builder of a fresh graph bound to p. It builds an
// evaluation graph unless SetTraining(true) is called; random layers draw from
// p.Seed() unless SetSeed says otherwise.
func NewBuilder(p *Params) *Builder {
	var seed int64
	if p != nil {
		seed = p.seed
	}
	return &Builder{
		g:       G.NewGraph(),
		p:       p,
		seed:    seed,
		params:  map[string]*G.Node{},
		buffers: map[string]*G.Node{},
		inputs:  map[string]*tensor.Dense{},
	}
}

// Graph is the gorgonia graph being built, for custom layers that call
// gorgonia directly.
func (b *Builder) Graph() *G.ExprGraph { return b.g }

// Params are the parameters the graph is bound to.
func (b *Builder) Params() *Params { return b.p }

// Dtype is the element type of the graph's tensors.
func (b *Builder) Dtype() tensor.Dtype { return b.p.dtype }

// SetTraining marks the graph as one that trains: layers such as Dropout and
// BatchNorm behave differently in training and evaluation.
func (b *Builder) SetTraining(on bool) { b.training = on }

// Training reports whether the graph is a training graph.
func (b *Builder) Training() bool { return b.training }

// SetSeed sets the seed random layers (Dropout) draw their masks from.
func (b *Builder) SetSeed(seed int64) { b.seed = seed }

// Rand returns a generator for a random layer called name. Before each run
// of the compiled program it is reseeded from the builder's seed, the name,
// the batch size n and the number of runs so far (Program.Runs), so that the
// masks of a run depend on nothing else: they are reproducible, graphs of
// different batch sizes draw different streams, and a resumed training run
// (Program.SetRuns) draws what an uninterrupted one would.
func (b *Builder) Rand(name string, n int) *rand.Rand {
	base := rng.Seed(b.seed, "layer/"+name, uint64(n))
	r := rand.New(rand.NewSource(base))
	b.rands = append(b.rands, layerRand{r, base})
	return r
}

// layerRand is a random layer's generator and the seed it is derived from.
type layerRand struct {
	r    *rand.Rand
	base int64
}

// Param returns the node of the named parameter, bound to its tensor in
// Params. The first time a name is asked for in a Params, the tensor is made
// with the given shape and filled by init (nil means GlorotUniform), drawing
// from a generator seeded by the Params seed and the name. Asking again with
// another shape is an error naming both shapes.
func (b *Builder) Param(name string, shape Shape, init Initializer) (*G.Node, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	if n, ok := b.params[name]; ok {
		if !SameShape(n.Shape(), shape) {
			return nil, errors.Errorf("graph: parameter %q has shape %v, asked for %v", name, n.Shape(), shape)
		}
		return n, nil
	}
	if err := checkShape(shape); err != nil {
		return nil, errors.Wrapf(err, "graph: parameter %q", name)
	}
	if init == nil {
		init = GlorotUniform
	}
	n, err := b.bind("parameter", name, shape, init, b.p.values, b.p.Add)
	if err != nil {
		return nil, err
	}
	b.params[name] = n
	return n, nil
}

// bind returns a new node over the named tensor of values, which it first
// creates with add, filled by init, if there is none.
func (b *Builder) bind(kind, name string, shape tensor.Shape, init Initializer, values map[string]*tensor.Dense, add func(string, *tensor.Dense) error) (*G.Node, error) {
	if _, ok := b.params[name]; ok && kind != "parameter" {
		return nil, errors.Errorf("graph: %s %q: the graph has a parameter of that name", kind, name)
	}
	if _, ok := b.buffers[name]; ok && kind != "buffer" {
		return nil, errors.Errorf("graph: %s %q: the graph has a buffer of that name", kind, name)
	}
	t := values[name]
	if t == nil {
		vals := make([]float64, shape.TotalSize())
		init(rng.New(b.p.seed, "param/"+name), shape.Clone(), vals)
		t = tensor.New(tensor.Of(b.p.dtype), tensor.WithShape(shape.Clone()...))
		setFloat64s(t, vals)
		if err := add(name, t); err != nil {
			return nil, err
		}
	} else if !SameShape(t.Shape(), shape) {
		return nil, errors.Errorf("graph: %s %q has shape %v, asked for %v", kind, name, t.Shape(), shape)
	}
	// The node holds its own header over the tensor's memory: gorgonia
	// transposes matmul operands in place (T, then UT) during a run, which on
	// a header shared by several graphs would race with their runs.
	return G.NewTensor(b.g, b.p.dtype, len(shape), G.WithShape(shape.Clone()...), G.WithName(name), G.WithValue(t.ShallowClone())), nil
}

// Buffer returns the node of the named buffer: non-trainable state in
// Params, such as BatchNorm's running statistics, which the graph reads but
// never differentiates. The first time a name is asked for in a Params, the
// tensor is made with the given shape and filled by init (which must not be
// nil), as Param does. To change a buffer from a training graph, compute its
// next value as a node and register it with UpdateBuffer.
func (b *Builder) Buffer(name string, shape Shape, init Initializer) (*G.Node, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	if n, ok := b.buffers[name]; ok {
		if !SameShape(n.Shape(), shape) {
			return nil, errors.Errorf("graph: buffer %q has shape %v, asked for %v", name, n.Shape(), shape)
		}
		return n, nil
	}
	if err := checkShape(shape); err != nil {
		return nil, errors.Wrapf(err, "graph: buffer %q", name)
	}
	if init == nil {
		return nil, errors.Errorf("graph: buffer %q: nil initializer", name)
	}
	n, err := b.bind("buffer", name, shape, init, b.p.buffers, b.p.AddBuffer)
	if err != nil {
		return nil, err
	}
	b.buffers[name] = n
	return n, nil
}

// stateUpdate is a buffer and the node holding its next value.
type stateUpdate struct {
	name string
	next *G.Node
}

// UpdateBuffer registers next, a node of this graph with the buffer's shape,
// as the named buffer's value after a run. A run never writes the buffer
// itself — several Programs may run over the same Params at once — but
// computes next into memory the Program owns; Program.CommitState then
// copies it into the buffer. A buffer is updated at most once per graph.
func (b *Builder) UpdateBuffer(name string, next *G.Node) error {
	if err := b.check(); err != nil {
		return err
	}
	buf, ok := b.buffers[name]
	if !ok {
		return errors.Errorf("graph: UpdateBuffer: the graph has no buffer %q (make it with Builder.Buffer)", name)
	}
	if next == nil || next.Graph() != b.g {
		return errors.Errorf("graph: UpdateBuffer %q: the next value is nil or belongs to another graph", name)
	}
	if !SameShape(next.Shape(), buf.Shape()) || next.Dtype() != buf.Dtype() {
		return errors.Errorf("graph: UpdateBuffer %q: next value %v %v, buffer is %v %v", name, next.Dtype(), next.Shape(), buf.Dtype(), buf.Shape())
	}
	for _, u := range b.updates {
		if u.name == name {
			return errors.Errorf("graph: UpdateBuffer %q: the buffer already has an update in this graph", name)
		}
	}
	b.updates = append(b.updates, stateUpdate{name: name, next: next})
	return nil
}

// Input returns a new input node with a tensor the graph owns; a Program's
// Input(name) gives that tensor to fill before a run. Names are unique per
// graph.
func (b *Builder) Input(name string, shape Shape) (*G.Node, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	if _, ok := b.inputs[name]; ok {
		return nil, errors.Errorf("graph: input %q already exists", name)
	}
	if err := checkShape(shape); err != nil {
		return nil, errors.Wrapf(err, "graph: input %q", name)
	}
	t := tensor.New(tensor.Of(b.p.dtype), tensor.WithShape(shape.Clone()...))
	b.inputs[name] = t
	return G.NewTensor(b.g, b.p.dtype, len(shape), G.WithShape(shape.Clone()...), G.WithName(name), G.WithValue(t)), nil
}

// Feed adds an input whose tensor fill recomputes before every run of the
// compiled program: dropout masks and other per-step random inputs.
func (b *Builder) Feed(name string, shape Shape, fill func(t *tensor.Dense) error) (*G.Node, error) {
	if fill == nil {
		return nil, errors.Errorf("graph: feed %q: nil fill function", name)
	}
	n, err := b.Input(name, shape)
	if err != nil {
		return nil, err
	}
	t := b.inputs[name]
	b.feeds = append(b.feeds, func() error { return fill(t) })
	return n, nil
}

// Learnables lists the parameter nodes of this graph in Params order.
func (b *Builder) Learnables() G.Nodes {
	if b == nil || b.p == nil {
		return nil
	}
	var ns G.Nodes
	for _, name := range b.p.names {
		if n, ok := b.params[name]; ok {
			ns = append(ns, n)
		}
	}
	return ns
}

// check reports a Builder that cannot build: nil, without Params, or with
// Params of an unsupported dtype.
func (b *Builder) check() error {
	if b == nil || b.p == nil {
		return errors.New("graph: nil builder or builder without params (make one with NewBuilder(params))")
	}
	return b.p.Validate()
}

func checkShape(s tensor.Shape) error {
	if len(s) == 0 {
		return errors.New("shape is empty; want at least one dimension")
	}
	for _, d := range s {
		if d <= 0 {
			return errors.Errorf("shape %v has a dimension ≤ 0", s)
		}
	}
	return nil
}

func setFloat64s(t *tensor.Dense, vals []float64) {
	switch d := t.Data().(type) {
	case []float64:
		copy(d, vals)
	case []float32:
		for i, v := range vals {
			d[i] = float32(v)
		}
	}
}

// guard runs f, turning a gorgonia panic into an error, and wraps any error
// with what (the layer, its name and shapes).
func guard(what string, f func() (*G.Node, error)) (n *G.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			n, err = nil, errors.Errorf("%s: %v", what, r)
		}
	}()
	n, err = f()
	if err != nil {
		return nil, errors.Wrap(err, what)
	}
	return n, nil
}

// describe names a layer and the shape of its input for error messages.
func describe(layer, name string, x *G.Node) string {
	what := "graph: " + layer
	if name != "" {
		what += fmt.Sprintf(" %q", name)
	}
	if x == nil {
		return what + ": nil input"
	}
	return fmt.Sprintf("%s (input shape %v)", what, x.Shape())
}

// InputTensor returns the tensor behind the named input (nil if none), for
// filling while the graph is built; after Compile use Program.Input.
func (b *Builder) InputTensor(name string) *tensor.Dense { return b.inputs[name] }
