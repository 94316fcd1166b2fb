// Command convex measures the convergence rates that the theory of convex
// optimization predicts, on problems where every constant is known.
//
// Part A: least squares with a known condition number. datasets.Quadratic
// makes X (n, d) whose Gram matrix XᵀX/n has eigenvalues spaced from 1 to κ,
// and y = X·w* without noise. descent's MSE is the mean (1/n)·|Xw + b − y|²,
// and models.Linear has a bias b, so the loss is a quadratic in (w, b) whose
// Hessian is H = (2/n)·AᵀA with A = [X 1]. The program computes H's extreme
// eigenvalues L and μ with gonum (the bias adds one direction, so the
// effective condition number κ_eff = L/μ is close to, but not exactly, κ)
// and the minimum is f* = 0 at (w*, 0). For each κ it runs
//
//   - gradient descent with η = 1/L, whose loss gap f(w_t) − f* shrinks at
//     least like (1 − 1/κ)^t: it needs at most κ·ln(1/ε) steps to cut the
//     initial gap by a factor ε;
//   - heavy-ball momentum (trainers.SGD{LR, Momentum} under trainers.GD) with
//     η = 4/(√L + √μ)² and β = ((√κ − 1)/(√κ + 1))², whose rate goes with
//     √κ: about √κ·ln(1/ε) steps,
//
// counting the updates until f(w_t) ≤ ε·f(w_0), and prints them beside the
// bounds, and plots the loss by update (-png). Momentum's advantage grows
// with κ, asymptotically like √κ; at κ = 1000 it takes ten times fewer
// steps, after a transient in which its loss rises by orders of magnitude.
//
// Part B: stochastic versus full gradients, counted in gradient evaluations
// (one per example per step, as History.GradEvals counts them). On logistic
// regression of two overlapping Gaussian blobs it measures how many
// per-example gradients GD (η = 1/L), online SGD and mini-batch SGD (B = 32)
// need to bring the training loss within tol·(f0 − f*) of its minimum f*
// (found by Newton's method), for several tolerances. Far from the optimum a
// cheap noisy step is worth nearly as much as an exact one, so the stochastic
// methods get there with a fraction of GD's evaluations, while GD pays N
// per step (this is one N: examples/lectures -claim 6 measures the work
// against N, on MNIST logistic regression). Near the optimum the noise
// matters: at a constant step SGD's loss hovers at a floor proportional to
// η/B. With the default rates it still gets below 1e-4 of the gap; with
// -lr-sgd 0.2 online SGD reaches the looser targets sooner but never the
// tightest one, where GD, converging geometrically, keeps going.
//
//	go run ./examples/convex [-kappas 10,100,1000] [-eps 1e-6] [-n 500] [-d 20]
//	    [-blobs 4096] [-tols 0.1,0.01,0.001,0.0001] [-lr-sgd 0.05] [-lr-batch 1]
//	    [-parts AB] [-png FILE] [-json]
//
// The default run takes about 2 s on 2 cores.
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

	"gonum.org/v1/gonum/mat"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/examples/internal/cli"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/models"
	"github.com/descent-go/descent/plot"
	"github.com/descent-go/descent/trainers"
)

// rateRow is one κ of Part A.
type rateRow struct {
	Kappa         float64 `json:"kappa"`          // the condition number asked of datasets.Quadratic
	KappaEff      float64 `json:"kappa_eff"`      // L/μ of the loss Hessian, bias included
	L             float64 `json:"L"`              // largest eigenvalue of the loss Hessian
	Mu            float64 `json:"mu"`             // smallest eigenvalue of the loss Hessian
	GDSteps       int     `json:"gd_steps"`       // updates to cut the loss gap by ε (-1: not within the cap)
	GDBound       float64 `json:"gd_bound"`       // κ_eff·ln(1/ε)
	MomentumSteps int     `json:"momentum_steps"` // same for heavy-ball momentum
	MomentumBound float64 `json:"momentum_bound"` // √κ_eff·ln(1/ε)
	MomentumLR    float64 `json:"momentum_lr"`    // 4/(√L+√μ)²
	MomentumBeta  float64 `json:"momentum_beta"`  // ((√κ−1)/(√κ+1))²
}

// evalRow is one method of Part B.
type evalRow struct {
	Method    string  `json:"method"`
	LR        float64 `json:"lr"`
	GradEvals []int64 `json:"grad_evals"` // per target: per-example gradients to reach it (-1: not reached)
	Updates   int     `json:"updates"`    // when the last target was reached or the budget ran out
	Seconds   float64 `json:"seconds"`
	FinalLoss float64 `json:"final_loss"`
}

type partB struct {
	N       int       `json:"n"`
	FStar   float64   `json:"f_star"`  // minimum training loss (Newton)
	F0      float64   `json:"f0"`      // loss at the zero start
	Tols    []float64 `json:"tols"`    // targets are f* + tol·(f0 − f*)
	Targets []float64 `json:"targets"` // the target losses
	Budget  int64     `json:"budget"`  // gradient evaluations allowed per method
	Methods []evalRow `json:"methods"` // GD, OnlineSGD, MiniBatchSGD(B=32)
}

// summary is what -json prints.
type summary struct {
	N       int       `json:"n"`
	D       int       `json:"d"`
	Eps     float64   `json:"eps"`
	Rates   []rateRow `json:"rates,omitempty"`
	Evals   *partB    `json:"evals,omitempty"`
	Seconds float64   `json:"seconds"`
	PNG     string    `json:"png,omitempty"`
}

func main() { cli.Main("convex", run) }

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("convex", flag.ContinueOnError)
	kappaList := fs.String("kappas", "10,100,1000", "comma-separated condition numbers for Part A")
	eps := fs.Float64("eps", 1e-6, "Part A: stop when the loss gap is below eps times the initial gap")
	n := fs.Int("n", 500, "Part A: examples")
	d := fs.Int("d", 20, "Part A: features")
	blobs := fs.Int("blobs", 4096, "Part B: examples of the two blobs")
	tolList := fs.String("tols", "0.1,0.01,0.001,0.0001", "Part B: comma-separated target gaps, as fractions of the initial loss gap")
	budget := fs.Int("budget", 20, "Part B: epochs' worth of gradient evaluations each method may use")
	lrSGD := fs.Float64("lr-sgd", 0.05, "Part B: learning rate of online SGD")
	lrBatch := fs.Float64("lr-batch", 1, "Part B: learning rate of mini-batch SGD (B = 32)")
	parts := fs.String("parts", "AB", "which parts to run: A, B or AB")
	seed := fs.Int64("seed", 1, "seed of the data and the shuffles")
	png := fs.String("png", filepath.Join(os.TempDir(), "descent-convex.png"), "where to write Part A's loss curves (empty: nowhere)")
	asJSON := fs.Bool("json", false, "print only a JSON summary")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	kappas, err := cli.Floats("kappas", *kappaList, 0, math.Inf(1))
	if err != nil {
		return fmt.Errorf("-kappas: %v", err)
	}
	if !(*eps > 0 && *eps < 1) {
		return fmt.Errorf("-eps %v: want a value in (0, 1)", *eps)
	}
	tols, err := cli.Floats("tols", *tolList, 0, 1)
	if err != nil {
		return fmt.Errorf("-tols: %v", err)
	}
	if *budget < 1 {
		return fmt.Errorf("-budget %d: want ≥ 1", *budget)
	}
	if *parts == "" || strings.Trim(*parts, "AB") != "" {
		return fmt.Errorf("-parts %q: want A, B or AB", *parts)
	}
	rep := &cli.Report{JSON: *asJSON, Out: stdout}
	start := time.Now()
	s := summary{N: *n, D: *d, Eps: *eps}

	if strings.Contains(*parts, "A") {
		rows, hists, labels, err := partA(ctx, rep, kappas, *n, *d, *eps, *seed)
		if err != nil {
			return err
		}
		s.Rates = rows
		chart := plot.Chart{Title: "least squares: loss gap f(w) − f* by update", X: "updates", Y: "train_loss", LogY: true, Histories: hists, Labels: labels}
		if s.PNG, err = rep.Chart(*png, "loss curves", chart); err != nil {
			return err
		}
	}
	if strings.Contains(*parts, "B") {
		b, err := partBRun(ctx, rep, *blobs, tols, *budget, *lrSGD, *lrBatch, *seed)
		if err != nil {
			return err
		}
		s.Evals = b
	}
	s.Seconds = time.Since(start).Seconds()
	return rep.Summary(s)
}

// progress is the progress bar alone: these runs have thousands of epochs,
// too many for a line each.
func progress(rep *cli.Report) []trainers.Callback {
	if rep.JSON {
		return nil
	}
	return []trainers.Callback{trainers.NewBar(os.Stderr).Callback()}
}

// partA measures GD and heavy-ball momentum on least squares for each κ.
func partA(ctx context.Context, rep *cli.Report, kappas []float64, n, d int, eps float64, seed int64) ([]rateRow, []*trainers.History, []string, error) {
	rep.Printf("Part A: least squares, n = %d, d = %d (+ bias), stop at f(w) − f* ≤ %g·(f(w0) − f*)\n\n", n, d, eps)
	var rows []rateRow
	var hists []*trainers.History
	var labels []string
	logEps := math.Log(1 / eps)
	for _, kappa := range kappas {
		ds, _, err := datasets.Quadratic(n, d, kappa, seed, tensor.Float64)
		if err != nil {
			return nil, nil, nil, err
		}
		L, mu, err := hessianBounds(ds)
		if err != nil {
			return nil, nil, nil, err
		}
		ke := L / mu
		row := rateRow{Kappa: kappa, KappaEff: ke, L: L, Mu: mu, GDBound: ke * logEps, MomentumBound: math.Sqrt(ke) * logEps}
		row.MomentumLR = 4 / math.Pow(math.Sqrt(L)+math.Sqrt(mu), 2)
		row.MomentumBeta = math.Pow((math.Sqrt(ke)-1)/(math.Sqrt(ke)+1), 2)
		// Cap the runs well beyond the bound, so that a wrong setting ends.
		limit := int(3*row.GDBound) + 100
		var h *trainers.History
		if row.GDSteps, h, err = stepsToGap(ctx, rep, ds, trainers.SGD{LR: 1 / L}, eps, limit); err != nil {
			return nil, nil, nil, err
		}
		hists, labels = append(hists, h), append(labels, fmt.Sprintf("GD κ=%g", kappa))
		if row.MomentumSteps, h, err = stepsToGap(ctx, rep, ds, trainers.SGD{LR: row.MomentumLR, Momentum: row.MomentumBeta}, eps, limit); err != nil {
			return nil, nil, nil, err
		}
		hists, labels = append(hists, h), append(labels, fmt.Sprintf("heavy ball κ=%g", kappa))
		rows = append(rows, row)
	}
	rep.Printf("%8s %9s %10s %10s | %9s %12s | %9s %12s %9s\n", "κ", "κ_eff", "L", "μ", "GD steps", "κ·ln(1/ε)", "HB steps", "√κ·ln(1/ε)", "GD/HB")
	for _, r := range rows {
		rep.Printf("%8g %9.2f %10.4g %10.4g | %9s %12.0f | %9s %12.0f %9s\n", r.Kappa, r.KappaEff, r.L, r.Mu,
			steps(r.GDSteps), r.GDBound, steps(r.MomentumSteps), r.MomentumBound, ratio(r.GDSteps, r.MomentumSteps))
	}
	rep.Printf("\nMeasured steps stay below the bounds. The bounds are for the worst start, with all the\n" +
		"error along the flattest direction (eigenvalue μ), whose loss shrinks by (1 − μ/L)² per GD\n" +
		"step — already half of κ·ln(1/ε) — and from w = 0 that direction holds only a small part of\n" +
		"the initial loss. Heavy ball's count grows like √κ, GD's like κ (asymptotically): the\n" +
		"ratio GD/HB keeps growing with κ. Heavy ball is no descent method, though: its step\n" +
		"η·L ≈ 4 is twice GD's stability limit, held in check only by the momentum, and its loss\n" +
		"first rises by orders of magnitude before it falls at the faster rate (see the plot).\n\n")
	return rows, hists, labels, nil
}

// stepsToGap runs full-batch GD with opt until the loss is at most eps times
// its initial value (f* = 0) and returns the number of updates that took.
func stepsToGap(ctx context.Context, rep *cli.Report, ds *datasets.Dataset, opt trainers.SGD, eps float64, limit int) (int, *trainers.History, error) {
	found := -1
	var f0 float64
	stop := func(e trainers.Event) error {
		if e.Kind != trainers.EpochEnd {
			return nil
		}
		// GD's TrainLoss of epoch t is the loss at w_t, before update t.
		if e.Record.Epoch == 0 {
			f0 = e.Record.TrainLoss
		}
		if e.Record.TrainLoss <= eps*f0 {
			found = e.Record.Epoch
			return trainers.ErrStop
		}
		return nil
	}
	p := graph.NewParams(tensor.Float64, 1)
	h, err := trainers.GD{Config: trainers.Config{
		Epochs:    limit,
		Loss:      graph.MSE,
		Optimizer: opt,
		Callbacks: append(progress(rep), stop),
	}}.Fit(ctx, models.Linear{}, p, ds)
	return found, h, err
}

// hessianBounds returns the largest and smallest eigenvalues of the Hessian
// (2/n)·AᵀA, A = [X 1], of the MSE of a linear model with bias.
func hessianBounds(ds *datasets.Dataset) (L, mu float64, err error) {
	a, err := withBias(ds)
	if err != nil {
		return 0, 0, err
	}
	return gramEigen(a, 2/float64(ds.Len()))
}

// withBias is the design matrix A = [X 1] of a linear model with bias.
func withBias(ds *datasets.Dataset) (*mat.Dense, error) {
	n, d := ds.Len(), ds.XShape()[0]
	x, ok := ds.X().Data().([]float64)
	if !ok {
		return nil, errors.New("want float64 data")
	}
	a := mat.NewDense(n, d+1, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			a.Set(i, j, x[i*d+j])
		}
		a.Set(i, d, 1)
	}
	return a, nil
}

// gramEigen returns the largest and smallest eigenvalues of scale·AᵀA.
func gramEigen(a *mat.Dense, scale float64) (hi, lo float64, err error) {
	var g mat.SymDense
	g.SymOuterK(scale, a.T())
	var eig mat.EigenSym
	if !eig.Factorize(&g, false) {
		return 0, 0, errors.New("eigendecomposition failed")
	}
	vals := eig.Values(nil) // ascending
	return vals[len(vals)-1], vals[0], nil
}

// partBRun compares GD, online and mini-batch SGD on logistic regression by
// the gradient evaluations they need to reach each target loss.
func partBRun(ctx context.Context, rep *cli.Report, n int, tols []float64, budget int, lrSGD, lrBatch float64, seed int64) (*partB, error) {
	// 1. The problem and its optimum.
	ds, err := blobsDataset(n, seed)
	if err != nil {
		return nil, err
	}
	fStar, lmax, err := newtonLogistic(ds)
	if err != nil {
		return nil, err
	}
	f0 := math.Ln2 // zero weights: every prediction is 1/2
	b := &partB{N: n, FStar: fStar, F0: f0, Tols: tols, Budget: int64(budget) * int64(n)}
	for _, tol := range tols {
		b.Targets = append(b.Targets, fStar+tol*(f0-fStar))
	}
	rep.Printf("Part B: logistic regression on %d examples of two overlapping blobs, from w = 0 (loss %.4f);\n"+
		"f* = %.5f by Newton's method. Gradient evaluations (one per example per step) until the\n"+
		"loss gap f − f* is below tol·(f0 − f*); budget %d epochs' worth (%d evaluations)\n\n", n, f0, fStar, budget, b.Budget)

	// 2. Each method until it reaches every target or spends the budget.
	// GD's step is 1/L with L = λmax(AᵀA/n)/4, the logistic loss's smoothness.
	lrGD := 4 / lmax
	for _, m := range []partBMethod{
		{func(c trainers.Config) trainers.Trainer { return trainers.GD{Config: c} }, lrGD, n, 1},
		{func(c trainers.Config) trainers.Trainer { return trainers.OnlineSGD{Config: c} }, lrSGD, 1, 16},
		{func(c trainers.Config) trainers.Trainer { return trainers.MiniBatchSGD{Config: c, BatchSize: 32} }, lrBatch, 32, 1},
	} {
		row, err := evalsToTargets(ctx, rep, m, ds, b.Targets, budget, seed)
		if err != nil {
			return nil, err
		}
		b.Methods = append(b.Methods, row)
	}
	printPartB(rep, b)
	return b, nil
}

// partBMethod is one trainer of Part B with its learning rate.
type partBMethod struct {
	t     func(trainers.Config) trainers.Trainer
	lr    float64
	batch int
	every int // evaluate the full loss every this many updates
}

// evalsToTargets trains logistic regression from w = 0 with m, evaluating
// the full loss after every step, and records the gradient evaluations
// spent when it first falls below each target; it stops once all are met.
func evalsToTargets(ctx context.Context, rep *cli.Report, m partBMethod, ds *datasets.Dataset, targets []float64, budget int, seed int64) (evalRow, error) {
	model, n := models.Logistic{}, ds.Len()
	p := graph.NewParams(tensor.Float64, seed)
	ev := models.NewEvaluator(model, p, graph.BinaryCrossEntropy, 0)
	defer ev.Close()
	row := evalRow{LR: m.lr, GradEvals: make([]int64, len(targets))}
	for i := range row.GradEvals {
		row.GradEvals[i] = -1
	}
	t0 := time.Now()
	check := func(e trainers.Event) error {
		if e.Kind != trainers.StepEnd {
			return nil
		}
		met, err := ev.Evaluate(ds)
		if err != nil {
			return err
		}
		row.FinalLoss, row.Updates = met.Loss, e.Step
		done := true
		for i, target := range targets {
			if row.GradEvals[i] < 0 && met.Loss <= target {
				row.GradEvals[i] = evalsAfter(e.Step, m.batch, n)
			}
			done = done && row.GradEvals[i] >= 0
		}
		if done {
			return trainers.ErrStop
		}
		return nil
	}
	tr := m.t(trainers.Config{
		Epochs:    budget,
		Loss:      graph.BinaryCrossEntropy,
		Optimizer: trainers.SGD{LR: m.lr},
		Seed:      seed,
		Callbacks: append(progress(rep), check),
		LogEvery:  m.every,
	})
	h, err := tr.Fit(ctx, model, p, ds)
	if err != nil {
		return row, err
	}
	row.Method = h.Method
	row.Seconds = time.Since(t0).Seconds()
	return row, nil
}

// printPartB prints the gradient evaluations each method needed per target.
func printPartB(rep *cli.Report, b *partB) {
	rep.Printf("%-20s %6s", "method", "lr")
	for _, tol := range b.Tols {
		rep.Printf(" %14s", fmt.Sprintf("tol %g", tol))
	}
	rep.Printf(" %9s %11s\n", "updates", "final loss")
	for _, r := range b.Methods {
		rep.Printf("%-20s %6.3g", r.Method, r.LR)
		for _, e := range r.GradEvals {
			s := "not reached"
			if e >= 0 {
				s = strconv.FormatInt(e, 10)
			}
			rep.Printf(" %14s", s)
		}
		rep.Printf(" %9d %11.6f\n", r.Updates, r.FinalLoss)
	}
	rep.Printf("\nOne GD step costs N = %d gradient evaluations, a stochastic step 1 or 32: to a loose\n"+
		"tolerance SGD gets there with a small fraction of GD's evaluations (at this one N; how the\n"+
		"work grows with N: examples/lectures -claim 6). Near the optimum its noise matters: at a\n"+
		"constant step SGD's loss hovers at a\n"+
		"floor proportional to η/B (below these targets at the default rates; with -lr-sgd 0.2\n"+
		"online SGD reaches the loose targets sooner and never the tightest), while GD's gap keeps\n"+
		"shrinking geometrically.\n\n", b.N)
}

// evalsAfter is the number of per-example gradients computed by `step`
// updates of batches of `batch` from a training set of n (the last batch of
// an epoch may be partial).
func evalsAfter(step, batch, n int) int64 {
	per := (n + batch - 1) / batch
	epochs, rest := step/per, step%per
	return int64(epochs)*int64(n) + int64(rest*batch)
}

// blobsDataset is two overlapping Gaussian blobs in the plane, standardized,
// with targets of shape (N, 1) in {0, 1} for binary cross-entropy.
func blobsDataset(n int, seed int64) (*datasets.Dataset, error) {
	raw, err := datasets.Blobs(n, 2, 2, 5, seed, tensor.Float64)
	if err != nil {
		return nil, err
	}
	std, err := raw.Standardizer()
	if err != nil {
		return nil, err
	}
	ds, err := std.Apply(raw)
	if err != nil {
		return nil, err
	}
	x := ds.X().Data().([]float64)
	y := make([]float64, n)
	for i, c := range ds.Labels() {
		y[i] = float64(c)
	}
	return datasets.FromFloat64(x, []int{n, 2}, y, []int{n, 1}, tensor.Float64)
}

// newtonLogistic minimizes the mean logistic loss over (w, b) by Newton's
// method and returns the minimum and λmax(AᵀA/n), A = [X 1].
func newtonLogistic(ds *datasets.Dataset) (fStar, lmax float64, err error) {
	n, d := ds.Len(), ds.XShape()[0]
	y := ds.Y().Data().([]float64)
	a, err := withBias(ds)
	if err != nil {
		return 0, 0, err
	}
	if lmax, _, err = gramEigen(a, 1/float64(n)); err != nil {
		return 0, 0, err
	}

	w := mat.NewVecDense(d+1, nil)
	loss := func() float64 {
		var z mat.VecDense
		z.MulVec(a, w)
		s := 0.0
		for i := 0; i < n; i++ {
			zi := z.AtVec(i)
			s += math.Max(zi, 0) - zi*y[i] + math.Log1p(math.Exp(-math.Abs(zi)))
		}
		return s / float64(n)
	}
	for it := 0; it < 50; it++ {
		var z mat.VecDense
		z.MulVec(a, w)
		g := mat.NewVecDense(d+1, nil)
		hess := mat.NewSymDense(d+1, nil)
		for i := 0; i < n; i++ {
			p := 1 / (1 + math.Exp(-z.AtVec(i)))
			row := a.RawRowView(i)
			for j := range row {
				g.SetVec(j, g.AtVec(j)+(p-y[i])*row[j]/float64(n))
				for k := j; k < len(row); k++ {
					hess.SetSym(j, k, hess.At(j, k)+p*(1-p)*row[j]*row[k]/float64(n))
				}
			}
		}
		if mat.Norm(g, 2) < 1e-12 {
			break
		}
		var step mat.VecDense
		if err := step.SolveVec(hess, g); err != nil {
			return 0, 0, fmt.Errorf("Newton step: %v (are the blobs separable?)", err)
		}
		w.SubVec(w, &step)
	}
	return loss(), lmax, nil
}

func steps(k int) string {
	if k < 0 {
		return "capped"
	}
	return strconv.Itoa(k)
}

func ratio(a, b int) string {
	if a < 0 || b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f×", float64(a)/float64(b))
}
