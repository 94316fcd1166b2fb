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

// claim1 is "a GD step scans the whole set; SGD reaches a given loss
// sooner": the full training-set loss against examples seen and against
// seconds, for GD, mini-batch SGD and online SGD, every one with heavy-ball
// momentum 0.9 and its η tuned on its own grid.
type claim1 struct {
	options
	sgdEpochs int          // budget of the stochastic methods, in epochs
	gdEpochs  int          // GD's budget, in epochs (= updates)
	momentum  float64      // of every method
	grids     [3][]float64 // η grids of GD, mini-batch, online
	points    int          // loss checkpoints per run (log-spaced in examples)
}

func claim1Flags(fs *flag.FlagSet) func(context.Context, options) (interface{}, error) {
	sgdEpochs := fs.Int("sgd-epochs", 3, "claim 1: budget of mini-batch and online SGD, in epochs")
	gdEpochs := fs.Int("gd-epochs", 30, "claim 1: budget of GD, in epochs (= updates)")
	momentum := fs.Float64("momentum", 0.9, "claim 1: heavy-ball momentum of every method")
	gdLRs := fs.String("gd-lrs", "0.1,0.3,1,3", "claim 1: η grid of GD")
	mbLRs := fs.String("mb-lrs", "0.003,0.01,0.03,0.1,0.3", "claim 1: η grid of mini-batch SGD")
	onLRs := fs.String("online-lrs", "0.0003,0.001,0.003,0.01", "claim 1: η grid of online SGD")
	points := fs.Int("points", 20, "claim 1: loss checkpoints per run, log-spaced in examples seen")
	return func(ctx context.Context, o options) (interface{}, error) {
		c := claim1{options: o, sgdEpochs: *sgdEpochs, gdEpochs: *gdEpochs, momentum: *momentum, points: *points}
		if *sgdEpochs < 1 || *gdEpochs < 1 || *points < 2 || !(*momentum >= 0 && *momentum < 1) {
			return nil, errors.New("-sgd-epochs, -gd-epochs must be ≥ 1, -points ≥ 2, -momentum in [0, 1)")
		}
		var err error
		for i, g := range []struct{ name, v string }{{"gd-lrs", *gdLRs}, {"mb-lrs", *mbLRs}, {"online-lrs", *onLRs}} {
			if c.grids[i], err = cli.Floats(g.name, g.v, 0, math.Inf(1)); err != nil {
				return nil, err
			}
		}
		return c.run(ctx)
	}
}

// curve is one method's full-set loss at its checkpoints, over seeds.
type curve struct {
	Method   string    `json:"method"`
	LR       float64   `json:"lr"`
	TuneLoss losses    `json:"tune_loss"` // mean final loss of each grid η over the tuning seeds (+Inf: diverged)
	Examples []float64 `json:"examples"`  // checkpoint positions, the same for every seed
	Loss     []band    `json:"loss"`
	Seconds  []band    `json:"seconds"` // training seconds at the checkpoint, evaluations excluded
}

type claim1Summary struct {
	Claim      int         `json:"claim"`
	Data       string      `json:"data"`
	N          int         `json:"n"`
	Seeds      []int       `json:"seeds"`
	Curves     []curve     `json:"curves"`
	AtExamples []pointLoss `json:"at_examples"`
	AtSeconds  []pointLoss `json:"at_seconds"`
	Target     float64     `json:"target"` // the stochastic methods' worst final loss
	Reach      []reach     `json:"reach"`
	Figures    []string    `json:"figures,omitempty"`
	Seconds    float64     `json:"seconds"`
}

// pointLoss is a method's full-set loss at a fixed budget point.
type pointLoss struct {
	Method string  `json:"method"`
	At     float64 `json:"at"` // examples or seconds
	Loss   band    `json:"loss"`
}

// trace is one run: the loss at every checkpoint and the seconds there.
type trace struct {
	examples, loss, seconds []float64
	final                   float64 // +Inf: diverged
}

func (c claim1) run(ctx context.Context) (*claim1Summary, error) {
	start := time.Now()
	train, _, err := c.load(ctx)
	if err != nil {
		return nil, err
	}
	n := train.Len()
	s := &claim1Summary{Claim: 1, Data: c.data, N: n, Seeds: c.seeds}
	c.rep.Printf("claim 1: GD vs mini-batch vs online SGD. %s, %d training examples, MLP %d-%d-10 (float32), momentum %g for all.\n"+
		"Budgets: GD %d epochs (= updates), the stochastic methods %d epochs. η tuned per method on its grid by the final\n"+
		"full-set loss, mean over seeds %v; the loss is the full training-set loss, evaluated outside the timed training.\n\n",
		c.data, n, train.XShape()[0], c.hidden, c.momentum, c.gdEpochs, c.sgdEpochs, c.tune)
	methods := []struct {
		name   string
		b      int
		epochs int
	}{{"GD", 0, c.gdEpochs}, {fmt.Sprintf("mini-batch B=%d", c.batch), c.batch, c.sgdEpochs}, {"online (B=1)", 1, c.sgdEpochs}}
	traces := make([][]trace, len(methods)) // [method][seed]
	for i, m := range methods {
		cv := curve{Method: m.name}
		var err error
		cv.LR, cv.TuneLoss, err = c.tuneLR(c.grids[i], func(lr float64, seed int64) (float64, error) {
			t, err := c.train(ctx, train, m.b, m.epochs, lr, seed, false)
			return t.final, err
		})
		if err != nil {
			return nil, err
		}
		if cv.LR == 0 {
			return nil, fmt.Errorf("claim 1: %s diverged at every η of %v", m.name, c.grids[i])
		}
		for _, seed := range c.seeds {
			t, err := c.train(ctx, train, m.b, m.epochs, cv.LR, int64(seed), true)
			if err != nil {
				return nil, err
			}
			if len(t.loss) == 0 {
				return nil, fmt.Errorf("claim 1: %s diverged on seed %d at the tuned η = %g", m.name, seed, cv.LR)
			}
			traces[i] = append(traces[i], t)
		}
		cv.Examples = traces[i][0].examples
		for j := range cv.Examples {
			var l, sec []float64
			for _, t := range traces[i] {
				if j < len(t.loss) {
					l, sec = append(l, t.loss[j]), append(sec, t.seconds[j])
				}
			}
			cv.Loss, cv.Seconds = append(cv.Loss, bandOf(l)), append(cv.Seconds, bandOf(sec))
		}
		edge := ""
		if g := c.grids[i]; cv.LR == g[0] || cv.LR == g[len(g)-1] {
			edge = " (at the grid's edge)"
		}
		c.rep.Printf("%-18s η = %g%s on the grid %v (mean tuning losses %.3g)\n", m.name, cv.LR, edge, c.grids[i], cv.TuneLoss)
		s.Curves = append(s.Curves, cv)
	}
	// Fixed points: examples N/10, N, sgdEpochs·N; seconds read off the
	// median clock.
	c.rep.Printf("\nfull-set loss at fixed examples seen, median [min, max] over seeds %v:\n", c.seeds)
	for _, at := range []float64{float64(n) / 10, float64(n), float64(c.sgdEpochs * n)} {
		for _, cv := range s.Curves {
			p := pointLoss{Method: cv.Method, At: at, Loss: lossAt(cv, at)}
			s.AtExamples = append(s.AtExamples, p)
			c.rep.Printf("  %8.0f examples  %-18s %s\n", at, cv.Method, p.Loss)
		}
	}
	// Fixed seconds: fractions of the shortest method's median training
	// time, so that every method is still running there.
	short := math.Inf(1)
	for _, cv := range s.Curves {
		short = math.Min(short, cv.Seconds[len(cv.Seconds)-1].Median)
	}
	c.rep.Printf("\nfull-set loss at fixed training seconds (the last checkpoint whose median time is at or before it;\n" +
		"GD before its first update: the initial loss):\n")
	for _, at := range []float64{short / 10, short / 3, short} {
		for _, cv := range s.Curves {
			p := pointLoss{Method: cv.Method, At: at, Loss: lossAtSeconds(cv, at)}
			s.AtSeconds = append(s.AtSeconds, p)
			c.rep.Printf("  %7.3g s  %-18s %s\n", at, cv.Method, p.Loss)
		}
	}
	// Examples and seconds each method needs to reach the mini-batch
	// method's median loss at the end of its budget.
	for _, cv := range s.Curves[1:] {
		s.Target = math.Max(s.Target, cv.Loss[len(cv.Loss)-1].Max)
	}
	c.rep.Printf("\nto reach the loss %.4g (the worst final loss of the stochastic methods over seeds, after %d epochs),\n"+
		"median [min, max] over seeds (+Inf: not within the budget):\n", s.Target, c.sgdEpochs)
	for i, cv := range s.Curves {
		var ex, sec []float64
		for _, t := range traces[i] {
			e, sc := math.Inf(1), math.Inf(1)
			for j, l := range t.loss {
				if l <= s.Target {
					e, sc = t.examples[j], t.seconds[j]
					break
				}
			}
			ex, sec = append(ex, e), append(sec, sc)
		}
		r := reach{Method: cv.Method, Examples: bandOf(ex), Seconds: bandOf(sec)}
		s.Reach = append(s.Reach, r)
		c.rep.Printf("  %-18s examples %-34s seconds %s\n", cv.Method, r.Examples, r.Seconds)
	}
	if err := c.figures(s); err != nil {
		return nil, err
	}
	s.Seconds = since(start)
	return s, nil
}

// reach is what a method needs to reach claim 1's target loss.
type reach struct {
	Method   string `json:"method"`
	Examples band   `json:"examples"`
	Seconds  band   `json:"seconds"`
}

// lossAt is the loss band at the last checkpoint at or before `at`
// examples (the initial loss at 0 comes first).
func lossAt(cv curve, at float64) band {
	k := 0
	for j, x := range cv.Examples {
		if x <= at {
			k = j
		}
	}
	return cv.Loss[k]
}

// lossAtSeconds is, per seed-quantile, the loss at the last checkpoint whose
// median seconds is at or before `at`.
func lossAtSeconds(cv curve, at float64) band {
	k := 0
	for j, sec := range cv.Seconds {
		if sec.Median <= at {
			k = j
		}
	}
	return cv.Loss[k]
}

// train runs one method (b = 0: GD) for the given epochs; with record it
// evaluates the full training-set loss at the initial point and then at
// about c.points log-spaced numbers of examples seen (for GD, after every
// update), outside the timed training.
func (c claim1) train(ctx context.Context, train *datasets.Dataset, b, epochs int, lr float64, seed int64, record bool) (trace, error) {
	n := train.Len()
	t := trace{final: math.Inf(1)}
	model := c.model()
	p := newParams(seed)
	ev := models.NewEvaluator(model, p, graph.SoftmaxCrossEntropy, 0)
	defer ev.Close()
	var evalDur time.Duration
	start := time.Now()
	total := float64(epochs * n)
	next := float64(n) / 100
	ratio := math.Pow(total/next, 1/float64(c.points-1))
	eval := func(examples int64) error {
		te := time.Now()
		m, err := ev.Evaluate(train)
		evalDur += time.Since(te)
		if err != nil {
			return err
		}
		t.examples = append(t.examples, float64(examples))
		t.loss = append(t.loss, m.Loss)
		t.seconds = append(t.seconds, time.Since(start).Seconds()-evalDur.Seconds())
		return nil
	}
	cfg := trainers.Config{Epochs: epochs, Loss: graph.SoftmaxCrossEntropy, Optimizer: trainers.SGD{LR: lr, Momentum: c.momentum}, Seed: seed}
	if record {
		cfg.LogEvery = 1
		cfg.Callbacks = []trainers.Callback{func(e trainers.Event) error {
			if e.Kind == trainers.StepEnd && float64(e.Examples) >= next {
				for next <= float64(e.Examples) {
					next *= ratio
				}
				return eval(e.Examples)
			}
			if e.Kind == trainers.EpochEnd && b == 0 {
				return eval(e.Examples) // GD: LogEvery counts updates, one per epoch
			}
			return nil
		}}
	}
	var tr trainers.Trainer = trainers.MiniBatchSGD{Config: cfg, BatchSize: b}
	if b == 0 {
		cfg.LogEvery = 0
		tr = trainers.GD{Config: cfg}
	}
	if record {
		// The initial loss needs the initial weights: create them as the
		// first step would (the same values, from the same seed).
		if err := models.Init(model, p, train.XShape()); err != nil {
			return t, err
		}
		if err := eval(0); err != nil {
			return t, err
		}
		start = time.Now()
		evalDur = 0
		t.seconds[0] = 0
	}
	if _, err := tr.Fit(ctx, model, p, train); err != nil {
		if ctx.Err() != nil {
			return t, err
		}
		return t, nil // diverged
	}
	m, err := ev.Evaluate(train)
	if err != nil {
		return t, err
	}
	if !math.IsNaN(m.Loss) {
		t.final = m.Loss
	}
	return t, nil
}

func (c claim1) figures(s *claim1Summary) error {
	var byEx, bySec []plot.Series
	for _, cv := range s.Curves {
		byEx = append(byEx, bandSeries(cv.Method, cv.Examples, cv.Loss)...)
		med := make([]float64, len(cv.Seconds))
		for j, b := range cv.Seconds {
			med[j] = b.Median
		}
		bySec = append(bySec, bandSeries(cv.Method, med, cv.Loss)...)
	}
	figs := []figure{
		{"claim1_examples.png", plot.Lines{Width: 7, Height: 4.5, Title: c.titled(fmt.Sprintf("%s MLP: full training-set loss by examples seen", s.Data)),
			XLabel: "training examples seen", YLabel: "full-set loss", LogX: true, LogY: true, Series: byEx}},
		{"claim1_seconds.png", plot.Lines{Width: 7, Height: 4.5, Title: c.titled(fmt.Sprintf("%s MLP: full training-set loss by training time", s.Data)),
			XLabel: "training seconds (median over seeds)", YLabel: "full-set loss", LogX: true, LogY: true, Series: bySec}},
	}
	return c.writeFigures(&s.Figures, figs...)
}
