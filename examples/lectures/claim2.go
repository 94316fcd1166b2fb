package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"time"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/examples/internal/cli"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/models"
	"github.com/descent-go/descent/plot"
	"github.com/descent-go/descent/trainers"
)

// claim2 is "online SGD is noisier": the noise variance against B, then
// examples, throughput and seconds to a target loss against B.
type claim2 struct {
	options
	batches, noiseBatches []int
	lrs                   []float64
	target                float64
	checks                int
	rounds                int // interleaved throughput rounds
}

func claim2Flags(fs *flag.FlagSet) func(context.Context, options) (interface{}, error) {
	batches := fs.String("batches", "1,2,4,8,16,24,31,32,33,48,64,100,128,256,512", "claim 2: batch sizes of the sweep")
	noiseBatches := fs.String("noise-batches", "1,2,4,8,16,32,64,128,256,512", "claim 2: batch sizes of the noise measurement")
	lrs := fs.String("lrs", "0.003,0.01,0.03,0.1,0.3,1,3", "claim 2: learning-rate grid tuned over, per batch size")
	target := fs.Float64("target", 0.35, "claim 2: target training loss")
	rounds := fs.Int("rounds", 3, "claim 2: interleaved rounds of the throughput timing")
	checks := fs.Int("checks", 48, "claim 2: training-loss checks per run (evenly spaced in examples seen)")
	return func(ctx context.Context, o options) (interface{}, error) {
		if *rounds < 1 || *checks < 1 || !(*target > 0) {
			return nil, errors.New("-rounds and -checks must be ≥ 1, -target > 0")
		}
		c := claim2{options: o, target: *target, checks: *checks, rounds: *rounds}
		var err error
		if c.batches, err = cli.Ints("batches", *batches, 1); err != nil {
			return nil, err
		}
		if c.noiseBatches, err = cli.Ints("noise-batches", *noiseBatches, 1); err != nil {
			return nil, err
		}
		if c.lrs, err = cli.Floats("lrs", *lrs, 0, math.Inf(1)); err != nil {
			return nil, err
		}
		return c.run(ctx)
	}
}

// noiseRow is the gradient-noise variance at one batch size, over seeds.
type noiseRow struct {
	Batch      int  `json:"batch"`
	Variance   band `json:"variance"`    // E|g_B − ∇L|²
	TraceSigma band `json:"trace_sigma"` // B·Variance
}

// batchRow is the result of one batch size, over the reported seeds.
type batchRow struct {
	Batch          int     `json:"batch"`
	LR             float64 `json:"lr"`        // tuned on the tuning seed
	TuneLoss       losses  `json:"tune_loss"` // final training loss of each grid LR on the tuning seed (+Inf: diverged)
	ExamplesTo     band    `json:"examples_to_target"`
	ExamplesPerSec band    `json:"examples_per_sec"`
	SecondsTo      band    `json:"seconds_to_target"`
	FinalLoss      band    `json:"final_loss"`
	Reached        int     `json:"reached"` // seeds that reached the target
}

type claim2Summary struct {
	Claim       int        `json:"claim"`
	Data        string     `json:"data"`
	N           int        `json:"n"`
	Seeds       []int      `json:"seeds"`
	LRGrid      []float64  `json:"lr_grid"`
	Budget      int        `json:"budget_epochs"`
	Target      float64    `json:"target"`
	Noise       []noiseRow `json:"noise"`
	NoiseSlopes []float64  `json:"noise_slopes"` // fitted log-log slope of the variance, per seed
	NoiseSlope  band       `json:"noise_slope"`
	Rows        []batchRow `json:"rows"`
	Figures     []string   `json:"figures,omitempty"`
	Seconds     float64    `json:"seconds"`
}

func (c claim2) run(ctx context.Context) (*claim2Summary, error) {
	start := time.Now()
	train, _, err := c.load(ctx)
	if err != nil {
		return nil, err
	}
	n := train.Len()
	s := &claim2Summary{Claim: 2, Data: c.data, N: n, Seeds: c.seeds, LRGrid: c.lrs, Budget: c.budget, Target: c.target}
	c.rep.Printf("claim 2: online SGD is noisier. %s, %d training examples, MLP %d-%d-10 (float32), plain SGD.\n\n",
		c.data, n, train.XShape()[0], c.hidden)
	if err := c.noise(ctx, train, s); err != nil {
		return nil, err
	}
	if err := c.sweep(ctx, train, s); err != nil {
		return nil, err
	}
	if err := c.figures(s); err != nil {
		return nil, err
	}
	s.Seconds = since(start)
	return s, nil
}

// noise measures E|g_B − ∇L|² with the trainers' noise diagnostic, at the
// weights after one epoch of mini-batch SGD (B = 32, η = 0.1) from each
// seed: a GD epoch with a negligible step (η = 1e-12) and NoiseEvery = 1
// makes one estimate at batch size NoiseBatch = B.
func (c claim2) noise(ctx context.Context, train *datasets.Dataset, s *claim2Summary) error {
	n := train.Len()
	var bs []int
	for _, b := range c.noiseBatches {
		if b <= n/2 {
			bs = append(bs, b)
		}
	}
	vars := make([][]float64, len(bs)) // [batch][seed]
	model := c.model()
	for _, seed := range c.seeds {
		p := newParams(int64(seed))
		pre := trainers.MiniBatchSGD{BatchSize: 32, Config: trainers.Config{Epochs: 1, Loss: graph.SoftmaxCrossEntropy,
			Optimizer: trainers.SGD{LR: 0.1}, Seed: int64(seed)}}
		if _, err := pre.Fit(ctx, model, p, train); err != nil {
			return err
		}
		xs, ys := make([]float64, len(bs)), make([]float64, len(bs))
		for i, b := range bs {
			est, err := noiseAt(ctx, model, p, train, b, int64(seed))
			if err != nil {
				return err
			}
			vars[i] = append(vars[i], est.Variance)
			xs[i], ys[i] = float64(b), est.Variance
		}
		s.NoiseSlopes = append(s.NoiseSlopes, slope(xs, ys))
	}
	s.NoiseSlope = bandOf(s.NoiseSlopes)
	c.rep.Printf("gradient-noise variance E|g_B − ∇L|² after one epoch (B = 32, η = 0.1), median [min, max] over seeds %v:\n", c.seeds)
	c.rep.Printf("%6s %26s %26s\n", "B", "variance", "tr Σ = B·variance")
	for i, b := range bs {
		tr := make([]float64, len(vars[i]))
		for j, v := range vars[i] {
			tr[j] = float64(b) * v
		}
		r := noiseRow{Batch: b, Variance: bandOf(vars[i]), TraceSigma: bandOf(tr)}
		s.Noise = append(s.Noise, r)
		c.rep.Printf("%6d %26s %26s\n", b, r.Variance, r.TraceSigma)
	}
	c.rep.Printf("fitted log-log slope of the variance against B, per seed: %s (theory: −1, times the factor\n"+
		"(N−B)/(N−1) of batches drawn without replacement, ≥ %.3f here)\n\n", s.NoiseSlope, float64(n-bs[len(bs)-1])/float64(n-1))
	return nil
}

// noiseAt is the trainers' noise estimate at batch size b at the weights
// p (left unchanged): a GD epoch on a copy with a negligible step
// (η = 1e-12) and NoiseEvery = 1 makes exactly one estimate.
func noiseAt(ctx context.Context, model models.Model, p *graph.Params, train *datasets.Dataset, b int, seed int64) (trainers.NoiseEstimate, error) {
	gd := trainers.GD{Config: trainers.Config{Epochs: 1, Loss: graph.SoftmaxCrossEntropy,
		Optimizer: trainers.SGD{LR: 1e-12}, Seed: seed, NoiseEvery: 1, NoiseBatch: b}}
	h, err := gd.Fit(ctx, model, p.Clone(), train)
	if err != nil {
		return trainers.NoiseEstimate{}, err
	}
	if len(h.Noise) != 1 {
		return trainers.NoiseEstimate{}, fmt.Errorf("seed %d, B = %d: %d noise estimates, want 1", seed, b, len(h.Noise))
	}
	return h.Noise[0], nil
}

// sweep tunes the learning rate per batch size on the tuning seed, then
// runs every reported seed at it; then it times one epoch of every batch
// size in c.rounds interleaved rounds (B₁ B₂ … B₁ B₂ …, so that the load of
// a shared machine falls on all of them alike) for the throughput.
func (c claim2) sweep(ctx context.Context, train *datasets.Dataset, s *claim2Summary) error {
	n := train.Len()
	c.rep.Printf("batch-size sweep: %d epochs (%d examples) per run; η tuned per B on the grid %v by the final training\n"+
		"loss, mean over seeds %v; target training loss %g, checked every %d examples or so (%d checks per run)\n",
		c.budget, c.budget*n, c.lrs, c.tune, c.target, c.budget*n/c.checks, c.checks)
	exs := make([][]float64, 0, len(c.batches)) // per row, per seed
	for _, b := range c.batches {
		if b > n {
			continue
		}
		row := batchRow{Batch: b}
		var err error
		row.LR, row.TuneLoss, err = c.tuneLR(c.lrs, func(lr float64, seed int64) (float64, error) {
			r, err := c.train(ctx, train, b, lr, seed, false)
			return r.final, err
		})
		if err != nil {
			return err
		}
		if row.LR == 0 {
			return fmt.Errorf("claim 2: B = %d diverged at every learning rate of %v", b, c.lrs)
		}
		var ex, fin []float64
		for _, seed := range c.seeds {
			r, err := c.train(ctx, train, b, row.LR, int64(seed), true)
			if err != nil {
				return err
			}
			ex, fin = append(ex, r.examplesTo), append(fin, r.final)
			if !math.IsInf(r.examplesTo, 0) {
				row.Reached++
			}
		}
		row.ExamplesTo, row.FinalLoss = bandOf(ex), bandOf(fin)
		s.Rows = append(s.Rows, row)
		exs = append(exs, ex)
		c.rep.Printf("  B = %3d: η = %g, mean tuning losses %.3g\n", b, row.LR, []float64(row.TuneLoss))
	}
	eps := make([][]float64, len(s.Rows))
	for round := 0; round < c.rounds; round++ {
		for i, row := range s.Rows {
			cfg := trainers.Config{Epochs: 1, Loss: graph.SoftmaxCrossEntropy, Optimizer: trainers.SGD{LR: row.LR}, Seed: int64(round + 1)}
			t := time.Now()
			if _, err := (trainers.MiniBatchSGD{Config: cfg, BatchSize: row.Batch}).Fit(ctx, c.model(), newParams(int64(round+1)), train); err != nil {
				return err
			}
			eps[i] = append(eps[i], float64(n)/since(t))
		}
	}
	c.rep.Printf("\nexamples/s: one epoch per B in %d interleaved rounds, median [min, max] over rounds; seconds to target =\n"+
		"each seed's examples to target ÷ the median examples/s\n", c.rounds)
	c.rep.Printf("%5s %6s %28s %26s %26s %24s %8s\n", "B", "η", "examples to target", "examples/s", "seconds to target", "final loss", "reached")
	for i := range s.Rows {
		row := &s.Rows[i]
		row.ExamplesPerSec = bandOf(eps[i])
		secs := make([]float64, len(exs[i]))
		for j, e := range exs[i] {
			secs[j] = e / row.ExamplesPerSec.Median
		}
		row.SecondsTo = bandOf(secs)
		edge := ""
		if row.LR == c.lrs[0] || row.LR == c.lrs[len(c.lrs)-1] {
			edge = " (η at the grid's edge)"
		}
		c.rep.Printf("%5d %6.3g %28s %26s %26s %24s %5d/%d%s\n", row.Batch, row.LR, row.ExamplesTo, row.ExamplesPerSec, row.SecondsTo, row.FinalLoss, row.Reached, len(c.seeds), edge)
	}
	return nil
}

// result is one training run's measurements.
type result struct {
	final      float64 // training loss after the budget (+Inf: diverged)
	examplesTo float64 // examples seen at the first check at or below the target (+Inf: never)
}

// train runs plain mini-batch SGD with batch size b and learning rate lr for
// the budget. With checks it evaluates the training loss c.checks times for
// the examples to target.
func (c claim2) train(ctx context.Context, train *datasets.Dataset, b int, lr float64, seed int64, checks bool) (result, error) {
	n := train.Len()
	r := result{final: math.Inf(1), examplesTo: math.Inf(1)}
	model := c.model()
	p := newParams(seed)
	ev := models.NewEvaluator(model, p, graph.SoftmaxCrossEntropy, 0)
	defer ev.Close()
	cfg := trainers.Config{Epochs: c.budget, Loss: graph.SoftmaxCrossEntropy, Optimizer: trainers.SGD{LR: lr}, Seed: seed}
	if checks {
		steps := c.budget * ((n + b - 1) / b)
		cfg.LogEvery = steps / c.checks
		if cfg.LogEvery < 1 {
			cfg.LogEvery = 1
		}
		cfg.Callbacks = []trainers.Callback{func(e trainers.Event) error {
			if e.Kind != trainers.StepEnd || !math.IsInf(r.examplesTo, 1) {
				return nil
			}
			m, err := ev.Evaluate(train)
			if err != nil {
				return err
			}
			if m.Loss <= c.target {
				r.examplesTo = float64(e.Examples)
			}
			return nil
		}}
	}
	h, err := trainers.MiniBatchSGD{Config: cfg, BatchSize: b}.Fit(ctx, model, p, train)
	if err != nil {
		if ctx.Err() != nil {
			return r, err
		}
		return r, nil // diverged (a non-finite loss or gradient): +Inf
	}
	m, err := ev.Evaluate(train)
	if err != nil {
		return r, err
	}
	if !math.IsNaN(m.Loss) {
		r.final = m.Loss
	}
	if checks && math.IsInf(r.examplesTo, 1) && r.final <= c.target {
		r.examplesTo = float64(h.Last().Examples)
	}
	return r, nil
}

func (c claim2) figures(s *claim2Summary) error {
	var xs []float64
	var vs []band
	for _, r := range s.Noise {
		xs, vs = append(xs, float64(r.Batch)), append(vs, r.Variance)
	}
	ser := bandSeries("measured", xs, vs)
	if len(vs) > 0 {
		ref := make([]float64, len(xs))
		for i, x := range xs {
			ref[i] = vs[0].Median * xs[0] / x
		}
		ser = append(ser, plot.Series{Label: "1/B through the first median", X: xs, Y: ref, Dashed: true})
	}
	figs := []figure{{"claim2_noise.png", plot.Lines{Width: 7, Height: 4.5, Title: c.titled(fmt.Sprintf("%s MLP: gradient noise against batch size", s.Data)),
		XLabel: "batch size B", YLabel: "E|g_B − G|²  (G: the full gradient)", LogX: true, LogY: true, Series: ser}}}
	var bx []float64
	var ex, eps, secs []band
	for _, r := range s.Rows {
		bx = append(bx, float64(r.Batch))
		ex, eps, secs = append(ex, r.ExamplesTo), append(eps, r.ExamplesPerSec), append(secs, r.SecondsTo)
	}
	figs = append(figs,
		figure{"claim2_examples.png", plot.Lines{Width: 7, Height: 4.5, Title: c.titled(fmt.Sprintf("examples to training loss %g (η tuned per B)", s.Target)),
			XLabel: "batch size B", YLabel: "training examples", LogX: true, LogY: true, Series: bandSeries("examples", bx, ex)}},
		figure{"claim2_throughput.png", plot.Lines{Width: 7, Height: 4.5, Title: c.titled("training throughput on this machine"),
			XLabel: "batch size B", YLabel: "examples per second", LogX: true, LogY: true, Series: bandSeries("throughput", bx, eps)}},
		figure{"claim2_seconds.png", plot.Lines{Width: 7, Height: 4.5, Title: c.titled(fmt.Sprintf("seconds to training loss %g = examples ÷ throughput", s.Target)),
			XLabel: "batch size B", YLabel: "seconds", LogX: true, LogY: true, Series: bandSeries("seconds", bx, secs)}})
	return c.writeFigures(&s.Figures, figs...)
}
