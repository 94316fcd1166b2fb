package trainers

import (
	"context"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/models"
)

// Helpers shared by the tests: a linear-regression problem whose exact
// answers (least-squares solution, full gradient) are computed here by hand,
// independently of gorgonia.

var bg = context.Background()

// linReg is a regression problem with its data as plain float64 slices.
type linReg struct {
	ds   *datasets.Dataset
	n, d int
	x, y []float64 // x row-major (n, d); y (n)
}

func newLinReg(t testing.TB, n, d int, noise float64, seed int64, dt tensor.Dtype) linReg {
	t.Helper()
	ds, _, _, err := datasets.LinearRegression(n, d, noise, seed, dt)
	if err != nil {
		t.Fatal(err)
	}
	return linReg{ds: ds, n: n, d: d, x: graph.Float64s(ds.X()), y: graph.Float64s(ds.Y())}
}

// leastSquares returns the exact minimizer (w..., b) of the MSE, by QR.
func (lr linReg) leastSquares(t testing.TB) []float64 {
	t.Helper()
	a := mat.NewDense(lr.n, lr.d+1, nil)
	for i := 0; i < lr.n; i++ {
		for j := 0; j < lr.d; j++ {
			a.Set(i, j, lr.x[i*lr.d+j])
		}
		a.Set(i, lr.d, 1)
	}
	var sol mat.Dense
	if err := sol.Solve(a, mat.NewDense(lr.n, 1, append([]float64(nil), lr.y...))); err != nil {
		t.Fatal(err)
	}
	return mat.Col(nil, 0, &sol)
}

// residualVar is the mean squared residual at theta = (w..., b).
func (lr linReg) residualVar(theta []float64) float64 {
	var s float64
	for i := 0; i < lr.n; i++ {
		r := lr.predict(theta, i) - lr.y[i]
		s += r * r
	}
	return s / float64(lr.n)
}

func (lr linReg) predict(theta []float64, i int) float64 {
	s := theta[lr.d]
	for j := 0; j < lr.d; j++ {
		s += lr.x[i*lr.d+j] * theta[j]
	}
	return s
}

// grad is the gradient of the MSE over the examples idx at theta:
// (2/|idx|)·Σ x̃ᵢ(x̃ᵢ·θ − yᵢ), with x̃ = (x, 1).
func (lr linReg) grad(theta []float64, idx []int) []float64 {
	g := make([]float64, lr.d+1)
	for _, i := range idx {
		r := lr.predict(theta, i) - lr.y[i]
		for j := 0; j < lr.d; j++ {
			g[j] += r * lr.x[i*lr.d+j]
		}
		g[lr.d] += r
	}
	for j := range g {
		g[j] *= 2 / float64(len(idx))
	}
	return g
}

func (lr linReg) all() []int {
	idx := make([]int, lr.n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// theta reads a Linear model's parameters as (w..., b).
func theta(p *graph.Params) []float64 {
	return append(p.CopyFloat64s("linear/w"), p.CopyFloat64s("linear/b")...)
}

// setTheta creates a Linear model's parameters in p (if needed) and sets
// them to theta = (w..., b).
func setTheta(t testing.TB, p *graph.Params, d int, th []float64) {
	t.Helper()
	if p.Len() == 0 {
		if err := models.Init(models.Linear{}, p, tensor.Shape{d}); err != nil {
			t.Fatal(err)
		}
	}
	setFloats(p.Value("linear/w"), th[:d])
	setFloats(p.Value("linear/b"), th[d:])
}

func setFloats(t *tensor.Dense, v []float64) {
	switch d := t.Data().(type) {
	case []float64:
		copy(d, v)
	case []float32:
		for i := range d {
			d[i] = float32(v[i])
		}
	}
}

func dist(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += (a[i] - b[i]) * (a[i] - b[i])
	}
	return math.Sqrt(s)
}

func norm(a []float64) float64 { return dist(a, make([]float64, len(a))) }

// relClose reports whether got and want agree to tol relative to want's norm.
func relClose(got, want []float64, tol float64) bool {
	if len(got) != len(want) {
		return false
	}
	return dist(got, want) <= tol*math.Max(norm(want), 1e-300)
}

// allParams are every parameter's values, in order, as float64s.
func allParams(p *graph.Params) [][]float64 {
	out := make([][]float64, p.Len())
	for i := range out {
		out[i] = p.CopyFloat64s(p.Name(i))
	}
	return out
}

// cfg returns a regression Config with the given epochs and optimizer.
func cfg(epochs int, opt Optimizer) Config {
	return Config{Epochs: epochs, Loss: graph.MSE, Optimizer: opt, Seed: 1}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
