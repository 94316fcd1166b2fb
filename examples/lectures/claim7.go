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

// claim7 is "~100-example mini-batches": where the knee of the seconds to
// a target loss against B sits on this machine and model, and why. It runs
// claim 2's batch-size sweep (η tuned per B, examples to target over
// seeds, throughput in interleaved rounds) on a grid dense around the knee
// and splits the seconds into their two factors: the critical batch where
// the examples needed start to grow (statistics; predicted by the noise
// scale B_noise = tr Σ/|G|², measured where the runs reach the target)
// and the batch where throughput stops growing (hardware).
type claim7 struct {
	claim2
}

func claim7Flags(fs *flag.FlagSet) func(context.Context, options) (interface{}, error) {
	batches := fs.String("knee-batches", "1,2,4,8,16,24,32,48,64,96,128,192,256,384,512", "claim 7: batch sizes of the sweep")
	lrs := fs.String("knee-lrs", "0.003,0.01,0.03,0.1,0.3,1,3", "claim 7: learning-rate grid tuned over, per batch size")
	target := fs.Float64("knee-target", 0.35, "claim 7: target training loss")
	rounds := fs.Int("knee-rounds", 3, "claim 7: interleaved rounds of the throughput timing")
	checks := fs.Int("knee-checks", 48, "claim 7: training-loss checks per run (evenly spaced in examples seen)")
	return func(ctx context.Context, o options) (interface{}, error) {
		if *rounds < 1 || *checks < 1 || !(*target > 0) {
			return nil, errors.New("-knee-rounds and -knee-checks must be ≥ 1, -knee-target > 0")
		}
		c := claim7{claim2{options: o, target: *target, checks: *checks, rounds: *rounds}}
		var err error
		if c.batches, err = cli.Ints("knee-batches", *batches, 1); err != nil {
			return nil, err
		}
		if c.lrs, err = cli.Floats("knee-lrs", *lrs, 0, math.Inf(1)); err != nil {
			return nil, err
		}
		return c.run(ctx)
	}
}

type claim7Summary struct {
	Claim  int        `json:"claim"`
	Data   string     `json:"data"`
	N      int        `json:"n"`
	Seeds  []int      `json:"seeds"`
	LRGrid []float64  `json:"lr_grid"`
	Budget int        `json:"budget_epochs"`
	Target float64    `json:"target"`
	Rows   []batchRow `json:"rows"`
	// Knee is the B with the fewest median seconds to the target.
	Knee int `json:"knee"`
	// Critical is the largest B whose median examples to the target are at
	// most twice the fewest (E = E_min(1 + B/B_noise) doubles at B_noise).
	Critical int `json:"critical_batch"`
	// Saturation is the smallest B whose median throughput is 80% of the
	// highest.
	Saturation int `json:"saturation_batch"`
	// NoiseScale is B_noise = tr Σ/|G|² at the weights where a B = 32 run
	// first reaches the target, per seed.
	NoiseScale band     `json:"noise_scale"`
	Figures    []string `json:"figures,omitempty"`
	Seconds    float64  `json:"seconds"`
}

func (c claim7) run(ctx context.Context) (*claim7Summary, error) {
	start := time.Now()
	train, _, err := c.load(ctx)
	if err != nil {
		return nil, err
	}
	n := train.Len()
	c.rep.Printf("claim 7: where the knee of mini-batch SGD sits. %s, %d training examples, MLP %d-%d-10 (float32), plain SGD.\n"+
		"claim 2's sweep: η tuned per B, examples to the target over seeds, throughput in interleaved rounds.\n\n",
		c.data, n, train.XShape()[0], c.hidden)
	s2 := &claim2Summary{}
	if err := c.sweep(ctx, train, s2); err != nil {
		return nil, err
	}
	s := &claim7Summary{Claim: 7, Data: c.data, N: n, Seeds: c.seeds, LRGrid: c.lrs, Budget: c.budget, Target: c.target, Rows: s2.Rows}
	if len(s.Rows) == 0 {
		return nil, errors.New("claim 7: no batch size fits the data")
	}
	fastest, fewest, peak := math.Inf(1), math.Inf(1), 0.0
	for _, r := range s.Rows {
		if r.SecondsTo.Median < fastest {
			fastest, s.Knee = r.SecondsTo.Median, r.Batch
		}
		fewest = math.Min(fewest, r.ExamplesTo.Median)
		peak = math.Max(peak, r.ExamplesPerSec.Median)
	}
	for _, r := range s.Rows {
		if r.ExamplesTo.Median <= 2*fewest {
			s.Critical = r.Batch
		}
		if s.Saturation == 0 && r.ExamplesPerSec.Median >= 0.8*peak {
			s.Saturation = r.Batch
		}
	}
	var scales []float64
	for _, seed := range c.seeds {
		b, err := c.noiseScale(ctx, train, int64(seed))
		if err != nil {
			return nil, err
		}
		scales = append(scales, b)
	}
	s.NoiseScale = bandOf(scales)
	c.rep.Printf("\nthe knee (fewest median seconds to loss %g): B = %d\n"+
		"statistics: examples to the target stay within 2× the fewest up to B = %d (the critical batch);\n"+
		"  the noise scale B_noise = tr Σ/|G|² where B = 32 runs first reach the target (McCandlish et al.'s\n"+
		"  prediction of the critical batch): %s over seeds %v\n"+
		"hardware: throughput reaches 80%% of its peak (%.0f examples/s) at B = %d\n",
		c.target, s.Knee, s.Critical, s.NoiseScale, c.seeds, peak, s.Saturation)
	if err := c.figure(s); err != nil {
		return nil, err
	}
	s.Seconds = since(start)
	return s, nil
}

// noiseScale trains B = 32 (η = 0.1) until the training loss first reaches
// the target (checked 4 times an epoch, at most the budget) and returns the
// noise scale there.
func (c claim7) noiseScale(ctx context.Context, train *datasets.Dataset, seed int64) (float64, error) {
	model := c.model()
	p := newParams(seed)
	ev := models.NewEvaluator(model, p, graph.SoftmaxCrossEntropy, 0)
	defer ev.Close()
	steps := (train.Len() + 31) / 32
	cfg := trainers.Config{Epochs: c.budget, Loss: graph.SoftmaxCrossEntropy, Optimizer: trainers.SGD{LR: 0.1}, Seed: seed,
		LogEvery: max(steps/4, 1)}
	cfg.Callbacks = []trainers.Callback{func(e trainers.Event) error {
		if e.Kind != trainers.StepEnd {
			return nil
		}
		m, err := ev.Evaluate(train)
		if err != nil {
			return err
		}
		if m.Loss <= c.target {
			return trainers.ErrStop
		}
		return nil
	}}
	if _, err := (trainers.MiniBatchSGD{Config: cfg, BatchSize: 32}).Fit(ctx, model, p, train); err != nil && !errors.Is(err, trainers.ErrStop) {
		return 0, err
	}
	est, err := noiseAt(ctx, model, p, train, 32, seed)
	if err != nil {
		return 0, fmt.Errorf("claim 7: %v", err)
	}
	return est.NoiseScale, nil
}

// figure draws the three factors against B, each divided by its smallest
// median: examples to the target (statistics), seconds per example
// (hardware) and their product, the seconds to the target.
func (c claim7) figure(s *claim7Summary) error {
	var bx []float64
	var ex, spe, secs []band
	for _, r := range s.Rows {
		bx = append(bx, float64(r.Batch))
		ex, secs = append(ex, r.ExamplesTo), append(secs, r.SecondsTo)
		spe = append(spe, band{Median: 1 / r.ExamplesPerSec.Median, Min: 1 / r.ExamplesPerSec.Max, Max: 1 / r.ExamplesPerSec.Min})
	}
	norm := func(bs []band) []band {
		lo := math.Inf(1)
		for _, b := range bs {
			lo = math.Min(lo, b.Median)
		}
		out := make([]band, len(bs))
		for i, b := range bs {
			out[i] = band{Median: b.Median / lo, Min: b.Min / lo, Max: b.Max / lo}
		}
		return out
	}
	var ser []plot.Series
	ser = append(ser, bandSeries("examples to target", bx, norm(ex))...)
	ser = append(ser, bandSeries("seconds per example", bx, norm(spe))...)
	ser = append(ser, bandSeries("seconds to target", bx, norm(secs))...)
	top := 1.0
	for _, sr := range ser {
		for _, y := range sr.Y {
			if !math.IsInf(y, 0) {
				top = math.Max(top, y)
			}
		}
	}
	ser = append(ser, plot.Series{Label: fmt.Sprintf("knee B = %d", s.Knee), X: []float64{float64(s.Knee), float64(s.Knee)}, Y: []float64{1, top}, Dashed: true})
	path, err := c.writePlot("claim7_knee.png", plot.Lines{Width: 7, Height: 4.5,
		Title:  c.titled(fmt.Sprintf("%s MLP, η tuned per B: seconds to loss %g = examples × seconds per example", s.Data, s.Target)),
		XLabel: "batch size B", YLabel: "÷ its smallest median", LogX: true, LogY: true, Series: ser})
	if err != nil {
		return err
	}
	if path != "" {
		s.Figures = append(s.Figures, path)
	}
	return nil
}
