package trainers

import (
	"context"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/internal/progcache"
	"github.com/descent-go/descent/internal/rng"
)

// NoiseEstimate measures, at one point of training, how noisy a b-example
// gradient is around the full gradient G — the quantity behind the view of
// SGD as gradient descent plus noise (a Langevin-like term whose size grows
// with η/b). The training set is split into M = ⌊N/b⌋ random disjoint batches
// of b examples (a new split for each estimate); their gradients g₁..g_M give
//
//	G = mean gⱼ,  Variance = Σ|gⱼ − G|² / (M − 1),  TraceSigma = b·Variance,
//
// and the gradient noise scale B_noise = tr Σ / |G|² (McCandlish et al.,
// 2018), where Σ is the covariance of one example's gradient. G is the exact
// mean gradient of the M·b examples used, the full gradient when b divides N.
// Variance estimates E|g_b − G|² = tr Σ / b (times (N−b)/(N−1) for batches
// drawn without replacement, which TraceSigma ignores). Batches much smaller
// than B_noise are noise-dominated (more examples per step would still
// help), much larger ones waste examples. Each estimate costs M·b gradient
// evaluations, counted in Epoch.GradEvals, and runs graphs of its own, so it
// never changes the training trajectory.
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
	it    *datasets.Iterator
	progs *progcache.Cache // the diagnostic's own graphs
	mean  [][]float64      // running mean of the batch gradients, per parameter
	k     int              // estimates made, to pick each one's permutation
}

func newNoiseState(b int, weights []*tensor.Dense, train *datasets.Dataset, seed int64, progs *progcache.Cache) (*noiseState, error) {
	it, err := datasets.NewIterator(train, datasets.Batches{Size: b, Shuffle: true, DropLast: true, Seed: rng.Seed(seed, "noise")})
	if err != nil {
		progs.Close()
		return nil, errors.Wrap(err, "trainers: gradient noise")
	}
	ns := &noiseState{it: it, progs: progs, mean: make([][]float64, len(weights))}
	for i, w := range weights {
		ns.mean[i] = make([]float64, w.Shape().TotalSize())
	}
	return ns, nil
}

// diagnose makes a NoiseEstimate when one is due. The mean and the summed
// squared deviations of the batch gradients are accumulated in float64 by
// Welford's method, which stays accurate when the variance is small next to
// |G|² (a one-pass Σ|gⱼ|² − M|G|² would cancel catastrophically, worst in
// float32).
func (r *run) diagnose(ctx context.Context, epoch int) error {
	ns := r.noise
	if ns == nil || r.sched.Step%r.cfg.NoiseEvery != 0 {
		return nil
	}
	ns.it.SetEpoch(ns.k)
	ns.k++
	for _, mu := range ns.mean {
		for j := range mu {
			mu[j] = 0
		}
	}
	var m2 float64 // Σⱼ |gⱼ − running mean|², Welford's M2 summed over coordinates
	m := 0
	for ns.it.Next() {
		if err := ctx.Err(); err != nil {
			return errors.Wrapf(err, "trainers: epoch %d step %d: gradient noise", epoch+1, r.sched.Step)
		}
		idx := ns.it.Indices()
		c, err := ns.progs.Get(len(idx))
		if err == nil {
			err = r.mem.Gather(idx, c.X, c.Y)
		}
		if err == nil {
			err = c.Run()
		}
		if err != nil {
			return errors.Wrapf(err, "trainers: epoch %d step %d: gradient noise", epoch+1, r.sched.Step)
		}
		m++
		r.gradEvals += int64(len(idx))
		for i, mu := range ns.mean {
			if g := c.Grad(i); isF64(g) {
				m2 += welford(mu, g.Float64s(), m)
			} else {
				m2 += welford(mu, g.Float32s(), m)
			}
		}
	}
	if err := ns.it.Err(); err != nil {
		return errors.Wrapf(err, "trainers: epoch %d step %d: gradient noise", epoch+1, r.sched.Step)
	}
	var g2 float64
	for _, mu := range ns.mean {
		for _, v := range mu {
			g2 += v * v
		}
	}
	b := ns.it.BatchSize()
	variance := m2 / float64(m-1)
	est := NoiseEstimate{Epoch: epoch, Step: r.sched.Step, Batch: b, GradNormSq: g2, Variance: variance, TraceSigma: float64(b) * variance}
	if g2 > 0 {
		est.NoiseScale = est.TraceSigma / g2
	}
	r.hist.Noise = append(r.hist.Noise, est)
	return nil
}

// welford folds the k-th sample g into the running mean mu and returns its
// contribution to M2: Σᵢ (gᵢ − old meanᵢ)(gᵢ − new meanᵢ).
func welford[T float](mu []float64, g []T, k int) float64 {
	var s float64
	inv := 1 / float64(k)
	for i, v := range g {
		x := float64(v)
		d := x - mu[i]
		mu[i] += d * inv
		s += d * (x - mu[i])
	}
	return s
}
