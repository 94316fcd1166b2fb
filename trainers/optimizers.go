package trainers

import (
	"fmt"
	"math"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/decay"
	"github.com/descent-go/descent/internal/kernels"
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
		return splitUpdate(params, func(c *stepCall, i, lo, hi int) {
			w, g := params[i], c.grads[i]
			if isF64(w) {
				axpyT(-c.lr, g.Float64s()[lo:hi], w.Float64s()[lo:hi])
			} else {
				axpyT(-c.lr, g.Float32s()[lo:hi], w.Float32s()[lo:hi])
			}
		}, nil), nil
	}
	vel := st.Tensors("velocity", params)
	mu, nesterov := o.Momentum, o.Nesterov
	return splitUpdate(params, func(c *stepCall, i, lo, hi int) {
		w, g, v := params[i], c.grads[i], vel[i]
		if isF64(w) {
			kernels.Momentum(c.lr, mu, nesterov, w.Float64s()[lo:hi], g.Float64s()[lo:hi], v.Float64s()[lo:hi])
		} else {
			kernels.Momentum(float32(c.lr), float32(mu), nesterov, w.Float32s()[lo:hi], g.Float32s()[lo:hi], v.Float32s()[lo:hi])
		}
	}, nil), nil
}

// splitUpdate is the Update of an elementwise optimizer: before, if not
// nil, runs once per step (step counts, bias corrections into c.aux); then
// step(c, i, lo, hi) updates elements [lo, hi) of parameter i, split over
// the cores (splitter). Each call works on a stepCall of its own, taken
// from a free list, so that Hogwild's replicas may call it at once.
func splitUpdate(params []*tensor.Dense, step func(c *stepCall, i, lo, hi int), before func(c *stepCall)) Update {
	free := make(chan *stepCall, 8)
	return func(lr float64, grads []*tensor.Dense) error {
		if err := sameLen(params, grads); err != nil {
			return err
		}
		for i, w := range params {
			// The split runs on the kernels' workers, where a panic would end the process.
			if g := grads[i]; g == nil || g.Dtype() != w.Dtype() || g.DataSize() != w.DataSize() {
				return errors.Errorf("trainers: gradient %d is %s, its parameter %v %v", i, describe(g), w.Dtype(), w.Shape())
			}
		}
		var c *stepCall
		select {
		case c = <-free:
		default:
			c = &stepCall{}
			c.sp = newSplitter(func(i, lo, hi int) { step(c, i, lo, hi) })
		}
		c.lr, c.grads = lr, grads
		if before != nil {
			before(c)
		}
		c.sp.run(params)
		c.grads = nil
		select {
		case free <- c:
		default:
		}
		return nil
	}
}

// stepCall is one call of a splitUpdate.
type stepCall struct {
	lr    float64
	grads []*tensor.Dense
	aux   [2]float64
	sp    *splitter
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
	if err := decay.Check("trainers: "+name+": WeightDecay", o.WeightDecay); err != nil {
		return nil, err
	}
	m, v := st.Tensors("m", params), st.Tensors("v", params)
	t := st.Counter("t")
	wd := o.WeightDecay
	return splitUpdate(params, func(c *stepCall, i, lo, hi int) {
		w, g, c1, c2 := params[i], c.grads[i], c.aux[0], c.aux[1]
		if isF64(w) {
			adamStep(c.lr, b1, b2, eps, c1, c2, wd, w.Float64s()[lo:hi], g.Float64s()[lo:hi], m[i].Float64s()[lo:hi], v[i].Float64s()[lo:hi])
		} else {
			adamStep(c.lr, b1, b2, eps, c1, c2, wd, w.Float32s()[lo:hi], g.Float32s()[lo:hi], m[i].Float32s()[lo:hi], v[i].Float32s()[lo:hi])
		}
	}, func(c *stepCall) {
		*t++
		c.aux = [2]float64{1 - math.Pow(b1, float64(*t)), 1 - math.Pow(b2, float64(*t))}
	}), nil
}

// adamStep is AdamW's step on a range of elements; wd > 0 first shrinks
// the weights by 1 − η·wd.
func adamStep[T float](lr, b1, b2, eps, c1, c2, wd float64, w, g, m, v []T) {
	if wd > 0 {
		s := T(1 - lr*wd)
		for i := range w {
			w[i] *= s
		}
	}
	tiny := float64(kernels.MinNormal[T]())
	for i, gi := range g {
		gf := float64(gi)
		mi := b1*float64(m[i]) + (1-b1)*gf
		vi := b2*float64(v[i]) + (1-b2)*gf*gf
		m[i], v[i] = T(mi), T(vi)
		// Flushed from subnormal to 0 (see kernels.Momentum); vi ≥ 0, and
		// |mi| < tiny is rarely true: both branches predict well.
		if math.Abs(mi) < tiny {
			m[i] = 0
		}
		if vi < tiny {
			v[i] = 0
		}
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
	return splitUpdate(params, func(c *stepCall, i, lo, hi int) {
		w, g := params[i], c.grads[i]
		if isF64(w) {
			squaresStep(c.lr, decay, gain, eps, w.Float64s()[lo:hi], g.Float64s()[lo:hi], s[i].Float64s()[lo:hi])
		} else {
			squaresStep(c.lr, decay, gain, eps, w.Float32s()[lo:hi], g.Float32s()[lo:hi], s[i].Float32s()[lo:hi])
		}
	}, nil)
}

func squaresStep[T float](lr, decay, gain, eps float64, w, g, s []T) {
	tiny := float64(kernels.MinNormal[T]())
	for i, gi := range g {
		gf := float64(gi)
		si := decay*float64(s[i]) + gain*gf*gf
		s[i] = T(si)
		if si < tiny { // si ≥ 0: a branch that predicts well (see kernels.Momentum)
			s[i] = 0
		}
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

func describe(t *tensor.Dense) string {
	if t == nil {
		return "nil"
	}
	return fmt.Sprintf("%v %v", t.Dtype(), t.Shape())
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
