package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"time"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/examples/internal/cli"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/models"
	"github.com/descent-go/descent/plot"
	"github.com/descent-go/descent/trainers"
)

// claim6 is "flops to ε on convex problems": L2-regularized binary logistic
// regression (is the digit odd?) on the first N training images, for
// several N; the work, in per-example gradients, that GD and SGD need to
// bring the objective within ε·(F(0) − F*) of its minimum F*, which
// L-BFGS finds to near float64 precision beforehand.
type claim6 struct {
	options
	ns         []int
	eps        []float64
	gdLRs      []float64
	sgdLRs     []float64
	lambda     float64
	batch      int
	gdSteps    int
	gdWork     int // example-gradients per GD run
	sgdBudget  int // examples per SGD run
	moderate   float64
	hard       float64
	perDecade  int
	floorRatio float64
}

func claim6Flags(fs *flag.FlagSet) func(context.Context, options) (interface{}, error) {
	ns := fs.String("convex-ns", "300,1000,3000,10000,30000", "claim 6: training-set sizes N (the first N images; sizes above the set's are dropped)")
	eps := fs.String("convex-eps", "0.1,0.01,0.001,1e-4,1e-5,1e-6,1e-7,1e-8", "claim 6: relative suboptimalities ε, (F − F*)/(F(0) − F*)")
	gdLRs := fs.String("convex-gd-etal", "1,2,4,8", "claim 6: GD's learning-rate grid, in units of 1/L (L: the objective's smoothness, computed)")
	sgdLRs := fs.String("convex-sgd-etal", "0.3,1,3,10", "claim 6: SGD's grid of initial rates η₀ (schedule η₀/(1 + λη₀t)), in units of 1/L")
	lambda := fs.Float64("convex-l2", 0.01, "claim 6: L2 regularization λ (F = mean logistic loss + λ/2·|w|², bias included)")
	batch := fs.Int("convex-batch", 10, "claim 6: SGD's mini-batch size")
	gdSteps := fs.Int("convex-gd-steps", 2000, "claim 6: GD's budget in updates (each N example-gradients)")
	gdWork := fs.Int("convex-gd-work", 10000000, "claim 6: GD's budget in example-gradients (it stops at whichever budget comes first)")
	sgdBudget := fs.Int("convex-sgd-examples", 1000000, "claim 6: SGD's budget in example-gradients, whatever N")
	return func(ctx context.Context, o options) (interface{}, error) {
		c := claim6{options: o, lambda: *lambda, batch: *batch, gdSteps: *gdSteps, gdWork: *gdWork, sgdBudget: *sgdBudget, perDecade: 16, floorRatio: 1e-10}
		if !(c.lambda > 0) || c.batch < 1 || c.gdSteps < 1 || c.gdWork < 1 || c.sgdBudget < 1 {
			return nil, errors.New("-convex-l2 must be > 0, -convex-batch, -convex-gd-steps, -convex-gd-work and -convex-sgd-examples ≥ 1")
		}
		var err error
		if c.ns, err = cli.Ints("convex-ns", *ns, 2); err != nil {
			return nil, err
		}
		if c.eps, err = cli.Floats("convex-eps", *eps, 0, 1); err != nil {
			return nil, err
		}
		if c.gdLRs, err = cli.Floats("convex-gd-etal", *gdLRs, 0, math.Inf(1)); err != nil {
			return nil, err
		}
		if c.sgdLRs, err = cli.Floats("convex-sgd-etal", *sgdLRs, 0, math.Inf(1)); err != nil {
			return nil, err
		}
		return c.run(ctx)
	}
}

// logReg is the objective F(w) = (1/N) Σ softplus(zᵢ) − yᵢzᵢ + λ/2·|w|²,
// zᵢ = w·xᵢ + b, the bias b = w[d] regularized too (as
// trainers.Config.WeightDecay does), computed in float64 in plain Go: the
// reference against which every run's suboptimality is measured.
type logReg struct {
	x      []float64 // n × d, row-major
	y      []float64 // 0 or 1
	n, d   int
	lambda float64
}

// eval returns F(w) and, if g is not nil, writes ∇F(w) into it.
func (p *logReg) eval(w, g []float64) float64 {
	d := p.d
	if g != nil {
		for j := range g {
			g[j] = 0
		}
	}
	var f float64
	for i := 0; i < p.n; i++ {
		row := p.x[i*d : (i+1)*d]
		z := w[d]
		for j, v := range row {
			z += w[j] * v
		}
		f += math.Max(z, 0) + math.Log1p(math.Exp(-math.Abs(z))) - p.y[i]*z
		if g != nil {
			r := 1/(1+math.Exp(-z)) - p.y[i]
			for j, v := range row {
				g[j] += r * v
			}
			g[d] += r
		}
	}
	inv := 1 / float64(p.n)
	var sq float64
	for j, v := range w {
		sq += v * v
		if g != nil {
			g[j] = g[j]*inv + p.lambda*v
		}
	}
	return f*inv + p.lambda/2*sq
}

// smoothness is L = λmax(XᵀX/N)/4 + λ with the bias column in X, the
// largest curvature of F (reached at w = 0, where every σ′ is ¼), by power
// iteration.
func (p *logReg) smoothness() float64 {
	d := p.d
	v := make([]float64, d+1)
	for j := range v {
		v[j] = 1
	}
	u := make([]float64, d+1)
	lam := 0.0
	for it := 0; it < 200; it++ {
		for j := range u {
			u[j] = 0
		}
		for i := 0; i < p.n; i++ {
			row := p.x[i*d : (i+1)*d]
			z := v[d]
			for j, x := range row {
				z += v[j] * x
			}
			for j, x := range row {
				u[j] += z * x
			}
			u[d] += z
		}
		var norm float64
		for j := range u {
			u[j] /= float64(p.n)
			norm += u[j] * u[j]
		}
		norm = math.Sqrt(norm)
		for j := range v {
			v[j] = u[j] / norm
		}
		if math.Abs(norm-lam) < 1e-9*norm {
			lam = norm
			break
		}
		lam = norm
	}
	return lam/4 + p.lambda
}

// optimum minimizes F with L-BFGS (memory 20, backtracking Armijo line
// search) from w = 0 until the gradient's largest component is below 1e-10
// (then F − F* ≤ |∇F|²/2λ is far below any ε measured) or F stops falling
// in float64; it returns F* and that component.
func (p *logReg) optimum() (fStar, gradMax float64, err error) {
	const m = 20
	dim := p.d + 1
	w, g := make([]float64, dim), make([]float64, dim)
	wn, gn, dir := make([]float64, dim), make([]float64, dim), make([]float64, dim)
	var ss, ys [][]float64
	var rhos []float64
	alpha := make([]float64, m)
	f := p.eval(w, g)
	dot := func(a, b []float64) float64 {
		var s float64
		for i := range a {
			s += a[i] * b[i]
		}
		return s
	}
	gmax := func(g []float64) float64 {
		var v float64
		for _, x := range g {
			v = math.Max(v, math.Abs(x))
		}
		return v
	}
	flat := 0 // consecutive iterations that lowered F by less than 1e-15·F
	for it := 0; it < 5000 && gmax(g) > 1e-10 && flat < 5; it++ {
		// two-loop recursion: dir = −H·g
		copy(dir, g)
		for k := len(ss) - 1; k >= 0; k-- {
			alpha[k] = rhos[k] * dot(ss[k], dir)
			for i := range dir {
				dir[i] -= alpha[k] * ys[k][i]
			}
		}
		gamma := 1.0
		if k := len(ss) - 1; k >= 0 {
			gamma = dot(ss[k], ys[k]) / dot(ys[k], ys[k])
		}
		for i := range dir {
			dir[i] *= gamma
		}
		for k := range ss {
			beta := rhos[k] * dot(ys[k], dir)
			for i := range dir {
				dir[i] += ss[k][i] * (alpha[k] - beta)
			}
		}
		for i := range dir {
			dir[i] = -dir[i]
		}
		slope := dot(g, dir)
		if !(slope < 0) {
			return 0, 0, fmt.Errorf("L-BFGS: not a descent direction at iteration %d", it)
		}
		step, fn := 1.0, 0.0
		for tries := 0; ; tries++ {
			for i := range wn {
				wn[i] = w[i] + step*dir[i]
			}
			fn = p.eval(wn, gn)
			if fn <= f+1e-4*step*slope {
				break
			}
			if tries == 60 {
				return f, gmax(g), nil // no step lowers F: float64's floor
			}
			step /= 2
		}
		s, y := make([]float64, dim), make([]float64, dim)
		for i := range s {
			s[i], y[i] = wn[i]-w[i], gn[i]-g[i]
		}
		if sy := dot(s, y); sy > 0 {
			if len(ss) == m {
				ss, ys, rhos = ss[1:], ys[1:], rhos[1:]
			}
			ss, ys, rhos = append(ss, s), append(ys, y), append(rhos, 1/sy)
		}
		if f-fn < 1e-15*math.Abs(f) {
			flat++
		} else {
			flat = 0
		}
		copy(w, wn)
		copy(g, gn)
		f = fn
	}
	return f, gmax(g), nil
}

// parity builds the float64 data set of the first n training images with
// target 1 for an odd digit, and its objective.
func parity(train *datasets.Dataset, n int, lambda float64) (*datasets.Dataset, *logReg, error) {
	d := 1
	for _, s := range train.XShape() {
		d *= s
	}
	labels := train.Labels()
	if labels == nil {
		return nil, nil, errors.New("claim 6: the training set has no class labels")
	}
	xs := make([]float64, n*d)
	switch v := train.X().Data().(type) {
	case []float32:
		for i := range xs {
			xs[i] = float64(v[i])
		}
	case []float64:
		copy(xs, v[:n*d])
	default:
		return nil, nil, fmt.Errorf("claim 6: training images of dtype %v", train.Dtype())
	}
	ys := make([]float64, n)
	for i := range ys {
		ys[i] = float64(labels[i] % 2)
	}
	ds, err := datasets.New(tensor.New(tensor.WithShape(n, d), tensor.WithBacking(xs)),
		tensor.New(tensor.WithShape(n, 1), tensor.WithBacking(ys)))
	if err != nil {
		return nil, nil, err
	}
	return ds, &logReg{x: xs, y: ys, n: n, d: d, lambda: lambda}, nil
}

// convexTrace is one run's relative suboptimality against example-gradients.
type convexTrace struct {
	work, gap []float64
	steps     []float64
}

// to is the work at the first checkpoint with gap ≤ eps (+Inf: never).
func (t convexTrace) to(eps float64) float64 {
	for i, g := range t.gap {
		if g <= eps {
			return t.work[i]
		}
	}
	return math.Inf(1)
}

// stepsTo is the updates at the first checkpoint with gap ≤ eps.
func (t convexTrace) stepsTo(eps float64) float64 {
	for i, g := range t.gap {
		if g <= eps {
			return t.steps[i]
		}
	}
	return math.Inf(1)
}

// score ranks learning rates: the final gap, or, for a run stopped at the
// floor, the floor times the fraction of the budget it used.
func (t convexTrace) score(budget float64) float64 {
	if len(t.gap) == 0 {
		return math.Inf(1)
	}
	last := len(t.gap) - 1
	return t.gap[last] * math.Min(1, t.work[last]/budget)
}

type convexRow struct {
	N        int     `json:"n"`
	FStar    float64 `json:"f_star"`
	GradNorm float64 `json:"ref_grad_max"` // |∇F|∞ at the reference optimum
	L        float64 `json:"smoothness"`
	Kappa    float64 `json:"kappa_bound"` // L/λ
	GDLR     float64 `json:"gd_lr"`
	SGDLR    float64 `json:"sgd_lr0"`
	GDTune   losses  `json:"gd_tune_scores"`
	SGDTune  losses  `json:"sgd_tune_scores"`
	// per ε (the order of Eps): work to it, median [min, max] over seeds
	GDWork  []band `json:"gd_work"`
	SGDWork []band `json:"sgd_work"`
	GDSteps []band `json:"gd_steps"`
	// KappaEff is GD's steps per unit of ln(1/ε) from ε = 1e-2 down (the
	// κ of its rate), SGDEpsSlope the log-log slope of SGD's work against
	// ε over ε ≤ 1e-2 (theory −1); null if not measurable.
	KappaEff    jsonFloat   `json:"gd_kappa_eff"`
	SGDEpsSlope jsonFloat   `json:"sgd_eps_slope"`
	GDCurve     convexCurve `json:"-"`
	SGDCurve    convexCurve `json:"-"`
}

type convexCurve struct {
	Work []float64 `json:"work"`
	Gap  []band    `json:"gap"`
}

type claim6Summary struct {
	Claim        int         `json:"claim"`
	Data         string      `json:"data"`
	Dim          int         `json:"dim"`
	Lambda       float64     `json:"lambda"`
	Batch        int         `json:"batch"`
	Seeds        []int       `json:"seeds"`
	Eps          []float64   `json:"eps"`
	FlopsPerGrad int         `json:"flops_per_example_gradient"`
	Rows         []convexRow `json:"rows"`
	// fitted log-log slope of the work to ε against N, per ε
	GDSlope  losses `json:"gd_slope_n"`
	SGDSlope losses `json:"sgd_slope_n"`
	// per N, the largest ε at which GD's median work is below SGD's (0: none)
	GDWinsBelow []float64 `json:"gd_wins_below"`
	Figures     []string  `json:"figures,omitempty"`
	Seconds     float64   `json:"seconds"`
}

func (c claim6) run(ctx context.Context) (*claim6Summary, error) {
	start := time.Now()
	train, _, err := c.load(ctx)
	if err != nil {
		return nil, err
	}
	d := 1
	for _, s := range train.XShape() {
		d *= s
	}
	s := &claim6Summary{Claim: 6, Data: c.data, Dim: d, Lambda: c.lambda, Batch: c.batch, Seeds: c.seeds, Eps: c.eps, FlopsPerGrad: 4 * (d + 1)}
	c.rep.Printf("claim 6: flops to ε on a convex problem. %s, binary logistic regression (odd digit?) on %d pixels + bias, float64,\n"+
		"F(w) = mean logistic loss + λ/2·|w|², λ = %g (bias included). ε is relative: F(w) − F* ≤ ε·(F(0) − F*), F* by L-BFGS.\n"+
		"Work is counted in example-gradients (History.GradEvals); one costs about 4(d+1) = %d flops (2(d+1) for the logit,\n"+
		"2(d+1) to add its gradient), the update's O(d) per step aside. GD: η·L on %v, %d updates or %d example-gradients at most;\n"+
		"SGD: B = %d, η_t = η₀/(1 + λη₀t) (the 1/(μt) schedule with μ = λ), η₀·L on %v, %d example-gradients at most, whatever N.\n"+
		"Rates tuned per N by the final suboptimality (runs stop at ε = %g; sooner is better), SGD on tuning seeds %v.\n\n",
		c.data, d, c.lambda, s.FlopsPerGrad, c.gdLRs, c.gdSteps, c.gdWork, c.batch, c.sgdLRs, c.sgdBudget, c.floorRatio, c.tune)
	for _, n := range c.ns {
		if n > train.Len() {
			c.rep.Printf("N = %d: more than the %d training examples, dropped\n", n, train.Len())
			continue
		}
		row, err := c.measure(ctx, train, n)
		if err != nil {
			return nil, err
		}
		s.Rows = append(s.Rows, *row)
	}
	if len(s.Rows) == 0 {
		return nil, errors.New("claim 6: no training-set size fits the data")
	}
	c.report(s)
	if err := c.figures(s); err != nil {
		return nil, err
	}
	s.Seconds = since(start)
	return s, nil
}

func (c claim6) measure(ctx context.Context, train *datasets.Dataset, n int) (*convexRow, error) {
	ds, prob, err := parity(train, n, c.lambda)
	if err != nil {
		return nil, err
	}
	t := time.Now()
	fStar, gmax, err := prob.optimum()
	if err != nil {
		return nil, fmt.Errorf("claim 6: N = %d: reference optimum: %v", n, err)
	}
	f0 := prob.eval(make([]float64, prob.d+1), nil)
	row := &convexRow{N: n, FStar: fStar, GradNorm: gmax, L: prob.smoothness()}
	row.Kappa = row.L / c.lambda
	c.rep.Printf("N = %d: F(0) = %.6f, F* = %.12f (|∇F|∞ = %.1e there, %.1fs), L = %.4g (2/L = %.3g), κ ≤ L/λ = %.0f\n",
		n, f0, fStar, gmax, since(t), row.L, 2/row.L, row.Kappa)
	gap := func(p *graph.Params) float64 {
		w := append(p.Float64s("logistic/w"), p.Float64s("logistic/b")...)
		return (prob.eval(w, nil) - fStar) / (f0 - fStar)
	}
	steps := c.gdStepsFor(n)
	gdBudget := float64(steps * n)
	best := math.Inf(1)
	var gdTrace convexTrace
	for _, etaL := range c.gdLRs {
		lr := etaL / row.L
		tr, err := c.fit(ctx, ds, gap, 0, lr, 1, steps)
		if err != nil {
			return nil, err
		}
		sc := tr.score(gdBudget)
		row.GDTune = append(row.GDTune, sc)
		if sc < best {
			best, row.GDLR, gdTrace = sc, lr, tr
		}
	}
	if row.GDLR == 0 {
		return nil, fmt.Errorf("claim 6: N = %d: GD diverged at every η of %v", n, c.gdLRs)
	}
	sgdBudget := float64(c.sgdBudget)
	var err2 error
	sgdGrid := make([]float64, len(c.sgdLRs))
	for i, etaL := range c.sgdLRs {
		sgdGrid[i] = etaL / row.L
	}
	row.SGDLR, row.SGDTune, err2 = c.tuneLR(sgdGrid, func(lr float64, seed int64) (float64, error) {
		tr, err := c.fit(ctx, ds, gap, c.batch, lr, seed, 0)
		return tr.score(sgdBudget), err
	})
	if err2 != nil {
		return nil, err2
	}
	if row.SGDLR == 0 {
		return nil, fmt.Errorf("claim 6: N = %d: SGD diverged at every η₀ of %v", n, c.sgdLRs)
	}
	// GD is deterministic (zero start, full gradient): every seed gives
	// the tuning run's trace.
	var gdTraces, sgdTraces []convexTrace
	for _, seed := range c.seeds {
		gdTraces = append(gdTraces, gdTrace)
		tr, err := c.fit(ctx, ds, gap, c.batch, row.SGDLR, int64(seed), 0)
		if err != nil {
			return nil, err
		}
		sgdTraces = append(sgdTraces, tr)
	}
	for _, e := range c.eps {
		var gw, gs, sw []float64
		for i := range c.seeds {
			gw, gs, sw = append(gw, gdTraces[i].to(e)), append(gs, gdTraces[i].stepsTo(e)), append(sw, sgdTraces[i].to(e))
		}
		row.GDWork, row.GDSteps, row.SGDWork = append(row.GDWork, bandOf(gw)), append(row.GDSteps, bandOf(gs)), append(row.SGDWork, bandOf(sw))
	}
	row.GDCurve, row.SGDCurve = curveOf(gdTraces, gdBudget), curveOf(sgdTraces, sgdBudget)
	c.rep.Printf("  GD η·L = %.3g, %d updates at most (scores %.3g); SGD η₀·L = %.3g (mean scores %.3g)\n",
		row.GDLR*row.L, steps, []float64(row.GDTune), row.SGDLR*row.L, []float64(row.SGDTune))
	return row, nil
}

// curveOf samples the traces' gaps at log-spaced work and bands them over
// seeds (a run that stopped holds its last gap).
func curveOf(ts []convexTrace, budget float64) convexCurve {
	var cv convexCurve
	lo := math.Inf(1)
	for _, t := range ts {
		if len(t.work) > 1 {
			lo = math.Min(lo, t.work[1])
		}
	}
	if math.IsInf(lo, 1) {
		return cv
	}
	for x := lo; x <= budget*1.0001; x *= math.Pow(10, 1.0/8) {
		var gs []float64
		for _, t := range ts {
			g := math.NaN()
			for i, w := range t.work {
				if w <= x*1.0001 {
					g = t.gap[i]
				}
			}
			gs = append(gs, g)
		}
		cv.Work, cv.Gap = append(cv.Work, x), append(cv.Gap, bandOf(gs))
		if bandOf(gs).Max <= 0 {
			break
		}
	}
	return cv
}

// fit trains from w = 0, GD if b = 0, else mini-batch SGD with batch b and
// the schedule η₀/(1 + λη₀t), recording the gap at log-spaced work (GD:
// at 32 log-spaced updates per decade, every update for the first 10 or
// so); it stops once the gap is below the floor. A run
// that diverges ends its trace with +Inf.
func (c claim6) fit(ctx context.Context, ds *datasets.Dataset, gap func(*graph.Params) float64, b int, lr float64, seed int64, gdSteps int) (convexTrace, error) {
	var t convexTrace
	model := models.Logistic{}
	p := graph.NewParams(tensor.Float64, seed)
	if err := models.Init(model, p, ds.XShape()); err != nil {
		return t, err
	}
	add := func(work int64, steps int, g float64) {
		t.work, t.gap, t.steps = append(t.work, float64(work)), append(t.gap, g), append(t.steps, float64(steps))
	}
	add(0, 0, gap(p))
	next := float64(b)
	ratio := math.Pow(10, 1/float64(c.perDecade))
	gdRatio := math.Pow(10, 1/float64(2*c.perDecade))
	cfg := trainers.Config{Loss: graph.BinaryCrossEntropy, Optimizer: trainers.SGD{LR: lr}, WeightDecay: c.lambda, Seed: seed}
	check := func(e trainers.Event) error {
		g := gap(e.Params)
		add(e.GradEvals, e.Step, g)
		if g <= c.floorRatio {
			return trainers.ErrStop
		}
		return nil
	}
	var tr trainers.Trainer
	if b == 0 {
		cfg.Epochs = gdSteps
		next = 1
		cfg.Callbacks = []trainers.Callback{func(e trainers.Event) error {
			if e.Kind != trainers.EpochEnd || float64(e.Step) < next && e.Step < gdSteps {
				return nil
			}
			for next <= float64(e.Step) {
				next = math.Max(next*gdRatio, next+1)
			}
			return check(e)
		}}
		tr = trainers.GD{Config: cfg}
	} else {
		cfg.Epochs = (c.sgdBudget + ds.Len() - 1) / ds.Len()
		lam := c.lambda
		cfg.Schedule = func(t trainers.Time) float64 { return 1 / (1 + lam*lr*float64(t.Step)) }
		cfg.LogEvery = 1
		budget := int64(c.sgdBudget)
		cfg.Callbacks = []trainers.Callback{func(e trainers.Event) error {
			if e.Kind != trainers.StepEnd || float64(e.GradEvals) < next && e.GradEvals < budget {
				return nil
			}
			for next <= float64(e.GradEvals) {
				next *= ratio
			}
			if err := check(e); err != nil || e.GradEvals >= budget {
				return trainers.ErrStop
			}
			return nil
		}}
		tr = trainers.MiniBatchSGD{Config: cfg, BatchSize: b}
	}
	if _, err := tr.Fit(ctx, model, p, ds); err != nil && !errors.Is(err, trainers.ErrStop) {
		if ctx.Err() != nil {
			return t, err
		}
		add(int64(t.work[len(t.work)-1]), 0, math.Inf(1)) // diverged
	}
	return t, nil
}

// gdWins reports whether GD's median work to c.eps[i] is below SGD's; an
// SGD median that did not reach it is above SGD's budget, so it is a win
// only if GD got there within that budget.
func (c claim6) gdWins(r convexRow, i int) bool {
	g, s := r.GDWork[i].Median, r.SGDWork[i].Median
	if math.IsInf(s, 1) {
		return g <= float64(c.sgdBudget)
	}
	return g < s
}

// gdStepsFor is GD's budget in updates at N = n: -convex-gd-steps, or
// fewer if -convex-gd-work runs out first.
func (c claim6) gdStepsFor(n int) int {
	if s := c.gdWork / n; s < c.gdSteps {
		return max(s, 1)
	}
	return c.gdSteps
}

func (c claim6) report(s *claim6Summary) {
	c.rep.Printf("\nexample-gradients to ε, median [min, max] over seeds %v (GD is deterministic: one value):\n", c.seeds)
	c.rep.Printf("%7s %7s %14s %12s %34s %10s\n", "N", "ε", "GD", "GD steps", "SGD", "GD/SGD")
	for _, r := range s.Rows {
		for i, e := range c.eps {
			c.rep.Printf("%7d %7.0e %14.4g %12.4g %34s %10.3g\n", r.N, e, r.GDWork[i].Median, r.GDSteps[i].Median, r.SGDWork[i], r.GDWork[i].Median/r.SGDWork[i].Median)
		}
	}
	c.rep.Printf("\nfitted log-log slope of the work to ε against N (theory: 1 for GD, N·κ·ln(1/ε); 0 for SGD, ≈ 1/ε whatever N):\n")
	for i, e := range c.eps {
		var xs, gy, sy []float64
		for _, r := range s.Rows {
			xs, gy, sy = append(xs, float64(r.N)), append(gy, r.GDWork[i].Median), append(sy, r.SGDWork[i].Median)
		}
		gs, ss := slope(xs, gy), slope(xs, sy)
		s.GDSlope, s.SGDSlope = append(s.GDSlope, gs), append(s.SGDSlope, ss)
		c.rep.Printf("  ε = %.0e: GD %6.3f, SGD %6.3f\n", e, gs, ss)
	}
	c.rep.Printf("\nwhere GD needs less work than SGD (the largest ε of the list from which on down GD's median is below SGD's;\n" +
		"an SGD median not reached counts only if GD got there within SGD's budget):\n")
	for _, r := range s.Rows {
		w := 0.0
		for i := len(c.eps) - 1; i >= 0 && c.gdWins(r, i); i-- {
			w = c.eps[i]
		}
		s.GDWinsBelow = append(s.GDWinsBelow, w)
		if w == 0 {
			c.rep.Printf("  N = %6d: nowhere in the list\n", r.N)
		} else {
			c.rep.Printf("  N = %6d: from ε = %.0e down\n", r.N, w)
		}
	}
	// theory beside the measurement: GD's steps grow like κ·ln(1/ε), SGD's
	// work like 1/ε
	c.rep.Printf("\ntheory per N: GD's steps per unit of ln(1/ε) over ε = 1e-2 … the smallest reached (the κ that\n" +
		"GD behaves as having; the bound's κ = L/λ is the worst case), and the log-log slope of SGD's median work\n" +
		"against ε over ε ≤ 1e-2 (theory: −1, work ∝ 1/ε):\n")
	for j := range s.Rows {
		r := &s.Rows[j]
		var lx, ly, ex, sy []float64
		for i, e := range c.eps {
			if e > 1e-2 {
				continue
			}
			if st := r.GDSteps[i].Median; !math.IsInf(st, 1) {
				lx, ly = append(lx, math.Log(1/e)), append(ly, st)
			}
			if w := r.SGDWork[i].Median; !math.IsInf(w, 1) {
				ex, sy = append(ex, e), append(sy, w)
			}
		}
		r.KappaEff = jsonFloat(math.NaN())
		if k := len(lx); k > 1 {
			r.KappaEff = jsonFloat((ly[k-1] - ly[0]) / (lx[k-1] - lx[0]))
		}
		r.SGDEpsSlope = jsonFloat(slope(ex, sy))
		c.rep.Printf("  N = %6d: GD %6.1f steps per unit of ln(1/ε) (κ = L/λ = %.0f); SGD slope %6.3f over %d values of ε\n",
			r.N, float64(r.KappaEff), r.Kappa, float64(r.SGDEpsSlope), len(ex))
	}
}

func (c claim6) figures(s *claim6Summary) error {
	var ser []plot.Series
	var xs []float64
	for _, r := range s.Rows {
		xs = append(xs, float64(r.N))
	}
	pick := []int{}
	for i, e := range c.eps {
		if e == 1e-2 || e == 1e-4 {
			pick = append(pick, i)
		}
	}
	if len(pick) == 0 {
		pick = []int{0, len(c.eps) - 1}
	}
	for _, i := range pick {
		var gd, sgd []band
		for _, r := range s.Rows {
			gd, sgd = append(gd, r.GDWork[i]), append(sgd, r.SGDWork[i])
		}
		ser = append(ser, bandSeries(fmt.Sprintf("GD, ε = %.0e", c.eps[i]), xs, gd)...)
		ser = append(ser, bandSeries(fmt.Sprintf("SGD, ε = %.0e", c.eps[i]), xs, sgd)...)
	}
	if len(s.Rows) > 0 && len(pick) > 0 {
		r0 := s.Rows[0].GDWork[pick[0]].Median
		if r0 > 0 && !math.IsInf(r0, 1) {
			ref := make([]float64, len(xs))
			for j, x := range xs {
				ref[j] = r0 * x / xs[0]
			}
			ser = append(ser, plot.Series{Label: "slope 1 (work proportional to N)", X: xs, Y: ref, Dashed: true})
		}
	}
	figs := []figure{{"claim6_n.png", plot.Lines{Width: 7, Height: 4.5, Title: c.titled(fmt.Sprintf("%s logistic regression (λ = %g): work to reach ε against N", s.Data, s.Lambda)),
		XLabel: "training examples N", YLabel: fmt.Sprintf("example-gradients to ε (× %d flops)", s.FlopsPerGrad), LogX: true, LogY: true, Series: ser}}}
	var cser []plot.Series
	for _, k := range []int{0, len(s.Rows) - 1} {
		r := s.Rows[k]
		cser = append(cser, bandSeries(fmt.Sprintf("GD, N = %d", r.N), r.GDCurve.Work, r.GDCurve.Gap)...)
		cser = append(cser, bandSeries(fmt.Sprintf("SGD, N = %d", r.N), r.SGDCurve.Work, r.SGDCurve.Gap)...)
		if len(s.Rows) == 1 {
			break
		}
	}
	figs = append(figs, figure{"claim6_curves.png", plot.Lines{Width: 7, Height: 4.5, Title: c.titled("suboptimality against work: SGD first, GD at high accuracy"),
		XLabel: fmt.Sprintf("example-gradients (× %d flops)", s.FlopsPerGrad), YLabel: "(F − F*) / (F(0) − F*)", LogX: true, LogY: true, Series: cser}})
	return c.writeFigures(&s.Figures, figs...)
}

// jsonFloat is a float64 written as null in JSON when it is not finite.
type jsonFloat float64

// MarshalJSON implements json.Marshaler.
func (f jsonFloat) MarshalJSON() ([]byte, error) { return json.Marshal(jsonNum(float64(f))) }
