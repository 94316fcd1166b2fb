package graph_test

import (
	"fmt"

	"github.com/pkg/errors"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/graph"
)

// Build a softmax classifier's training graph, compile it, fill its inputs
// and run it once.
func ExampleNewBuilder() {
	p := graph.NewParams(tensor.Float64, 1)
	b := graph.NewBuilder(p)
	b.SetTraining(true) // compute gradients
	x, _ := b.Input("x", tensor.Shape{4, 2})
	y, _ := b.Input("y", tensor.Shape{4}) // class indices
	logits, err := graph.Dense(b, "dense", x, 3, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	loss, err := graph.SoftmaxCrossEntropy(b, logits, y)
	if err != nil {
		fmt.Println(err)
		return
	}
	prog, err := b.Compile(loss)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer prog.Close()

	// The program owns its inputs: fill them in place before each run.
	copy(prog.Input("x").Data().([]float64), []float64{1, 0, 0, 1, -1, 0, 0, -1})
	copy(prog.Input("y").Data().([]float64), []float64{0, 1, 2, 1})
	if err := prog.Run(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("loss %.4f\n", prog.Loss())
	fmt.Println("gradients:", prog.NumParams())
	for i := 0; i < prog.NumParams(); i++ {
		fmt.Println(prog.ParamName(i), prog.Grad(i).Shape())
	}
	// Output:
	// loss 1.5243
	// gradients: 2
	// dense/w (2, 3)
	// dense/b (3)
}

// Check a model's gradients against finite differences in a test.
func ExampleGradCheck() {
	p := graph.NewParams(tensor.Float64, 1) // GradCheck needs float64
	res, err := graph.GradCheck(p, func(b *graph.Builder) (*gorgonia.Node, error) {
		x, _ := b.Input("x", tensor.Shape{3, 2})
		copy(b.InputTensor("x").Data().([]float64), []float64{0.5, -1, 2, 0.25, -0.75, 1})
		y, _ := b.Input("y", tensor.Shape{3, 1})
		copy(b.InputTensor("y").Data().([]float64), []float64{1, 0, 1})
		h, err := graph.Dense(b, "hidden", x, 4, nil)
		if err != nil {
			return nil, err
		}
		if h, err = graph.Tanh(h); err != nil {
			return nil, err
		}
		out, err := graph.Dense(b, "out", h, 1, nil)
		if err != nil {
			return nil, err
		}
		return graph.BinaryCrossEntropy(b, out, y)
	}, 1e-6)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("scalars checked:", res.Checked)
	fmt.Println("max relative error ≤ 1e-6:", res.MaxRelErr <= 1e-6)
	// Output:
	// scalars checked: 17
	// max relative error ≤ 1e-6: true
}

// scaleShift is a custom layer: y = x⊙γ + β, with a scale γ and a shift β
// per feature of a (batch, features) input. It is a plain function over a
// Builder: its parameters come from b.Param, its computation from gorgonia.
func scaleShift(b *graph.Builder, name string, x *gorgonia.Node) (*gorgonia.Node, error) {
	if x == nil || x.Dims() != 2 {
		return nil, errors.Errorf("scaleShift %q: want a (batch, features) input", name)
	}
	features := x.Shape()[1]
	gamma, err := b.Param(name+"/gamma", tensor.Shape{1, features}, graph.Constant(1))
	if err != nil {
		return nil, errors.Wrapf(err, "scaleShift %q", name)
	}
	beta, err := b.Param(name+"/beta", tensor.Shape{1, features}, graph.Zeros)
	if err != nil {
		return nil, errors.Wrapf(err, "scaleShift %q", name)
	}
	// Broadcast γ and β (1, features) over the batch axis 0.
	y, err := gorgonia.BroadcastHadamardProd(x, gamma, nil, []byte{0})
	if err != nil {
		return nil, errors.Wrapf(err, "scaleShift %q", name)
	}
	return gorgonia.BroadcastAdd(y, beta, nil, []byte{0})
}

// mlp is a custom model: its Forward has the signature the rest of descent
// builds graphs with.
type mlp struct{ hidden, classes int }

func (m mlp) Forward(b *graph.Builder, x *gorgonia.Node) (*gorgonia.Node, error) {
	h, err := graph.Dense(b, "hidden", x, m.hidden, graph.HeNormal)
	if err != nil {
		return nil, err
	}
	if h, err = scaleShift(b, "norm", h); err != nil {
		return nil, err
	}
	if h, err = graph.ReLU(h); err != nil {
		return nil, err
	}
	return graph.Dense(b, "out", h, m.classes, nil)
}

// Write a layer of your own and use it in a model; GradCheck its gradients.
func Example_customLayer() {
	m := mlp{hidden: 4, classes: 3}
	p := graph.NewParams(tensor.Float64, 7)
	res, err := graph.GradCheck(p, func(b *graph.Builder) (*gorgonia.Node, error) {
		x, _ := b.Input("x", tensor.Shape{2, 3})
		copy(b.InputTensor("x").Data().([]float64), []float64{1, -2, 0.5, 0.3, 1.5, -1})
		y, _ := b.Input("y", tensor.Shape{2})
		copy(b.InputTensor("y").Data().([]float64), []float64{2, 0})
		out, err := m.Forward(b, x)
		if err != nil {
			return nil, err
		}
		return graph.SoftmaxCrossEntropy(b, out, y)
	}, 1e-6)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Names())
	fmt.Println("gradients agree:", res.MaxRelErr <= 1e-6)
	// Output:
	// [hidden/w hidden/b norm/gamma norm/beta out/w out/b]
	// gradients agree: true
}

// Parameters live apart from graphs: a second graph, for another batch
// size, reuses them.
func ExampleParams() {
	p := graph.NewParams(tensor.Float32, 1)
	m := mlp{hidden: 8, classes: 3}
	for _, batch := range []int{32, 1} {
		b := graph.NewBuilder(p)
		x, _ := b.Input("x", tensor.Shape{batch, 5})
		if _, err := m.Forward(b, x); err != nil {
			fmt.Println(err)
			return
		}
	}
	for _, name := range p.Names() {
		fmt.Println(name, p.Value(name).Shape())
	}
	fmt.Println("scalars:", p.NumScalars())
	// Output:
	// hidden/w (5, 8)
	// hidden/b (8)
	// norm/gamma (1, 8)
	// norm/beta (1, 8)
	// out/w (8, 3)
	// out/b (3)
	// scalars: 91
}

// center is a custom layer with state: it subtracts from each feature of a
// (batch, features) input its mean — the batch's in a training graph, a
// running mean kept in a buffer in an evaluation graph. A training graph
// computes the buffer's next value as a node and registers it with
// UpdateBuffer; it never writes the buffer itself.
func center(b *graph.Builder, name string, x *gorgonia.Node, momentum float64) (*gorgonia.Node, error) {
	if x == nil || x.Dims() != 2 {
		return nil, errors.Errorf("center %q: want a (batch, features) input", name)
	}
	running, err := b.Buffer(name+"/mean", tensor.Shape{x.Shape()[1]}, graph.Zeros)
	if err != nil {
		return nil, errors.Wrapf(err, "center %q", name)
	}
	mean := running
	if b.Training() {
		if mean, err = gorgonia.Mean(x, 0); err != nil {
			return nil, err
		}
		// next = running + momentum·(batch mean − running)
		d, err := gorgonia.Sub(mean, running)
		if err != nil {
			return nil, err
		}
		if d, err = gorgonia.Mul(d, gorgonia.NewConstant(momentum)); err != nil {
			return nil, err
		}
		next, err := gorgonia.Add(running, d)
		if err != nil {
			return nil, err
		}
		if err := b.UpdateBuffer(name+"/mean", next); err != nil {
			return nil, err
		}
	}
	return gorgonia.BroadcastSub(x, mean, nil, []byte{0})
}

// Write a layer with state of its own: a buffer, updated by training runs
// and committed after each step, read by evaluation graphs.
func ExampleBuilder_UpdateBuffer() {
	p := graph.NewParams(tensor.Float64, 1)
	b := graph.NewBuilder(p)
	b.SetTraining(true)
	x, _ := b.Input("x", tensor.Shape{2, 2})
	y, err := center(b, "c", x, 0.5)
	if err != nil {
		fmt.Println(err)
		return
	}
	prog, err := b.Compile(nil, y)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer prog.Close()
	copy(prog.Input("x").Data().([]float64), []float64{1, 10, 3, 30})
	for step := 1; step <= 2; step++ {
		if err := prog.Run(); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("after the run:  ", p.CopyFloat64s("c/mean"))
		// The trainer does this after every step (several Programs may run
		// over the same Params at once; only a commit writes buffers).
		if err := prog.CommitState(); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("after the commit:", p.CopyFloat64s("c/mean"))
	}
	fmt.Println("trainable:", p.Names(), "buffers:", p.BufferNames())
	// Output:
	// after the run:   [0 0]
	// after the commit: [1 10]
	// after the run:   [1 10]
	// after the commit: [1.5 15]
	// trainable: [] buffers: [c/mean]
}
