package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"time"

	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/rng"
	"github.com/descent-go/descent/plot"
	"github.com/descent-go/descent/trainers"
)

// claim5 is "momentum and curvature": on quadratics f(w) = ½ Σ λᵢ wᵢ² with
// L = max λ = 1 and μ = min λ = 1/κ (the other d−2 eigenvalues log-uniform
// in between, the start w₀ ~ N(0, I), both drawn from the seed), the steps
// GD (η = 1/L) and heavy ball (the tuned η, β of docs/concepts.md) need to
// reduce f by ε, against κ; GD's loss after a fixed number of steps against
// η·L, through the stability limit η = 2/L; then, on the MLP, momentum
// against plain SGD at equal effective step η/(1−β).
type claim5 struct {
	options
	kappas  []float64
	dim     int
	eps     float64
	etaLs   []float64
	effLRs  []float64
	beta    float64
	maxStep int
}

// claim5Flags has no flags of its own: the network comparison uses the
// shared -batch and -budget.
func claim5Flags(*flag.FlagSet) func(context.Context, options) (interface{}, error) {
	return func(ctx context.Context, o options) (interface{}, error) {
		c := claim5{options: o, dim: 50, eps: 1e-6, beta: 0.9, maxStep: 200000,
			kappas: []float64{10, 30, 100, 300, 1000, 3000, 10000},
			etaLs:  []float64{0.25, 0.5, 1, 1.5, 1.9, 1.98, 2.02, 2.1, 2.5},
			effLRs: []float64{0.03, 0.1, 0.3, 1}}
		return c.run(ctx)
	}
}

type kappaRow struct {
	Kappa   float64 `json:"kappa"`
	GDSteps band    `json:"gd_steps"`
	HBSteps band    `json:"hb_steps"`
}

type cliffRow struct {
	EtaL  float64 `json:"eta_l"`
	Ratio band    `json:"loss_ratio"` // f(w_T)/f(w₀) after maxStep/10 steps
}

type momentumRow struct {
	EffLR    float64 `json:"eff_lr"`
	Plain    band    `json:"plain_loss"`    // SGD, η = EffLR
	Momentum band    `json:"momentum_loss"` // SGD, η = EffLR·(1−β), β
}

type claim5Summary struct {
	Claim      int           `json:"claim"`
	Kappas     []kappaRow    `json:"kappas"`
	GDExponent band          `json:"gd_exponent"` // fitted per seed
	HBExponent band          `json:"hb_exponent"`
	Cliff      []cliffRow    `json:"cliff"`
	Momentum   []momentumRow `json:"momentum"`
	Figures    []string      `json:"figures,omitempty"`
	Seconds    float64       `json:"seconds"`
}

// quadratic draws the eigenvalues and the start of seed's quadratic.
func (c claim5) quadratic(kappa float64, seed int64, k int) (lam, w0 []float64) {
	r := rng.New(seed, "claim5", uint64(k))
	lam, w0 = make([]float64, c.dim), make([]float64, c.dim)
	lam[0], lam[1] = 1, 1/kappa
	for i := 2; i < c.dim; i++ {
		lam[i] = math.Exp(-r.Float64() * math.Log(kappa))
	}
	for i := range w0 {
		w0[i] = r.NormFloat64()
	}
	return lam, w0
}

// iterate runs heavy ball w ← w − η∇f + β(w − w_prev) (β = 0: GD) from w0
// and returns the steps until f ≤ eps·f(w0) (maxStep+1: not reached) and
// f after `stop` steps over f(w0).
func iterate(lam, w0 []float64, eta, beta, eps float64, maxStep, stop int) (steps int, ratio float64) {
	f := func(w []float64) float64 {
		s := 0.0
		for i, v := range w {
			s += 0.5 * lam[i] * v * v
		}
		return s
	}
	w, prev := append([]float64(nil), w0...), append([]float64(nil), w0...)
	f0 := f(w)
	steps, ratio = maxStep+1, math.NaN()
	for t := 1; t <= maxStep; t++ {
		for i := range w {
			next := w[i] - eta*lam[i]*w[i] + beta*(w[i]-prev[i])
			prev[i], w[i] = w[i], next
		}
		ft := f(w)
		if t == stop {
			ratio = ft / f0
		}
		if ft <= eps*f0 && steps > maxStep {
			steps = t
		}
		if steps <= maxStep && t >= stop {
			break
		}
		if math.IsInf(ft, 0) || math.IsNaN(ft) {
			if t <= stop {
				ratio = math.Inf(1)
			}
			break
		}
	}
	return steps, ratio
}

func (c claim5) run(ctx context.Context) (*claim5Summary, error) {
	start := time.Now()
	s := &claim5Summary{Claim: 5}
	c.rep.Printf("claim 5: momentum and curvature.\n(a) quadratics in d = %d, L = 1, μ = 1/κ, the other eigenvalues log-uniform, w₀ ~ N(0, I), drawn per seed;\n"+
		"steps until f ≤ %g·f(w₀) for GD (η = 1/L) and heavy ball (η = 4/(√L+√μ)², β = ((√κ−1)/(√κ+1))²), median [min, max] over seeds %v\n", c.dim, c.eps, c.seeds)
	c.rep.Printf("%8s %28s %28s %10s\n", "κ", "GD steps", "HB steps", "GD/HB")
	gd := make([][]float64, len(c.seeds))
	hb := make([][]float64, len(c.seeds))
	for k, kappa := range c.kappas {
		var g, h []float64
		for j, seed := range c.seeds {
			lam, w0 := c.quadratic(kappa, int64(seed), k)
			mu := 1 / kappa
			sg, _ := iterate(lam, w0, 1, 0, c.eps, c.maxStep, 0)
			sq := math.Sqrt(kappa)
			sh, _ := iterate(lam, w0, 4/((1+math.Sqrt(mu))*(1+math.Sqrt(mu))), ((sq-1)/(sq+1))*((sq-1)/(sq+1)), c.eps, c.maxStep, 0)
			g, h = append(g, float64(sg)), append(h, float64(sh))
			gd[j], hb[j] = append(gd[j], float64(sg)), append(hb[j], float64(sh))
		}
		r := kappaRow{Kappa: kappa, GDSteps: bandOf(g), HBSteps: bandOf(h)}
		s.Kappas = append(s.Kappas, r)
		c.rep.Printf("%8g %28s %28s %9.1f×\n", kappa, r.GDSteps, r.HBSteps, r.GDSteps.Median/r.HBSteps.Median)
	}
	var ge, he []float64
	for j := range c.seeds {
		ge, he = append(ge, slope(c.kappas, gd[j])), append(he, slope(c.kappas, hb[j]))
	}
	s.GDExponent, s.HBExponent = bandOf(ge), bandOf(he)
	c.rep.Printf("fitted exponent of steps against κ, per seed: GD %s (theory 1), heavy ball %s (theory ½)\n\n", s.GDExponent, s.HBExponent)

	kappa := 100.0
	stop := 100
	c.rep.Printf("(b) GD on the κ = %g quadratics: f after %d steps over f(w₀), against η·L (the limit is η·L = 2):\n", kappa, stop)
	for _, el := range c.etaLs {
		var rs []float64
		for _, seed := range c.seeds {
			lam, w0 := c.quadratic(kappa, int64(seed), 1000)
			_, ratio := iterate(lam, w0, el, 0, 0, stop, stop)
			rs = append(rs, ratio)
		}
		r := cliffRow{EtaL: el, Ratio: bandOf(rs)}
		s.Cliff = append(s.Cliff, r)
		c.rep.Printf("  η·L = %5.3g: %s\n", el, r.Ratio)
	}

	train, _, err := c.load(ctx)
	if err != nil {
		return nil, err
	}
	n := train.Len()
	c.rep.Printf("\n(c) %s, %d examples, MLP, B = %d, %d epochs: final training loss of plain SGD (η) against heavy ball with the\n"+
		"same effective step (η·(1−β), β = %g), median [min, max] over seeds %v:\n", c.data, n, c.batch, c.budget, c.beta, c.seeds)
	for _, eff := range c.effLRs {
		var pl, mo []float64
		for _, seed := range c.seeds {
			for _, opt := range []trainers.SGD{{LR: eff}, {LR: eff * (1 - c.beta), Momentum: c.beta}} {
				p := newParams(int64(seed))
				cfg := trainers.Config{Epochs: c.budget, Loss: graph.SoftmaxCrossEntropy, Optimizer: opt, Seed: int64(seed)}
				l := math.Inf(1)
				if h, err := (trainers.MiniBatchSGD{Config: cfg, BatchSize: c.batch}).Fit(ctx, c.model(), p, train); err == nil {
					l = h.Last().TrainLoss
				} else if ctx.Err() != nil {
					return nil, err
				}
				if opt.Momentum == 0 {
					pl = append(pl, l)
				} else {
					mo = append(mo, l)
				}
			}
		}
		r := momentumRow{EffLR: eff, Plain: bandOf(pl), Momentum: bandOf(mo)}
		s.Momentum = append(s.Momentum, r)
		c.rep.Printf("  η_eff = %-5g plain %-30s momentum %s\n", eff, r.Plain, r.Momentum)
	}
	c.rep.Printf("(the training loss is the mean over the last epoch's batches, as History records it)\n")

	var ks []float64
	var gb, hbb []band
	for _, r := range s.Kappas {
		ks, gb, hbb = append(ks, r.Kappa), append(gb, r.GDSteps), append(hbb, r.HBSteps)
	}
	ser := append(bandSeries("GD (η = 1/L)", ks, gb), bandSeries("heavy ball", ks, hbb)...)
	if len(ks) > 0 {
		lin, root := make([]float64, len(ks)), make([]float64, len(ks))
		for i, k := range ks {
			lin[i] = gb[0].Median * k / ks[0]
			root[i] = hbb[0].Median * math.Sqrt(k/ks[0])
		}
		ser = append(ser, plot.Series{Label: "∝ κ (GD's theory)", X: ks, Y: lin, Dashed: true},
			plot.Series{Label: "∝ √κ (heavy ball's theory)", X: ks, Y: root, Dashed: true})
	}
	var ex []float64
	var cb []band
	for _, r := range s.Cliff {
		// log₁₀ on a linear axis: the ratios span 40 decades.
		b := band{Median: math.Log10(r.Ratio.Median), Min: math.Log10(r.Ratio.Min), Max: math.Log10(r.Ratio.Max)}
		ex, cb = append(ex, r.EtaL), append(cb, b)
	}
	figs := []figure{
		{"claim5_kappa.png", plot.Lines{Width: 7, Height: 4.5, Title: c.titled("steps to reduce a quadratic's loss by 1e-6 against its condition number"),
			XLabel: "condition number κ = L/μ", YLabel: "steps", LogX: true, LogY: true, Series: ser}},
		{"claim5_cliff.png", plot.Lines{Width: 7, Height: 4.5, Title: c.titled(fmt.Sprintf("GD on κ = %g quadratics: loss after %d steps against the step size", kappa, stop)),
			XLabel: "η·L (stability limit 2)", YLabel: "log₁₀ f(w_100) / f(w₀)", Series: bandLines("GD", ex, cb)}},
	}
	if err := c.writeFigures(&s.Figures, figs...); err != nil {
		return nil, err
	}
	s.Seconds = since(start)
	return s, nil
}
