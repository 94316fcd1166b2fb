package trainers

import (
	"math"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// An Optimizer turns gradients into parameter updates. Start is called once
// per Fit: it validates the hyperparameters (an invalid one is an error, never
// silently ignored) and returns the update function of that Fit, which holds
// its state (moments, step count), so one Optimizer value can serve several
// Fits. Implement it with value receivers to define an optimizer in a
// notebook.
type Optimizer interface {
	Start(params []*tensor.Dense) (Update, error)
	// LearningRate is the base rate that a Schedule scales.
	LearningRate() float64
}

// An Update applies one step to the parameters given to Start, in place,
// from their gradients, in the same order, at learning rate lr.
type Update func(lr float64, grads []*tensor.Dense) error

// SGD is stochastic gradient descent, w ← w − η·g, with optional heavy-ball
// momentum (v ← μv + g; w ← w − ηv) or Nesterov momentum (w ← w − η(g + μv)).
type SGD struct {
	LR       float64 // learning rate η > 0
	Momentum float64 // μ in [0, 1); 0 is plain SGD
	Nesterov bool    // Nesterov's look-ahead form; needs Momentum > 0
}

// LearningRate implements Optimizer.
func (o SGD) LearningRate() float64 { return o.LR }

// Start implements Optimizer.
func (o SGD) Start(params []*tensor.Dense) (Update, error) { return o.StartState(params, nil) }

// StartState implements StatefulOptimizer: the momentum buffers are
// "velocity/<parameter>".
func (o SGD) StartState(params []*tensor.Dense, st *OptimizerState) (Update, error) {
	if err := positive("SGD", "LR", o.LR); err != nil {
		return nil, err
	}
	if err := unit("SGD", "Momentum", o.Momentum); err != nil {
		return nil, err
	}
	if o.Nesterov && o.Momentum == 0 {
		return nil, errors.New("trainers: SGD: Nesterov needs Momentum > 0")
	}
	if o.Momentum == 0 {
		return func(lr float64, grads []*tensor.Dense) error {
			if err := sameLen(params, grads); err != nil {
				return err
			}
			for i, w := range params {
				axpy(-lr, grads[i], w)
			}
			return nil
		}, nil
	}
	vel := st.Tensors("velocity", params)
	mu, nesterov := o.Momentum, o.Nesterov
	return func(lr float64, grads []*tensor.Dense) error {
		if err := sameLen(params, grads); err != nil {
			return err
		}
		for i, w := range params {
			if isF64(w) {
				momentumStep(lr, mu, nesterov, w.Float64s(), grads[i].Float64s(), vel[i].Float64s())
			} else {
				momentumStep(lr, mu, nesterov, w.Float32s(), grads[i].Float32s(), vel[i].Float32s())
			}
		}
		return nil
	}, nil
}

func momentumStep[T float](lr, mu float64, nesterov bool, w, g, v []T) {
	tiny := minNormal[T]()
	for i, gi := range g {
		vi := flush(T(mu)*v[i]+gi, tiny)
		v[i] = vi
		if nesterov {
			w[i] -= T(lr) * (gi + T(mu)*vi)
		} else {
			w[i] -= T(lr) * vi
		}
	}
}

// Adam adapts a step per parameter from running means of the gradient and
// its square, with bias correction (Kingma & Ba, 2015). Every field means
// what it says, zero included (Beta1 0 is Adam without momentum); Eps must
// be > 0. NewAdam(lr) sets the usual Beta1 0.9, Beta2 0.999, Eps 1e-8.
type Adam struct {
	LR, Beta1, Beta2, Eps float64
}

// LearningRate implements Optimizer.
func (o Adam) LearningRate() float64 { return o.LR }

// Start implements Optimizer.
func (o Adam) Start(params []*tensor.Dense) (Update, error) { return o.StartState(params, nil) }

// StartState implements StatefulOptimizer: the moments are "m/<parameter>"
// and "v/<parameter>", the step count "t".
func (o Adam) StartState(params []*tensor.Dense, st *OptimizerState) (Update, error) {
	return AdamW{LR: o.LR, Beta1: o.Beta1, Beta2: o.Beta2, Eps: o.Eps}.start("Adam", params, st)
}

// AdamW is Adam with decoupled weight decay (Loshchilov & Hutter, 2019):
// each step also shrinks the weights by η·WeightDecay·w, independently of the
// adaptive scaling.
type AdamW struct {
	LR, Beta1, Beta2, Eps float64
	WeightDecay           float64
}

// LearningRate implements Optimizer.
func (o AdamW) LearningRate() float64 { return o.LR }

// Start implements Optimizer.
func (o AdamW) Start(params []*tensor.Dense) (Update, error) { return o.StartState(params, nil) }

// StartState implements StatefulOptimizer, as Adam's.
func (o AdamW) StartState(params []*tensor.Dense, st *OptimizerState) (Update, error) {
	return o.start("AdamW", params, st)
}

func (o AdamW) start(name string, params []*tensor.Dense, st *OptimizerState) (Update, error) {
	b1, b2, eps := o.Beta1, o.Beta2, o.Eps
	if err := positive(name, "LR", o.LR); err != nil {
		return nil, err
	}
	for _, c := range []struct {
		field string
		v     float64
	}{{"Beta1", b1}, {"Beta2", b2}} {
		if err := unit(name, c.field, c.v); err != nil {
			return nil, err
		}
	}
	if err := positiveEps(name, eps); err != nil {
		return nil, err
	}
	if o.WeightDecay < 0 || math.IsNaN(o.WeightDecay) {
		return nil, errors.Errorf("trainers: %s: WeightDecay %v, want ≥ 0", name, o.WeightDecay)
	}
	m, v := st.Tensors("m", params), st.Tensors("v", params)
	t := st.Counter("t")
	return func(lr float64, grads []*tensor.Dense) error {
		if err := sameLen(params, grads); err != nil {
			return err
		}
		*t++
		c1, c2 := 1-math.Pow(b1, float64(*t)), 1-math.Pow(b2, float64(*t))
		for i, w := range params {
			if o.WeightDecay > 0 {
				scaleBy(1-lr*o.WeightDecay, w)
			}
			if isF64(w) {
				adamStep(lr, b1, b2, eps, c1, c2, w.Float64s(), grads[i].Float64s(), m[i].Float64s(), v[i].Float64s())
			} else {
				adamStep(lr, b1, b2, eps, c1, c2, w.Float32s(), grads[i].Float32s(), m[i].Float32s(), v[i].Float32s())
			}
		}
		return nil
	}, nil
}

func adamStep[T float](lr, b1, b2, eps, c1, c2 float64, w, g, m, v []T) {
	tiny := minNormal[T]()
	for i, gi := range g {
		gf := float64(gi)
		mi := b1*float64(m[i]) + (1-b1)*gf
		vi := b2*float64(v[i]) + (1-b2)*gf*gf
		m[i], v[i] = flush(T(mi), tiny), flush(T(vi), tiny)
		w[i] -= T(lr * (mi / c1) / (math.Sqrt(vi/c2) + eps))
	}
}

// RMSProp divides each step by a running root-mean-square of the gradient:
// s ← ρs + (1−ρ)g²; w ← w − η·g/(√s + ε). Rho 0 means 0; Eps must be > 0.
// NewRMSProp(lr) sets the usual Rho 0.9, Eps 1e-8.
type RMSProp struct {
	LR, Rho, Eps float64
}

// LearningRate implements Optimizer.
func (o RMSProp) LearningRate() float64 { return o.LR }

// Start implements Optimizer.
func (o RMSProp) Start(params []*tensor.Dense) (Update, error) { return o.StartState(params, nil) }

// StartState implements StatefulOptimizer: the running means are
// "square_avg/<parameter>".
func (o RMSProp) StartState(params []*tensor.Dense, st *OptimizerState) (Update, error) {
	rho, eps := o.Rho, o.Eps
	if err := positive("RMSProp", "LR", o.LR); err != nil {
		return nil, err
	}
	if err := unit("RMSProp", "Rho", rho); err != nil {
		return nil, err
	}
	if err := positiveEps("RMSProp", eps); err != nil {
		return nil, err
	}
	return squaresUpdate(st.Tensors("square_avg", params), params, rho, 1-rho, eps), nil
}

// AdaGrad divides each step by the root of the summed squared gradients:
// s ← s + g²; w ← w − η·g/(√s + ε). Eps must be > 0; NewAdaGrad(lr) sets
// the usual 1e-10.
type AdaGrad struct {
	LR, Eps float64
}

// LearningRate implements Optimizer.
func (o AdaGrad) LearningRate() float64 { return o.LR }

// Start implements Optimizer.
func (o AdaGrad) Start(params []*tensor.Dense) (Update, error) { return o.StartState(params, nil) }

// StartState implements StatefulOptimizer: the sums are "sum/<parameter>".
func (o AdaGrad) StartState(params []*tensor.Dense, st *OptimizerState) (Update, error) {
	eps := o.Eps
	if err := positive("AdaGrad", "LR", o.LR); err != nil {
		return nil, err
	}
	if err := positiveEps("AdaGrad", eps); err != nil {
		return nil, err
	}
	return squaresUpdate(st.Tensors("sum", params), params, 1, 1, eps), nil
}

// squaresUpdate is RMSProp's and AdaGrad's step: s ← decay·s + gain·g².
func squaresUpdate(s, params []*tensor.Dense, decay, gain, eps float64) Update {
	return func(lr float64, grads []*tensor.Dense) error {
		if err := sameLen(params, grads); err != nil {
			return err
		}
		for i, w := range params {
			if isF64(w) {
				squaresStep(lr, decay, gain, eps, w.Float64s(), grads[i].Float64s(), s[i].Float64s())
			} else {
				squaresStep(lr, decay, gain, eps, w.Float32s(), grads[i].Float32s(), s[i].Float32s())
			}
		}
		return nil
	}
}

func squaresStep[T float](lr, decay, gain, eps float64, w, g, s []T) {
	tiny := minNormal[T]()
	for i, gi := range g {
		gf := float64(gi)
		si := decay*float64(s[i]) + gain*gf*gf
		s[i] = flush(T(si), tiny)
		w[i] -= T(lr * gf / (math.Sqrt(si) + eps))
	}
}

func zerosLike(ts []*tensor.Dense) []*tensor.Dense {
	out := make([]*tensor.Dense, len(ts))
	for i, t := range ts {
		out[i] = newLike(t)
	}
	return out
}

func sameLen(params, grads []*tensor.Dense) error {
	if len(params) != len(grads) {
		return errors.Errorf("trainers: %d gradients for %d parameters", len(grads), len(params))
	}
	return nil
}

func positive(opt, field string, v float64) error {
	if !(v > 0) || math.IsInf(v, 0) {
		return errors.Errorf("trainers: %s: %s = %v, want a finite value > 0", opt, field, v)
	}
	return nil
}

func unit(opt, field string, v float64) error {
	if !(v >= 0 && v < 1) {
		return errors.Errorf("trainers: %s: %s = %v, want a value in [0, 1)", opt, field, v)
	}
	return nil
}
