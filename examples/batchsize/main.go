// Command batchsize sweeps the mini-batch size B = 1, 2, 4, …, N on the
// embedded 8×8 digits (an MLP in float32) and measures what B changes:
//
//   - throughput, in training examples per second (of the fastest epoch, to
//     be fair on a shared machine): a graph run has a fixed
//     cost (gorgonia's tape machine, the trainer's bookkeeping) that a larger
//     batch spreads over more examples, and larger matrix products run faster
//     per element;
//   - progress per example: the training loss after a fixed budget of
//     examples (-budget epochs' worth), which favours small batches, since
//     they make N/B updates per epoch where full-batch GD makes one;
//   - what both together give: the wall time to reach a target training
//     loss, computed as the examples needed ÷ the throughput (steadier on a
//     busy machine than a stopwatch read at the crossing; the loss is
//     checked -checks times per epoch, outside the timed training).
//
// The learning rate follows the linear scaling rule, η(B) = min(ηmax, η₁·B):
// while the gradient noise dominates (B below the noise scale), doubling B
// and η makes the same progress per example with half the updates; beyond
// ηmax the step would be unstable, so larger batches stop gaining. The best
// time-to-target lies in between — typically at B ≈ 32–128 — where the
// batch is large enough to run fast and small enough to make many updates.
// The winner is marked with an asterisk.
//
//	go run ./examples/batchsize [-batches 1,2,4,...,N] [-budget 20] [-target 0.02]
//	    [-lr1 0.01] [-lrmax 0.5] [-png FILE] [-json]
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
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/examples/internal/cli"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/models"
	"github.com/descent-go/descent/plot"
	"github.com/descent-go/descent/trainers"
)

// row is the result for one batch size.
type row struct {
	Batch          int     `json:"batch"`
	LR             float64 `json:"lr"`
	Updates        int     `json:"updates"`            // after the budget
	ExamplesPerSec float64 `json:"examples_per_sec"`   // training throughput of the fastest epoch
	Loss           float64 `json:"loss"`               // training loss after the budget
	TestAccuracy   float64 `json:"test_accuracy"`      // after the budget
	ExamplesTo     int64   `json:"examples_to_target"` // training examples until the loss first reached the target
	TimeToTarget   float64 `json:"time_to_target"`     // ExamplesTo / ExamplesPerSec, in seconds (-1: not reached)
	Best           bool    `json:"best,omitempty"`     // the shortest time to target
}

// summary is what -json prints.
type summary struct {
	N       int     `json:"n"`
	Budget  int     `json:"budget_epochs"`
	Target  float64 `json:"target"`
	Rows    []row   `json:"rows"`
	Best    int     `json:"best_batch"` // batch size with the shortest time to target (0: none reached it)
	Seconds float64 `json:"seconds"`
	PNG     string  `json:"png,omitempty"`
}

func main() { cli.Main("batchsize", run) }

// options are the command line's settings.
type options struct {
	batchList, png         string
	budget, hidden, checks int
	target, lr1, lrMax     float64
	seed                   int64
	json                   bool
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	rep := &cli.Report{JSON: o.json, Out: stdout}
	start := time.Now()

	// 1. The digits, and the batch sizes to sweep.
	parts, err := cli.Digits(o.seed, 0.8, 0.2)
	if err != nil {
		return err
	}
	train, test := parts[0], parts[1]
	n := train.Len()
	batches, err := parseBatches(o.batchList, n)
	if err != nil {
		return fmt.Errorf("-batches: %v", err)
	}
	rep.Printf("digits: %d training, %d test examples; MLP 64-%d-10, float32, plain SGD with η(B) = min(%g, %g·B);\n"+
		"budget %d epochs (%d examples) per batch size; target training loss %g\n\n", n, test.Len(), o.hidden, o.lrMax, o.lr1, o.budget, o.budget*n, o.target)

	// 2. The same example budget for every batch size, η scaled with B.
	s := summary{N: n, Budget: o.budget, Target: o.target}
	var hists []*trainers.History
	var labels []string
	model := models.MLP{Hidden: []int{o.hidden}, Outputs: 10}
	for _, b := range batches {
		r, h, err := sweep(ctx, rep, model, train, test, b, math.Min(o.lrMax, o.lr1*float64(b)), o.budget, o.checks, o.target, o.seed)
		if err != nil {
			return err
		}
		s.Rows = append(s.Rows, r)
		hists, labels = append(hists, h), append(labels, fmt.Sprintf("B=%d", b))
	}

	// 3. Which batch size reaches the target loss soonest in wall time.
	if best := fastest(s.Rows); best >= 0 {
		s.Rows[best].Best = true
		s.Best = s.Rows[best].Batch
	}
	printTable(rep, s)
	if s.PNG, err = rep.Chart(o.png, "loss curves", lossChart(s.Rows, hists, labels, n)); err != nil {
		return err
	}
	s.Seconds = time.Since(start).Seconds()
	return rep.Summary(s)
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("batchsize", flag.ContinueOnError)
	fs.StringVar(&o.batchList, "batches", "", "comma-separated batch sizes, N for the whole training set (default 1, 2, 4, …, N)")
	fs.IntVar(&o.budget, "budget", 20, "training budget per batch size, in epochs (N examples each)")
	fs.Float64Var(&o.target, "target", 0.02, "target training loss for the time-to-target column")
	fs.Float64Var(&o.lr1, "lr1", 0.01, "learning rate at B = 1; η(B) = min(lrmax, lr1·B)")
	fs.Float64Var(&o.lrMax, "lrmax", 0.5, "largest learning rate")
	fs.IntVar(&o.hidden, "hidden", 64, "hidden units of the MLP")
	fs.IntVar(&o.checks, "checks", 4, "training-loss checks per epoch, for the time to target")
	fs.Int64Var(&o.seed, "seed", 1, "seed of the split, the initial weights and the shuffles")
	fs.StringVar(&o.png, "png", filepath.Join(os.TempDir(), "descent-batchsize.png"), "where to write the loss curves by wall time (of B = 1, 8, 32, 128 and N in a long sweep; empty: nowhere)")
	fs.BoolVar(&o.json, "json", false, "print only a JSON summary")
	if err := cli.Parse(fs, args); err != nil {
		return o, err
	}
	switch {
	case o.budget < 1 || o.checks < 1 || o.hidden < 1:
		return o, errors.New("-budget, -checks and -hidden must be ≥ 1")
	case !(o.lr1 > 0) || !(o.lrMax > 0):
		return o, errors.New("-lr1 and -lrmax must be > 0")
	}
	return o, nil
}

// fastest returns the row that reached the target in the least time (−1:
// none did).
func fastest(rows []row) int {
	best := -1
	for i, r := range rows {
		if r.TimeToTarget >= 0 && (best < 0 || r.TimeToTarget < rows[best].TimeToTarget) {
			best = i
		}
	}
	return best
}

// printTable prints one row per batch size, the fastest marked.
func printTable(rep *cli.Report, s summary) {
	rep.Printf("%6s %7s %8s %11s %12s %9s %14s %14s\n", "B", "η", "updates", "examples/s", "loss@budget", "test acc", "ms to target", "ex. to target")
	for _, r := range s.Rows {
		tt, et := "not reached", "-"
		if r.TimeToTarget >= 0 {
			tt = fmt.Sprintf("%.1f", 1000*r.TimeToTarget)
			et = strconv.FormatInt(r.ExamplesTo, 10)
		}
		mark := ""
		if r.Best {
			mark = " *"
		}
		rep.Printf("%6d %7.3g %8d %11.0f %12.4f %9.4f %14s %14s%s\n", r.Batch, r.LR, r.Updates, r.ExamplesPerSec, r.Loss, r.TestAccuracy, tt, et, mark)
	}
	if s.Best > 0 {
		rep.Printf("\n* fastest to the target: B = %d.", s.Best)
	}
	rep.Printf(" Small batches make the most progress per example but run slowly;\n" +
		"large ones run fast but make few updates. Time to target = examples needed ÷ examples/s.\n")
}

// lossChart is the training loss by wall time; with more than five batch
// sizes, only B = 1, 8, 32, 128 and N, to tell the lines apart.
func lossChart(rows []row, hists []*trainers.History, labels []string, n int) plot.Chart {
	chart := plot.Chart{Title: "digits MLP: training loss by wall time", X: "seconds", Y: "train_loss", LogY: true, Histories: hists, Labels: labels}
	if len(hists) > 5 {
		chart.Histories, chart.Labels = nil, nil
		for i, r := range rows {
			if b := r.Batch; b == 1 || b == 8 || b == 32 || b == 128 || b == n {
				chart.Histories, chart.Labels = append(chart.Histories, hists[i]), append(chart.Labels, labels[i])
			}
		}
	}
	return chart
}

// fastestEpoch returns the throughput of the fastest epoch of h (n
// examples each), the usual way to time on a shared machine, without the
// time the loss checks took (evalTime, per epoch), which it also takes out
// of the History's clock, for the chart.
func fastestEpoch(h *trainers.History, evalTime []time.Duration, n int) float64 {
	best, prev, evalSum := 0.0, 0.0, 0.0
	for i := range h.Epochs {
		e := &h.Epochs[i]
		secs := e.Seconds - prev - evalTime[i].Seconds()
		prev = e.Seconds
		if secs > 0 {
			best = math.Max(best, float64(n)/secs)
		}
		evalSum += evalTime[i].Seconds()
		e.Seconds -= evalSum
	}
	return best
}

// sweep trains one model with batch size b for the budget, checking the
// training loss `checks` times per epoch, and measures the row.
func sweep(ctx context.Context, rep *cli.Report, model models.Model, train, test *datasets.Dataset, b int, lr float64, budget, checks int, target float64, seed int64) (row, *trainers.History, error) {
	n := train.Len()
	r := row{Batch: b, LR: lr, TimeToTarget: -1}
	params := graph.NewParams(tensor.Float32, seed)
	ev := models.NewEvaluator(model, params, graph.SoftmaxCrossEntropy, 0)
	defer ev.Close()
	perEpoch := (n + b - 1) / b
	every := perEpoch / checks
	if every < 1 {
		every = 1
	}
	evalTime := make([]time.Duration, budget) // per epoch, spent in check
	reached := false
	check := func(e trainers.Event) error {
		if e.Kind != trainers.StepEnd || reached {
			return nil
		}
		te := time.Now()
		m, err := ev.Evaluate(train)
		evalTime[e.Epoch] += time.Since(te)
		if err != nil {
			return err
		}
		if m.Loss <= target {
			reached = true
			r.ExamplesTo = e.Examples
		}
		return nil
	}
	callbacks := []trainers.Callback{check}
	if !rep.JSON {
		callbacks = append(callbacks, trainers.NewBar(os.Stderr).Callback())
	}
	cfg := trainers.Config{
		Epochs:    budget,
		Loss:      graph.SoftmaxCrossEntropy,
		Optimizer: trainers.SGD{LR: lr},
		Seed:      seed,
		Callbacks: callbacks,
		LogEvery:  every,
	}
	var tr trainers.Trainer = trainers.MiniBatchSGD{Config: cfg, BatchSize: b}
	if b >= n {
		// The full batch in one graph run, not accumulated over chunks.
		tr = trainers.GD{Config: cfg, Chunk: n}
	}
	h, err := tr.Fit(ctx, model, params, train)
	if err != nil {
		return r, nil, err
	}
	last := h.Last()
	r.Updates = last.Updates
	r.ExamplesPerSec = fastestEpoch(h, evalTime, n)
	m, err := ev.Evaluate(train)
	if err != nil {
		return r, nil, err
	}
	r.Loss = m.Loss
	if !reached && m.Loss <= target {
		reached, r.ExamplesTo = true, last.Examples
	}
	if reached && r.ExamplesPerSec > 0 {
		r.TimeToTarget = float64(r.ExamplesTo) / r.ExamplesPerSec
	}
	mt, err := models.Evaluate(model, params, graph.SoftmaxCrossEntropy, test)
	if err != nil {
		return r, nil, err
	}
	r.TestAccuracy = mt.Accuracy
	return r, h, nil
}

// parseBatches parses the -batches list ("N" is the training set size);
// empty means the powers of two below n, then n.
func parseBatches(s string, n int) ([]int, error) {
	var out []int
	if s == "" {
		for b := 1; b < n; b *= 2 {
			out = append(out, b)
		}
		return append(out, n), nil
	}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "N" || f == "n" {
			out = append(out, n)
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil {
			return nil, err
		}
		if v < 1 || v > n {
			return nil, fmt.Errorf("batch size %d: want 1..%d (N)", v, n)
		}
		out = append(out, v)
	}
	return out, nil
}
