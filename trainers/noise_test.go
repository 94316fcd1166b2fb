package trainers

import (
	"math"
	"testing"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/rng"
	"github.com/descent-go/descent/models"
)

func TestNoiseEstimateMatchesHandComputation(t *testing.T) {
	const n, d, b, seed = 64, 3, 4, 9
	lr := newLinReg(t, n, d, 0.5, 60, tensor.Float64)
	// One GD update, then one estimate at the updated parameters θ₁.
	c := cfg(1, SGD{LR: 0.1})
	c.Seed, c.NoiseEvery, c.NoiseBatch = seed, 1, b
	p := graph.NewParams(tensor.Float64, 1)
	h, err := GD{Config: c}.Fit(bg, models.Linear{}, p, lr.ds)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Noise) != 1 {
		t.Fatalf("%d estimates, want 1", len(h.Noise))
	}
	got := h.Noise[0]
	th := theta(p)

	// The same split of the data into ⌊N/b⌋ batches, the per-batch MSE
	// gradients by hand, and their sample variance.
	it, err := datasets.NewIterator(lr.ds, datasets.Batches{Size: b, Shuffle: true, DropLast: true, Seed: rng.Seed(seed, "noise")})
	if err != nil {
		t.Fatal(err)
	}
	var gs [][]float64
	for it.Next() {
		gs = append(gs, lr.grad(th, append([]int(nil), it.Indices()...)))
	}
	m := float64(len(gs))
	mean := make([]float64, d+1)
	for _, g := range gs {
		for j, v := range g {
			mean[j] += v / m
		}
	}
	var ss float64
	for _, g := range gs {
		ss += dist(g, mean) * dist(g, mean)
	}
	variance := ss / (m - 1)
	g2 := norm(mean) * norm(mean)
	full := lr.grad(th, lr.all()) // b divides N: G is the full gradient
	t.Logf("|G|² = %.6g, Variance = %.6g, tr Σ = %.6g, B_noise = %.4g", got.GradNormSq, got.Variance, got.TraceSigma, got.NoiseScale)
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"GradNormSq", got.GradNormSq, g2},
		{"GradNormSq vs full gradient", got.GradNormSq, norm(full) * norm(full)},
		{"Variance", got.Variance, variance},
		{"TraceSigma", got.TraceSigma, b * variance},
		{"NoiseScale", got.NoiseScale, b * variance / g2},
	} {
		if math.Abs(c.got-c.want) > 1e-10*math.Abs(c.want) {
			t.Errorf("%s = %.15g, by hand %.15g", c.name, c.got, c.want)
		}
	}
	if got.Batch != b || got.Step != 1 || got.Epoch != 0 {
		t.Errorf("estimate %+v: want batch %d at step 1 of epoch 0", got, b)
	}
	if want := int64(n + n); h.Last().GradEvals != want || h.Last().Examples != n {
		t.Errorf("GradEvals %d, Examples %d; want %d (N for the update, N for the estimate) and %d", h.Last().GradEvals, h.Last().Examples, want, n)
	}
}

func TestNoiseVarianceScalesAsOneOverB(t *testing.T) {
	const n, epochs = 400, 20
	lr := newLinReg(t, n, 3, 1, 61, tensor.Float64)
	mean := map[int]float64{}
	for _, b := range []int{4, 8} {
		// A rate so small that θ stays put: 20 estimates at the same point,
		// each from a new random split.
		c := cfg(epochs, SGD{LR: 1e-30})
		c.NoiseEvery, c.NoiseBatch = 1, b
		p := graph.NewParams(tensor.Float64, 1)
		setTheta(t, p, 3, []float64{0.5, 0.5, 0.5, 0.5})
		h, err := GD{Config: c}.Fit(bg, models.Linear{}, p, lr.ds)
		if err != nil {
			t.Fatal(err)
		}
		if len(h.Noise) != epochs {
			t.Fatalf("b = %d: %d estimates, want %d", b, len(h.Noise), epochs)
		}
		for _, e := range h.Noise {
			if e.Batch != b || math.Abs(e.TraceSigma-float64(b)*e.Variance) > 1e-12*e.TraceSigma ||
				math.Abs(e.NoiseScale-e.TraceSigma/e.GradNormSq) > 1e-12*e.NoiseScale {
				t.Errorf("inconsistent estimate %+v", e)
			}
			mean[b] += e.Variance / epochs
		}
		// GD: N per update; each estimate ⌊N/b⌋·b = N more.
		if want := int64(epochs * (n + n)); h.Last().GradEvals != want {
			t.Errorf("b = %d: GradEvals %d, want %d", b, h.Last().GradEvals, want)
		}
	}
	// Var(g_b) = tr Σ/b · (N−b)/(N−1): the ratio is 2·396/392 ≈ 2.02.
	ratio := mean[4] / mean[8]
	t.Logf("mean Variance at b=4: %.5g, at b=8: %.5g, ratio %.3f", mean[4], mean[8], ratio)
	if ratio < 1.8 || ratio > 2.25 {
		t.Errorf("Variance(b=4)/Variance(b=8) = %.3f, want ≈ 2", ratio)
	}
}

func TestNoiseDuringMiniBatchSGD(t *testing.T) {
	lr := newLinReg(t, 100, 3, 0.5, 62, tensor.Float64)
	c := cfg(2, SGD{LR: 0.05})
	c.NoiseEvery = 3 // at steps 3, 6, ..., 18; batch size: the trainer's
	h, err := MiniBatchSGD{BatchSize: 10, Config: c}.Fit(bg, models.Linear{}, graph.NewParams(tensor.Float64, 1), lr.ds)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Noise) != 6 {
		t.Fatalf("%d estimates, want 6", len(h.Noise))
	}
	for i, e := range h.Noise {
		if e.Step != 3*(i+1) || e.Batch != 10 || e.Epoch != e.Step/10 || !(e.NoiseScale > 0) {
			t.Errorf("estimate %d: %+v", i, e)
		}
	}
	if want := int64(2*100 + 6*100); h.Last().GradEvals != want || h.Last().Examples != 200 {
		t.Errorf("GradEvals %d, Examples %d; want %d and 200", h.Last().GradEvals, h.Last().Examples, want)
	}
	// Far from the solution the gradient dominates (small B_noise); near
	// it, the noise does.
	if first, last := h.Noise[0].NoiseScale, h.Noise[5].NoiseScale; !(last > first) {
		t.Errorf("B_noise went from %g to %g while converging", first, last)
	}
}
