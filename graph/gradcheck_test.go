package graph

import (
	"math/rand"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// fillInput makes an input of the given shape with values from fill.
func fillInput(t *testing.T, b *Builder, name string, shape tensor.Shape, fill func(i int) float64) *G.Node {
	t.Helper()
	n, err := b.Input(name, shape)
	if err != nil {
		t.Fatal(err)
	}
	d := b.InputTensor(name).Data().([]float64)
	for i := range d {
		d[i] = fill(i)
	}
	return n
}

func randn(seed int64) func(int) float64 {
	r := rand.New(rand.NewSource(seed))
	return func(int) float64 { return r.NormFloat64() }
}

func classes(k int) func(int) float64 { return func(i int) float64 { return float64((i * 7) % k) } }

const gradTol = 1e-6

func checkGrad(t *testing.T, name string, build func(b *Builder) (*G.Node, error)) {
	t.Helper()
	p := NewParams(tensor.Float64, 42)
	res, err := GradCheck(p, build, 1e-6)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if res.Checked != p.NumScalars() {
		t.Errorf("%s: checked %d scalars, params have %d", name, res.Checked, p.NumScalars())
	}
	if res.MaxRelErr > gradTol {
		t.Errorf("%s: max relative error %.3g at %s[%d]: analytic %.10g, numeric %.10g", name, res.MaxRelErr, res.Param, res.Index, res.Analytic, res.Numeric)
	}
	t.Logf("%s: %d scalars, max rel err %.2g", name, res.Checked, res.MaxRelErr)
}

func TestGradCheckLayersAndLosses(t *testing.T) {
	const n, in, hid, k = 5, 4, 6, 3
	dense := func(act Activation, loss Loss, target func(b *Builder) *G.Node) func(b *Builder) (*G.Node, error) {
		return func(b *Builder) (*G.Node, error) {
			x := fillInput(t, b, "x", tensor.Shape{n, in}, randn(1))
			h, err := Dense(b, "d1", x, hid, nil)
			if err != nil {
				return nil, err
			}
			if act != nil {
				if h, err = act(h); err != nil {
					return nil, err
				}
			}
			out, err := Dense(b, "d2", h, k, nil)
			if err != nil {
				return nil, err
			}
			return loss(b, out, target(b))
		}
	}
	indices := func(b *Builder) *G.Node { return fillInput(t, b, "y", tensor.Shape{n}, classes(k)) }
	onehot := func(b *Builder) *G.Node {
		return fillInput(t, b, "y", tensor.Shape{n, k}, func(i int) float64 {
			if i%k == (i/k*7)%k {
				return 1
			}
			return 0
		})
	}
	real := func(b *Builder) *G.Node { return fillInput(t, b, "y", tensor.Shape{n, k}, randn(2)) }
	probs := func(b *Builder) *G.Node {
		return fillInput(t, b, "y", tensor.Shape{n, k}, func(i int) float64 { return float64(i%4) / 3 })
	}
	cases := []struct {
		name  string
		build func(b *Builder) (*G.Node, error)
	}{
		{"linear+MSE", dense(nil, MSE, real)},
		{"tanh+MSE", dense(Tanh, MSE, real)},
		{"sigmoid+BCE", dense(Sigmoid, BinaryCrossEntropy, probs)},
		{"relu+softmaxCE indices", dense(ReLU, SoftmaxCrossEntropy, indices)},
		{"leakyrelu+softmaxCE one-hot", dense(LeakyReLU(0.1), SoftmaxCrossEntropy, onehot)},
		{"softmax+MSE", dense(Softmax, MSE, real)},
	}
	for _, c := range cases {
		checkGrad(t, c.name, c.build)
	}
}
