package graph

import (
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/rng"
)

// A Program is a compiled graph with the input tensors its graph owns. Fill
// the inputs in place, Run, then read the loss, the outputs and the
// gradients. A Program is not safe for concurrent use.
//
// It runs on this package's machine (machine.go): only the nodes the loss,
// the outputs and the gradients need, every result written into memory
// allocated at compile time. A graph the machine cannot run (one with
// gorgonia's Let or Read statements) runs on gorgonia's tape machine.
type Program struct {
	m       *machine
	vm      G.VM // nil unless the graph runs on the tape machine
	feeds   []func() error
	rands   []layerRand
	runs    uint64 // Runs so far, which random layers' masks depend on
	inputs  map[string]*tensor.Dense
	loss    *G.Node
	outputs G.Nodes
	names   []string // parameter names, in Params order, of grads
	grads   G.Nodes
	// gradCopy[i], when not nil, holds a copy of gradient i made after each
	// run: its node's value is one callers must not write into (a bound
	// value, or one shared with the loss or another gradient).
	gradCopy []*tensor.Dense
	gradVal  []*tensor.Dense
	outVal   []*tensor.Dense
	// state lists the buffers the graph updates (Builder.UpdateBuffer);
	// pending says that the last Run succeeded and computed their next
	// values, which CommitState has not copied yet.
	state   []stateCommit
	pending bool
}

// stateCommit is a buffer's tensor in Params and the node of its next value.
type stateCommit struct {
	name string
	next *G.Node
	dst  *tensor.Dense
}

// Compile compiles the graph into a Program that computes loss (which may be
// nil, for a graph that only predicts) and outputs. In a training graph
// (SetTraining(true)) with a loss, it also computes by reverse-mode
// differentiation the gradient of the loss with respect to every parameter of
// the graph; Grad(i) returns them in Params order. Evaluation graphs compute
// no gradients.
func (b *Builder) Compile(loss *G.Node, outputs ...*G.Node) (prog *Program, err error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	if b.compiled {
		return nil, errors.New("graph: builder already compiled")
	}
	if loss == nil && len(outputs) == 0 {
		return nil, errors.New("graph: Compile: no loss and no outputs: nothing to compute")
	}
	defer func() {
		if r := recover(); r != nil {
			prog, err = nil, errors.Errorf("graph: compile: %v", r)
		}
	}()
	prog = &Program{feeds: b.feeds, rands: b.rands, inputs: b.inputs, loss: loss, outputs: outputs}
	if loss != nil && !loss.IsScalar() {
		return nil, errors.Errorf("graph: loss must be a scalar, got shape %v", loss.Shape())
	}
	if loss != nil && b.training {
		wrt := b.Learnables()
		if len(wrt) > 0 {
			grads, err := G.Grad(loss, wrt...)
			if err != nil {
				return nil, errors.Wrap(err, "graph: gradient")
			}
			prog.grads = grads
			for _, n := range wrt {
				prog.names = append(prog.names, n.Name())
			}
		}
	}
	targets := G.Nodes{}
	if loss != nil {
		targets = append(targets, loss)
	}
	targets = append(targets, outputs...)
	targets = append(targets, prog.grads...)
	for _, u := range b.updates {
		targets = append(targets, u.next)
		prog.state = append(prog.state, stateCommit{name: u.name, next: u.next, dst: b.p.buffers[u.name]})
	}
	for _, n := range targets {
		if n == nil {
			return nil, errors.New("graph: compile: nil output")
		}
		if n.Graph() != b.g {
			return nil, errors.Errorf("graph: compile: node %v belongs to another graph", n)
		}
	}
	if prog.m, err = newMachine(b.g, targets); err != nil {
		return nil, errors.Wrap(err, "graph: compile")
	}
	if prog.m == nil {
		prog.vm = G.NewTapeMachine(b.g)
	} else {
		prog.gradCopy = make([]*tensor.Dense, len(prog.grads))
		for i, g := range prog.grads {
			if !prog.m.shared(g) && g != loss && !prog.grads[:i].Contains(g) && !prog.grads[i+1:].Contains(g) {
				continue
			}
			if g.IsScalar() {
				prog.gradCopy[i] = tensor.New(tensor.Of(g.Dtype()), tensor.WithShape(1))
			} else {
				prog.gradCopy[i] = tensor.New(tensor.Of(g.Dtype()), tensor.WithShape(g.Shape()...))
			}
		}
	}
	prog.gradVal = make([]*tensor.Dense, len(prog.grads))
	prog.outVal = make([]*tensor.Dense, len(prog.outputs))
	b.compiled = true
	return prog, nil
}

// Input returns the tensor of the named input, to fill before Run; nil if
// there is no such input.
func (p *Program) Input(name string) *tensor.Dense { return p.inputs[name] }

// reseed sets every random layer's generator to this run's stream.
func (p *Program) reseed() {
	for _, lr := range p.rands {
		lr.r.Seed(rng.Mix(lr.base, p.runs))
	}
}

// Runs is the number of runs so far (counted whether or not they succeeded):
// the position of the random layers' streams.
func (p *Program) Runs() uint64 { return p.runs }

// SetRuns sets the run count, so that the next run draws the random masks
// the (k+1)-th run would: how a resumed training run continues the streams.
func (p *Program) SetRuns(k uint64) { p.runs = k }

// Run executes the graph once: it refills per-run inputs (dropout masks),
// then runs the forward and, with a loss, the backward pass.
func (p *Program) Run() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.Errorf("graph: run: %v", r)
		}
	}()
	p.pending = false
	p.reseed()
	p.runs++
	for _, f := range p.feeds {
		if err := f(); err != nil {
			return errors.Wrap(err, "graph: run")
		}
	}
	if p.vm != nil {
		p.vm.Reset()
		if err := p.vm.RunAll(); err != nil {
			return errors.Wrap(err, "graph: run")
		}
	} else if err := p.m.run(); err != nil {
		return errors.Wrap(err, "graph: run")
	}
	for i, g := range p.grads {
		v := p.value(g)
		if c := p.gradCopy[i]; c != nil {
			if err := copyValue(c, v); err != nil {
				return errors.Wrapf(err, "graph: run: gradient of %q", p.names[i])
			}
			v = c
		}
		p.gradVal[i] = asDense(v)
	}
	for i, o := range p.outputs {
		p.outVal[i] = asDense(p.value(o))
	}
	p.pending = len(p.state) > 0
	return nil
}

// CommitState copies the buffer values the last Run computed (BatchNorm's
// running statistics, see Builder.UpdateBuffer) into the Params buffers, so
// that evaluation graphs and later runs see them. Runs only compute them;
// the trainer calls CommitState after each training step, at a point where
// no Program over the same Params is running. It does nothing for a Program
// that updates no buffer, after a failed Run, or a second time after the
// same Run; it allocates nothing.
func (p *Program) CommitState() error {
	if !p.pending {
		return nil
	}
	p.pending = false
	for _, s := range p.state {
		if err := copyValue(s.dst, p.value(s.next)); err != nil {
			return errors.Wrapf(err, "graph: commit buffer %q", s.name)
		}
	}
	return nil
}

// NumState is the number of buffers the program updates.
func (p *Program) NumState() int { return len(p.state) }

// StateName is the name of the i-th buffer the program updates.
func (p *Program) StateName(i int) string { return p.state[i].name }

// value is n's value after a run.
func (p *Program) value(n *G.Node) G.Value {
	if p.vm != nil {
		return n.Value()
	}
	return p.m.value(n)
}

// copyValue copies a dense or scalar value into dst, which has its size.
func copyValue(dst *tensor.Dense, v G.Value) error {
	switch t := v.(type) {
	case *tensor.Dense:
		return copyData(dst, t)
	case *G.F64:
		dst.Float64s()[0] = float64(*t)
		return nil
	case *G.F32:
		dst.Float32s()[0] = float32(*t)
		return nil
	}
	return errors.Errorf("cannot copy %T", v)
}

// Loss is the loss of the last Run (0 for a program without a loss).
func (p *Program) Loss() float64 {
	if p.loss == nil {
		return 0
	}
	v, _ := scalarOf(p.value(p.loss))
	return v
}

// NumOutputs is the number of outputs given to Compile.
func (p *Program) NumOutputs() int { return len(p.outputs) }

// Output returns the i-th output's value after Run. It belongs to the
// program and may be overwritten by the next Run.
func (p *Program) Output(i int) *tensor.Dense {
	if p.outVal[i] == nil {
		return asDense(p.value(p.outputs[i]))
	}
	return p.outVal[i]
}

// NumParams is the number of parameters the program computes gradients for.
func (p *Program) NumParams() int { return len(p.names) }

// ParamName is the name of the i-th parameter, in Params order.
func (p *Program) ParamName(i int) string { return p.names[i] }

// Grad returns the gradient of the loss with respect to the i-th parameter
// after Run. It belongs to the program and may be overwritten by the next
// Run.
func (p *Program) Grad(i int) *tensor.Dense {
	if p.gradVal[i] == nil {
		return asDense(p.value(p.grads[i]))
	}
	return p.gradVal[i]
}

// Close releases the machine's resources.
func (p *Program) Close() error {
	if p.vm != nil {
		return p.vm.Close()
	}
	return nil
}

func asDense(v G.Value) *tensor.Dense {
	switch t := v.(type) {
	case *tensor.Dense:
		return t
	case *G.F64:
		return tensor.New(tensor.FromScalar(float64(*t)))
	case *G.F32:
		return tensor.New(tensor.FromScalar(float32(*t)))
	}
	return nil
}
