package graph

import (
	"math"
	"math/rand"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/testutil"
)

// denseProgram builds x (batch, in) → Dense "d" (out units) on p and compiles
// an evaluation program whose output 0 is the layer's output.
func denseProgram(t *testing.T, p *Params, batch, in, out int) *Program {
	t.Helper()
	b := NewBuilder(p)
	x, err := b.Input("x", tensor.Shape{batch, in})
	if err != nil {
		t.Fatal(err)
	}
	h, err := Dense(b, "d", x, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := b.Compile(nil, h)
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

func run(t *testing.T, prog *Program) {
	t.Helper()
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
}

func TestParamsSharedAcrossBatchSizes(t *testing.T) {
	const in, out = 3, 2
	p := NewParams(tensor.Float64, 5)
	big := denseProgram(t, p, 4, in, out)
	small := denseProgram(t, p, 1, in, out)
	if p.Len() != 2 || p.NumScalars() != in*out+out {
		t.Fatalf("two graphs made %d params (%v) of %d scalars, want the 2 of Dense shared", p.Len(), p.Names(), p.NumScalars())
	}
	xs := []float64{0.5, -1, 2, 1, 1, 1, -2, 0, 3, 0.25, 0.75, -0.5}
	copy(big.Input("x").Data().([]float64), xs)
	copy(small.Input("x").Data().([]float64), xs[in:2*in]) // row 1 of the big batch

	// expect computes row r of x·W + b from the current parameter values.
	expect := func(r int) []float64 {
		w, bias := p.CopyFloat64s("d/w"), p.CopyFloat64s("d/b")
		y := make([]float64, out)
		for j := range y {
			y[j] = bias[j]
			for i := 0; i < in; i++ {
				y[j] += xs[r*in+i] * w[i*out+j]
			}
		}
		return y
	}
	check := func(when string) {
		t.Helper()
		run(t, big)
		run(t, small)
		bigRow := big.Output(0).Data().([]float64)[out : 2*out]
		smallRow := small.Output(0).Data().([]float64)
		want := expect(1)
		for j := range want {
			if math.Abs(bigRow[j]-want[j]) > 1e-12 || math.Abs(smallRow[j]-want[j]) > 1e-12 {
				t.Errorf("%s: output[%d]: batch 4 %v, batch 1 %v, want %v", when, j, bigRow[j], smallRow[j], want[j])
			}
		}
	}
	check("initial")

	// An in-place update through Params is seen by both graphs.
	w := p.Value("d/w").Data().([]float64)
	for i := range w {
		w[i] = float64(i) - 2.5
	}
	p.Value("d/b").Data().([]float64)[1] = 10
	check("after writing through Params.Value")

	// So is CopyFrom.
	q := p.Clone()
	q.Value("d/w").Data().([]float64)[0] = 100
	if err := p.CopyFrom(q); err != nil {
		t.Fatal(err)
	}
	if got := p.CopyFloat64s("d/w")[0]; got != 100 {
		t.Fatalf("after CopyFrom d/w[0] = %v, want 100", got)
	}
	check("after CopyFrom")

	// Running does not write into the parameters.
	before := p.Clone()
	run(t, big)
	run(t, small)
	if d := testutil.ParamsDiff(before, p); d != "" {
		t.Fatal(d)
	}
}

func TestParamShapeMismatch(t *testing.T) {
	p := NewParams(tensor.Float64, 1)
	_ = denseProgram(t, p, 4, 3, 2)

	// Another graph asking for "d" with 5 units.
	b := NewBuilder(p)
	x, err := b.Input("x", tensor.Shape{4, 3})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Dense(b, "d", x, 5, nil)
	testutil.ErrContains(t, err, `"d/w"`, "(3, 2)", "(3, 5)", "Dense")

	// The same graph asking twice.
	if _, err := b.Param("v", tensor.Shape{2, 2}, nil); err != nil {
		t.Fatal(err)
	}
	_, err = b.Param("v", tensor.Shape{4}, nil)
	testutil.ErrContains(t, err, `"v"`, "(2, 2)", "(4)")

	// Asking again with the same shape returns the same node.
	n1, _ := b.Param("v", tensor.Shape{2, 2}, nil)
	n2, err := b.Param("v", tensor.Shape{2, 2}, Zeros)
	if err != nil || n1 != n2 {
		t.Errorf("Param twice with the same shape: %v, %v, %v", n1, n2, err)
	}
	// The second initializer is ignored: the parameter exists.
	if v := p.CopyFloat64s("v"); v[0] == 0 && v[1] == 0 && v[2] == 0 && v[3] == 0 {
		t.Errorf("Param re-initialized an existing parameter: %v", v)
	}
}

func TestParamBadShapes(t *testing.T) {
	b := NewBuilder(NewParams(tensor.Float64, 1))
	for _, s := range []tensor.Shape{{}, {0}, {3, -1}} {
		_, err := b.Param("w", s, nil)
		testutil.ErrContains(t, err, `"w"`, "shape")
	}
	if b.Params().Len() != 0 {
		t.Errorf("bad shapes made parameters %v", b.Params().Names())
	}
}

// paramsInOrder makes params of the given names, all of shape (3, 4), in
// that order, and returns them.
func paramsInOrder(t *testing.T, dt tensor.Dtype, seed int64, names ...string) *Params {
	t.Helper()
	p := NewParams(dt, seed)
	b := NewBuilder(p)
	for _, name := range names {
		if _, err := b.Param(name, tensor.Shape{3, 4}, GlorotNormal); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func TestInitReproducible(t *testing.T) {
	p := paramsInOrder(t, tensor.Float64, 9, "a", "b", "c")
	q := paramsInOrder(t, tensor.Float64, 9, "c", "a", "b")
	if got := q.Names(); got[0] != "c" || got[1] != "a" || got[2] != "b" {
		t.Errorf("Names %v, want creation order [c a b]", got)
	}
	for _, name := range []string{"a", "b", "c"} {
		if x, y := p.CopyFloat64s(name), q.CopyFloat64s(name); !testutil.SameBits(x, y) {
			t.Fatalf("%s is %v built first, %v built later", name, x, y)
		}
	}
	// Different names, different seeds: different values.
	differ := func(x, y []float64) bool {
		for i := range x {
			if x[i] == y[i] {
				return false
			}
		}
		return true
	}
	if !differ(p.CopyFloat64s("a"), p.CopyFloat64s("b")) {
		t.Errorf("a and b share values: %v %v", p.CopyFloat64s("a"), p.CopyFloat64s("b"))
	}
	r := paramsInOrder(t, tensor.Float64, 10, "a")
	if !differ(p.CopyFloat64s("a"), r.CopyFloat64s("a")) {
		t.Errorf("seeds 9 and 10 give a the same values")
	}
	// float32 params hold the float64 draws rounded.
	f := paramsInOrder(t, tensor.Float32, 9, "b")
	for i, v := range f.Value("b").Data().([]float32) {
		if want := float32(p.CopyFloat64s("b")[i]); v != want {
			t.Fatalf("float32 b[%d] = %v, want %v", i, v, want)
		}
	}
}

func TestFans(t *testing.T) {
	cases := []struct {
		shape   tensor.Shape
		in, out int
	}{
		{tensor.Shape{}, 1, 1},
		{tensor.Shape{7}, 7, 7},
		{tensor.Shape{3, 5}, 3, 5},
		{tensor.Shape{16, 8, 3, 3}, 8 * 9, 16 * 9},
		{tensor.Shape{4, 2, 5}, 10, 20},
	}
	for _, c := range cases {
		in, out := Fans(c.shape)
		if in != c.in || out != c.out {
			t.Errorf("Fans(%v) = %d, %d, want %d, %d", c.shape, in, out, c.in, c.out)
		}
	}
}

// TestInitStatistics draws big tensors and checks their mean is 0 and their
// variance the theoretical one within 5 standard errors.
func TestInitStatistics(t *testing.T) {
	uniformVar := func(a float64) float64 { return a * a / 3 }
	cases := []struct {
		name  string
		init  Initializer
		shape tensor.Shape
		vari  float64 // theoretical variance
		kurt  float64 // E[w⁴]/σ⁴: 3 for a normal, 9/5 for a uniform
		bound float64 // |w| ≤ bound for uniforms, 0: none
	}{
		{"GlorotUniform 2-D", GlorotUniform, tensor.Shape{300, 500}, 2.0 / 800, 1.8, math.Sqrt(6.0 / 800)},
		{"GlorotNormal 2-D", GlorotNormal, tensor.Shape{300, 500}, 2.0 / 800, 3, 0},
		{"HeNormal 2-D", HeNormal, tensor.Shape{300, 500}, 2.0 / 300, 3, 0},
		{"HeUniform 2-D", HeUniform, tensor.Shape{300, 500}, uniformVar(math.Sqrt(6.0 / 300)), 1.8, math.Sqrt(6.0 / 300)},
		{"GlorotUniform 4-D", GlorotUniform, tensor.Shape{64, 32, 5, 5}, 2.0 / (32*25 + 64*25), 1.8, math.Sqrt(6.0 / (32*25 + 64*25))},
		{"HeNormal 4-D", HeNormal, tensor.Shape{64, 32, 5, 5}, 2.0 / (32 * 25), 3, 0},
		{"Normal(0, 0.1)", Normal(0, 0.1), tensor.Shape{100000}, 0.01, 3, 0},
		{"Uniform(-2, 2)", Uniform(-2, 2), tensor.Shape{100000}, 16.0 / 12, 1.8, 2},
	}
	for _, c := range cases {
		dst := make([]float64, c.shape.TotalSize())
		c.init(rand.New(rand.NewSource(1)), c.shape, dst)
		n := float64(len(dst))
		var sum, sq float64
		for _, v := range dst {
			sum += v
			sq += v * v
			if c.bound > 0 && math.Abs(v) > c.bound {
				t.Fatalf("%s: %v outside ±%v", c.name, v, c.bound)
			}
		}
		mean := sum / n
		vari := sq / n // about the known mean 0
		seMean := math.Sqrt(c.vari / n)
		seVar := c.vari * math.Sqrt((c.kurt-1)/n)
		if math.Abs(mean) > 5*seMean {
			t.Errorf("%s: mean %.3g, want 0 ± %.3g", c.name, mean, 5*seMean)
		}
		if math.Abs(vari-c.vari) > 5*seVar {
			t.Errorf("%s: variance %.5g, want %.5g ± %.3g", c.name, vari, c.vari, 5*seVar)
		}
	}
}

func TestSimpleInitializers(t *testing.T) {
	dst := []float64{1, 2, 3}
	Zeros(nil, tensor.Shape{3}, dst)
	if dst[0] != 0 || dst[1] != 0 || dst[2] != 0 {
		t.Errorf("Zeros: %v", dst)
	}
	Constant(0.5)(nil, tensor.Shape{3}, dst)
	if dst[0] != 0.5 || dst[1] != 0.5 || dst[2] != 0.5 {
		t.Errorf("Constant(0.5): %v", dst)
	}
}

func TestParamsAccessors(t *testing.T) {
	p := paramsInOrder(t, tensor.Float64, 1, "x", "y")
	if p.Dtype() != tensor.Float64 || p.Seed() != 1 || p.Len() != 2 || p.NumScalars() != 24 {
		t.Errorf("Dtype %v Seed %d Len %d NumScalars %d", p.Dtype(), p.Seed(), p.Len(), p.NumScalars())
	}
	if p.Name(1) != "y" || p.At(1) != p.Value("y") || p.Value("z") != nil || p.CopyFloat64s("z") != nil {
		t.Errorf("Name/At/Value/Float64s disagree")
	}
	names := p.Names()
	names[0] = "changed"
	if p.Name(0) != "x" {
		t.Errorf("Names is not a copy")
	}
}

func TestParamsCloneCopyFromCompatible(t *testing.T) {
	p := paramsInOrder(t, tensor.Float64, 1, "a", "b")
	q := p.Clone()
	if q.Seed() != p.Seed() || q.Dtype() != p.Dtype() {
		t.Errorf("Clone: seed %d dtype %v", q.Seed(), q.Dtype())
	}
	if d := testutil.ParamsDiff(p, q); d != "" {
		t.Fatal(d)
	}
	q.Value("a").Data().([]float64)[0] = 42
	if p.CopyFloat64s("a")[0] == 42 {
		t.Errorf("Clone shares tensors with the original")
	}

	withExtra := p.Clone()
	if err := withExtra.Add("extra", tensor.New(tensor.WithShape(2), tensor.WithBacking([]float64{1, 2}))); err != nil {
		t.Fatal(err)
	}
	missing := paramsInOrder(t, tensor.Float64, 1, "a")
	reshaped := NewParams(tensor.Float64, 1)
	bld := NewBuilder(reshaped)
	if _, err := bld.Param("a", tensor.Shape{3, 4}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := bld.Param("b", tensor.Shape{4, 3}, nil); err != nil {
		t.Fatal(err)
	}
	renamed := paramsInOrder(t, tensor.Float64, 1, "a", "c")
	float32s := paramsInOrder(t, tensor.Float32, 1, "a", "b")
	cases := []struct {
		name string
		q    *Params
		want []string
	}{
		{"missing", missing, []string{`"b"`, "missing"}},
		{"extra", withExtra, []string{`"extra"`, "unexpected"}},
		{"shape", reshaped, []string{`"b"`, "(4, 3)", "(3, 4)"}},
		{"renamed", renamed, []string{`"b"`, "missing"}},
		{"dtype", float32s, []string{"float32", "float64"}},
		{"nil", nil, []string{"nil"}},
	}
	for _, c := range cases {
		testutil.ErrContains(t, p.Compatible(c.q), c.want...)
		before := p.Clone()
		testutil.ErrContains(t, p.CopyFrom(c.q), c.want...)
		if d := testutil.ParamsDiff(before, p); d != "" { // a failed CopyFrom changes nothing
			t.Fatal(d)
		}
	}
	if err := p.Compatible(p.Clone()); err != nil {
		t.Errorf("Compatible with own clone: %v", err)
	}
}

func TestParamsAdd(t *testing.T) {
	vec := func(vals ...float64) *tensor.Dense {
		return tensor.New(tensor.WithShape(len(vals)), tensor.WithBacking(vals))
	}
	transposed := tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float64{1, 2, 3, 4, 5, 6}))
	if err := transposed.T(); err != nil {
		t.Fatal(err)
	}
	p := NewParams(tensor.Float64, 1)
	if err := p.Add("w", vec(1, 2)); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		p     *Params
		param string
		t     *tensor.Dense
		want  []string
	}{
		{"empty name", p, "", vec(1), []string{"name is empty"}},
		{"nil tensor", p, "v", nil, []string{`"v"`, "nil tensor"}},
		{"duplicate", p, "w", vec(1), []string{`"w"`, "already exists"}},
		{"dtype", p, "v", tensor.New(tensor.WithShape(1), tensor.WithBacking([]float32{1})), []string{`"v"`, "float32", "float64"}},
		{"not contiguous", p, "v", transposed, []string{`"v"`, "contiguous"}},
		{"int params", NewParams(tensor.Int, 1), "v", vec(1), []string{"int", "not supported"}},
	}
	for _, c := range cases {
		testutil.ErrContains(t, c.p.Add(c.param, c.t), c.want...)
	}
	if p.Len() != 1 || p.CopyFloat64s("w")[1] != 2 {
		t.Errorf("after failed Adds: %v", p.Names())
	}

	// An added tensor is the one graphs bind to: Param finds it instead of
	// initializing.
	b := NewBuilder(p)
	n, err := b.Param("w", tensor.Shape{2}, Zeros)
	if err != nil {
		t.Fatal(err)
	}
	if &n.Value().Data().([]float64)[0] != &p.Value("w").Data().([]float64)[0] {
		t.Errorf("Param is not bound to the added tensor's memory")
	}
}

// A float32 model computes the float64 model's loss and gradients to float32
// precision.
func TestFloat32EndToEnd(t *testing.T) {
	const n, in, k = 8, 5, 3
	x := make([]float64, n*in)
	fill := randn(11)
	for i := range x {
		x[i] = fill(i)
	}
	lossAndGrads := func(dt tensor.Dtype) (float64, [][]float64) {
		p := NewParams(dt, 3)
		b := NewBuilder(p)
		b.SetTraining(true)
		xn, err := b.Input("x", tensor.Shape{n, in})
		if err != nil {
			t.Fatal(err)
		}
		yn, err := b.Input("y", tensor.Shape{n})
		if err != nil {
			t.Fatal(err)
		}
		switch d := b.InputTensor("x").Data().(type) {
		case []float64:
			copy(d, x)
		case []float32:
			for i, v := range x {
				d[i] = float32(v)
			}
		}
		switch d := b.InputTensor("y").Data().(type) {
		case []float64:
			for i := range d {
				d[i] = float64(i % k)
			}
		case []float32:
			for i := range d {
				d[i] = float32(i % k)
			}
		}
		h, err := Dense(b, "h", xn, 6, nil)
		if err == nil {
			h, err = Tanh(h)
		}
		if err == nil {
			h, err = Dense(b, "out", h, k, nil)
		}
		var loss *G.Node
		if err == nil {
			loss, err = SoftmaxCrossEntropy(b, h, yn)
		}
		var l2 *G.Node
		if err == nil {
			l2, err = L2(b, 0.01)
		}
		if err == nil {
			loss, err = G.Add(loss, l2)
		}
		if err != nil {
			t.Fatal(err)
		}
		prog, err := b.Compile(loss)
		if err != nil {
			t.Fatal(err)
		}
		run(t, prog)
		var grads [][]float64
		for i := 0; i < prog.NumParams(); i++ {
			if g := prog.Grad(i); g.Dtype() != dt {
				t.Errorf("%v gradient of %s has dtype %v", dt, prog.ParamName(i), g.Dtype())
			}
			grads = append(grads, Float64s(prog.Grad(i)))
		}
		return prog.Loss(), grads
	}
	l64, g64 := lossAndGrads(tensor.Float64)
	l32, g32 := lossAndGrads(tensor.Float32)
	if rel := math.Abs(l32-l64) / math.Abs(l64); !(rel <= 1e-5) {
		t.Errorf("float32 loss %v, float64 loss %v: relative difference %.3g", l32, l64, rel)
	}
	if len(g32) != len(g64) || len(g64) != 4 {
		t.Fatalf("%d float32 gradients, %d float64", len(g32), len(g64))
	}
	for i := range g64 {
		for j := range g64[i] {
			if d := math.Abs(g32[i][j] - g64[i][j]); d > 1e-5*(1+math.Abs(g64[i][j])) {
				t.Errorf("gradient %d[%d]: float32 %v, float64 %v", i, j, g32[i][j], g64[i][j])
			}
		}
	}
	t.Logf("loss float64 %.10g, float32 %.10g", l64, l32)
}

// tensor.Shape.Eq holds (3) and (3, 1) equal; parameters, checkpoints and
// targets must not.
func TestShapesAreStrict(t *testing.T) {
	if SameShape(tensor.Shape{3}, tensor.Shape{3, 1}) || SameShape(tensor.Shape{1}, tensor.Shape{}) || !SameShape(tensor.Shape{2, 3}, tensor.Shape{2, 3}) {
		t.Fatal("SameShape is not strict")
	}
	p := NewParams(tensor.Float64, 1)
	b := NewBuilder(p)
	if _, err := b.Param("v", tensor.Shape{3}, nil); err != nil {
		t.Fatal(err)
	}
	_, err := b.Param("v", tensor.Shape{3, 1}, nil) // asking (3) as (3, 1)
	testutil.ErrContains(t, err, "(3, 1)")
	q := NewParams(tensor.Float64, 1)
	if err := q.Add("v", tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(3, 1))); err != nil {
		t.Fatal(err)
	}
	if err := p.Compatible(q); err == nil {
		t.Error("params of shapes (3) and (3, 1) compatible")
	}
	b2 := NewBuilder(p)
	out, _ := b2.Input("out", tensor.Shape{4, 1})
	y, _ := b2.Input("y", tensor.Shape{4})
	if _, err := MSE(b2, out, y); err == nil {
		t.Error("MSE of (4, 1) outputs against (4) targets accepted")
	}
}
