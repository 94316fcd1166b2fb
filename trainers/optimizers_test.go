package trainers

import (
	"math"
	"testing"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/testutil"
	"github.com/descent-go/descent/models"
)

// The optimizer tests call Start directly on two parameter tensors, a (2) and
// b (1), feed the same three fixed gradients with three learning rates, and
// compare with the update rules written out here scalar by scalar.

var (
	optInit  = [][]float64{{1.0, -2.0}, {0.5}}
	optGrads = [3][][]float64{
		{{0.1, -0.2}, {0.3}},
		{{0.05, 0.4}, {-0.1}},
		{{-0.3, 0.1}, {0.2}},
	}
	optLRs = [3]float64{0.1, 0.05, 0.02}
)

// ref is a reference optimizer acting on one scalar: it returns the new w
// from w, g, the learning rate and the step number t (from 1), keeping its
// state in s.
type ref func(w, g, lr float64, t int, s *[2]float64) float64

func refSGD(w, g, lr float64, _ int, _ *[2]float64) float64 { return w - lr*g }

func refMomentum(mu float64, nesterov bool) ref {
	return func(w, g, lr float64, _ int, s *[2]float64) float64 {
		v := mu*s[0] + g
		s[0] = v
		if nesterov {
			return w - lr*(g+mu*v)
		}
		return w - lr*v
	}
}

func refAdam(b1, b2, eps, wd float64) ref {
	return func(w, g, lr float64, t int, s *[2]float64) float64 {
		w *= 1 - lr*wd // AdamW: decoupled decay, before the adaptive step
		s[0] = b1*s[0] + (1-b1)*g
		s[1] = b2*s[1] + (1-b2)*g*g
		mHat := s[0] / (1 - math.Pow(b1, float64(t)))
		vHat := s[1] / (1 - math.Pow(b2, float64(t)))
		return w - lr*mHat/(math.Sqrt(vHat)+eps)
	}
}

func refRMSProp(rho, eps float64) ref {
	return func(w, g, lr float64, _ int, s *[2]float64) float64 {
		s[0] = rho*s[0] + (1-rho)*g*g
		return w - lr*g/(math.Sqrt(s[0])+eps)
	}
}

func refAdaGrad(eps float64) ref {
	return func(w, g, lr float64, _ int, s *[2]float64) float64 {
		s[0] += g * g
		return w - lr*g/(math.Sqrt(s[0])+eps)
	}
}

func newTensor(dt tensor.Dtype, v []float64) *tensor.Dense {
	t := tensor.New(tensor.Of(dt), tensor.WithShape(len(v)))
	setFloats(t, v)
	return t
}

// runOptimizer applies three steps of o and returns the parameters after
// each step.
func runOptimizer(t *testing.T, o Optimizer, dt tensor.Dtype) [3][][]float64 {
	t.Helper()
	params := []*tensor.Dense{newTensor(dt, optInit[0]), newTensor(dt, optInit[1])}
	u, err := o.Start(params)
	if err != nil {
		t.Fatal(err)
	}
	var out [3][][]float64
	for step := range optGrads {
		grads := []*tensor.Dense{newTensor(dt, optGrads[step][0]), newTensor(dt, optGrads[step][1])}
		if err := u(optLRs[step], grads); err != nil {
			t.Fatal(err)
		}
		out[step] = [][]float64{graph.Float64s(params[0]), graph.Float64s(params[1])}
	}
	return out
}

func runRef(r ref) [3][][]float64 {
	var out [3][][]float64
	w := [][]float64{append([]float64(nil), optInit[0]...), append([]float64(nil), optInit[1]...)}
	state := [][][2]float64{make([][2]float64, 2), make([][2]float64, 1)}
	for step := range optGrads {
		for i := range w {
			for j := range w[i] {
				w[i][j] = r(w[i][j], optGrads[step][i][j], optLRs[step], step+1, &state[i][j])
			}
		}
		out[step] = [][]float64{append([]float64(nil), w[0]...), append([]float64(nil), w[1]...)}
	}
	return out
}

func TestOptimizersMatchHandComputedSteps(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  Optimizer
		ref  ref
		// a[0] after three steps, computed with pencil and paper, as a
		// check on the reference itself.
		hand float64
	}{
		{"SGD", SGD{LR: 1}, refSGD, 1 - 0.1*0.1 - 0.05*0.05 + 0.02*0.3}, // 0.9935
		// v: 0.1, 0.14, −0.174; w: 0.99, 0.983, 0.98648
		{"Momentum", SGD{LR: 1, Momentum: 0.9}, refMomentum(0.9, false), 0.98648},
		// w: 1 − 0.1·0.19 = 0.981, − 0.05·0.176 = 0.9722, + 0.02·0.4566 = 0.981332
		{"Nesterov", SGD{LR: 1, Momentum: 0.9, Nesterov: true}, refMomentum(0.9, true), 0.981332},
		{"Adam", NewAdam(1), refAdam(0.9, 0.999, 1e-8, 0), math.NaN()},
		{"Adam Beta1 0", Adam{LR: 1, Beta1: 0, Beta2: 0.999, Eps: 1e-8}, refAdam(0, 0.999, 1e-8, 0), math.NaN()},
		{"Adam Beta2 0", Adam{LR: 1, Beta1: 0.9, Beta2: 0, Eps: 1e-8}, refAdam(0.9, 0, 1e-8, 0), math.NaN()},
		{"Adam custom", Adam{LR: 1, Beta1: 0.5, Beta2: 0.9, Eps: 1e-3}, refAdam(0.5, 0.9, 1e-3, 0), math.NaN()},
		{"AdamW", NewAdamW(1, 0.1), refAdam(0.9, 0.999, 1e-8, 0.1), math.NaN()},
		{"RMSProp", NewRMSProp(1), refRMSProp(0.9, 1e-8), math.NaN()},
		{"RMSProp Rho 0", RMSProp{LR: 1, Rho: 0, Eps: 1e-8}, refRMSProp(0, 1e-8), math.NaN()},
		{"RMSProp custom", RMSProp{LR: 1, Rho: 0.5, Eps: 1e-4}, refRMSProp(0.5, 1e-4), math.NaN()},
		{"AdaGrad", NewAdaGrad(1), refAdaGrad(1e-10), math.NaN()},
	} {
		want := runRef(tc.ref)
		if !math.IsNaN(tc.hand) && math.Abs(want[2][0][0]-tc.hand) > 1e-15 {
			t.Fatalf("%s: the reference gives a[0] = %.17g, by hand %.17g", tc.name, want[2][0][0], tc.hand)
		}
		for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
			tol := 1e-14
			if dt == tensor.Float32 {
				tol = 2e-6
			}
			got := runOptimizer(t, tc.opt, dt)
			for step := range got {
				for i := range got[step] {
					for j, v := range got[step][i] {
						w := want[step][i][j]
						if math.Abs(v-w) > tol*math.Max(1, math.Abs(w)) {
							t.Errorf("%s %v step %d param %d[%d]: %.10g, want %.10g", tc.name, dt, step+1, i, j, v, w)
						}
					}
				}
			}
		}
	}
}

func TestOptimizerStateIsPerFit(t *testing.T) {
	// One Optimizer value serves two Fits: each Start has fresh moments.
	o := NewAdam(1)
	a, b := runOptimizer(t, o, tensor.Float64), runOptimizer(t, o, tensor.Float64)
	if a[2][0][0] != b[2][0][0] {
		t.Errorf("second Start continued the first one's state: %v vs %v", a[2][0][0], b[2][0][0])
	}
}

func TestOptimizerGradientCountMismatch(t *testing.T) {
	bad := []struct {
		name  string
		grads []*tensor.Dense
	}{
		{"no gradient", nil},
		{"two gradients", []*tensor.Dense{newTensor(tensor.Float64, []float64{1}), newTensor(tensor.Float64, []float64{1})}},
		{"nil gradient", []*tensor.Dense{nil}},
		{"longer gradient", []*tensor.Dense{newTensor(tensor.Float64, []float64{1, 2})}},
		{"float32 gradient", []*tensor.Dense{newTensor(tensor.Float32, []float64{1})}},
	}
	for _, o := range []Optimizer{SGD{LR: 1}, SGD{LR: 1, Momentum: 0.5}, NewAdam(1), NewRMSProp(1), NewAdaGrad(1)} {
		w := newTensor(tensor.Float64, []float64{1})
		u, err := o.Start([]*tensor.Dense{w})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bad {
			if err := u(0.1, b.grads); err == nil {
				t.Errorf("%T: no error for a %s", o, b.name)
			}
		}
		if got := w.Float64s()[0]; got != 1 {
			t.Errorf("%T: a refused update changed the weight to %v", o, got)
		}
	}
}

func TestInvalidHyperparametersFailBeforeAnyUpdate(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	lr := newLinReg(t, 30, 2, 0.1, 13, tensor.Float64)
	for _, tc := range []struct {
		opt  Optimizer
		cfg  func(*Config)
		want []string
	}{
		{SGD{LR: 0}, nil, []string{"SGD", "LR"}},
		{SGD{LR: -0.1}, nil, []string{"SGD", "LR"}},
		{SGD{LR: nan}, nil, []string{"SGD", "LR"}},
		{SGD{LR: inf}, nil, []string{"SGD", "LR"}},
		{SGD{LR: 0.1, Momentum: 1}, nil, []string{"SGD", "Momentum"}},
		{SGD{LR: 0.1, Momentum: 1.5}, nil, []string{"SGD", "Momentum"}},
		{SGD{LR: 0.1, Momentum: -0.1}, nil, []string{"SGD", "Momentum"}},
		{SGD{LR: 0.1, Momentum: nan}, nil, []string{"SGD", "Momentum"}},
		{SGD{LR: 0.1, Nesterov: true}, nil, []string{"SGD", "Nesterov", "Momentum"}},
		{Adam{LR: 0}, nil, []string{"Adam", "LR"}},
		{Adam{LR: 0.1, Beta1: -0.5, Eps: 1}, nil, []string{"Adam", "Beta1"}},
		{Adam{LR: 0.1, Beta2: -0.001, Eps: 1}, nil, []string{"Adam", "Beta2"}},
		{Adam{LR: 0.1, Beta2: 1, Eps: 1}, nil, []string{"Adam", "Beta2"}},
		{Adam{LR: 0.1, Eps: -1e-8}, nil, []string{"Adam", "Eps"}},
		{Adam{LR: 0.1}, nil, []string{"Adam", "Eps = 0", "NewAdam"}},
		{AdamW{LR: 0.1}, nil, []string{"AdamW", "Eps = 0", "NewAdamW"}},
		{RMSProp{LR: 0.1}, nil, []string{"RMSProp", "Eps = 0", "NewRMSProp"}},
		{AdaGrad{LR: 0.1}, nil, []string{"AdaGrad", "Eps = 0", "NewAdaGrad"}},
		{AdamW{LR: 0.1, WeightDecay: -1, Eps: 1}, nil, []string{"AdamW", "WeightDecay"}},
		{AdamW{LR: 0.1, WeightDecay: nan, Eps: 1}, nil, []string{"AdamW", "WeightDecay"}},
		{AdamW{LR: 0.1, Beta1: 1, Eps: 1}, nil, []string{"AdamW", "Beta1"}},
		{RMSProp{LR: -1}, nil, []string{"RMSProp", "LR"}},
		{RMSProp{LR: 0.1, Rho: 1.5, Eps: 1}, nil, []string{"RMSProp", "Rho"}},
		{RMSProp{LR: 0.1, Eps: nan}, nil, []string{"RMSProp", "Eps"}},
		{AdaGrad{LR: nan}, nil, []string{"AdaGrad", "LR"}},
		{AdaGrad{LR: 0.1, Eps: -1}, nil, []string{"AdaGrad", "Eps"}},
		{SGD{LR: 0.1}, func(c *Config) { c.WeightDecay = -0.1 }, []string{"Config.WeightDecay"}},
		{SGD{LR: 0.1}, func(c *Config) { c.WeightDecay = nan }, []string{"Config.WeightDecay"}},
		{SGD{LR: 0.1}, func(c *Config) { c.ClipNorm = -1 }, []string{"Config.ClipNorm"}},
		{SGD{LR: 0.1}, func(c *Config) { c.ClipNorm = inf }, []string{"Config.ClipNorm"}},
	} {
		c := cfg(3, tc.opt)
		if tc.cfg != nil {
			tc.cfg(&c)
		}
		// Initialized params keep their values...
		p := graph.NewParams(tensor.Float64, 1)
		setTheta(t, p, 2, []float64{0.1, 0.2, 0.3})
		before := p.Clone()
		h, err := MiniBatchSGD{BatchSize: 5, Config: c}.Fit(bg, models.Linear{}, p, lr.ds)
		testutil.ErrContains(t, err, tc.want...)
		if h != nil {
			t.Errorf("%+v: a History for a Fit that did not start", tc.opt)
		}
		if !testutil.SameParams(p, before) {
			t.Errorf("%+v: the parameters changed", tc.opt)
		}
		// ...and fresh params stay empty.
		q := graph.NewParams(tensor.Float64, 1)
		if _, err := (GD{Config: c}).Fit(bg, models.Linear{}, q, lr.ds); err == nil || q.Len() != 0 {
			t.Errorf("%+v: error %v, %d parameters created", tc.opt, err, q.Len())
		}
	}
}

// TestOptimizerStateHasNoSubnormals feeds every stateful optimizer one
// gradient of 1 and then zeros, as a weight of an always-0 pixel gets: its
// running averages decay geometrically and must reach exactly 0 without
// lingering in subnormal numbers, which x86 computes on 10–100× slower.
func TestOptimizerStateHasNoSubnormals(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		steps := 1500 // 0.9^1500 < 2^-126·2^-23
		if dt == tensor.Float64 {
			steps = 8000
		}
		for _, o := range []StatefulOptimizer{SGD{LR: 0.1, Momentum: 0.9}, SGD{LR: 0.1, Momentum: 0.9, Nesterov: true},
			Adam{LR: 0.1, Beta1: 0.9, Beta2: 0.9, Eps: 1e-8}, AdamW{LR: 0.1, Beta1: 0.9, Beta2: 0.9, Eps: 1e-8, WeightDecay: 0.01}, RMSProp{LR: 0.1, Rho: 0.9, Eps: 1e-8}} {
			// Eleven weights: vectors of 8 float32s or 4 float64s, and a tail.
			w := newTensor(dt, []float64{0.5, -0.5, 0.25, -0.25, 1, -1, 2, -2, 0.125, 3, -3})
			st := newOptimizerState([]string{"w"})
			u, err := o.StartState([]*tensor.Dense{w}, st)
			if err != nil {
				t.Fatal(err)
			}
			g := newTensor(dt, []float64{1, -1, 0.5, -2, 1, -1, 3, -0.5, 2, 1, -1})
			zero := newTensor(dt, make([]float64, 11))
			subnormal := 0
			for k := 0; k < steps; k++ {
				grad := zero
				if k == 0 {
					grad = g
				}
				if err := u(0.01, []*tensor.Dense{grad}); err != nil {
					t.Fatal(err)
				}
				for _, key := range st.keys {
					for _, v := range floats(st.tensors[key]) {
						if v != 0 && math.Abs(v) < smallestNormal(dt) {
							subnormal++
						}
					}
				}
			}
			for _, key := range st.keys {
				for i, v := range floats(st.tensors[key]) {
					if v != 0 {
						t.Errorf("%T %v: %s[%d] = %g after %d zero gradients, want 0", o, dt, key, i, v, steps-1)
					}
				}
			}
			if subnormal > 0 {
				t.Errorf("%T %v: %d subnormal state values seen", o, dt, subnormal)
			}
		}
	}
}

func smallestNormal(dt tensor.Dtype) float64 {
	if dt == tensor.Float32 {
		return 0x1p-126
	}
	return 0x1p-1022
}

// floats reads a float32 or float64 tensor as float64s.
func floats(t *tensor.Dense) []float64 {
	if isF64(t) {
		return t.Float64s()
	}
	out := make([]float64, 0, t.Shape().TotalSize())
	for _, v := range t.Float32s() {
		out = append(out, float64(v))
	}
	return out
}
