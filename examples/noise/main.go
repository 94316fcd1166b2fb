// Command noise shows stochastic gradient descent as gradient descent plus
// noise, and what that noise does on a non-convex loss: it lets SGD escape a
// poor local minimum that full-batch gradient descent stays in, the more
// often the larger the learning rate η and the smaller the batch B.
//
// The problem has one parameter w. Example i has the loss
//
//	ℓᵢ(w) = (w² − 1)² + (c + aᵢ)·w,
//
// a double well tilted by an amount that depends on the example: the aᵢ are
// drawn from N(0, σ²) and centered, so the mean loss is exactly
//
//	f(w) = (w² − 1)² + c·w,
//
// which for the tilt c = 0.3 has a poor local minimum near w = +0.96
// (f ≈ 0.29), a barrier near w = 0.07 (f ≈ 1.01) and the global minimum near
// w = −1.04 (f ≈ −0.31). The model (doubleWell) outputs ℓᵢ(w) for every
// example and the loss is their mean, so the trainers run on it unchanged.
//
// The gradient of a batch of B examples is f'(w) + the mean of its aᵢ: the
// exact gradient plus a noise of variance about σ²/B, whatever w. An SGD step
// w ← w − η·(f'(w) + ξ) is then a discretized Langevin equation at
// temperature T ≈ ησ²/(2B), and the chance of crossing the barrier (ΔF ≈ 0.72
// above the poor minimum) within a given number of updates grows like
// exp(−ΔF/T): a larger η or a smaller B escapes more often, and equal η/B
// gives about the same chance. Starting from w0 = 1.2, GD (no noise) settles
// in the poor minimum; the program runs R seeded SGD runs (they differ in the
// shuffles) for each B and η, each for at most the same number of updates,
// and reports the fraction that cross the barrier into the global minimum's
// basin. (Keep η below 2/f″(w0) ≈ 0.15: beyond it the first step itself
// overshoots the barrier, GD's included — a different story.)
//
// It then measures the noise itself with Config.NoiseEvery along a GD run:
// the variance E|g_B − ∇f|² of B-example gradients around the full gradient,
// which is s²/B (s² the sample variance of the aᵢ) — inversely proportional
// to B — the per-example gradient variance tr Σ = B·Variance ≈ s², and the
// gradient noise scale tr Σ/|∇f|², small far from a minimum and huge near
// one.
//
//	go run ./examples/noise [-runs 20] [-batches 1,4,16,64] [-lrs 0.025,0.05,0.1]
//	    [-steps 500] [-sigma 5] [-tilt 0.3] [-w0 1.2] [-json]
//
// The default run takes about 3 s on 2 cores.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand"
	"os"
	"time"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/examples/internal/cli"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/trainers"
)

// doubleWell is the model: one parameter w, initialized to W0, and for each
// example x = aᵢ (shape (batch, 1)) the output ℓᵢ(w) = (w²−1)² + (Tilt+aᵢ)·w.
type doubleWell struct {
	W0, Tilt float64
}

// Forward implements models.Model.
func (m doubleWell) Forward(b *graph.Builder, x *G.Node) (*G.Node, error) {
	w, err := b.Param("w", tensor.Shape{1, 1}, graph.Constant(m.W0))
	if err != nil {
		return nil, err
	}
	one := G.NewConstant(1.0)
	tilt := G.NewConstant(m.Tilt)
	// well = (w² − 1)² + c·w, a (1, 1) node.
	w2, err := G.Square(w)
	if err != nil {
		return nil, err
	}
	d, err := G.Sub(w2, one)
	if err != nil {
		return nil, err
	}
	well, err := G.Square(d)
	if err != nil {
		return nil, err
	}
	cw, err := G.Mul(w, tilt)
	if err != nil {
		return nil, err
	}
	if well, err = G.Add(well, cw); err != nil {
		return nil, err
	}
	// aᵢ·w for every example, (batch, 1), plus the well broadcast down the batch.
	xw, err := G.Mul(x, w)
	if err != nil {
		return nil, err
	}
	return G.BroadcastAdd(xw, well, nil, []byte{0})
}

// meanLoss is the loss: the mean of the per-example losses the model outputs
// (the targets are unused).
func meanLoss(_ *graph.Builder, out, _ *G.Node) (*G.Node, error) {
	return G.Mean(out)
}

// well is f and its derivative, to find the stationary points.
func well(w, c float64) (f, df float64) {
	return (w*w-1)*(w*w-1) + c*w, 4*w*(w*w-1) + c
}

// barrier returns the local maximum of f between the two wells, by bisection
// on f' over [−0.5, 0.5] (f' > 0 at −0.5 and < 0 at 0.5 for |c| < 1.5).
func barrier(c float64) float64 {
	lo, hi := -0.5, 0.5
	for i := 0; i < 100; i++ {
		mid := (lo + hi) / 2
		if _, d := well(mid, c); d > 0 {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// minimum runs Newton's method on f' from w.
func minimum(w, c float64) float64 {
	for i := 0; i < 100; i++ {
		_, d := well(w, c)
		w -= d / (12*w*w - 4)
	}
	return w
}

// escapeRow is one (η, B) of the experiment.
type escapeRow struct {
	LR        float64 `json:"lr"`
	Batch     int     `json:"batch"`      // 0: GD (full batch, deterministic, run once)
	Runs      int     `json:"runs"`       // seeded runs
	Escaped   int     `json:"escaped"`    // runs that crossed the barrier within the updates
	Fraction  float64 `json:"fraction"`   // Escaped / Runs
	MeanSteps float64 `json:"mean_steps"` // mean updates to the crossing, over the runs that crossed
}

// noiseRow is the measured gradient noise at one batch size.
type noiseRow struct {
	Batch          int     `json:"batch"`
	Variance       float64 `json:"variance"`         // mean over the estimates of E|g_B − ∇f|²
	Theory         float64 `json:"theory"`           // s²/B, s² the sample variance of the aᵢ
	TraceSigma     float64 `json:"trace_sigma"`      // mean B·Variance
	NoiseScaleFar  float64 `json:"noise_scale_far"`  // tr Σ/|∇f|² after the first GD step from w0
	NoiseScaleNear float64 `json:"noise_scale_near"` // the same after the last, near the poor minimum
}

// summary is what -json prints.
type summary struct {
	N       int         `json:"n"`
	Sigma   float64     `json:"sigma"` // population standard deviation of the aᵢ
	Tilt    float64     `json:"tilt"`
	W0      float64     `json:"w0"`
	PoorMin float64     `json:"poor_min"`
	Barrier float64     `json:"barrier"`
	Global  float64     `json:"global_min"`
	Steps   int         `json:"steps"`
	Escapes []escapeRow `json:"escapes"`
	Noise   []noiseRow  `json:"noise"`
	Seconds float64     `json:"seconds"`
}

func main() { cli.Main("noise", run) }

// options are the command line's settings.
type options struct {
	runs, steps, n, estimates int
	batches                   []int
	lrs                       []float64
	sigma, tilt, w0           float64
	seed                      int64
	json                      bool
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	rep := &cli.Report{JSON: o.json, Out: stdout}
	start := time.Now()

	// 1. The landscape: a tilted double well, one tilt aᵢ per example.
	ds, variance, err := tilts(o.n, o.sigma, o.seed)
	if err != nil {
		return err
	}
	s := summary{N: o.n, Sigma: o.sigma, Tilt: o.tilt, W0: o.w0, Steps: o.steps,
		PoorMin: minimum(1, o.tilt), Barrier: barrier(o.tilt), Global: minimum(-1, o.tilt)}
	heights := describeWell(rep, o, s)

	// 2. Escapes: GD once per η (it is deterministic), SGD R times per (η, B).
	model := doubleWell{W0: o.w0, Tilt: o.tilt}
	if s.Escapes, err = escapes(ctx, rep, o, model, ds, s.Barrier); err != nil {
		return err
	}
	printEscapes(rep, o, s.Escapes, heights)

	// 3. The noise itself, measured by the trainers along a GD run from w0
	// with η = 1/(2 f''(poor minimum)), which settles there in a few steps.
	noiseLR := 0.5 / (12*s.PoorMin*s.PoorMin - 4)
	for _, b := range o.batches {
		nr, err := measureNoise(ctx, model, ds, b, noiseLR, o.estimates, o.seed)
		if err != nil {
			return err
		}
		nr.Theory = variance / float64(b)
		s.Noise = append(s.Noise, nr)
	}
	printNoise(rep, o, s.Noise)
	s.Seconds = time.Since(start).Seconds()
	return rep.Summary(s)
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("noise", flag.ContinueOnError)
	fs.IntVar(&o.runs, "runs", 20, "seeded SGD runs per batch size and learning rate")
	batchList := fs.String("batches", "1,4,16,64", "comma-separated batch sizes")
	lrList := fs.String("lrs", "0.025,0.05,0.1", "comma-separated learning rates (keep η < 2/f''(w0) ≈ 0.15, or the first step overshoots the barrier)")
	fs.IntVar(&o.steps, "steps", 500, "most updates per run, the same for every batch size")
	fs.IntVar(&o.n, "n", 1024, "examples (values aᵢ)")
	fs.Float64Var(&o.sigma, "sigma", 5, "standard deviation of the per-example tilts aᵢ")
	fs.Float64Var(&o.tilt, "tilt", 0.3, "mean tilt c of the double well (0 < c < 1)")
	fs.Float64Var(&o.w0, "w0", 1.2, "starting point, right of the poor minimum")
	fs.IntVar(&o.estimates, "estimates", 10, "gradient-noise estimates per batch size (one per GD step)")
	fs.Int64Var(&o.seed, "seed", 1, "seed of the data; run r shuffles with seed+r")
	fs.BoolVar(&o.json, "json", false, "print only a JSON summary")
	if err := cli.Parse(fs, args); err != nil {
		return o, err
	}
	var err error
	if o.batches, err = cli.Ints("batches", *batchList, 1); err != nil {
		return o, fmt.Errorf("-batches: %v", err)
	}
	if o.lrs, err = cli.Floats("lrs", *lrList, 0, math.Inf(1)); err != nil {
		return o, fmt.Errorf("-lrs: %v", err)
	}
	switch {
	case o.runs < 1 || o.steps < 1 || o.estimates < 1:
		return o, errors.New("-runs, -steps and -estimates must be ≥ 1")
	case !(o.tilt > 0 && o.tilt < 1):
		return o, fmt.Errorf("-tilt %v: want a value in (0, 1), for two wells with the poor one on the right", o.tilt)
	case !(o.sigma >= 0):
		return o, fmt.Errorf("-sigma %v: want ≥ 0", o.sigma)
	}
	for _, b := range o.batches {
		if 2*b > o.n {
			return o, fmt.Errorf("batch size %d: want at most n/2 = %d", b, o.n/2)
		}
	}
	return o, nil
}

// describeWell prints the landscape's critical points and returns the
// barrier's height above the poor minimum.
func describeWell(rep *cli.Report, o options, s summary) float64 {
	fPoor, _ := well(s.PoorMin, o.tilt)
	fBar, _ := well(s.Barrier, o.tilt)
	fGlob, _ := well(s.Global, o.tilt)
	rep.Printf("f(w) = (w² − 1)² + %g·w: poor minimum w = %.3f (f = %.3f), barrier w = %.3f (f = %.3f),\n"+
		"global minimum w = %.3f (f = %.3f). Per-example tilts aᵢ ~ N(0, %g²), n = %d; start w0 = %g.\n\n",
		o.tilt, s.PoorMin, fPoor, s.Barrier, fBar, s.Global, fGlob, o.sigma, o.n, o.w0)
	return fBar - fPoor
}

// escapes counts, for each η and batch size (0: GD), the runs that cross
// the barrier within -steps updates, and their mean number of updates.
func escapes(ctx context.Context, rep *cli.Report, o options, model doubleWell, ds *datasets.Dataset, wBarrier float64) ([]escapeRow, error) {
	var rows []escapeRow
	for _, lr := range o.lrs {
		for _, b := range append([]int{0}, o.batches...) {
			row := escapeRow{LR: lr, Batch: b, Runs: o.runs}
			if b == 0 {
				row.Runs = 1
			}
			for r := 0; r < row.Runs; r++ {
				crossed, _, err := fit(ctx, rep, model, ds, b, o.steps, lr, wBarrier, o.seed+int64(r))
				if err != nil {
					return nil, err
				}
				if crossed >= 0 {
					row.Escaped++
					row.MeanSteps += float64(crossed)
				}
			}
			row.Fraction = float64(row.Escaped) / float64(row.Runs)
			if row.Escaped > 0 {
				row.MeanSteps /= float64(row.Escaped)
			}
			rows = append(rows, row)
		}
	}
	return rows, nil
}

// printEscapes prints the escape fractions by η and B beside the
// temperature ησ²/2B.
func printEscapes(rep *cli.Report, o options, rows []escapeRow, height float64) {
	rep.Printf("Fraction of runs that cross the barrier into the global minimum's basin within %d updates\n"+
		"(%d seeded runs each; GD is deterministic and runs once):\n\n", o.steps, o.runs)
	rep.Printf("%8s", "η \\ B")
	rep.Printf(" %8s", "GD")
	for _, b := range o.batches {
		rep.Printf(" %8d", b)
	}
	rep.Printf("   temperature ησ²/2B\n")
	for _, lr := range o.lrs {
		rep.Printf("%8g", lr)
		for _, e := range rows {
			if e.LR == lr {
				rep.Printf(" %8.2f", e.Fraction)
			}
		}
		rep.Printf("   ")
		for _, b := range o.batches {
			rep.Printf(" %.3g", lr*o.sigma*o.sigma/float64(2*b))
		}
		rep.Printf("\n")
	}
	rep.Printf("\nGD follows −∇f into the nearest well and stays. SGD's noise kicks it over the barrier\n"+
		"(ΔF = %.2f above the poor minimum) at a rate ∝ exp(−ΔF/T), T = ησ²/2B: it escapes more\n"+
		"often with a larger η or a smaller B, and about equally often at equal η/B.\n\n", height)
}

// printNoise prints the measured gradient noise by batch size beside s²/B.
func printNoise(rep *cli.Report, o options, rows []noiseRow) {
	rep.Printf("Gradient noise of B-example batches (Config.NoiseEvery, mean of %d estimates along a GD run):\n\n", o.estimates)
	rep.Printf("%6s %14s %14s %10s %12s %14s %14s\n", "B", "E|g_B − ∇f|²", "s²/B", "V(B)/V(4B)", "tr Σ", "B_noise at w1", fmt.Sprintf("B_noise at w%d", o.estimates))
	for _, nr := range rows {
		ratio := "-"
		for _, other := range rows {
			if other.Batch == 4*nr.Batch && other.Variance > 0 {
				ratio = fmt.Sprintf("%.2f", nr.Variance/other.Variance)
			}
		}
		rep.Printf("%6d %14.5f %14.5f %10s %12.4f %14.4g %14.4g\n", nr.Batch, nr.Variance, nr.Theory, ratio, nr.TraceSigma, nr.NoiseScaleFar, nr.NoiseScaleNear)
	}
	rep.Printf("\nThe variance falls as 1/B: each 4× larger batch divides it by about 4, and it matches\n" +
		"s²/B, s² the sample variance of the aᵢ (exactly so in expectation when B divides N), while\n" +
		"tr Σ = B·Variance, the per-example gradient variance, stays near s². The noise scale\n" +
		"tr Σ/|∇f|² is small far from a minimum, where the gradient dominates the step, and huge\n" +
		"near one, where the noise does.\n")
}

// fit trains from w0 for at most `steps` updates (GD when batch is 0) and
// returns the update after which w first crossed the barrier (−1: never) and
// the final w.
func fit(ctx context.Context, rep *cli.Report, m doubleWell, ds *datasets.Dataset, batch, steps int, lr, wBarrier float64, seed int64) (crossed int, w float64, err error) {
	perEpoch := 1
	if batch > 0 {
		perEpoch = (ds.Len() + batch - 1) / batch
	}
	crossed = -1
	cfg := trainers.Config{
		Epochs:    (steps + perEpoch - 1) / perEpoch,
		Loss:      meanLoss,
		Optimizer: trainers.SGD{LR: lr},
		Seed:      seed,
		LogEvery:  1,
		Callbacks: []trainers.Callback{func(e trainers.Event) error {
			if e.Kind != trainers.StepEnd {
				return nil
			}
			if e.Params.CopyFloat64s("w")[0] < wBarrier {
				crossed = e.Step
				return trainers.ErrStop
			}
			if e.Step >= steps {
				return trainers.ErrStop
			}
			return nil
		}},
	}
	if !rep.JSON {
		cfg.Callbacks = append(cfg.Callbacks, trainers.NewBar(os.Stderr).Callback())
	}
	var t trainers.Trainer = trainers.GD{Config: cfg}
	if batch > 0 {
		t = trainers.MiniBatchSGD{Config: cfg, BatchSize: batch}
	}
	p := graph.NewParams(tensor.Float64, seed)
	if _, err := t.Fit(ctx, m, p, ds); err != nil {
		return 0, 0, err
	}
	return crossed, p.CopyFloat64s("w")[0], nil
}

// measureNoise runs GD from w0 with a noise estimate at batch size b after
// every update, and averages them.
func measureNoise(ctx context.Context, m doubleWell, ds *datasets.Dataset, b int, lr float64, estimates int, seed int64) (noiseRow, error) {
	p := graph.NewParams(tensor.Float64, seed)
	h, err := trainers.GD{Config: trainers.Config{
		Epochs:     estimates,
		Loss:       meanLoss,
		Optimizer:  trainers.SGD{LR: lr},
		Seed:       seed,
		NoiseEvery: 1,
		NoiseBatch: b,
	}}.Fit(ctx, m, p, ds)
	if err != nil {
		return noiseRow{}, err
	}
	if len(h.Noise) == 0 {
		return noiseRow{}, errors.New("no noise estimate recorded")
	}
	nr := noiseRow{Batch: b}
	for _, e := range h.Noise {
		nr.Variance += e.Variance / float64(len(h.Noise))
		nr.TraceSigma += e.TraceSigma / float64(len(h.Noise))
	}
	nr.NoiseScaleFar = h.Noise[0].NoiseScale
	nr.NoiseScaleNear = h.Noise[len(h.Noise)-1].NoiseScale
	return nr, nil
}

// tilts is the data: n values aᵢ ~ N(0, σ²), centered so that their mean is
// exactly 0 and the mean loss is exactly f, and zero targets (unused). It
// also returns the sample variance s² = Σaᵢ²/(n−1) of the aᵢ.
func tilts(n int, sigma float64, seed int64) (*datasets.Dataset, float64, error) {
	r := rand.New(rand.NewSource(seed))
	a := make([]float64, n)
	mean := 0.0
	for i := range a {
		a[i] = sigma * r.NormFloat64()
		mean += a[i] / float64(n)
	}
	variance := 0.0
	for i := range a {
		a[i] -= mean
		variance += a[i] * a[i] / float64(n-1)
	}
	ds, err := datasets.FromFloat64(a, []int{n, 1}, make([]float64, n), []int{n, 1}, tensor.Float64)
	return ds, variance, err
}
