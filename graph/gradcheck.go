package graph

import (
	"math"

	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
)

// GradCheckResult reports the worst disagreement GradCheck found between
// reverse-mode and finite-difference gradients.
type GradCheckResult struct {
	// MaxRelErr is the worst |analytic − numeric| / max(|analytic|, |numeric|, floor),
	// where floor = max(GradCheckFloor, Rounding/GradCheckTol): a difference
	// within the central difference's rounding limit reads as at most GradCheckTol.
	MaxRelErr float64
	Param     string  // the parameter where it occurred
	Index     int     // its flat (row-major) index in that parameter
	Analytic  float64 // gorgonia's gradient there
	Numeric   float64 // the central difference there
	Rounding  float64 // the central difference's rounding limit there (see GradCheckTol)
	Checked   int     // scalars compared
}

// GradCheckFloor keeps the relative error of gradients that are (nearly) zero
// from dividing by zero: below it, differences are measured absolutely.
const GradCheckFloor = 1e-8

// GradCheckStep is the step eps to give GradCheck for float64 params whose
// values and loss are of order 1. The central difference's truncation error
// grows as eps² and its rounding error as 1/eps; 1e-6 keeps the truncation
// error of descent's layers and losses below 1e-9 relative.
const GradCheckStep = 1e-6

// GradCheckTol is the bound a correct gradient keeps MaxRelErr under, at
// GradCheckStep: every layer and loss of this package, an MLP, a small LeNet
// and a swish network with near-zero gradients pass with a margin, and a
// gradient 0.01 % off fails.
//
// The rounding limit: f(w±eps) is known to about GradCheckUlps·2⁻⁵²·|f| (the
// loss sums many rounded terms), so the central difference cannot resolve
// gradient differences below Rounding = GradCheckUlps·2⁻⁵²·max|f(w±eps)|/eps,
// 3.5e-9 for a loss near 1 at eps 1e-6. A gradient of 5e-6 (a swish unit that
// is nearly off) then carries a rounding error of ≈ 3e-5 relative, which no
// bound below 1e-4 would pass; so GradCheck measures differences against
// max(|analytic|, |numeric|, Rounding/GradCheckTol): gradients larger than
// that are compared relatively, smaller ones absolutely, and rounding alone
// never reads as more than GradCheckTol.
const GradCheckTol = 1e-6

// GradCheckUlps is the rounding of a computed loss, in units of float64's
// relative precision 2⁻⁵², that GradCheck's rounding limit allows for.
const GradCheckUlps = 16

// GradCheck compares the reverse-mode gradient of a scalar loss with central
// finite differences (f(w+eps) − f(w−eps)) / 2eps for every scalar of every
// parameter of the graph build makes. Pass eps = GradCheckStep and test
// res.MaxRelErr <= GradCheckTol (which is false for NaN). build must create its inputs (and fill
// them through Builder.InputTensor) and return the loss. Params must be
// Float64: in float32 the differences drown in rounding. Random layers
// (Dropout) are drawn once and frozen, so the function being checked is
// fixed; parameter values are restored afterwards.
func GradCheck(p *Params, build func(b *Builder) (*G.Node, error), eps float64) (GradCheckResult, error) {
	var res GradCheckResult
	if p == nil {
		return res, errors.New("graph: GradCheck: nil params")
	}
	if build == nil {
		return res, errors.New("graph: GradCheck: nil build function")
	}
	if p.Dtype() != G.Float64 {
		return res, errors.Errorf("graph: GradCheck needs float64 params, got %v", p.Dtype())
	}
	if !(eps > 0) {
		return res, errors.Errorf("graph: GradCheck eps %v, want > 0", eps)
	}
	b := NewBuilder(p)
	b.SetTraining(true)
	loss, err := guard("graph: GradCheck: build", func() (*G.Node, error) { return build(b) })
	if err != nil {
		return res, err
	}
	if loss == nil {
		return res, errors.New("graph: GradCheck: build returned a nil loss")
	}
	prog, err := b.Compile(loss)
	if err != nil {
		return res, errors.Wrap(err, "graph: GradCheck")
	}
	defer prog.Close()
	if prog.NumParams() == 0 {
		return res, errors.New("graph: GradCheck: the loss has no parameters to check")
	}
	if err := prog.Run(); err != nil {
		return res, errors.Wrap(err, "graph: GradCheck")
	}
	prog.feeds = nil // freeze random masks at their first draw
	analytic := make([][]float64, prog.NumParams())
	for i := range analytic {
		analytic[i] = Float64s(prog.Grad(i))
	}
	lossAt := func() (float64, error) {
		if err := prog.Run(); err != nil {
			return 0, err
		}
		return prog.Loss(), nil
	}
	for i := range analytic {
		name := prog.ParamName(i)
		w := p.Value(name).Data().([]float64)
		for j := range w {
			orig := w[j]
			w[j] = orig + eps
			up, err := lossAt()
			if err != nil {
				w[j] = orig
				return res, errors.Wrapf(err, "graph: GradCheck: %s[%d]", name, j)
			}
			w[j] = orig - eps
			down, err := lossAt()
			w[j] = orig
			if err != nil {
				return res, errors.Wrapf(err, "graph: GradCheck: %s[%d]", name, j)
			}
			num := (up - down) / (2 * eps)
			a := analytic[i][j]
			rounding := GradCheckUlps * 0x1p-52 * math.Max(math.Abs(up), math.Abs(down)) / eps
			floor := math.Max(GradCheckFloor, rounding/GradCheckTol)
			rel := math.Abs(a-num) / math.Max(math.Max(math.Abs(a), math.Abs(num)), floor)
			res.Checked++
			if rel > res.MaxRelErr || math.IsNaN(rel) {
				res = GradCheckResult{MaxRelErr: rel, Param: name, Index: j, Analytic: a, Numeric: num, Rounding: rounding, Checked: res.Checked}
			}
		}
	}
	return res, nil
}
