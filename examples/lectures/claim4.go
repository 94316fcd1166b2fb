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

// claim4 is "SGD targets the generalization error": a wide MLP trained by
// mini-batch SGD on a small training set for several epochs. Each batch's
// loss before its step (progressive validation: in the first epoch on
// examples not seen yet) is set beside the loss on a large held-out set
// (the test set) and on the training set, at -gap-windows points in the
// first epoch and after every epoch.
type claim4 struct {
	options
	hidden  int
	epochs  int
	windows int
	lrs     []float64
}

func claim4Flags(fs *flag.FlagSet) func(context.Context, options) (interface{}, error) {
	hidden := fs.Int("gap-hidden", 256, "claim 4: hidden units of the wide MLP (the shared -hidden is not used)")
	epochs := fs.Int("gap-epochs", 50, "claim 4: epochs per run")
	windows := fs.Int("gap-windows", 0, "claim 4: measurement points in the first epoch (0: after every step)")
	lrs := fs.String("gap-lrs", "0.03,0.1,0.3,1", "claim 4: learning-rate grid, tuned by the first epoch's progressive loss")
	return func(ctx context.Context, o options) (interface{}, error) {
		if *hidden < 1 || *epochs < 2 || *windows < 0 {
			return nil, errors.New("claim 4: -gap-hidden must be ≥ 1, -gap-windows ≥ 0, -gap-epochs ≥ 2")
		}
		c := claim4{options: o, hidden: *hidden, epochs: *epochs, windows: *windows}
		var err error
		if c.lrs, err = cli.Floats("gap-lrs", *lrs, 0, math.Inf(1)); err != nil {
			return nil, err
		}
		return c.run(ctx)
	}
}

// gapPoint is one measurement point, over the seeds.
type gapPoint struct {
	Epochs float64 `json:"epochs"` // examples seen ÷ N
	// Progressive is the mean loss of the batches since the previous point,
	// each taken before its step (at the previous point's epochs and this).
	Progressive band `json:"progressive"`
	HeldOut     band `json:"held_out"`
	HeldOutSE   band `json:"held_out_se"` // standard error of the held-out mean
	Train       band `json:"train"`
}

type claim4Summary struct {
	Claim    int        `json:"claim"`
	Data     string     `json:"data"`
	N        int        `json:"n"`
	HeldOutN int        `json:"held_out_n"`
	Hidden   int        `json:"hidden"`
	Batch    int        `json:"batch"`
	LR       float64    `json:"lr"`
	TuneLoss losses     `json:"tune_loss"` // mean first-epoch progressive loss per grid η
	Seeds    []int      `json:"seeds"`
	Points   []gapPoint `json:"points"`
	// FirstEpochGap is, per seed, the mean over the first epoch's windows
	// of the progressive loss minus the held-out loss at the window's start
	// (the weights of its first step: with a window per step, the same
	// weights), and FirstEpochSE the standard error of that mean from its
	// spread over the windows; LastEpochGap is the last epoch's progressive
	// loss minus the mean of the held-out losses at its two ends; TrainGap
	// the held-out minus the training-set loss at the end.
	FirstEpochGap band `json:"first_epoch_gap"`
	FirstEpochSE  band `json:"first_epoch_gap_se"`
	LastEpochGap  band `json:"last_epoch_gap"`
	TrainGap      band `json:"train_gap"`
	// BestEpoch is the epoch of the lowest held-out loss, per seed; BestLoss
	// that loss.
	BestEpoch band `json:"best_epoch"`
	BestLoss  band `json:"best_held_out"`
	// Rise is the held-out loss at the end minus its lowest, per seed.
	Rise    band     `json:"held_out_rise"`
	Figures []string `json:"figures,omitempty"`
	Seconds float64  `json:"seconds"`
}

// gapRun is one seed's curves at the measurement points.
type gapRun struct {
	epochs, prog, held, se, train []float64
}

func (c claim4) model() models.Model { return models.MLP{Hidden: []int{c.hidden}, Outputs: 10} }

func (c claim4) run(ctx context.Context) (*claim4Summary, error) {
	start := time.Now()
	train, test, err := c.load(ctx)
	if err != nil {
		return nil, err
	}
	n := train.Len()
	if spe := (n + c.batch - 1) / c.batch; c.windows == 0 || c.windows > spe {
		c.windows = spe
	}
	s := &claim4Summary{Claim: 4, Data: c.data, N: n, HeldOutN: test.Len(), Hidden: c.hidden, Batch: c.batch, Seeds: c.seeds}
	c.rep.Printf("claim 4: SGD targets the generalization error. %s, the first %d training examples, MLP %d-%d-10 (float32),\n"+
		"plain SGD, B = %d, %d epochs: a setting that overfits (few examples, a wide layer). Held out: the %d test examples.\n",
		c.data, n, train.XShape()[0], c.hidden, c.batch, c.epochs, test.Len())
	s.LR, s.TuneLoss, err = c.tuneLR(c.lrs, func(lr float64, seed int64) (float64, error) {
		r, err := c.train(ctx, train, nil, lr, seed, 1)
		if err != nil || r == nil {
			return math.Inf(1), err
		}
		return mean(r.prog), nil
	})
	if err != nil {
		return nil, err
	}
	if s.LR == 0 {
		return nil, fmt.Errorf("claim 4: every learning rate of %v diverged", c.lrs)
	}
	c.rep.Printf("η = %g, tuned on %v by the mean progressive loss of the first epoch (on examples not seen yet; no\n"+
		"held-out data used), mean over tuning seeds %v: %.4g\n", s.LR, c.lrs, c.tune, []float64(s.TuneLoss))
	var runs []*gapRun
	for _, seed := range c.seeds {
		r, err := c.train(ctx, train, test, s.LR, int64(seed), c.epochs)
		if err != nil {
			return nil, err
		}
		if r == nil {
			return nil, fmt.Errorf("claim 4: seed %d diverged at η = %g", seed, s.LR)
		}
		runs = append(runs, r)
	}
	col := func(k int, f func(r *gapRun) []float64) band {
		var xs []float64
		for _, r := range runs {
			xs = append(xs, f(r)[k])
		}
		return bandOf(xs)
	}
	c.rep.Printf("\nmedian [min, max] over seeds %v; progressive: mean loss of the batches since the previous point, each before\n"+
		"its step; held-out SE: the standard error of the held-out mean (per-example spread ÷ √%d)\n", c.seeds, test.Len())
	c.rep.Printf("%7s %26s %26s %10s %26s\n", "epochs", "progressive (window)", "held-out", "SE", "training set")
	for k := range runs[0].epochs {
		p := gapPoint{Epochs: runs[0].epochs[k], HeldOut: col(k, func(r *gapRun) []float64 { return r.held }),
			HeldOutSE: col(k, func(r *gapRun) []float64 { return r.se }), Train: col(k, func(r *gapRun) []float64 { return r.train }),
			Progressive: col(k, func(r *gapRun) []float64 { return r.prog })}
		s.Points = append(s.Points, p)
		if k%((c.windows+3)/4) == 0 || k >= c.windows { // a few rows of epoch 1 (the JSON has them all)
			c.rep.Printf("%7.3g %26s %26s %10.2g %26s\n", p.Epochs, p.Progressive, p.HeldOut, p.HeldOutSE.Median, p.Train)
		}
	}
	var g1, se1, gE, gT, be, bl, rise []float64
	w := c.windows // index of the end of epoch 1
	last := len(runs[0].epochs) - 1
	for _, r := range runs {
		d := make([]float64, w)
		for k := 1; k <= w; k++ {
			d[k-1] = r.prog[k] - r.held[k-1]
		}
		m := mean(d)
		v := 0.0
		for _, x := range d {
			v += (x - m) * (x - m)
		}
		g1, se1 = append(g1, m), append(se1, math.Sqrt(v/float64(w-1)/float64(w)))
		gE = append(gE, r.prog[last]-(r.held[last-1]+r.held[last])/2)
		gT = append(gT, r.held[last]-r.train[last])
		best := w
		for k := w; k <= last; k++ {
			if r.held[k] < r.held[best] {
				best = k
			}
		}
		be, bl, rise = append(be, r.epochs[best]), append(bl, r.held[best]), append(rise, r.held[last]-r.held[best])
	}
	s.FirstEpochSE, s.Rise = bandOf(se1), bandOf(rise)
	s.FirstEpochGap, s.LastEpochGap, s.TrainGap, s.BestEpoch, s.BestLoss = bandOf(g1), bandOf(gE), bandOf(gT), bandOf(be), bandOf(bl)
	c.rep.Printf("\nprogressive − held-out loss at the same weights, mean over the %d windows of epoch 1: %s (SE %s);\n"+
		"in epoch %d (held-out: mean of its two ends): %s\n"+
		"held-out − training-set loss after epoch %d: %s\n"+
		"lowest held-out loss %s, after epoch %s (epoch ends only); from there to epoch %d it rises by %s\n"+
		"(held-out SE per point %.2g)\n",
		w, s.FirstEpochGap, s.FirstEpochSE, c.epochs, s.LastEpochGap, c.epochs, s.TrainGap, s.BestLoss, s.BestEpoch, c.epochs, s.Rise, s.Points[len(s.Points)-1].HeldOutSE.Median)
	if err := c.figure(s); err != nil {
		return nil, err
	}
	s.Seconds = since(start)
	return s, nil
}

// train runs plain SGD for the given epochs and records the progressive
// loss, and with a held-out set the held-out and training-set losses, at
// c.windows points in the first epoch and after every later one (the
// first point: before training). nil: the run diverged.
func (c claim4) train(ctx context.Context, train, test *datasets.Dataset, lr float64, seed int64, epochs int) (*gapRun, error) {
	n := train.Len()
	model := c.model()
	p := newParams(seed)
	spe := (n + c.batch - 1) / c.batch
	// due[k]: the step after which point k+1 is measured (epoch 1 in windows).
	var due []int
	for k := 1; k <= c.windows; k++ {
		due = append(due, k*spe/c.windows)
	}
	for e := 2; e <= epochs; e++ {
		due = append(due, e*spe)
	}
	r := &gapRun{}
	var evTrain *models.Evaluator
	var pr *models.Predictor
	measure := func(examples int64) error {
		r.epochs = append(r.epochs, float64(examples)/float64(n))
		if test == nil {
			return nil
		}
		m, err := evTrain.Evaluate(train)
		if err != nil {
			return err
		}
		held, se, err := heldOut(ctx, pr, test)
		if err != nil {
			return err
		}
		r.held, r.se, r.train = append(r.held, held), append(r.se, se), append(r.train, m.Loss)
		return nil
	}
	if test != nil {
		if err := models.Init(model, p, train.XShape()); err != nil {
			return nil, err
		}
		evTrain, pr = models.NewEvaluator(model, p, graph.SoftmaxCrossEntropy, 0), models.NewPredictor(model, p, 0)
		defer evTrain.Close()
		defer pr.Close()
		if err := measure(0); err != nil {
			return nil, err
		}
		r.prog = append(r.prog, math.NaN())
	}
	var sum, cnt float64
	var prev int64
	next := 0
	cfg := trainers.Config{Epochs: epochs, Loss: graph.SoftmaxCrossEntropy, Optimizer: trainers.SGD{LR: lr}, Seed: seed, LogEvery: 1,
		Callbacks: []trainers.Callback{func(e trainers.Event) error {
			if e.Kind != trainers.StepEnd {
				return nil
			}
			b := float64(e.Examples - prev) // this batch's size
			prev = e.Examples
			sum, cnt = sum+b*e.Loss, cnt+b
			if next < len(due) && e.Step == due[next] {
				next++
				r.prog = append(r.prog, sum/cnt)
				sum, cnt = 0, 0
				if test == nil && next == c.windows { // tuning: epoch 1 only
					return trainers.ErrStop
				}
				if test == nil {
					return nil
				}
				return measure(e.Examples)
			}
			return nil
		}}}
	if _, err := (trainers.MiniBatchSGD{Config: cfg, BatchSize: c.batch}).Fit(ctx, model, p, train); err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, nil // diverged
	}
	for _, v := range r.prog {
		if math.IsInf(v, 0) {
			return nil, nil
		}
	}
	return r, nil
}

// heldOut returns the mean cross-entropy over ds of pr's model and its
// standard error, from the per-example losses (computed in float64 from the
// logits).
func heldOut(ctx context.Context, pr *models.Predictor, ds *datasets.Dataset) (mean, se float64, err error) {
	out, err := pr.PredictContext(ctx, ds.X())
	if err != nil {
		return 0, 0, err
	}
	logits := graph.Float64s(out)
	labels := ds.Labels()
	k := len(logits) / len(labels)
	var s, s2 float64
	for i, y := range labels {
		row := logits[i*k : (i+1)*k]
		m := row[0]
		for _, v := range row {
			m = math.Max(m, v)
		}
		z := 0.0
		for _, v := range row {
			z += math.Exp(v - m)
		}
		l := m + math.Log(z) - row[y]
		s, s2 = s+l, s2+l*l
	}
	nf := float64(len(labels))
	mean = s / nf
	return mean, math.Sqrt((s2/nf - mean*mean) / (nf - 1)), nil
}

func (c claim4) figure(s *claim4Summary) error {
	var xs, px []float64
	var prog, held, tr []band
	for i, p := range s.Points {
		xs, held, tr = append(xs, p.Epochs), append(held, p.HeldOut), append(tr, p.Train)
		if i > 0 { // the progressive loss belongs to the middle of its window
			px, prog = append(px, (s.Points[i-1].Epochs+p.Epochs)/2), append(prog, p.Progressive)
		}
	}
	var ser []plot.Series
	ser = append(ser, bandSeries(fmt.Sprintf("held-out loss (%d test examples)", s.HeldOutN), xs[1:], held[1:])...)
	ser = append(ser, bandSeries("progressive: each batch's loss before its step", px, prog)...)
	ser = append(ser, bandSeries(fmt.Sprintf("training-set loss (%d examples)", s.N), xs[1:], tr[1:])...)
	path, err := c.writePlot("claim4_gap.png", plot.Lines{Width: 7, Height: 4.5,
		Title:  c.titled(fmt.Sprintf("%s, %d training examples, MLP with %d hidden units, η = %g, B = %d", s.Data, s.N, s.Hidden, s.LR, s.Batch)),
		XLabel: "epochs (examples seen ÷ N)", YLabel: "cross-entropy loss", LogX: true, LogY: true, Series: ser})
	if err != nil {
		return err
	}
	if path != "" {
		s.Figures = append(s.Figures, path)
	}
	return nil
}
