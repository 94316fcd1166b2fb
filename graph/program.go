package graph

import (
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// A Program is a compiled graph: a gorgonia tape machine with the input
// tensors its graph owns. Fill the inputs in place, Run, then read the loss,
// the outputs and the gradients. A Program is not safe for concurrent use.
type Program struct {
	vm      G.VM
	feeds   []func() error
	inputs  map[string]*tensor.Dense
	loss    *G.Node
	outputs G.Nodes
	names   []string // parameter names, in Params order, of grads
	grads   G.Nodes
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
	defer func() {
		if r := recover(); r != nil {
			prog, err = nil, errors.Errorf("graph: compile: %v", r)
		}
	}()
	prog = &Program{feeds: b.feeds, inputs: b.inputs, loss: loss, outputs: outputs}
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
	prog.vm = G.NewTapeMachine(b.g)
	b.compiled = true
	return prog, nil
}

// Input returns the tensor of the named input, to fill before Run; nil if
// there is no such input.
func (p *Program) Input(name string) *tensor.Dense { return p.inputs[name] }

// Run executes the graph once: it refills per-run inputs (dropout masks),
// then runs the forward and, with a loss, the backward pass.
func (p *Program) Run() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.Errorf("graph: run: %v", r)
		}
	}()
	for _, f := range p.feeds {
		if err := f(); err != nil {
			return errors.Wrap(err, "graph: run")
		}
	}
	p.vm.Reset()
	if err := p.vm.RunAll(); err != nil {
		return errors.Wrap(err, "graph: run")
	}
	return nil
}

// Loss is the loss of the last Run (0 for a program without a loss).
func (p *Program) Loss() float64 {
	if p.loss == nil {
		return 0
	}
	v, _ := scalarOf(p.loss.Value())
	return v
}

// NumOutputs is the number of outputs given to Compile.
func (p *Program) NumOutputs() int { return len(p.outputs) }

// Output returns the i-th output's value after Run. It belongs to the
// program and may be overwritten by the next Run.
func (p *Program) Output(i int) *tensor.Dense { return asDense(p.outputs[i].Value()) }

// NumParams is the number of parameters the program computes gradients for.
func (p *Program) NumParams() int { return len(p.names) }

// ParamName is the name of the i-th parameter, in Params order.
func (p *Program) ParamName(i int) string { return p.names[i] }

// Grad returns the gradient of the loss with respect to the i-th parameter
// after Run. It belongs to the program and may be overwritten by the next
// Run.
func (p *Program) Grad(i int) *tensor.Dense { return asDense(p.grads[i].Value()) }

// Close releases the machine's resources.
func (p *Program) Close() error { return p.vm.Close() }

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
