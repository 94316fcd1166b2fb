package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"runtime"
	"time"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/examples/internal/cli"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/models"
	"github.com/descent-go/descent/plot"
	"github.com/descent-go/descent/trainers"
)

// claim8 is "data-parallel and asynchronous SGD": mini-batch SGD with its
// batches split over P in-process replicas (trainers.Parallel.Replicas,
// the same gradient up to rounding, so the same η), by examples per second
// and by loss against wall-clock time; then online SGD, serial against
// Hogwild (Parallel.Hogwild: P replicas updating the shared weights
// without locks), by updates per second and loss against time, and
// Hogwild's extra noise measured as the spread between reruns of one seed
// (serial reruns are bit-identical) beside the spread between seeds (the
// sampling noise of SGD itself).
type claim8 struct {
	options
	replicas, hogReplicas []int
	batch                 int
	lrs, onlineLRs        []float64
	reruns, rounds        int
}

func claim8Flags(fs *flag.FlagSet) func(context.Context, options) (interface{}, error) {
	replicas := fs.String("par-replicas", "1,2,4", "claim 8: in-process replicas P of the data-parallel runs")
	hog := fs.String("hog-replicas", "2,4", "claim 8: replicas of the Hogwild runs (beside serial online SGD)")
	batch := fs.Int("par-batch", 256, "claim 8: global batch of the data-parallel runs (split over the replicas)")
	lrs := fs.String("par-lrs", "0.03,0.1,0.3,1", "claim 8: learning-rate grid of the data-parallel runs (tuned with one replica)")
	onlineLRs := fs.String("hog-lrs", "0.003,0.01,0.03", "claim 8: learning-rate grid of online SGD (tuned serial)")
	reruns := fs.Int("hog-reruns", 3, "claim 8: runs per seed of each Hogwild configuration")
	rounds := fs.Int("par-rounds", 3, "claim 8: interleaved rounds of the throughput timing")
	return func(ctx context.Context, o options) (interface{}, error) {
		c := claim8{options: o, batch: *batch, reruns: *reruns, rounds: *rounds}
		if c.batch < 1 || c.reruns < 2 || c.rounds < 1 {
			return nil, errors.New("-par-batch and -par-rounds must be ≥ 1, -hog-reruns ≥ 2")
		}
		var err error
		if c.replicas, err = cli.Ints("par-replicas", *replicas, 1); err != nil {
			return nil, err
		}
		if c.hogReplicas, err = cli.Ints("hog-replicas", *hog, 2); err != nil {
			return nil, err
		}
		if c.lrs, err = cli.Floats("par-lrs", *lrs, 0, math.Inf(1)); err != nil {
			return nil, err
		}
		if c.onlineLRs, err = cli.Floats("hog-lrs", *onlineLRs, 0, math.Inf(1)); err != nil {
			return nil, err
		}
		return c.run(ctx)
	}
}

// parRow is one configuration: P replicas, data parallel or Hogwild (P = 1:
// serial online SGD).
type parRow struct {
	Method    string `json:"method"`
	Replicas  int    `json:"replicas"`
	PerSec    band   `json:"examples_per_sec"` // = updates/s × batch
	FinalLoss band   `json:"final_loss"`       // full training set, over seeds (Hogwild: first run of each seed)
	// Online SGD, serial and Hogwild, per seed: the range (max − min) of
	// the final loss over reruns of the seed and the distance |w − w′|
	// between the first two reruns' weights (asynchrony: 0 for serial
	// runs); the same between the first run and one from the same initial
	// weights with another shuffle seed (SGD's own sampling noise).
	RerunRange   band `json:"rerun_loss_range,omitempty"`
	RerunDist    band `json:"rerun_weight_distance,omitempty"`
	ShuffleRange band `json:"shuffle_loss_range,omitempty"`
	ShuffleDist  band `json:"shuffle_weight_distance,omitempty"`
	curve        []curvePoint
}

type curvePoint struct{ seconds, loss []float64 }

type claim8Summary struct {
	Claim    int      `json:"claim"`
	Data     string   `json:"data"`
	N        int      `json:"n"`
	Cores    int      `json:"gomaxprocs"`
	Seeds    []int    `json:"seeds"`
	Batch    int      `json:"batch"`
	LR       float64  `json:"lr"`
	OnlineLR float64  `json:"online_lr"`
	Budget   int      `json:"budget_epochs"`
	Parallel []parRow `json:"parallel"`
	Hogwild  []parRow `json:"hogwild"` // [0]: serial online SGD
	// Speed-ups of the median throughput over one replica / serial.
	ParallelSpeedup []float64 `json:"parallel_speedup"`
	HogwildSpeedup  []float64 `json:"hogwild_speedup"`
	Figures         []string  `json:"figures,omitempty"`
	Seconds         float64   `json:"seconds"`
}

// a setup is one trainer configuration of the claim.
type setup struct {
	name     string
	b        int // 1: online SGD
	replicas int
	hogwild  bool
	lr       float64
}

func (st setup) trainer(cfg trainers.Config) trainers.Trainer {
	cfg.Optimizer = trainers.SGD{LR: st.lr}
	cfg.Loss = graph.SoftmaxCrossEntropy
	cfg.Parallel = trainers.Parallel{Replicas: st.replicas, Hogwild: st.hogwild}
	if st.b == 1 {
		return trainers.OnlineSGD{Config: cfg}
	}
	return trainers.MiniBatchSGD{Config: cfg, BatchSize: st.b}
}

func (c claim8) run(ctx context.Context) (*claim8Summary, error) {
	start := time.Now()
	train, _, err := c.load(ctx)
	if err != nil {
		return nil, err
	}
	n := train.Len()
	s := &claim8Summary{Claim: 8, Data: c.data, N: n, Cores: runtime.GOMAXPROCS(0), Seeds: c.seeds, Batch: c.batch, Budget: c.budget}
	c.rep.Printf("claim 8: data-parallel and asynchronous SGD. %s, %d training examples, MLP %d-%d-10 (float32), plain SGD,\n"+
		"%d epochs per run; GOMAXPROCS = %d (P above it shares the cores: P = 4 on 2 cores measures the overhead of\n"+
		"more goroutines than cores, not more hardware).\n\n", c.data, n, train.XShape()[0], c.hidden, c.budget, s.Cores)
	if c.batch > n {
		return nil, fmt.Errorf("claim 8: -par-batch %d > %d training examples", c.batch, n)
	}
	final := func(st setup) func(lr float64, seed int64) (float64, error) {
		return func(lr float64, seed int64) (float64, error) {
			st.lr = lr
			_, loss, _, err := c.fit(ctx, train, st, seed, seed, false)
			return loss, err
		}
	}
	var tune losses
	if s.LR, tune, err = c.tuneLR(c.lrs, final(setup{b: c.batch, replicas: 1})); err != nil {
		return nil, err
	}
	c.rep.Printf("data parallel, B = %d: η = %g tuned with one replica on %v (mean final losses %.3g over seeds %v);\n"+
		"P replicas compute the same gradient up to rounding, so every P uses it\n", c.batch, s.LR, c.lrs, []float64(tune), c.tune)
	if s.OnlineLR, tune, err = c.tuneLR(c.onlineLRs, final(setup{b: 1, replicas: 1})); err != nil {
		return nil, err
	}
	c.rep.Printf("online SGD: η = %g tuned serial on %v (mean final losses %.3g); Hogwild runs use it too\n\n", s.OnlineLR, c.onlineLRs, []float64(tune))
	if s.LR == 0 || s.OnlineLR == 0 {
		return nil, errors.New("claim 8: every learning rate of a grid diverged")
	}
	var par, hog []setup
	for _, p := range c.replicas {
		par = append(par, setup{name: fmt.Sprintf("data parallel P=%d", p), b: c.batch, replicas: p, lr: s.LR})
	}
	hog = append(hog, setup{name: "online serial", b: 1, replicas: 1, lr: s.OnlineLR})
	for _, p := range c.hogReplicas {
		hog = append(hog, setup{name: fmt.Sprintf("Hogwild P=%d", p), b: 1, replicas: p, hogwild: true, lr: s.OnlineLR})
	}
	if s.Parallel, err = c.measure(ctx, train, par); err != nil {
		return nil, err
	}
	if s.Hogwild, err = c.measure(ctx, train, hog); err != nil {
		return nil, err
	}
	if err := c.throughput(ctx, train, par, s.Parallel); err != nil {
		return nil, err
	}
	if err := c.throughput(ctx, train, hog, s.Hogwild); err != nil {
		return nil, err
	}
	for _, r := range s.Parallel {
		s.ParallelSpeedup = append(s.ParallelSpeedup, r.PerSec.Median/s.Parallel[0].PerSec.Median)
	}
	for _, r := range s.Hogwild {
		s.HogwildSpeedup = append(s.HogwildSpeedup, r.PerSec.Median/s.Hogwild[0].PerSec.Median)
	}
	c.report(s)
	if err := c.figures(s); err != nil {
		return nil, err
	}
	s.Seconds = since(start)
	return s, nil
}

// measure runs every setup on every seed (Hogwild and serial online SGD
// c.reruns times per seed) with the loss curve against training seconds.
func (c claim8) measure(ctx context.Context, train *datasets.Dataset, sts []setup) ([]parRow, error) {
	var rows []parRow
	for _, st := range sts {
		row := parRow{Method: st.name, Replicas: st.replicas}
		runs := 1
		if st.b == 1 {
			runs = c.reruns
		}
		var fin, ranges, dists, sranges, sdists []float64
		for _, seed := range c.seeds {
			var ls []float64
			var ps []*graph.Params
			for k := 0; k < runs; k++ {
				cv, loss, p, err := c.fit(ctx, train, st, int64(seed), int64(seed), k == 0)
				if err != nil {
					return nil, err
				}
				if k == 0 {
					row.curve = append(row.curve, cv)
				}
				ls, ps = append(ls, loss), append(ps, p)
			}
			fin = append(fin, ls[0])
			if runs > 1 {
				b := bandOf(ls)
				ranges = append(ranges, b.Max-b.Min)
				dists = append(dists, distance(ps[0], ps[1]))
				_, loss, p, err := c.fit(ctx, train, st, int64(seed), int64(seed)+1000, false)
				if err != nil {
					return nil, err
				}
				sranges = append(sranges, math.Abs(loss-ls[0]))
				sdists = append(sdists, distance(ps[0], p))
			}
		}
		row.FinalLoss = bandOf(fin)
		if runs > 1 {
			row.RerunRange, row.RerunDist = bandOf(ranges), bandOf(dists)
			row.ShuffleRange, row.ShuffleDist = bandOf(sranges), bandOf(sdists)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// distance is the Euclidean distance between two parameter sets.
func distance(a, b *graph.Params) float64 {
	var sq float64
	for _, name := range a.Names() {
		x, y := a.Float64s(name), b.Float64s(name)
		for i := range x {
			sq += (x[i] - y[i]) * (x[i] - y[i])
		}
	}
	return math.Sqrt(sq)
}

// fit trains one setup for the budget from the initial weights of seed,
// shuffling by shuffle; with record, it evaluates the full
// training-set loss at the start and 4 times an epoch (online SGD, whose
// Hogwild runs allow no per-step callback: once an epoch), outside the
// timed training. It returns the curve, the final loss (+Inf: diverged)
// and the weights.
func (c claim8) fit(ctx context.Context, train *datasets.Dataset, st setup, seed, shuffle int64, record bool) (curvePoint, float64, *graph.Params, error) {
	var cv curvePoint
	model := c.model()
	p := newParams(seed)
	if err := models.Init(model, p, train.XShape()); err != nil {
		return cv, 0, nil, err
	}
	ev := models.NewEvaluator(model, p, graph.SoftmaxCrossEntropy, 0)
	defer ev.Close()
	var evalDur time.Duration
	start := time.Now()
	eval := func() error {
		t := time.Now()
		m, err := ev.Evaluate(train)
		evalDur += time.Since(t)
		if err != nil {
			return err
		}
		cv.seconds = append(cv.seconds, time.Since(start).Seconds()-evalDur.Seconds())
		cv.loss = append(cv.loss, m.Loss)
		return nil
	}
	cfg := trainers.Config{Epochs: c.budget, Seed: shuffle}
	if record {
		if err := eval(); err != nil {
			return cv, 0, nil, err
		}
		cv.seconds[0] = 0
		if st.b > 1 {
			cfg.LogEvery = max((train.Len()/st.b)/4, 1)
		}
		cfg.Callbacks = []trainers.Callback{func(e trainers.Event) error {
			if e.Kind == trainers.StepEnd || e.Kind == trainers.EpochEnd && st.b == 1 {
				return eval()
			}
			return nil
		}}
		start, evalDur = time.Now(), 0
	}
	if _, err := st.trainer(cfg).Fit(ctx, model, p, train); err != nil {
		if ctx.Err() != nil {
			return cv, 0, nil, err
		}
		return cv, math.Inf(1), p, nil
	}
	m, err := ev.Evaluate(train)
	if err != nil {
		return cv, 0, nil, err
	}
	return cv, m.Loss, p, nil
}

// throughput times one epoch of every setup in c.rounds interleaved rounds
// (A B C … A B C …), with no callback.
func (c claim8) throughput(ctx context.Context, train *datasets.Dataset, sts []setup, rows []parRow) error {
	per := make([][]float64, len(sts))
	for round := 0; round < c.rounds; round++ {
		for i, st := range sts {
			cfg := trainers.Config{Epochs: 1, Seed: int64(round + 1)}
			t := time.Now()
			if _, err := st.trainer(cfg).Fit(ctx, c.model(), newParams(int64(round+1)), train); err != nil {
				return fmt.Errorf("claim 8: %s: %v", st.name, err)
			}
			per[i] = append(per[i], float64(train.Len())/since(t))
		}
	}
	for i := range rows {
		rows[i].PerSec = bandOf(per[i])
	}
	return nil
}

func (c claim8) report(s *claim8Summary) {
	c.rep.Printf("throughput: one epoch per configuration in %d interleaved rounds, median [min, max] over rounds;\n"+
		"final loss: full training set after %d epochs, median [min, max] over seeds %v\n", c.rounds, c.budget, c.seeds)
	c.rep.Printf("%-22s %34s %9s %30s\n", "", "examples/s (= updates/s × B)", "speed-up", "final loss")
	for i, r := range s.Parallel {
		c.rep.Printf("%-22s %34s %8.2f× %30s\n", r.Method, r.PerSec, s.ParallelSpeedup[i], r.FinalLoss)
	}
	for i, r := range s.Hogwild {
		c.rep.Printf("%-22s %34s %8.2f× %30s\n", r.Method, r.PerSec, s.HogwildSpeedup[i], r.FinalLoss)
	}
	c.rep.Printf("\nnoise, online SGD, per seed (median [min, max] over seeds): each seed run %d times (asynchrony: serial\n"+
		"reruns are bit-identical, Hogwild's are not), and once more from the same initial weights with another\n"+
		"shuffle seed (the sampling noise of SGD itself): the final-loss difference and the weights' distance |w − w′|\n", c.reruns)
	c.rep.Printf("%-16s %28s %28s %28s %28s\n", "", "loss range, reruns", "|w − w′|, reruns", "|Δloss|, other shuffle", "|w − w′|, other shuffle")
	for _, r := range s.Hogwild {
		c.rep.Printf("%-16s %28s %28s %28s %28s\n", r.Method, r.RerunRange, r.RerunDist, r.ShuffleRange, r.ShuffleDist)
	}
}

func (c claim8) figures(s *claim8Summary) error {
	var px, hx []float64
	var pb, hb []band
	for _, r := range s.Parallel {
		px, pb = append(px, float64(r.Replicas)), append(pb, r.PerSec)
	}
	for _, r := range s.Hogwild {
		hx, hb = append(hx, float64(r.Replicas)), append(hb, r.PerSec)
	}
	ser := append(bandSeries(fmt.Sprintf("data parallel, B = %d", s.Batch), px, pb), bandSeries("online: serial (P = 1), then Hogwild", hx, hb)...)
	var lser []plot.Series
	for _, rows := range [][]parRow{s.Parallel, s.Hogwild} {
		for _, r := range rows {
			lser = append(lser, curveBand(r.Method, r.curve)...)
		}
	}
	figs := []figure{
		{"claim8_throughput.png", plot.Lines{Width: 7, Height: 4.5,
			Title:  fmt.Sprintf("%s MLP on %d cores: throughput against replicas\n(%d interleaved timing rounds: median inside the min–max outline)", s.Data, s.Cores, c.rounds),
			XLabel: "replicas P (goroutines; the machine has 2 cores)", YLabel: "training examples per second", LogY: true, Series: ser}},
		{"claim8_loss_time.png", plot.Lines{Width: 7, Height: 4.5, Title: c.titled("full training-set loss against training seconds"),
			XLabel: "training seconds (evaluation excluded)", YLabel: "training loss", LogX: true, LogY: true, Series: lser}},
	}
	return c.writeFigures(&s.Figures, figs...)
}

// curveBand draws the seeds' loss curves as one band: at each checkpoint
// the median [min, max] of the losses and the median of the seconds.
func curveBand(label string, cs []curvePoint) []plot.Series {
	if len(cs) == 0 {
		return nil
	}
	k := len(cs[0].loss)
	for _, cv := range cs {
		k = min(k, len(cv.loss))
	}
	var xs []float64
	var bs []band
	for i := 1; i < k; i++ { // the start (t = 0) has no place on a log axis
		var t, l []float64
		for _, cv := range cs {
			t, l = append(t, cv.seconds[i]), append(l, cv.loss[i])
		}
		xs, bs = append(xs, bandOf(t).Median), append(bs, bandOf(l))
	}
	return bandSeries(label, xs, bs)
}
