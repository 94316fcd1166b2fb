package trainers

import "math"

// Time is where training stands when a Schedule is asked for a rate.
type Time struct {
	Epoch         int       // current epoch, from 0
	Step          int       // updates made so far in the whole Fit
	StepsPerEpoch int       // updates per epoch
	Epochs        int       // epochs the Fit will run
	Monitored     []float64 // per finished epoch: validation loss if there is a validation set, else training loss
}

// A Schedule returns the factor by which the optimizer's base learning rate
// is multiplied at a given time. A nil Schedule is the constant 1. Schedules
// are pure functions of Time, so they hold no state and the same seed gives
// the same rates.
type Schedule func(t Time) float64

// A schedule made with arguments it cannot use (every or steps < 1, a
// factor ≤ 0, a NaN) gives NaN, which Fit reports before the first step.
func invalidSchedule(Time) float64 { return math.NaN() }

// finitePositive reports whether v is a finite value > 0.
func finitePositive(v float64) bool { return v > 0 && !math.IsInf(v, 0) }

// StepDecay multiplies the rate by gamma (> 0) every `every` (≥ 1) epochs.
func StepDecay(every int, gamma float64) Schedule {
	if every < 1 || !finitePositive(gamma) {
		return invalidSchedule
	}
	return func(t Time) float64 { return math.Pow(gamma, float64(t.Epoch/every)) }
}

// Exponential multiplies the rate by gamma (> 0) every epoch.
func Exponential(gamma float64) Schedule {
	if !finitePositive(gamma) {
		return invalidSchedule
	}
	return func(t Time) float64 { return math.Pow(gamma, float64(t.Epoch)) }
}

// InverseScaling is 1/(1 + step/tau)^power, the Robbins–Monro-style decay
// (power in (0.5, 1]) under which SGD converges on convex problems.
// tau and power must be > 0.
func InverseScaling(tau, power float64) Schedule {
	if !finitePositive(tau) || !finitePositive(power) {
		return invalidSchedule
	}
	return func(t Time) float64 { return math.Pow(1+float64(t.Step)/tau, -power) }
}

// Cosine anneals the rate from 1 to minFactor along a half cosine over all
// the updates of the Fit; minFactor is in [0, 1].
func Cosine(minFactor float64) Schedule {
	if !(minFactor >= 0 && minFactor <= 1) {
		return invalidSchedule
	}
	return func(t Time) float64 {
		total := t.Epochs * t.StepsPerEpoch
		if total <= 1 {
			return 1
		}
		frac := math.Min(float64(t.Step)/float64(total-1), 1)
		return minFactor + (1-minFactor)*(1+math.Cos(math.Pi*frac))/2
	}
}

// Warmup raises the rate linearly from 1/steps to 1 over the first steps
// updates, then follows next (nil: constant).
func Warmup(steps int, next Schedule) Schedule {
	if steps < 1 {
		return invalidSchedule
	}
	return func(t Time) float64 {
		f := 1.0
		if next != nil {
			f = next(t)
		}
		if t.Step < steps {
			f *= float64(t.Step+1) / float64(steps)
		}
		return f
	}
}

// ReduceOnPlateau multiplies the rate by factor each time the monitored loss
// has not improved by more than minDelta for patience epochs in a row.
// factor is in (0, 1], patience ≥ 1 and minDelta ≥ 0.
func ReduceOnPlateau(factor float64, patience int, minDelta float64) Schedule {
	if !(factor > 0 && factor <= 1) || patience < 1 || !(minDelta >= 0) || math.IsInf(minDelta, 0) {
		return invalidSchedule
	}
	return func(t Time) float64 {
		best, wait, cuts := math.Inf(1), 0, 0
		for _, v := range t.Monitored {
			if v < best-minDelta {
				best, wait = v, 0
				continue
			}
			if wait++; wait >= patience {
				cuts, wait = cuts+1, 0
			}
		}
		return math.Pow(factor, float64(cuts))
	}
}
