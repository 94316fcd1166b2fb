package trainers

import (
	"context"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/internal/rng"
)

// NoiseEstimate measures, at one point of training, how noisy a b-example
// gradient is around the full gradient G — the quantity behind the view of
// SGD as gradient descent plus noise (a Langevin-like term whose size grows
// with η/b). The training set is split into M = ⌊N/b⌋ random disjoint batches
// of b examples; their gradients g₁..g_M give
//
//	G ≈ mean gⱼ,  Variance = Σ|gⱼ − G|² / (M − 1),  TraceSigma = b·Variance,
//
// and the gradient noise scale B_noise = tr Σ / |G|² (McCandlish et al.,
// 2018): batches much smaller than B_noise are noise-dominated (more
// examples per step would still help), much larger ones waste examples.
type NoiseEstimate struct {
	Epoch      int     `json:"epoch"`
	Step       int     `json:"step"`         // updates made before the estimate
	Batch      int     `json:"batch"`        // b
	GradNormSq float64 `json:"grad_norm_sq"` // |G|²
	Variance   float64 `json:"variance"`     // E|g_b − G|²
	TraceSigma float64 `json:"trace_sigma"`  // tr Σ, per-example gradient covariance
	NoiseScale float64 `json:"noise_scale"`  // B_noise = tr Σ / |G|²
}

type noiseState struct {
	it  *datasets.Iterator
	sum []*tensor.Dense // Σ gⱼ
	k   int             // estimates made, to pick each one's permutation
}

func newNoiseState(b int, n int, weights []*tensor.Dense, train *datasets.Dataset, seed int64) (*noiseState, error) {
	if n/b < 2 {
		return nil, errors.Errorf("trainers: gradient noise at batch size %d needs at least %d training examples, have %d", b, 2*b, n)
	}
	it, err := datasets.NewIterator(train, datasets.Batches{Size: b, Shuffle: true, DropLast: true, Seed: rng.Seed(seed, "noise")})
	if err != nil {
		return nil, errors.Wrap(err, "trainers: gradient noise")
	}
	return &noiseState{it: it, sum: zerosLike(weights)}, nil
}

// diagnose makes a NoiseEstimate when one is due.
func (r *run) diagnose(ctx context.Context, epoch int) error {
	ns := r.noise
	if ns == nil || r.sched.Step%r.cfg.NoiseEvery != 0 {
		return nil
	}
	ns.it.SetEpoch(ns.k)
	ns.k++
	for _, s := range ns.sum {
		zero(s)
	}
	var sq float64
	m := 0
	for ns.it.Next() {
		if err := ctx.Err(); err != nil {
			return errors.Wrapf(err, "trainers: epoch %d step %d: gradient noise", epoch, r.sched.Step)
		}
		idx := ns.it.Indices()
		c, err := r.progs.Get(len(idx))
		if err == nil {
			err = r.train.Gather(idx, c.X, c.Y)
		}
		if err == nil {
			err = c.Run()
		}
		if err != nil {
			return errors.Wrapf(err, "trainers: epoch %d step %d: gradient noise", epoch, r.sched.Step)
		}
		for i, s := range ns.sum {
			g := c.Grad(i)
			sq += sumSquares(g)
			axpy(1, g, s)
		}
		m++
		r.gradEvals += int64(len(idx))
	}
	if err := ns.it.Err(); err != nil {
		return errors.Wrap(err, "trainers: gradient noise")
	}
	var sumSq float64
	for _, s := range ns.sum {
		sumSq += sumSquares(s)
	}
	mf := float64(m)
	g2 := sumSq / (mf * mf)
	variance := (sq - mf*g2) / (mf - 1)
	b := ns.it.BatchSize()
	est := NoiseEstimate{Epoch: epoch, Step: r.sched.Step, Batch: b, GradNormSq: g2, Variance: variance, TraceSigma: float64(b) * variance}
	if g2 > 0 {
		est.NoiseScale = est.TraceSigma / g2
	}
	r.hist.Noise = append(r.hist.Noise, est)
	return nil
}
