package graph_test

import (
	"fmt"

	"github.com/pkg/errors"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/graph"
)

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
		fmt.Println("after the run:  ", p.Float64s("c/mean"))
		// The trainer does this after every step (several Programs may run
		// over the same Params at once; only a commit writes buffers).
		if err := prog.CommitState(); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("after the commit:", p.Float64s("c/mean"))
	}
	fmt.Println("trainable:", p.Names(), "buffers:", p.BufferNames())
	// Output:
	// after the run:   [0 0]
	// after the commit: [1 10]
	// after the run:   [1 10]
	// after the commit: [1.5 15]
	// trainable: [] buffers: [c/mean]
}
