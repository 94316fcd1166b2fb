package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"time"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/examples/internal/cli"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/rng"
	"github.com/descent-go/descent/models"
	"github.com/descent-go/descent/plot"
	"github.com/descent-go/descent/trainers"
)

// claim3 is "noise helps escape poor minima (the Langevin view)":
//
//   - a toy: mini-batch SGD on F(w) = (x² − 1)² + a·x + (k/2)·Σⱼ (yⱼ − c·x²)²
//     in d dimensions (w = (x, y₂ … y_d): a tilted double well along a
//     curved valley), each example i adding a tilt aᵢ·w with aᵢ ~ N(0, s²I)
//     (centred, so that the full gradient is exactly ∇F). A B-example
//     gradient is ∇F plus noise of covariance σ²/B·I, so that SGD with step η
//     is a Langevin diffusion at temperature T = η·σ²/(2B) in time t = η·steps.
//     Started in the poor minimum, how many runs reach the deep basin within
//     the same time t, against T; the escape rate against 1/T beside Kramers'
//     rate (no free parameter); and pairs (η, B) of equal η/B, at equal t;
//   - the MLP: the sharpness (top Hessian eigenvalue of the training loss) of
//     where plain SGD at a fixed η is after a fixed number of steps, against B,
//     with the test accuracy.
type claim3 struct {
	options
	dim       int
	a, c, k   float64 // the landscape
	sigma     float64 // tilt standard deviation s
	eta       float64
	batches   []int
	horizon   float64 // time t = η·steps
	runs      int
	pairEtas  []float64
	pairRatio float64 // B = pairRatio·η for the equal-η/B pairs

	sharpBatches []int
	sharpLR      float64
	sharpSteps   int
	powerIters   int
}

func claim3Flags(fs *flag.FlagSet) func(context.Context, options) (interface{}, error) {
	dim := fs.Int("escape-dim", 2, "claim 3: dimensions of the toy landscape (≥ 2)")
	sigma := fs.Float64("escape-sigma", 17, "claim 3: standard deviation of the per-example tilts")
	eta := fs.Float64("escape-eta", 0.01, "claim 3: learning rate of the temperature sweep (T set by the batch size)")
	batches := fs.String("escape-batches", "4,5,6,7,8,9,10,11,12,13,14", "claim 3: batch sizes of the temperature sweep")
	horizon := fs.Float64("escape-time", 90, "claim 3: time η·steps each run is given")
	runs := fs.Int("escape-runs", 400, "claim 3: independent runs per cell and seed")
	pairEtas := fs.String("escape-pair-etas", "0.001,0.002,0.005,0.01,0.02,0.04,0.08,0.16", "claim 3: learning rates of the equal-η/B pairs")
	pairRatio := fs.Float64("escape-pair-ratio", 1000, "claim 3: B/η of the equal-η/B pairs (B = ratio·η must be a whole number)")
	sharpBatches := fs.String("sharp-batches", "8,16,32,64,128,256,512", "claim 3: batch sizes of the sharpness measurement on the MLP")
	sharpLR := fs.Float64("sharp-lr", 0.1, "claim 3: the fixed learning rate of the sharpness runs")
	sharpSteps := fs.Int("sharp-steps", 3000, "claim 3: updates per sharpness run (equal η·steps for every B)")
	powerIters := fs.Int("power-iters", 20, "claim 3: power iterations for the top Hessian eigenvalue")
	return func(ctx context.Context, o options) (interface{}, error) {
		c := claim3{options: o, dim: *dim, a: 0.3, c: 0.5, k: 4, sigma: *sigma, eta: *eta, horizon: *horizon, runs: *runs,
			pairRatio: *pairRatio, sharpLR: *sharpLR, sharpSteps: *sharpSteps, powerIters: *powerIters}
		if c.dim < 2 || !(c.sigma > 0) || !(c.eta > 0) || !(c.horizon > 0) || c.runs < 2 || !(c.pairRatio > 0) ||
			!(c.sharpLR > 0) || c.sharpSteps < 1 || c.powerIters < 2 {
			return nil, errors.New("claim 3: -escape-dim must be ≥ 2, -escape-runs and -power-iters ≥ 2, -sharp-steps ≥ 1, " +
				"-escape-sigma, -escape-eta, -escape-time, -escape-pair-ratio and -sharp-lr > 0")
		}
		var err error
		if c.batches, err = cli.Ints("escape-batches", *batches, 1); err != nil {
			return nil, err
		}
		if c.pairEtas, err = cli.Floats("escape-pair-etas", *pairEtas, 0, 1); err != nil {
			return nil, err
		}
		for _, e := range c.pairEtas {
			if b := e * c.pairRatio; b < 0.5 || math.Abs(b-math.Round(b)) > 1e-9*b {
				return nil, fmt.Errorf("claim 3: -escape-pair-etas %g × -escape-pair-ratio %g = %g is not a whole batch size", e, c.pairRatio, b)
			}
		}
		if c.sharpBatches, err = cli.Ints("sharp-batches", *sharpBatches, 1); err != nil {
			return nil, err
		}
		return c.run(ctx)
	}
}

// escapeRow is one cell of the escape measurement, over the seeds.
type escapeRow struct {
	Eta   float64 `json:"eta"`
	Batch int     `json:"batch"`
	T     float64 `json:"temperature"` // η·σ²/(2B)
	Steps int     `json:"steps"`
	// P is the fraction of runs in the deep basin by time t, per seed and
	// pooled over seeds with its binomial standard error.
	P       band    `json:"p"`
	Pooled  float64 `json:"p_pooled"`
	PooledS float64 `json:"p_pooled_se"`
	// Rate is the escape rate per unit time, escapes ÷ time spent in the
	// poor basin (the exponential's estimate with censored runs), per seed.
	Rate    band    `json:"rate"`
	Kramers float64 `json:"kramers_rate"`
	// Z is the pooled difference to the first pair in binomial standard
	// errors (pairs only).
	Z     float64   `json:"z,omitempty"`
	rates []float64 // per seed
}

type sharpRow struct {
	Batch     int     `json:"batch"`
	TRatio    float64 `json:"eta_over_b"`
	Sharpness band    `json:"sharpness"` // top Hessian eigenvalue of the training loss
	TrainLoss band    `json:"train_loss"`
	TestLoss  band    `json:"test_loss"`
	TestAcc   band    `json:"test_accuracy"`
}

type claim3Summary struct {
	Claim   int         `json:"claim"`
	Dim     int         `json:"dim"`
	Barrier float64     `json:"barrier"` // ΔF
	Sigma2  []float64   `json:"sigma2"`  // per seed: the tilts' variance per coordinate
	Horizon float64     `json:"time"`
	Runs    int         `json:"runs"`
	Sweep   []escapeRow `json:"sweep"`
	// FitBarrier is −(slope of ln rate against 1/T), per seed, over the
	// cells with ΔF/T ≥ minBarrierOverT: Arrhenius' ΔF.
	FitBarrier band        `json:"fit_barrier"`
	Pairs      []escapeRow `json:"pairs"`
	Data       string      `json:"data"`
	N          int         `json:"n"`
	Seeds      []int       `json:"seeds"`
	Sharp      []sharpRow  `json:"sharpness"`
	// SharpRatio is, per seed, the sharpness at the largest B over that at
	// the smallest.
	SharpRatio band     `json:"sharp_ratio"`
	Figures    []string `json:"figures,omitempty"`
	Seconds    float64  `json:"seconds"`
}

// minBarrierOverT is the least ΔF/T of the cells the Arrhenius fit uses:
// Kramers' rate holds for T ≪ ΔF.
const minBarrierOverT = 3

// g is the double well along the valley, gp and gpp its derivatives.
func (c claim3) g(x float64) float64   { return (x*x-1)*(x*x-1) + c.a*x }
func (c claim3) gp(x float64) float64  { return 4*x*(x*x-1) + c.a }
func (c claim3) gpp(x float64) float64 { return 12*x*x - 4 }

// grad writes ∇F(w) into out.
func (c claim3) grad(w, out []float64) {
	x := w[0]
	s := 0.0
	for j := 1; j < len(w); j++ {
		d := w[j] - c.c*x*x
		out[j] = c.k * d
		s += d
	}
	out[0] = c.gp(x) - 2*c.c*c.k*x*s
}

// root is the zero of g' that Newton's method finds from x.
func (c claim3) root(x float64) float64 {
	for i := 0; i < 100; i++ {
		x -= c.gp(x) / c.gpp(x)
	}
	return x
}

// kramers returns Kramers' escape rate at temperature T from the poor
// minimum xm over the saddle xs: |λ⁻|/(2π)·√(det H_m/|det H_s|)·exp(−ΔF/T).
// On the valley y = c·x², det H = k^{d−1}·g”(x), and the Hessian's negative
// eigenvalue at the saddle is that of its 2×2 block in (x, Σy/√(d−1)).
func (c claim3) kramers(xm, xs, T float64) float64 {
	m := float64(c.dim - 1)
	A := c.gpp(xs) + 4*c.c*c.c*c.k*m*xs*xs
	off := -2 * c.c * c.k * xs * math.Sqrt(m)
	neg := (A+c.k)/2 - math.Sqrt((A-c.k)*(A-c.k)/4+off*off)
	return math.Abs(neg) / (2 * math.Pi) * math.Sqrt(c.gpp(xm)/math.Abs(c.gpp(xs))) * math.Exp(-(c.g(xs)-c.g(xm))/T)
}

// tilts draws seed's n = 1024 per-example tilts (centred) and returns them
// with their mean variance per coordinate σ².
func (c claim3) tilts(seed int64) ([][]float64, float64) {
	const n = 1024
	r := rng.New(seed, "claim3-tilts")
	ts := make([][]float64, n)
	mean := make([]float64, c.dim)
	for i := range ts {
		ts[i] = make([]float64, c.dim)
		for j := range ts[i] {
			ts[i][j] = c.sigma * r.NormFloat64()
			mean[j] += ts[i][j] / n
		}
	}
	v := 0.0
	for i := range ts {
		for j := range ts[i] {
			ts[i][j] -= mean[j]
			v += ts[i][j] * ts[i][j]
		}
	}
	return ts, v / float64(n*c.dim)
}

// escape runs `runs` independent SGD runs of `steps` steps at (η, B) from the
// poor minimum, batches drawn with replacement from the tilts, and returns
// how many reached x < xb and the time they spent before (censored at the
// horizon).
func (c claim3) escape(ctx context.Context, ts [][]float64, eta float64, b, steps int, xm, xb float64, seed int64, cell uint64) (escaped int, exposure float64, err error) {
	w, gr, noise := make([]float64, c.dim), make([]float64, c.dim), make([]float64, c.dim)
	for r := 0; r < c.runs; r++ {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		src := rng.New(seed, "claim3-run", cell, uint64(r))
		w[0] = xm
		for j := 1; j < c.dim; j++ {
			w[j] = c.c * xm * xm
		}
		t := steps
		for s := 1; s <= steps; s++ {
			for j := range noise {
				noise[j] = 0
			}
			for i := 0; i < b; i++ {
				a := ts[src.Intn(len(ts))]
				for j, v := range a {
					noise[j] += v
				}
			}
			c.grad(w, gr)
			for j := range w {
				w[j] -= eta * (gr[j] + noise[j]/float64(b))
			}
			if w[0] < xb {
				t = s
				escaped++
				break
			}
		}
		exposure += float64(t) * eta
	}
	return escaped, exposure, nil
}

// cell measures one (η, B) on every seed.
func (c claim3) cell(ctx context.Context, tilts [][][]float64, s2 []float64, eta float64, b int, xm, xs, xb float64, id uint64) (escapeRow, error) {
	steps := int(math.Round(c.horizon / eta))
	row := escapeRow{Eta: eta, Batch: b, Steps: steps}
	var ps, rates []float64
	total := 0
	meanS2 := 0.0
	for i, seed := range c.seeds {
		e, exp, err := c.escape(ctx, tilts[i], eta, b, steps, xm, xb, int64(seed), id)
		if err != nil {
			return row, err
		}
		ps, rates = append(ps, float64(e)/float64(c.runs)), append(rates, float64(e)/exp)
		total += e
		meanS2 += s2[i] / float64(len(s2))
	}
	row.T = eta * meanS2 / (2 * float64(b))
	row.P, row.Rate, row.rates = bandOf(ps), bandOf(rates), rates
	all := float64(c.runs * len(c.seeds))
	row.Pooled = float64(total) / all
	row.PooledS = math.Sqrt(row.Pooled * (1 - row.Pooled) / all)
	row.Kramers = c.kramers(xm, xs, row.T)
	return row, nil
}

func (c claim3) run(ctx context.Context) (*claim3Summary, error) {
	start := time.Now()
	xm, xs, xd := c.root(1), c.root(0), c.root(-1)
	xb := (xs + xd) / 2
	s := &claim3Summary{Claim: 3, Dim: c.dim, Barrier: c.g(xs) - c.g(xm), Horizon: c.horizon, Runs: c.runs, Seeds: c.seeds}
	c.rep.Printf("claim 3: noise helps escape poor minima (the Langevin view).\n\n(a) d = %d: F(w) = (x²−1)² + %g·x + (%g/2)·Σⱼ(yⱼ − %g·x²)²; poor minimum x = %.3f (F = %.3f), saddle x = %.3f (F = %.3f), deep\n"+
		"minimum x = %.3f (F = %.3f); barrier ΔF = %.4f. Per-example tilts aᵢ ~ N(0, %g²I), 1024 per seed, batches drawn with\n"+
		"replacement: SGD is Langevin at T = η·σ²/(2B). Each run starts in the poor minimum and is given time t = η·steps = %g;\n"+
		"escaped: x < %.3f. %d runs per cell and seed, seeds %v; P median [min, max] over seeds, pooled ± binomial SE;\n"+
		"rate = escapes ÷ time in the poor basin; Kramers: its rate at T (no free parameter).\n",
		c.dim, c.a, c.k, c.c, xm, c.g(xm), xs, c.g(xs), xd, c.g(xd), s.Barrier, c.sigma, c.horizon, xb, c.runs, c.seeds)
	tilts := make([][][]float64, len(c.seeds))
	for i, seed := range c.seeds {
		var v float64
		tilts[i], v = c.tilts(int64(seed))
		s.Sigma2 = append(s.Sigma2, v)
	}
	c.rep.Printf("\ntemperature sweep at η = %g (T set by B):\n%5s %9s %7s %7s %24s %16s %26s %12s\n", c.eta, "B", "T", "ΔF/T", "steps", "P", "P pooled", "rate", "Kramers")
	for i, b := range c.batches {
		row, err := c.cell(ctx, tilts, s.Sigma2, c.eta, b, xm, xs, xb, uint64(i))
		if err != nil {
			return nil, err
		}
		s.Sweep = append(s.Sweep, row)
		c.rep.Printf("%5d %9.4g %7.2f %7d %24s %8.3f ± %.3f %26s %12.4g\n", b, row.T, s.Barrier/row.T, row.Steps, row.P, row.Pooled, row.PooledS, row.Rate, row.Kramers)
	}
	var fits []float64
	for j := range c.seeds {
		var x, y []float64
		for _, r := range s.Sweep {
			if v := r.rates[j]; v > 0 && s.Barrier/r.T >= minBarrierOverT {
				x, y = append(x, 1/r.T), append(y, math.Log(v))
			}
		}
		fits = append(fits, -linSlope(x, y))
	}
	s.FitBarrier = bandOf(fits)
	c.rep.Printf("Arrhenius fit of ln rate against 1/T over the cells with ΔF/T ≥ %g (Kramers' regime T ≪ ΔF), per seed:\n"+
		"ΔF = %s (true barrier %.4f)\n", float64(minBarrierOverT), s.FitBarrier, s.Barrier)

	c.rep.Printf("\nequal η/B: B = %g·η, all at T = %.4g and time t = %g; z = pooled difference to the first pair in binomial SEs:\n"+
		"%7s %5s %7s %24s %16s %7s\n", c.pairRatio, c.eta*mean(s.Sigma2)/(2*c.pairRatio*c.eta), c.horizon, "η", "B", "steps", "P", "P pooled", "z")
	for i, eta := range c.pairEtas {
		b := int(math.Round(eta * c.pairRatio))
		row, err := c.cell(ctx, tilts, s.Sigma2, eta, b, xm, xs, xb, uint64(1000+i))
		if err != nil {
			return nil, err
		}
		if i > 0 {
			p0, p1 := s.Pairs[0].Pooled, row.Pooled
			pbar := (p0 + p1) / 2
			se := math.Sqrt(pbar * (1 - pbar) * 2 / float64(c.runs*len(c.seeds)))
			row.Z = (p1 - p0) / se
		}
		s.Pairs = append(s.Pairs, row)
		c.rep.Printf("%7g %5d %7d %24s %8.3f ± %.3f %7.2f\n", eta, b, row.Steps, row.P, row.Pooled, row.PooledS, row.Z)
	}

	if err := c.sharpness(ctx, s); err != nil {
		return nil, err
	}
	if err := c.figures(s); err != nil {
		return nil, err
	}
	s.Seconds = since(start)
	return s, nil
}

// mean is the mean of xs.
func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// linSlope is the least-squares slope of y against x.
func linSlope(x, y []float64) float64 {
	var sx, sy, sxx, sxy float64
	k := float64(len(x))
	for i := range x {
		sx, sy, sxx, sxy = sx+x[i], sy+y[i], sxx+x[i]*x[i], sxy+x[i]*y[i]
	}
	return (k*sxy - sx*sy) / (k*sxx - sx*sx)
}

// sharpness trains the MLP with plain SGD at η = sharpLR for sharpSteps
// updates per B (equal time η·steps), then measures the top eigenvalue of
// the training loss's Hessian and the test loss and accuracy.
func (c claim3) sharpness(ctx context.Context, s *claim3Summary) error {
	train, test, err := c.load(ctx)
	if err != nil {
		return err
	}
	s.Data, s.N = c.data, train.Len()
	c.rep.Printf("\n(b) %s, %d training examples, MLP %d-%d-10 (float32), plain SGD at η = %g for %d updates per B (equal η·steps),\n"+
		"then the top eigenvalue of the training loss's Hessian by %d power iterations on Hessian-vector products taken as\n"+
		"central differences of float64 full-set gradients, (∇L(w+εv) − ∇L(w−εv))/2ε, ε = 1e-3 (|v| = 1); median [min, max] over seeds %v:\n",
		c.data, s.N, train.XShape()[0], c.hidden, c.sharpLR, c.sharpSteps, c.powerIters, c.seeds)
	c.rep.Printf("%6s %9s %26s %26s %26s %26s\n", "B", "η/B", "top Hessian eigenvalue", "training loss", "test loss", "test accuracy")
	model := c.model()
	first, last := make([]float64, len(c.seeds)), make([]float64, len(c.seeds))
	for bi, b := range c.sharpBatches {
		row := sharpRow{Batch: b, TRatio: c.sharpLR / float64(b)}
		var sh, tl, vl, va []float64
		for j, seed := range c.seeds {
			p := newParams(int64(seed))
			steps := c.sharpSteps
			cfg := trainers.Config{Epochs: 1 + steps*b/train.Len(), Loss: graph.SoftmaxCrossEntropy, Optimizer: trainers.SGD{LR: c.sharpLR},
				Seed: int64(seed), LogEvery: 1, Callbacks: []trainers.Callback{func(e trainers.Event) error {
					if e.Kind == trainers.StepEnd && e.Step >= steps {
						return trainers.ErrStop
					}
					return nil
				}}}
			if _, err := (trainers.MiniBatchSGD{Config: cfg, BatchSize: b}).Fit(ctx, model, p, train); err != nil {
				return fmt.Errorf("claim 3: B = %d, seed %d: %v", b, seed, err)
			}
			lam, err := topEigen(model, p, train, c.powerIters, int64(seed))
			if err != nil {
				return fmt.Errorf("claim 3: sharpness at B = %d, seed %d: %v", b, seed, err)
			}
			mt, err := models.Evaluate(model, p, graph.SoftmaxCrossEntropy, train)
			if err != nil {
				return err
			}
			mv, err := models.Evaluate(model, p, graph.SoftmaxCrossEntropy, test)
			if err != nil {
				return err
			}
			sh, tl, vl, va = append(sh, lam), append(tl, mt.Loss), append(vl, mv.Loss), append(va, mv.Accuracy)
			if bi == 0 {
				first[j] = lam
			}
			last[j] = lam
		}
		row.Sharpness, row.TrainLoss, row.TestLoss, row.TestAcc = bandOf(sh), bandOf(tl), bandOf(vl), bandOf(va)
		s.Sharp = append(s.Sharp, row)
		c.rep.Printf("%6d %9.4g %26s %26s %26s %26s\n", b, row.TRatio, row.Sharpness, row.TrainLoss, row.TestLoss, row.TestAcc)
	}
	ratios := make([]float64, len(c.seeds))
	for j := range ratios {
		ratios[j] = last[j] / first[j]
	}
	s.SharpRatio = bandOf(ratios)
	c.rep.Printf("sharpness at B = %d over B = %d, per seed: %s (test set: %d examples)\n",
		c.sharpBatches[len(c.sharpBatches)-1], c.sharpBatches[0], s.SharpRatio, test.Len())
	return nil
}

// topEigen returns the top eigenvalue of the Hessian of m's mean training
// loss over ds at p's weights, by power iteration: each Hessian-vector
// product is a central difference of two full-set gradients, computed in
// float64 (a float32 gradient's rounding would swamp the difference).
func topEigen(m models.Model, p *graph.Params, ds *datasets.Dataset, iters int, seed int64) (float64, error) {
	n := ds.Len()
	q := graph.NewParams(tensor.Float64, 1)
	b := graph.NewBuilder(q)
	b.SetTraining(true)
	x, err := b.Input("x", append(tensor.Shape{n}, ds.XShape()...))
	if err != nil {
		return 0, err
	}
	y, err := b.Input("y", append(tensor.Shape{n}, ds.YShape()...))
	if err != nil {
		return 0, err
	}
	out, err := m.Forward(b, x)
	if err != nil {
		return 0, err
	}
	l, err := graph.SoftmaxCrossEntropy(b, out, y)
	if err != nil {
		return 0, err
	}
	prog, err := b.Compile(l)
	if err != nil {
		return 0, err
	}
	defer prog.Close()
	copy(graph.Float64Data(prog.Input("x")), graph.Float64s(ds.X()))
	copy(graph.Float64Data(prog.Input("y")), graph.Float64s(ds.Y()))
	ws := make([][]float64, prog.NumParams())
	dim := 0
	for i := range ws {
		name := prog.ParamName(i)
		if err := q.SetFloat64s(name, p.Float64s(name)); err != nil {
			return 0, err
		}
		ws[i] = graph.Float64Data(q.Value(name))
		dim += len(ws[i])
	}
	w0 := make([]float64, 0, dim)
	for _, w := range ws {
		w0 = append(w0, w...)
	}
	// grad writes ∇L(w0 + h·v) into g.
	grad := func(v []float64, h float64, g []float64) error {
		k := 0
		for _, w := range ws {
			for j := range w {
				w[j] = w0[k] + h*v[k]
				k++
			}
		}
		if err := prog.Run(); err != nil {
			return err
		}
		k = 0
		for i := range ws {
			k += copy(g[k:], graph.Float64Data(prog.Grad(i)))
		}
		return nil
	}
	const eps = 1e-3
	r := rng.New(seed, "claim3-power")
	v, gp, gm := make([]float64, dim), make([]float64, dim), make([]float64, dim)
	for i := range v {
		v[i] = r.NormFloat64()
	}
	normalize(v)
	lam := 0.0
	for it := 0; it < iters; it++ {
		if err := grad(v, eps, gp); err != nil {
			return 0, err
		}
		if err := grad(v, -eps, gm); err != nil {
			return 0, err
		}
		lam = 0
		for i := range gp {
			gp[i] = (gp[i] - gm[i]) / (2 * eps) // Hv
			lam += v[i] * gp[i]
		}
		copy(v, gp)
		normalize(v)
	}
	return lam, nil
}

// normalize scales v to unit length.
func normalize(v []float64) {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	s = math.Sqrt(s)
	for i := range v {
		v[i] /= s
	}
}

func (c claim3) figures(s *claim3Summary) error {
	var ix []float64
	var rates []band
	var kr []float64
	for _, r := range s.Sweep {
		ix, rates, kr = append(ix, 1/r.T), append(rates, r.Rate), append(kr, r.Kramers)
	}
	ser := append(bandSeries("SGD, measured", ix, rates), plot.Series{Label: "Kramers' rate (no free parameter)", X: ix, Y: kr, Dashed: true})
	var bx []float64
	var sh []band
	for _, r := range s.Sharp {
		bx, sh = append(bx, float64(r.Batch)), append(sh, r.Sharpness)
	}
	figs := []figure{
		{"claim3_escape.png", plot.Lines{Width: 7, Height: 4.5, Title: c.titled(fmt.Sprintf("escape from the poor minimum of a %d-D double well, η = %g", s.Dim, c.eta)),
			XLabel: "1/T = 2B/(η·σ²)", YLabel: "escapes per unit time η·steps", LogY: true, Series: ser}},
		{"claim3_sharpness.png", plot.Lines{Width: 7, Height: 4.5, Title: c.titled(fmt.Sprintf("%s MLP: sharpness after %d SGD steps at η = %g", s.Data, c.sharpSteps, c.sharpLR)),
			XLabel: "batch size B", YLabel: "top eigenvalue of the training loss's Hessian", LogX: true, LogY: true, Series: bandSeries("sharpness", bx, sh)}},
	}
	return c.writeFigures(&s.Figures, figs...)
}
