package graph

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// runProgram compiles build over fresh params of dtype dt and seed 5, runs
// it twice (the second run reuses every buffer), and returns the loss and
// the gradients by parameter name.
func runProgram(t *testing.T, name string, dt tensor.Dtype, build func(b *Builder) (*G.Node, error)) (float64, map[string][]float64) {
	t.Helper()
	b := NewBuilder(NewParams(dt, 5))
	b.SetTraining(true)
	loss, err := build(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	prog, err := b.Compile(loss)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	defer prog.Close()
	for run := 0; run < 2; run++ {
		if err := prog.Run(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	grads := map[string][]float64{}
	for i := 0; i < prog.NumParams(); i++ {
		grads[prog.ParamName(i)] = Float64s(prog.Grad(i))
	}
	return prog.Loss(), grads
}

// Conv2D and MaxPool2D on this package's ops compute what gorgonia's
// Conv2d and MaxPool2D compute, to rounding: the loss and every gradient,
// through strides, padding, overlapping and ragged pooling windows, ties
// after ReLU, several channels, and a convolution's input gradient (the
// second convolution's).
func TestConvMatchesGorgonia(t *testing.T) {
	cases := []struct {
		name   string
		in     tensor.Shape
		stages []stage
	}{
		{"conv 3x3 pad 1", tensor.Shape{2, 3, 7, 6}, []stage{conv("c", 4, 3, 1, 1), flatten()}},
		{"conv 5x5 pad 2, relu, pool 2/2, conv 5x5, pool", tensor.Shape{3, 1, 14, 14}, []stage{
			conv("c1", 6, 5, 1, 2), act(ReLU), pool(2, 2), conv("c2", 5, 5, 1, 0), act(ReLU), pool(2, 2), flatten()}},
		{"conv stride 2 pad 1, conv k2 stride 2", tensor.Shape{2, 2, 9, 8}, []stage{
			conv("c1", 3, 3, 2, 1), act(Tanh), conv("c2", 2, 2, 2, 1), flatten()}},
		{"pool 3/2 ragged, pool 2/1 overlapping", tensor.Shape{2, 2, 9, 10}, []stage{
			conv("c", 3, 3, 1, 1), act(ReLU), pool(3, 2), pool(2, 1), flatten()}},
		{"conv wider than tall, stride 3", tensor.Shape{1, 2, 5, 11}, []stage{conv("c", 2, 3, 3, 2), flatten()}},
	}
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		tol := 1e-12
		if dt == tensor.Float32 {
			tol = 2e-5
		}
		for _, c := range cases {
			name := c.name + " " + dt.String()
			build := model(t, c.in, mseHead, c.stages...)
			gorgoniaConv = true
			wantLoss, want := runProgram(t, name+" (gorgonia)", dt, build)
			gorgoniaConv = false
			gotLoss, got := runProgram(t, name, dt, build)
			if math.Abs(gotLoss-wantLoss) > tol*math.Abs(wantLoss) {
				t.Errorf("%s: loss %v, gorgonia %v", name, gotLoss, wantLoss)
			}
			if len(got) != len(want) {
				t.Fatalf("%s: %d gradients, gorgonia %d", name, len(got), len(want))
			}
			for p, w := range want {
				g := got[p]
				scale := 0.0
				for _, v := range w {
					scale = math.Max(scale, math.Abs(v))
				}
				if len(g) != len(w) || scale == 0 {
					t.Fatalf("%s: gradient of %s: %d values, gorgonia %d (scale %v)", name, p, len(g), len(w), scale)
				}
				for i := range w {
					if math.Abs(g[i]-w[i]) > tol*scale {
						t.Errorf("%s: gradient of %s[%d] = %v, gorgonia %v", name, p, i, g[i], w[i])
						break
					}
				}
			}
		}
	}
}
