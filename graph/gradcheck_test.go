package graph

import (
	"fmt"
	"hash"
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/testutil"
)

// fillInput makes an input of the given shape with values from fill.
func fillInput(t *testing.T, b *Builder, name string, shape tensor.Shape, fill func(i int) float64) *G.Node {
	t.Helper()
	n, err := b.Input(name, shape)
	if err != nil {
		t.Fatal(err)
	}
	vals := make([]float64, shape.TotalSize())
	for i := range vals {
		vals[i] = fill(i)
	}
	setFloat64s(b.InputTensor(name), vals) // float64 or float32
	return n
}

func randn(seed int64) func(int) float64 {
	r := rand.New(rand.NewSource(seed))
	return func(int) float64 { return r.NormFloat64() }
}

func classes(k int) func(int) float64 { return func(i int) float64 { return float64((i * 7) % k) } }

// oneHot is the one-hot encoding of classes(k) for rows of width k.
func oneHot(k int) func(int) float64 {
	return func(i int) float64 {
		if i%k == (i/k*7)%k {
			return 1
		}
		return 0
	}
}

const gradTol = 1e-6

// gradEps is GradCheck's step: the central difference's truncation error
// grows as eps², its rounding error as ulp(loss)/eps; at 1e-6 the rounding
// alone reaches 3e-6 of a gradient of 5e-5 on a loss of 1.4 (one ulp of the
// loss), so a change in the last bit of a matrix product failed the check.
const gradEps = 1e-5

// checkGrad runs GradCheck (eps gradEps) on fresh float64 params and fails if
// the worst relative error exceeds gradTol (or is NaN) or if not every
// parameter scalar was checked. It returns the result for further checks.
func checkGrad(t *testing.T, name string, build func(b *Builder) (*G.Node, error)) GradCheckResult {
	t.Helper()
	return checkGradP(t, name, NewParams(tensor.Float64, 42), build)
}

func checkGradP(t *testing.T, name string, p *Params, build func(b *Builder) (*G.Node, error)) GradCheckResult {
	t.Helper()
	res, err := GradCheck(p, build, gradEps)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if res.Checked == 0 || res.Checked != p.NumScalars() {
		t.Errorf("%s: checked %d scalars, params have %d", name, res.Checked, p.NumScalars())
	}
	if !(res.MaxRelErr <= gradTol) { // catches NaN too
		t.Errorf("%s: max relative error %.3g at %s[%d]: analytic %.10g, numeric %.10g", name, res.MaxRelErr, res.Param, res.Index, res.Analytic, res.Numeric)
	}
	t.Logf("%-32s %4d scalars, max rel err %.2g", name, res.Checked, res.MaxRelErr)
	return res
}

// A stage is one step of a model under test: it maps a node to the next.
type stage func(b *Builder, x *G.Node) (*G.Node, error)

func dense(name string, units int) stage {
	return func(b *Builder, x *G.Node) (*G.Node, error) { return Dense(b, name, x, units, nil) }
}

func act(f Activation) stage {
	return func(_ *Builder, x *G.Node) (*G.Node, error) { return f(x) }
}

func conv(name string, filters, kernel, stride, pad int) stage {
	return func(b *Builder, x *G.Node) (*G.Node, error) {
		return Conv2D(b, name, x, filters, kernel, stride, pad, nil)
	}
}

func pool(size, stride int) stage {
	return func(_ *Builder, x *G.Node) (*G.Node, error) { return MaxPool2D(x, size, stride) }
}

func flatten() stage { return act(Flatten) }

func dropout(name string, p float64) stage {
	return func(b *Builder, x *G.Node) (*G.Node, error) { return Dropout(b, name, x, p) }
}

// A head makes the target input for the model's output and returns the
// loss.
type head func(t *testing.T, b *Builder, out *G.Node) (*G.Node, error)

func mseHead(t *testing.T, b *Builder, out *G.Node) (*G.Node, error) {
	return MSE(b, out, fillInput(t, b, "y", out.Shape(), randn(2)))
}

func sceIndexHead(t *testing.T, b *Builder, out *G.Node) (*G.Node, error) {
	return SoftmaxCrossEntropy(b, out, fillInput(t, b, "y", tensor.Shape{out.Shape()[0]}, classes(out.Shape()[1])))
}

func sceOneHotHead(t *testing.T, b *Builder, out *G.Node) (*G.Node, error) {
	return SoftmaxCrossEntropy(b, out, fillInput(t, b, "y", out.Shape(), oneHot(out.Shape()[1])))
}

func sceSoftHead(t *testing.T, b *Builder, out *G.Node) (*G.Node, error) {
	k := out.Shape()[1]
	return SoftmaxCrossEntropy(b, out, fillInput(t, b, "y", out.Shape(), func(i int) float64 {
		return float64(1+(i%k)) / float64(k*(k+1)/2) // rows sum to 1
	}))
}

func bceHead(t *testing.T, b *Builder, out *G.Node) (*G.Node, error) {
	return BinaryCrossEntropy(b, out, fillInput(t, b, "y", out.Shape(), func(i int) float64 { return float64(i % 2) }))
}

func bceProbHead(t *testing.T, b *Builder, out *G.Node) (*G.Node, error) {
	return BinaryCrossEntropy(b, out, fillInput(t, b, "y", out.Shape(), func(i int) float64 { return float64(i%4) / 3 }))
}

// model builds input x of the given shape (standard normal values from
// seed 1), runs it through the stages and closes with the head.
func model(t *testing.T, in tensor.Shape, h head, stages ...stage) func(b *Builder) (*G.Node, error) {
	return func(b *Builder) (*G.Node, error) {
		x := fillInput(t, b, "x", in, randn(1))
		var err error
		for _, s := range stages {
			if x, err = s(b, x); err != nil {
				return nil, err
			}
		}
		return h(t, b, x)
	}
}

// withPenalty adds penalty(b) to the loss built by build.
func withPenalty(build func(b *Builder) (*G.Node, error), penalty func(b *Builder) (*G.Node, error)) func(b *Builder) (*G.Node, error) {
	return func(b *Builder) (*G.Node, error) {
		loss, err := build(b)
		if err != nil {
			return nil, err
		}
		pen, err := penalty(b)
		if err != nil {
			return nil, err
		}
		return G.Add(loss, pen)
	}
}

// awayFromZero draws ±U(0.3, 1): weights that |w| has no kink near.
func awayFromZero(r *rand.Rand, _ tensor.Shape, dst []float64) {
	for i := range dst {
		dst[i] = 0.3 + 0.7*r.Float64()
		if r.Intn(2) == 0 {
			dst[i] = -dst[i]
		}
	}
}

func TestGradCheckLayersAndLosses(t *testing.T) {
	const n, in, hid, k = 5, 4, 6, 3
	mlp := func(a Activation, h head) func(b *Builder) (*G.Node, error) {
		stages := []stage{dense("d1", hid)}
		if a != nil {
			stages = append(stages, act(a))
		}
		stages = append(stages, dense("d2", k))
		return model(t, tensor.Shape{n, in}, h, stages...)
	}
	img := tensor.Shape{2, 2, 6, 6}
	cases := []struct {
		name  string
		build func(b *Builder) (*G.Node, error)
	}{
		{"Dense+MSE", mlp(nil, mseHead)},
		{"Tanh+MSE", mlp(Tanh, mseHead)},
		{"Sigmoid+BCE soft targets", mlp(Sigmoid, bceProbHead)},
		{"ReLU+SCE indices", mlp(ReLU, sceIndexHead)},
		{"LeakyReLU+SCE one-hot", mlp(LeakyReLU(0.1), sceOneHotHead)},
		{"Softmax+MSE", mlp(Softmax, mseHead)},
		{"SCE soft targets", mlp(Tanh, sceSoftHead)},
		{"BCE (B,1) outputs", model(t, tensor.Shape{n, in}, bceHead, dense("d1", hid), act(Tanh), dense("d2", 1))},
		{"Flatten (B,2,2,3)", model(t, tensor.Shape{n, 2, 2, 3}, mseHead, conv("c", 2, 1, 1, 0), flatten(), dense("d", k))},
		{"Dropout p=0.5 training", model(t, tensor.Shape{n, in}, mseHead, dense("d1", 8), act(Tanh), dropout("drop", 0.5), dense("d2", k))},
		{"Conv2D stride 1 pad 0", model(t, img, mseHead, conv("c", 3, 3, 1, 0), flatten())},
		{"Conv2D stride 1 pad 1", model(t, img, mseHead, conv("c", 3, 3, 1, 1), flatten())},
		{"Conv2D stride 2 pad 0", model(t, img, mseHead, conv("c", 3, 3, 2, 0), flatten())},
		{"Conv2D stride 2 pad 1", model(t, img, mseHead, conv("c", 3, 3, 2, 1), flatten())},
		{"Conv2D k2 stride 2 pad 1", model(t, img, mseHead, conv("c", 2, 2, 2, 1), flatten())},
		{"MaxPool2D 2/2", model(t, img, mseHead, conv("c", 3, 3, 1, 1), pool(2, 2), flatten())},
		{"MaxPool2D 2/1 (overlapping)", model(t, img, mseHead, conv("c", 3, 3, 1, 1), pool(2, 1), flatten())},
		{"MaxPool2D 3/2", model(t, img, mseHead, conv("c", 3, 3, 1, 1), pool(3, 2), flatten())},
		{"MLP 2 hidden, SCE indices", model(t, tensor.Shape{n, in}, sceIndexHead,
			dense("h1", 8), act(Tanh), dense("h2", 6), act(ReLU), dense("out", k))},
		{"MLP 2 hidden, SCE one-hot", model(t, tensor.Shape{n, in}, sceOneHotHead,
			dense("h1", 8), act(Sigmoid), dense("h2", 6), act(LeakyReLU(0.2)), dense("out", k))},
		{"LeNet (2,1,8,8)", model(t, tensor.Shape{2, 1, 8, 8}, sceIndexHead,
			conv("c1", 3, 3, 1, 1), act(ReLU), pool(2, 2),
			conv("c2", 4, 3, 1, 1), act(ReLU), pool(2, 2),
			flatten(), dense("fc", k))},
		{"L2 over all params", withPenalty(mlp(Tanh, mseHead), func(b *Builder) (*G.Node, error) { return L2(b, 0.3) })},
		{"L2 over d1/w", withPenalty(mlp(Tanh, sceIndexHead), func(b *Builder) (*G.Node, error) { return L2(b, 0.5, "d1/w") })},
	}
	for _, c := range cases {
		checkGrad(t, c.name, c.build)
	}
}

// L1's |w| has a kink at 0, where the central difference is meaningless:
// weights and biases are drawn away from 0.
func TestGradCheckL1(t *testing.T) {
	const n, in, hid, k = 5, 4, 6, 3
	awayModel := func(b *Builder) (*G.Node, error) {
		x := fillInput(t, b, "x", tensor.Shape{n, in}, randn(1))
		h, err := Dense(b, "d1", x, hid, awayFromZero)
		if err != nil {
			return nil, err
		}
		if h, err = Tanh(h); err != nil {
			return nil, err
		}
		out, err := Dense(b, "d2", h, k, awayFromZero)
		if err != nil {
			return nil, err
		}
		return mseHead(t, b, out)
	}
	cases := []struct {
		name  string
		names []string
	}{
		{"L1 over all params", nil},
		{"L1 over d2/w", []string{"d2/w"}},
	}
	for _, c := range cases {
		p := NewParams(tensor.Float64, 42)
		// Dense biases start at 0: put nonzero ones in first.
		r := rand.New(rand.NewSource(7))
		for _, bias := range []struct {
			name string
			n    int
		}{{"d1/b", hid}, {"d2/b", k}} {
			v := make([]float64, bias.n)
			awayFromZero(r, nil, v)
			if err := p.Add(bias.name, tensor.New(tensor.WithShape(bias.n), tensor.WithBacking(v))); err != nil {
				t.Fatal(err)
			}
		}
		names := c.names
		checkGradP(t, c.name, p, withPenalty(awayModel, func(b *Builder) (*G.Node, error) { return L1(b, 0.2, names...) }))
	}
}

// scaleGradOp is the identity whose gradient is deliberately scaled by
// 1+delta: a wrong backward pass for GradCheck to catch.
type scaleGradOp struct{ delta float64 }

func (op scaleGradOp) Arity() int { return 1 }
func (op scaleGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a)
}
func (op scaleGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return in[0].(tensor.Shape).Clone(), nil
}
func (op scaleGradOp) Do(vals ...G.Value) (G.Value, error) {
	return vals[0].(*tensor.Dense).Clone().(*tensor.Dense), nil
}
func (op scaleGradOp) ReturnsPtr() bool      { return false }
func (op scaleGradOp) CallsExtern() bool     { return false }
func (op scaleGradOp) OverwritesInput() int  { return -1 }
func (op scaleGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op scaleGradOp) Hashcode() uint32      { return hashOf(op) }
func (op scaleGradOp) String() string        { return fmt.Sprintf("scaleGrad(%g)", op.delta) }
func (op scaleGradOp) DiffWRT(int) []bool    { return []bool{true} }
func (op scaleGradOp) SymDiff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	d, err := G.Mul(grad, G.NewConstant(1+op.delta))
	return G.Nodes{d}, err
}

// GradCheck has teeth: gradients that are wrong by a factor, or a loss that
// depends on a parameter in a way autodiff cannot see, are reported with the
// parameter at fault.
func TestGradCheckCatchesWrongGradients(t *testing.T) {
	const n, in, k = 5, 4, 3
	mlpThrough := func(op G.Op) func(b *Builder) (*G.Node, error) {
		return func(b *Builder) (*G.Node, error) {
			x := fillInput(t, b, "x", tensor.Shape{n, in}, randn(1))
			h, err := Dense(b, "d1", x, k, nil)
			if err != nil {
				return nil, err
			}
			if h, err = G.ApplyOp(op, h); err != nil {
				return nil, err
			}
			return mseHead(t, b, h)
		}
	}
	for _, delta := range []float64{1, 0.1, 1e-4} {
		res, err := GradCheck(NewParams(tensor.Float64, 42), mlpThrough(scaleGradOp{delta}), 1e-6)
		if err != nil {
			t.Fatal(err)
		}
		// The analytic gradient is (1+δ) times the numeric one, so the
		// relative error is δ/(1+δ).
		want := delta / (1 + delta)
		if math.Abs(res.MaxRelErr-want) > 1e-3*want+1e-7 || res.MaxRelErr <= gradTol {
			t.Errorf("gradient scaled by 1+%g: max rel err %.3g, want %.3g", delta, res.MaxRelErr, want)
		}
		if !strings.HasPrefix(res.Param, "d1/") || math.Abs(res.Analytic-(1+delta)*res.Numeric) > 1e-6*math.Abs(res.Analytic) {
			t.Errorf("gradient scaled by 1+%g: worst at %s[%d], analytic %g, numeric %g", delta, res.Param, res.Index, res.Analytic, res.Numeric)
		}
		t.Logf("gradient scaled by 1+%g: caught, max rel err %.3g at %s[%d]", delta, res.MaxRelErr, res.Param, res.Index)
	}
	// The identity op with the right gradient passes: the catch above is the
	// scale, not the op.
	checkGrad(t, "scaleGrad(0)", mlpThrough(scaleGradOp{0}))

	// A node bound to a parameter's tensor but made as a plain input: the
	// loss depends on d1/w through it, autodiff treats it as a constant.
	res, err := GradCheck(NewParams(tensor.Float64, 42), func(b *Builder) (*G.Node, error) {
		loss, err := mlpThrough(scaleGradOp{0})(b)
		if err != nil {
			return nil, err
		}
		w := b.Params().Value("d1/w")
		alias := G.NewTensor(b.Graph(), G.Float64, 2, G.WithShape(w.Shape()...), G.WithName("alias"), G.WithValue(w))
		sq, err := G.Square(alias)
		if err != nil {
			return nil, err
		}
		s, err := G.Sum(sq)
		if err != nil {
			return nil, err
		}
		return G.Add(loss, s)
	}, 1e-6)
	if err != nil {
		t.Fatal(err)
	}
	if res.MaxRelErr < 0.1 || res.Param != "d1/w" {
		t.Errorf("hidden dependency on d1/w: max rel err %.3g at %s[%d], want a large error at d1/w", res.MaxRelErr, res.Param, res.Index)
	}
	t.Logf("hidden dependency: caught, max rel err %.3g at %s[%d] (analytic %.4g, numeric %.4g)", res.MaxRelErr, res.Param, res.Index, res.Analytic, res.Numeric)
}

func TestGradCheckErrors(t *testing.T) {
	good := model(t, tensor.Shape{3, 2}, mseHead, dense("d", 2))
	cases := []struct {
		name  string
		p     *Params
		build func(b *Builder) (*G.Node, error)
		eps   float64
		want  []string
	}{
		{"float32", NewParams(tensor.Float32, 1), good, 1e-6, []string{"float64", "float32"}},
		{"eps 0", NewParams(tensor.Float64, 1), good, 0, []string{"eps 0"}},
		{"eps NaN", NewParams(tensor.Float64, 1), good, math.NaN(), []string{"eps NaN"}},
		{"nil params", nil, good, 1e-6, []string{"nil params"}},
		{"nil build", NewParams(tensor.Float64, 1), nil, 1e-6, []string{"nil build"}},
		{"build error", NewParams(tensor.Float64, 1), func(b *Builder) (*G.Node, error) {
			return nil, errors.New("boom")
		}, 1e-6, []string{"build", "boom"}},
		{"build panics", NewParams(tensor.Float64, 1), func(b *Builder) (*G.Node, error) {
			panic("kaboom")
		}, 1e-6, []string{"build", "kaboom"}},
		{"nil loss", NewParams(tensor.Float64, 1), func(b *Builder) (*G.Node, error) {
			return nil, nil
		}, 1e-6, []string{"nil loss"}},
		{"non-scalar loss", NewParams(tensor.Float64, 1), func(b *Builder) (*G.Node, error) {
			x := fillInput(t, b, "x", tensor.Shape{3, 2}, randn(1))
			return Dense(b, "d", x, 2, nil)
		}, 1e-6, []string{"scalar", "(3, 2)"}},
		{"no parameters", NewParams(tensor.Float64, 1), func(b *Builder) (*G.Node, error) {
			x := fillInput(t, b, "x", tensor.Shape{3, 2}, randn(1))
			return mseHead(t, b, x)
		}, 1e-6, []string{"no parameters"}},
	}
	for _, c := range cases {
		_, err := GradCheck(c.p, c.build, c.eps)
		testutil.ErrContains(t, err, c.want...)
	}
}

func TestGradCheckRestoresParams(t *testing.T) {
	p := NewParams(tensor.Float64, 3)
	build := model(t, tensor.Shape{4, 3}, sceIndexHead, dense("d1", 5), act(ReLU), dense("d2", 3))
	if _, err := GradCheck(p, build, 1e-3); err != nil {
		t.Fatal(err)
	}
	before := p.Clone()
	if _, err := GradCheck(p, build, 1e-3); err != nil {
		t.Fatal(err)
	}
	if d := testutil.ParamsDiff(before, p); d != "" {
		t.Fatal(d)
	}
}

// swishNet is x → Dense(units) → swish (h·σ(h)) → Dense(1) → MSE, with the
// hidden biases set to bias: a bias of −12 makes a unit that is nearly off,
// whose weights have gradients of order 1e-6 — healthy, and small.
func swishNet(t *testing.T, bias []float64, op G.Op) func(b *Builder) (*G.Node, error) {
	return func(b *Builder) (*G.Node, error) {
		x := fillInput(t, b, "x", tensor.Shape{6, 4}, randn(3))
		h, err := Dense(b, "d1", x, len(bias), nil)
		if err != nil {
			return nil, err
		}
		copy(b.Params().Value("d1/b").Data().([]float64), bias)
		s, err := Sigmoid(h)
		if err != nil {
			return nil, err
		}
		if h, err = G.HadamardProd(h, s); err != nil {
			return nil, err
		}
		if op != nil {
			if h, err = G.ApplyOp(op, h); err != nil {
				return nil, err
			}
		}
		out, err := Dense(b, "d2", h, 1, nil)
		if err != nil {
			return nil, err
		}
		return mseHead(t, b, out)
	}
}

// With its defaults, GradCheck passes a healthy model whose gradients are
// near the central difference's rounding limit, which a plain relative error
// fails (2.6e-5 at a gradient of 5e-6 was seen), and still catches a
// gradient 0.01 % off.
func TestGradCheckDefaultsAtTheRoundingLimit(t *testing.T) {
	bias := []float64{-12, 0.5, -0.3}
	build := swishNet(t, bias, nil)

	// The plain relative error, computed here as GradCheck did before it
	// allowed for rounding: some gradient is tiny and fails GradCheckTol.
	p := NewParams(tensor.Float64, 5)
	b := NewBuilder(p)
	b.SetTraining(true)
	loss, err := build(b)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := b.Compile(loss)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	worstPlain, worstAt, smallest := 0.0, "", math.Inf(1)
	for i := 0; i < prog.NumParams(); i++ {
		name := prog.ParamName(i)
		grad := Float64s(prog.Grad(i))
		w := p.Value(name).Data().([]float64)
		for j := range w {
			orig := w[j]
			w[j] = orig + GradCheckStep
			if err := prog.Run(); err != nil {
				t.Fatal(err)
			}
			up := prog.Loss()
			w[j] = orig - GradCheckStep
			if err := prog.Run(); err != nil {
				t.Fatal(err)
			}
			down := prog.Loss()
			w[j] = orig
			num := (up - down) / (2 * GradCheckStep)
			rel := math.Abs(grad[j]-num) / math.Max(math.Max(math.Abs(grad[j]), math.Abs(num)), GradCheckFloor)
			if rel > worstPlain {
				worstPlain, worstAt = rel, fmt.Sprintf("%s[%d] (gradient %.2g)", name, j, grad[j])
			}
			smallest = math.Min(smallest, math.Abs(grad[j]))
		}
	}
	t.Logf("plain relative error: worst %.2g at %s; smallest gradient %.2g", worstPlain, worstAt, smallest)
	if !(smallest < 1e-5) || !(worstPlain > GradCheckTol) {
		t.Fatalf("the model does not reach the rounding limit (smallest gradient %.2g, plain relative error %.2g): the test checks nothing", smallest, worstPlain)
	}

	// GradCheck with its defaults passes it.
	p = NewParams(tensor.Float64, 5)
	res, err := GradCheck(p, build, GradCheckStep)
	if err != nil {
		t.Fatal(err)
	}
	if !(res.MaxRelErr <= GradCheckTol) || res.Checked != p.NumScalars() {
		t.Errorf("healthy swish model: max rel err %.3g at %s[%d] (analytic %.6g, numeric %.6g, rounding %.2g), %d of %d scalars checked",
			res.MaxRelErr, res.Param, res.Index, res.Analytic, res.Numeric, res.Rounding, res.Checked, p.NumScalars())
	}
	if !(res.Rounding > 0 && res.Rounding < 1e-7) {
		t.Errorf("rounding limit %g, want a small positive number", res.Rounding)
	}
	t.Logf("GradCheck defaults: max rel err %.2g at %s[%d], rounding limit %.2g", res.MaxRelErr, res.Param, res.Index, res.Rounding)

	// It still catches a gradient 0.01 % off (relative error ≈ 1e-4).
	res, err = GradCheck(NewParams(tensor.Float64, 5), swishNet(t, bias, scaleGradOp{1e-4}), GradCheckStep)
	if err != nil {
		t.Fatal(err)
	}
	if !(res.MaxRelErr > 50*GradCheckTol) {
		t.Errorf("gradient scaled by 1+1e-4: max rel err %.3g, want ≈ 1e-4", res.MaxRelErr)
	}
}
