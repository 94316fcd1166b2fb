package graph

import (
	"fmt"
	"math"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/kernels"
)

// BatchNorm normalizes each channel of x — axis 1 of a (batch, channels)
// dense input or a (batch, channels, height, width) convolutional one, or any
// (batch, channels, ...) — over the batch and every other axis, then scales
// and shifts it by learned per-channel gamma (name+"/gamma", ones) and beta
// (name+"/beta", zeros), as PyTorch's BatchNorm1d/2d with their defaults:
// momentum 0.1 and eps 1e-5.
//
// A training graph normalizes with the batch's mean and biased variance and
// updates the running statistics, buffers name+"/running_mean" (zeros) and
// name+"/running_var" (ones), to (1 − momentum)·running + momentum·batch
// statistic (the variance unbiased, ·n/(n−1)), which Program.CommitState
// stores after each training step. An evaluation graph normalizes with the
// running statistics. A training batch must hold more than one value per
// channel.
func BatchNorm(b *Builder, name string, x *G.Node) (*G.Node, error) {
	return BatchNormWith(b, name, x, 0.1, 1e-5)
}

// BatchNormWith is BatchNorm with the given momentum (in [0, 1]; 0 leaves the
// running statistics as they are) and eps (> 0), added to the variance.
func BatchNormWith(b *Builder, name string, x *G.Node, momentum, eps float64) (*G.Node, error) {
	what := describe("BatchNorm", name, x)
	if x == nil {
		return nil, errors.New(what)
	}
	if err := b.check(); err != nil {
		return nil, errors.Wrap(err, what)
	}
	if x.Dims() < 2 || x.Dtype() != b.Dtype() {
		return nil, errors.Errorf("%s: want a (batch, channels, ...) input of dtype %v, got %v", what, b.Dtype(), x.Dtype())
	}
	if !(momentum >= 0 && momentum <= 1) || !(eps > 0) || math.IsInf(eps, 0) {
		return nil, errors.Errorf("%s: momentum %v, eps %v: want momentum in [0, 1] and a finite eps > 0", what, momentum, eps)
	}
	s := x.Shape()
	c := tensor.Shape{s[1]}
	gamma, err := b.Param(name+"/gamma", c, Constant(1))
	if err != nil {
		return nil, errors.Wrap(err, what)
	}
	beta, err := b.Param(name+"/beta", c, Zeros)
	if err != nil {
		return nil, errors.Wrap(err, what)
	}
	mean, err := b.Buffer(name+"/running_mean", c, Zeros)
	if err != nil {
		return nil, errors.Wrap(err, what)
	}
	variance, err := b.Buffer(name+"/running_var", c, Constant(1))
	if err != nil {
		return nil, errors.Wrap(err, what)
	}
	k := bnOp{eps: eps, dims: x.Dims()}
	if !b.training {
		return guard(what, func() (*G.Node, error) { return apply(bnEvalOp{k}, x, mean, variance, gamma, beta) })
	}
	n := s.TotalSize() / s[1]
	if n < 2 {
		return nil, errors.Errorf("%s: a training batch needs more than 1 value per channel, has %d", what, n)
	}
	return guard(what, func() (*G.Node, error) {
		stats, err := apply(bnStatsOp{k}, x)
		if err != nil {
			return nil, err
		}
		y, err := apply(k, x, stats, gamma, beta)
		if err != nil {
			return nil, err
		}
		unbias := float64(n) / float64(n-1)
		for i, buf := range []*G.Node{mean, variance} {
			next, err := apply(bnRunningOp{momentum: momentum, unbias: unbias, row: i}, buf, stats)
			if err != nil {
				return nil, err
			}
			if err := b.UpdateBuffer(buf.Name(), next); err != nil {
				return nil, err
			}
		}
		return y, nil
	})
}

// The BatchNorm ops, over x viewed as (outer, C, inner) with n = outer·inner
// values per channel:
//
//	bnStats(x)                    = (2, C): mean, biased variance
//	bn(x, stats, γ, β)            = (x − mean)·invstd·γ + β, invstd = 1/√(var + eps)
//	bnEval(x, rmean, rvar, γ, β)  the same with the running statistics
//	bnRunning(r, stats)           = (1 − m)·r + m·stat (the variance ·unbias)
//
// with the gradients of bn (the statistics depend on x, so ∂x is the full
// closed form and stats is not differentiated):
//
//	∂x = (g − Σg/n − (x − mean)·invstd²·Σ(x − mean)g/n)·invstd·γ
//	∂γ = invstd·Σ(x − mean)g        ∂β = Σg (biasGrad)

type bnOp struct {
	noIDs
	eps  float64
	dims int
}

type bnStatsOp struct{ bnOp }
type bnEvalOp struct{ bnOp }
type bnGradXOp struct{ bnOp }
type bnGradGammaOp struct{ bnOp }

type bnRunningOp struct {
	noIDs
	momentum, unbias float64
	row              int
}

func (k bnOp) String() string { return fmt.Sprintf("BatchNorm{%v,%d}", k.eps, k.dims) }
func (k bnOp) arity() int     { return 4 }
func (k bnOp) typ() hm.Type   { return fnType(k.dims, k.dims, 2, 1, 1) }
func (k bnOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	if len(in[0]) < 2 {
		return nil, errors.Errorf("input shape %v: want (batch, channels, ...)", in[0])
	}
	return in[0].Clone(), nil
}
func (k bnOp) diff() []bool { return []bool{true, false, true, true} }
func (k bnOp) grad(in G.Nodes, _, g *G.Node) (G.Nodes, error) {
	dx, err := apply(bnGradXOp{k}, in[0], in[1], in[2], g)
	if err != nil {
		return nil, err
	}
	dgamma, err := apply(bnGradGammaOp{k}, in[0], in[1], g)
	if err != nil {
		return nil, err
	}
	dbeta, err := G.ApplyOp(biasGradOp{axis: 1, dims: k.dims}, g)
	return G.Nodes{dx, nil, dgamma, dbeta}, err
}

// split views x's shape as (outer, C, inner) and checks the per-channel
// inputs.
func (k bnOp) split(x *tensor.Dense, in []G.Value, perChannel ...int) (outer, c, inner int, err error) {
	outer, c, inner, err = splitAxis(x.Shape(), 1)
	if err != nil {
		return 0, 0, 0, err
	}
	for i, m := range perChannel {
		if err := size(in, i+1, m*c); err != nil {
			return 0, 0, 0, err
		}
	}
	return outer, c, inner, nil
}

func (k bnOp) run(dst *tensor.Dense, in []G.Value) error {
	x := arg(in, 0)
	outer, c, inner, err := k.split(x, in, 2, 1, 1)
	if err != nil {
		return err
	}
	if dst.Dtype() == tensor.Float64 {
		s := arg(in, 1).Float64s()
		return runBN(bnJob[float64]{pass: bnApplyPass, x: x.Float64s(), mean: s[:c], variance: s[c:], gamma: arg(in, 2).Float64s(), beta: arg(in, 3).Float64s(), dst: dst.Float64s(), eps: k.eps, outer: outer, c: c, inner: inner})
	}
	s := arg(in, 1).Float32s()
	return runBN(bnJob[float32]{pass: bnApplyPass, x: x.Float32s(), mean: s[:c], variance: s[c:], gamma: arg(in, 2).Float32s(), beta: arg(in, 3).Float32s(), dst: dst.Float32s(), eps: k.eps, outer: outer, c: c, inner: inner})
}

func (k bnStatsOp) String() string { return fmt.Sprintf("BatchNormStats{%d}", k.dims) }
func (k bnStatsOp) arity() int     { return 1 }
func (k bnStatsOp) typ() hm.Type   { return fnType(2, k.dims) }
func (k bnStatsOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	if len(in[0]) < 2 {
		return nil, errors.Errorf("input shape %v: want (batch, channels, ...)", in[0])
	}
	return tensor.Shape{2, in[0][1]}, nil
}
func (k bnStatsOp) diff() []bool { return []bool{false} }
func (k bnStatsOp) grad(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.Errorf("%v is not differentiated", k)
}
func (k bnStatsOp) run(dst *tensor.Dense, in []G.Value) error {
	x := arg(in, 0)
	outer, c, inner, err := k.split(x, in)
	if err != nil {
		return err
	}
	if dst.Dtype() == tensor.Float64 {
		return runBN(bnJob[float64]{pass: bnStatsPass, x: x.Float64s(), dst: dst.Float64s(), outer: outer, c: c, inner: inner})
	}
	return runBN(bnJob[float32]{pass: bnStatsPass, x: x.Float32s(), dst: dst.Float32s(), outer: outer, c: c, inner: inner})
}

func (k bnEvalOp) String() string { return fmt.Sprintf("BatchNormEval{%v,%d}", k.eps, k.dims) }
func (k bnEvalOp) arity() int     { return 5 }
func (k bnEvalOp) typ() hm.Type   { return fnType(k.dims, k.dims, 1, 1, 1, 1) }
func (k bnEvalOp) diff() []bool   { return []bool{false, false, false, false, false} }
func (k bnEvalOp) grad(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.Errorf("%v: evaluation graphs are not differentiated", k)
}
func (k bnEvalOp) run(dst *tensor.Dense, in []G.Value) error {
	x := arg(in, 0)
	outer, c, inner, err := k.split(x, in, 1, 1, 1, 1)
	if err != nil {
		return err
	}
	if dst.Dtype() == tensor.Float64 {
		return runBN(bnJob[float64]{pass: bnApplyPass, x: x.Float64s(), mean: arg(in, 1).Float64s(), variance: arg(in, 2).Float64s(), gamma: arg(in, 3).Float64s(), beta: arg(in, 4).Float64s(), dst: dst.Float64s(), eps: k.eps, outer: outer, c: c, inner: inner})
	}
	return runBN(bnJob[float32]{pass: bnApplyPass, x: x.Float32s(), mean: arg(in, 1).Float32s(), variance: arg(in, 2).Float32s(), gamma: arg(in, 3).Float32s(), beta: arg(in, 4).Float32s(), dst: dst.Float32s(), eps: k.eps, outer: outer, c: c, inner: inner})
}

func (k bnGradXOp) String() string { return "∂x" + k.bnOp.String() }
func (k bnGradXOp) typ() hm.Type   { return fnType(k.dims, k.dims, 2, 1, k.dims) }
func (k bnGradXOp) diff() []bool   { return []bool{false, false, false, false} }
func (k bnGradXOp) grad(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.Errorf("%v: second derivatives are not implemented", k)
}
func (k bnGradXOp) run(dst *tensor.Dense, in []G.Value) error {
	x := arg(in, 0)
	outer, c, inner, err := k.split(x, in, 2, 1)
	if err != nil {
		return err
	}
	if err := sizes(in, -1, -1, -1, x.Shape().TotalSize()); err != nil {
		return err
	}
	if dst.Dtype() == tensor.Float64 {
		s := arg(in, 1).Float64s()
		return runBN(bnJob[float64]{pass: bnGradXPass, x: x.Float64s(), mean: s[:c], variance: s[c:], gamma: arg(in, 2).Float64s(), g: arg(in, 3).Float64s(), dst: dst.Float64s(), eps: k.eps, outer: outer, c: c, inner: inner})
	}
	s := arg(in, 1).Float32s()
	return runBN(bnJob[float32]{pass: bnGradXPass, x: x.Float32s(), mean: s[:c], variance: s[c:], gamma: arg(in, 2).Float32s(), g: arg(in, 3).Float32s(), dst: dst.Float32s(), eps: k.eps, outer: outer, c: c, inner: inner})
}

func (k bnGradGammaOp) String() string { return "∂γ" + k.bnOp.String() }
func (k bnGradGammaOp) arity() int     { return 3 }
func (k bnGradGammaOp) typ() hm.Type   { return fnType(1, k.dims, 2, k.dims) }
func (k bnGradGammaOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	return tensor.Shape{in[1][1]}, nil
}
func (k bnGradGammaOp) diff() []bool { return []bool{false, false, false} }
func (k bnGradGammaOp) grad(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.Errorf("%v: second derivatives are not implemented", k)
}
func (k bnGradGammaOp) run(dst *tensor.Dense, in []G.Value) error {
	x := arg(in, 0)
	outer, c, inner, err := k.split(x, in, 2)
	if err != nil {
		return err
	}
	if err := sizes(in, -1, -1, x.Shape().TotalSize()); err != nil {
		return err
	}
	if dst.Dtype() == tensor.Float64 {
		s := arg(in, 1).Float64s()
		return runBN(bnJob[float64]{pass: bnGradGammaPass, x: x.Float64s(), mean: s[:c], variance: s[c:], g: arg(in, 2).Float64s(), dst: dst.Float64s(), eps: k.eps, outer: outer, c: c, inner: inner})
	}
	s := arg(in, 1).Float32s()
	return runBN(bnJob[float32]{pass: bnGradGammaPass, x: x.Float32s(), mean: s[:c], variance: s[c:], g: arg(in, 2).Float32s(), dst: dst.Float32s(), eps: k.eps, outer: outer, c: c, inner: inner})
}

func (k bnRunningOp) String() string {
	return fmt.Sprintf("BatchNormRunning{%v,%v,%d}", k.momentum, k.unbias, k.row)
}
func (k bnRunningOp) arity() int   { return 2 }
func (k bnRunningOp) typ() hm.Type { return fnType(1, 1, 2) }
func (k bnRunningOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	return in[0].Clone(), nil
}
func (k bnRunningOp) diff() []bool { return []bool{false, false} }
func (k bnRunningOp) grad(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.Errorf("%v is not differentiated", k)
}
func (k bnRunningOp) run(dst *tensor.Dense, in []G.Value) error {
	c := dst.Shape().TotalSize()
	if err := sizes(in, c, 2*c); err != nil {
		return err
	}
	f := 1.0
	if k.row == 1 {
		f = k.unbias
	}
	if dst.Dtype() == tensor.Float64 {
		runningUpdate(arg(in, 0).Float64s(), arg(in, 1).Float64s()[k.row*c:], dst.Float64s(), k.momentum, f)
	} else {
		runningUpdate(arg(in, 0).Float32s(), arg(in, 1).Float32s()[k.row*c:], dst.Float32s(), k.momentum, f)
	}
	return nil
}

// runningUpdate is PyTorch's momentum·(stat·f) + (1 − momentum)·r.
func runningUpdate[T float](r, stat, dst []T, momentum, f float64) {
	for i, v := range r {
		dst[i] = T(momentum*(float64(stat[i])*f) + (1-momentum)*float64(v))
	}
}

// bnJob is one BatchNorm pass, split over the cores by ranges of channels
// (kernels.SplitBy): each channel's sums are made by one goroutine in one
// order, so the results are the same bits on any number of cores. Jobs
// come from a free list, so that a pass allocates nothing.
type bnJob[T float] struct {
	pass                                   bnPass
	x, mean, variance, gamma, beta, g, dst []T
	eps                                    float64
	outer, c, inner                        int
	r                                      bnRanger // what SplitBy calls
}

// bnRanger is a bnJob as a kernels.Ranger (a method of a generic type
// would be an exported generic).
type bnRanger struct {
	j interface{ channels(c0, c1 int) }
}

// Range runs the pass over channels [c0, c1).
func (r *bnRanger) Range(c0, c1 int) { r.j.channels(c0, c1) }

type bnPass int

const (
	bnStatsPass     bnPass = iota // x → dst: means, then variances
	bnApplyPass                   // x, mean, variance, gamma, beta → dst
	bnGradXPass                   // x, mean, variance, gamma, g → dst
	bnGradGammaPass               // x, mean, variance, g → dst
)

var (
	bnFree32 = make(chan *bnJob[float32], 8)
	bnFree64 = make(chan *bnJob[float64], 8)
)

func bnFree[T float]() chan *bnJob[T] {
	var z T
	if _, ok := any(z).(float32); ok {
		return any(bnFree32).(chan *bnJob[T])
	}
	return any(bnFree64).(chan *bnJob[T])
}

// runBN runs j over its channels, after checking its slices' lengths: the
// shares run on the kernels' workers, where an index out of range would
// end the process.
func runBN[T float](j bnJob[T]) error {
	n, c := j.outer*j.c*j.inner, j.c
	perChannel := [4][]T{j.mean, j.variance, j.gamma, j.beta}
	out, inputs, grad := n, 0, false // the output's length, per-channel inputs, a gradient input
	switch j.pass {
	case bnStatsPass:
		out = 2 * c
	case bnApplyPass:
		inputs = 4
	case bnGradXPass:
		inputs, grad = 3, true
	case bnGradGammaPass:
		out, inputs, grad = c, 2, true
	}
	if len(j.x) != n || len(j.dst) != out {
		return errors.Errorf("input of %d values and output of %d, want %d and %d", len(j.x), len(j.dst), n, out)
	}
	for _, s := range perChannel[:inputs] {
		if len(s) < c {
			return errors.Errorf("a per-channel input of %d values, want %d", len(s), c)
		}
	}
	if grad && len(j.g) != n {
		return errors.Errorf("gradient of %d values, want %d", len(j.g), n)
	}
	free := bnFree[T]()
	var p *bnJob[T]
	select {
	case p = <-free:
	default:
		p = new(bnJob[T])
	}
	*p = j
	p.r.j = p
	kernels.SplitBy(c, n, &p.r)
	*p = bnJob[T]{}
	select {
	case free <- p:
	default:
	}
	return nil
}

func (j *bnJob[T]) channels(c0, c1 int) {
	switch j.pass {
	case bnStatsPass:
		bnStats(j.x, j.dst, j.outer, j.c, j.inner, c0, c1)
	case bnApplyPass:
		bnApply(j.x, j.mean, j.variance, j.gamma, j.beta, j.dst, j.eps, j.outer, j.c, j.inner, c0, c1)
	case bnGradXPass:
		bnGradX(j.x, j.mean, j.variance, j.gamma, j.g, j.dst, j.eps, j.outer, j.c, j.inner, c0, c1)
	case bnGradGammaPass:
		bnGradGamma(j.x, j.mean, j.variance, j.g, j.dst, j.eps, j.outer, j.c, j.inner, c0, c1)
	}
}

// bnStats and the three functions below compute channels [c0, c1) of their
// pass.
func bnStats[T float](x, dst []T, outer, c, inner, c0, c1 int) {
	n := float64(outer * inner)
	for ch := c0; ch < c1; ch++ {
		var sum float64
		for o := 0; o < outer; o++ {
			for _, v := range x[(o*c+ch)*inner : (o*c+ch+1)*inner] {
				sum += float64(v)
			}
		}
		mean := sum / n
		var sq float64
		for o := 0; o < outer; o++ {
			for _, v := range x[(o*c+ch)*inner : (o*c+ch+1)*inner] {
				d := float64(v) - mean
				sq += d * d
			}
		}
		dst[ch], dst[c+ch] = T(mean), T(sq/n)
	}
}

func bnApply[T float](x, mean, variance, gamma, beta, dst []T, eps float64, outer, c, inner, c0, c1 int) {
	for ch := c0; ch < c1; ch++ {
		m := float64(mean[ch])
		scale := float64(gamma[ch]) / math.Sqrt(float64(variance[ch])+eps)
		shift := float64(beta[ch])
		for o := 0; o < outer; o++ {
			off := (o*c + ch) * inner
			out := dst[off : off+inner]
			for i, v := range x[off : off+inner] {
				out[i] = T((float64(v)-m)*scale + shift)
			}
		}
	}
}

// bnSums returns Σg and Σ(x − mean)·g over channel ch.
func bnSums[T float](x, g []T, mean float64, outer, c, ch, inner int) (sg, dot float64) {
	for o := 0; o < outer; o++ {
		off := (o*c + ch) * inner
		gs := g[off : off+inner]
		for i, v := range x[off : off+inner] {
			sg += float64(gs[i])
			dot += (float64(v) - mean) * float64(gs[i])
		}
	}
	return sg, dot
}

func bnGradX[T float](x, mean, variance, gamma, g, dst []T, eps float64, outer, c, inner, c0, c1 int) {
	n := float64(outer * inner)
	for ch := c0; ch < c1; ch++ {
		m := float64(mean[ch])
		invstd := 1 / math.Sqrt(float64(variance[ch])+eps)
		sg, dot := bnSums(x, g, m, outer, c, ch, inner)
		gm, proj, scale := sg/n, dot*invstd*invstd/n, invstd*float64(gamma[ch])
		for o := 0; o < outer; o++ {
			off := (o*c + ch) * inner
			gs, out := g[off:off+inner], dst[off:off+inner]
			for i, v := range x[off : off+inner] {
				out[i] = T((float64(gs[i]) - gm - (float64(v)-m)*proj) * scale)
			}
		}
	}
}

func bnGradGamma[T float](x, mean, variance, g, dst []T, eps float64, outer, c, inner, c0, c1 int) {
	for ch := c0; ch < c1; ch++ {
		_, dot := bnSums(x, g, float64(mean[ch]), outer, c, ch, inner)
		dst[ch] = T(dot / math.Sqrt(float64(variance[ch])+eps))
	}
}

// LayerNorm normalizes every row of x over its last axis — each example of a
// (batch, features) input, each step of a (batch, steps, features) one — to
// mean 0 and variance 1 (biased, plus eps 1e-5), then scales and shifts it by
// learned gamma (name+"/gamma", ones) and beta (name+"/beta", zeros) of the
// last axis' size: PyTorch's LayerNorm(features). It behaves the same in
// training and evaluation graphs.
func LayerNorm(b *Builder, name string, x *G.Node) (*G.Node, error) {
	what := describe("LayerNorm", name, x)
	if x == nil {
		return nil, errors.New(what)
	}
	if err := b.check(); err != nil {
		return nil, errors.Wrap(err, what)
	}
	if x.Dims() < 1 || x.IsScalar() || x.Dtype() != b.Dtype() {
		return nil, errors.Errorf("%s: want a (..., features) input of dtype %v, got %v", what, b.Dtype(), x.Dtype())
	}
	d := tensor.Shape{x.Shape()[x.Dims()-1]}
	gamma, err := b.Param(name+"/gamma", d, Constant(1))
	if err != nil {
		return nil, errors.Wrap(err, what)
	}
	beta, err := b.Param(name+"/beta", d, Zeros)
	if err != nil {
		return nil, errors.Wrap(err, what)
	}
	return guard(what, func() (*G.Node, error) { return apply(lnOp{eps: 1e-5, dims: x.Dims()}, x, gamma, beta) })
}

// The LayerNorm ops, over rows of D values with mean, biased variance and
// rstd = 1/√(var + eps), x̂ = (x − mean)·rstd:
//
//	ln(x, γ, β) = x̂·γ + β
//	∂x = rstd·(gγ − mean(gγ) − x̂·mean(gγ·x̂))   ∂γ = Σ_rows g·x̂   ∂β = Σ_rows g

type lnOp struct {
	noIDs
	eps  float64
	dims int
}

type lnGradXOp struct{ lnOp }
type lnGradGammaOp struct{ lnOp }

func (k lnOp) String() string { return fmt.Sprintf("LayerNorm{%v,%d}", k.eps, k.dims) }
func (k lnOp) arity() int     { return 3 }
func (k lnOp) typ() hm.Type   { return fnType(k.dims, k.dims, 1, 1) }
func (k lnOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	return in[0].Clone(), nil
}
func (k lnOp) diff() []bool { return []bool{true, true, true} }
func (k lnOp) grad(in G.Nodes, _, g *G.Node) (G.Nodes, error) {
	dx, err := apply(lnGradXOp{k}, in[0], in[1], g)
	if err != nil {
		return nil, err
	}
	dgamma, err := apply(lnGradGammaOp{k}, in[0], g)
	if err != nil {
		return nil, err
	}
	dbeta, err := G.ApplyOp(biasGradOp{axis: k.dims - 1, dims: k.dims}, g)
	return G.Nodes{dx, dgamma, dbeta}, err
}

// rows is x's row length D after checking the inputs' sizes (-1: any).
func (k lnOp) rows(in []G.Value, n ...int) (int, error) {
	s := arg(in, 0).Shape()
	d := s[len(s)-1]
	for i, m := range n {
		if m == 0 {
			m = d
		} else if m == 1 {
			m = s.TotalSize()
		}
		if err := size(in, i+1, m); err != nil {
			return 0, err
		}
	}
	return d, nil
}

func (k lnOp) run(dst *tensor.Dense, in []G.Value) error {
	d, err := k.rows(in, 0, 0)
	if err != nil {
		return err
	}
	if dst.Dtype() == tensor.Float64 {
		lnApply(arg(in, 0).Float64s(), arg(in, 1).Float64s(), arg(in, 2).Float64s(), dst.Float64s(), k.eps, d)
	} else {
		lnApply(arg(in, 0).Float32s(), arg(in, 1).Float32s(), arg(in, 2).Float32s(), dst.Float32s(), k.eps, d)
	}
	return nil
}

func (k lnGradXOp) String() string { return "∂x" + k.lnOp.String() }
func (k lnGradXOp) typ() hm.Type   { return fnType(k.dims, k.dims, 1, k.dims) }
func (k lnGradXOp) diff() []bool   { return []bool{false, false, false} }
func (k lnGradXOp) grad(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.Errorf("%v: second derivatives are not implemented", k)
}
func (k lnGradXOp) run(dst *tensor.Dense, in []G.Value) error {
	d, err := k.rows(in, 0, 1)
	if err != nil {
		return err
	}
	if dst.Dtype() == tensor.Float64 {
		lnGradX(arg(in, 0).Float64s(), arg(in, 1).Float64s(), arg(in, 2).Float64s(), dst.Float64s(), k.eps, d)
	} else {
		lnGradX(arg(in, 0).Float32s(), arg(in, 1).Float32s(), arg(in, 2).Float32s(), dst.Float32s(), k.eps, d)
	}
	return nil
}

func (k lnGradGammaOp) String() string { return "∂γ" + k.lnOp.String() }
func (k lnGradGammaOp) arity() int     { return 2 }
func (k lnGradGammaOp) typ() hm.Type   { return fnType(1, k.dims, k.dims) }
func (k lnGradGammaOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	return tensor.Shape{in[0][len(in[0])-1]}, nil
}
func (k lnGradGammaOp) diff() []bool { return []bool{false, false} }
func (k lnGradGammaOp) grad(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.Errorf("%v: second derivatives are not implemented", k)
}
func (k lnGradGammaOp) run(dst *tensor.Dense, in []G.Value) error {
	d, err := k.rows(in, 1)
	if err != nil {
		return err
	}
	if dst.Dtype() == tensor.Float64 {
		lnGradGamma(arg(in, 0).Float64s(), arg(in, 1).Float64s(), dst.Float64s(), k.eps, d)
	} else {
		lnGradGamma(arg(in, 0).Float32s(), arg(in, 1).Float32s(), dst.Float32s(), k.eps, d)
	}
	return nil
}

// rowStats is the mean and 1/√(biased variance + eps) of a row.
func rowStats[T float](row []T, eps float64) (mean, rstd float64) {
	for _, v := range row {
		mean += float64(v)
	}
	mean /= float64(len(row))
	var sq float64
	for _, v := range row {
		d := float64(v) - mean
		sq += d * d
	}
	return mean, 1 / math.Sqrt(sq/float64(len(row))+eps)
}

func lnApply[T float](x, gamma, beta, dst []T, eps float64, d int) {
	for off := 0; off+d <= len(x); off += d {
		row, out := x[off:off+d], dst[off:off+d]
		mean, rstd := rowStats(row, eps)
		for j, v := range row {
			out[j] = T((float64(v)-mean)*rstd*float64(gamma[j]) + float64(beta[j]))
		}
	}
}

func lnGradX[T float](x, gamma, g, dst []T, eps float64, d int) {
	for off := 0; off+d <= len(x); off += d {
		row, gs, out := x[off:off+d], g[off:off+d], dst[off:off+d]
		mean, rstd := rowStats(row, eps)
		var m1, m2 float64
		for j, v := range row {
			gg := float64(gs[j]) * float64(gamma[j])
			m1 += gg
			m2 += gg * (float64(v) - mean) * rstd
		}
		m1 /= float64(d)
		m2 /= float64(d)
		for j, v := range row {
			xhat := (float64(v) - mean) * rstd
			out[j] = T(rstd * (float64(gs[j])*float64(gamma[j]) - m1 - xhat*m2))
		}
	}
}

func lnGradGamma[T float](x, g, dst []T, eps float64, d int) {
	acc := dst[:d]
	for j := range acc {
		acc[j] = 0
	}
	for off := 0; off+d <= len(x); off += d {
		row, gs := x[off:off+d], g[off:off+d]
		mean, rstd := rowStats(row, eps)
		for j, v := range row {
			acc[j] += T(float64(gs[j]) * (float64(v) - mean) * rstd)
		}
	}
}
