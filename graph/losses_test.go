package graph

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/testutil"
)

// lossOf evaluates loss(z, y) with z a parameter holding the given logits or
// outputs, returning the loss and its gradient with respect to z.
func lossOf(t *testing.T, dt tensor.Dtype, loss Loss, zShape tensor.Shape, z []float64, yShape tensor.Shape, y []float64) (float64, []float64, error) {
	t.Helper()
	p := NewParams(dt, 1)
	b := NewBuilder(p)
	b.SetTraining(true)
	zn, err := b.Param("z", zShape, Zeros)
	if err != nil {
		t.Fatal(err)
	}
	setFloat64s(p.Value("z"), z)
	yn, err := b.Input("y", yShape)
	if err != nil {
		t.Fatal(err)
	}
	setFloat64s(b.InputTensor("y"), y)
	l, err := loss(b, zn, yn)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := b.Compile(l)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	if err := prog.Run(); err != nil {
		return 0, nil, err
	}
	return prog.Loss(), Float64s(prog.Grad(0)), nil
}

func softplus(x float64) float64 { return math.Log1p(math.Exp(x)) }

func TestLossValues(t *testing.T) {
	// Softmax cross-entropy rows: −log softmax(z)[y] by hand.
	lse123 := 3 + math.Log(1+math.Exp(-1)+math.Exp(-2)) // log(e¹+e²+e³)
	sm123 := []float64{math.Exp(1 - lse123), math.Exp(2 - lse123), math.Exp(3 - lse123)}
	huge := []float64{1000, 0, -1000}
	cases := []struct {
		name   string
		loss   Loss
		zShape tensor.Shape
		z      []float64
		yShape tensor.Shape
		y      []float64
		want   float64
		grad   []float64 // d loss / d z
	}{
		{"MSE", MSE, tensor.Shape{2, 2}, []float64{1, 2, 3, 4}, tensor.Shape{2, 2}, []float64{0, 2, 5, 1},
			(1 + 0 + 4 + 9) / 4.0, []float64{2 * 1 / 4.0, 0, 2 * -2 / 4.0, 2 * 3 / 4.0}},
		{"MSE 1-D", MSE, tensor.Shape{3}, []float64{1, -1, 0.5}, tensor.Shape{3}, []float64{0, 0, 0},
			(1 + 1 + 0.25) / 3, []float64{2 / 3.0, -2 / 3.0, 1 / 3.0}},
		{"BCE (B,1)", BinaryCrossEntropy, tensor.Shape{4, 1}, []float64{0, 2, -3, 0.5}, tensor.Shape{4, 1}, []float64{1, 0, 1, 0.25},
			// −y log σ(z) − (1−y) log(1−σ(z)) = softplus(z) − y·z
			(softplus(0) + softplus(2) + softplus(-3) + 3 + softplus(0.5) - 0.125) / 4,
			[]float64{(0.5 - 1) / 4, (sigmoid(2) - 0) / 4, (sigmoid(-3) - 1) / 4, (sigmoid(0.5) - 0.25) / 4}},
		{"BCE huge logits", BinaryCrossEntropy, tensor.Shape{4, 1}, []float64{1000, -1000, 1000, -1000}, tensor.Shape{4, 1}, []float64{1, 0, 0, 1},
			(0 + 0 + 1000 + 1000) / 4.0, []float64{0, 0, 1 / 4.0, -1 / 4.0}},
		{"SCE indices", SoftmaxCrossEntropy, tensor.Shape{2, 3}, []float64{1, 2, 3, 1, 2, 3}, tensor.Shape{2}, []float64{2, 0},
			(lse123 - 3 + lse123 - 1) / 2,
			[]float64{sm123[0] / 2, sm123[1] / 2, (sm123[2] - 1) / 2, (sm123[0] - 1) / 2, sm123[1] / 2, sm123[2] / 2}},
		{"SCE one-hot", SoftmaxCrossEntropy, tensor.Shape{2, 3}, []float64{1, 2, 3, 1, 2, 3}, tensor.Shape{2, 3}, []float64{0, 0, 1, 1, 0, 0},
			(lse123 - 3 + lse123 - 1) / 2,
			[]float64{sm123[0] / 2, sm123[1] / 2, (sm123[2] - 1) / 2, (sm123[0] - 1) / 2, sm123[1] / 2, sm123[2] / 2}},
		{"SCE soft targets", SoftmaxCrossEntropy, tensor.Shape{1, 3}, []float64{1, 2, 3}, tensor.Shape{1, 3}, []float64{0.5, 0, 0.5},
			0.5*(lse123-1) + 0.5*(lse123-3),
			[]float64{sm123[0] - 0.5, sm123[1], sm123[2] - 0.5}},
		{"SCE huge logits, indices", SoftmaxCrossEntropy, tensor.Shape{3, 3}, append(append(append([]float64{}, huge...), huge...), huge...),
			tensor.Shape{3}, []float64{0, 1, 2},
			(0 + 1000 + 2000) / 3.0,
			[]float64{0, 0, 0, 1 / 3.0, -1 / 3.0, 0, 1 / 3.0, 0, -1 / 3.0}},
		{"SCE huge logits, one-hot", SoftmaxCrossEntropy, tensor.Shape{3, 3}, append(append(append([]float64{}, huge...), huge...), huge...),
			tensor.Shape{3, 3}, []float64{1, 0, 0, 0, 1, 0, 0, 0, 1},
			(0 + 1000 + 2000) / 3.0,
			[]float64{0, 0, 0, 1 / 3.0, -1 / 3.0, 0, 1 / 3.0, 0, -1 / 3.0}},
	}
	for _, c := range cases {
		for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
			got, grad, err := lossOf(t, dt, c.loss, c.zShape, c.z, c.yShape, c.y)
			if err != nil {
				t.Errorf("%s %v: %v", c.name, dt, err)
				continue
			}
			tol := 1e-12
			if dt == tensor.Float32 {
				tol = 1e-6
			}
			if math.IsNaN(got) || math.IsInf(got, 0) || math.Abs(got-c.want) > tol*(1+math.Abs(c.want)) {
				t.Errorf("%s %v: loss %v, want %v", c.name, dt, got, c.want)
			}
			for i, g := range grad {
				if math.IsNaN(g) || math.Abs(g-c.grad[i]) > tol {
					t.Errorf("%s %v: gradient[%d] %v, want %v", c.name, dt, i, g, c.grad[i])
				}
			}
		}
	}
}

func TestSoftmaxCrossEntropyBadClass(t *testing.T) {
	for _, c := range []struct {
		y    float64
		want string
	}{
		{3, "class 3"},
		{-1, "class -1"},
		{1.5, "class 1.5"},
		{math.NaN(), "class NaN"},
	} {
		_, _, err := lossOf(t, tensor.Float64, SoftmaxCrossEntropy, tensor.Shape{2, 3}, []float64{1, 2, 3, 4, 5, 6}, tensor.Shape{2}, []float64{0, c.y})
		testutil.ErrContains(t, err, c.want, "example 1", "3 outputs")
	}
}

// Losses fed to a Program as plain inputs (no parameters) compute the same
// values in an evaluation graph.
func TestLossEvaluationGraph(t *testing.T) {
	b := NewBuilder(NewParams(tensor.Float64, 1))
	z := fillInput(t, b, "z", tensor.Shape{1, 3}, func(i int) float64 { return []float64{1000, 0, -1000}[i] })
	y := fillInput(t, b, "y", tensor.Shape{1}, func(int) float64 { return 1 })
	l, err := SoftmaxCrossEntropy(b, z, y)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := b.Compile(l)
	if err != nil {
		t.Fatal(err)
	}
	run(t, prog)
	if prog.Loss() != 1000 || prog.NumParams() != 0 {
		t.Errorf("loss %v with %d params, want 1000 with none", prog.Loss(), prog.NumParams())
	}
}

func TestLossBadInputs(t *testing.T) {
	b := NewBuilder(NewParams(tensor.Float64, 1))
	in := func(name string, shape ...int) *G.Node {
		n, err := b.Input(name, tensor.Shape(shape))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	o43, y42, y43, y5 := in("o43", 4, 3), in("y42", 4, 2), in("y43", 4, 3), in("y5", 5)
	o433, y4 := in("o433", 4, 3, 3), in("y4", 4)
	f32 := G.NewTensor(b.Graph(), tensor.Float32, 2, G.WithShape(4, 3), G.WithName("f32"))
	other := NewBuilder(NewParams(tensor.Float64, 1))
	foreign, err := other.Input("foreign", tensor.Shape{4, 3})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		loss     Loss
		out, tgt *G.Node
		want     []string
	}{
		{"MSE shapes", MSE, o43, y42, []string{"MSE", "(4, 3)", "(4, 2)"}},
		{"BCE shapes", BinaryCrossEntropy, o43, y42, []string{"BinaryCrossEntropy", "(4, 3)", "(4, 2)"}},
		{"SCE shapes", SoftmaxCrossEntropy, o43, y42, []string{"SoftmaxCrossEntropy", "(4, 3)", "(4, 2)"}},
		{"SCE batch", SoftmaxCrossEntropy, o43, y5, []string{"SoftmaxCrossEntropy", "(4, 3)", "(5)", "batch"}},
		{"SCE 3-D output", SoftmaxCrossEntropy, o433, y4, []string{"SoftmaxCrossEntropy", "(4, 3, 3)", "(batch, classes)"}},
		{"MSE dtype", MSE, o43, f32, []string{"MSE", "float64", "float32"}},
		{"SCE dtype", SoftmaxCrossEntropy, f32, y43, []string{"SoftmaxCrossEntropy", "float32", "float64"}},
		{"nil output", MSE, nil, y43, []string{"MSE", "nil"}},
		{"nil target", BinaryCrossEntropy, o43, nil, []string{"BinaryCrossEntropy", "nil"}},
		{"another graph", MSE, o43, foreign, []string{"MSE"}},
	}
	for _, c := range cases {
		l, err := c.loss(b, c.out, c.tgt)
		testutil.ErrContains(t, err, c.want...)
		if l != nil {
			t.Errorf("%s: a node with the error", c.name)
		}
	}
}

func TestPenaltyErrors(t *testing.T) {
	b := NewBuilder(NewParams(tensor.Float64, 1))
	_, err := L2(b, 0.1)
	testutil.ErrContains(t, err, "L2", "no parameters")
	x := fillInput(t, b, "x", tensor.Shape{2, 3}, randn(1))
	if _, err := Dense(b, "d", x, 2, nil); err != nil {
		t.Fatal(err)
	}
	_, err = L1(b, -1)
	testutil.ErrContains(t, err, "L1", "lambda -1")
	_, err = L2(b, math.NaN())
	testutil.ErrContains(t, err, "L2", "lambda NaN")
	_, err = L2(b, 0.1, "d/w", "nope")
	testutil.ErrContains(t, err, "L2", `"nope"`)
	_, err = L1(nil, 0.1)
	testutil.ErrContains(t, err, "L1", "nil builder")
}

// L2 and L1 over named parameters compute (λ/2)Σw² and λΣ|w|.
func TestPenaltyValues(t *testing.T) {
	p := NewParams(tensor.Float64, 1)
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		p = NewParams(dt, 1)
		b := NewBuilder(p)
		if _, err := b.Param("a", tensor.Shape{2}, Constant(-3)); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Param("b", tensor.Shape{1}, Constant(2)); err != nil {
			t.Fatal(err)
		}
		l2all, err := L2(b, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		l1b, err := L1(b, 0.25, "b")
		if err != nil {
			t.Fatal(err)
		}
		prog, err := b.Compile(nil, l2all, l1b)
		if err != nil {
			t.Fatal(err)
		}
		run(t, prog)
		if got := Float64s(prog.Output(0))[0]; got != 0.25*(9+9+4) {
			t.Errorf("%v: L2 = %v, want %v", dt, got, 0.25*(9+9+4))
		}
		if got := Float64s(prog.Output(1))[0]; got != 0.5 {
			t.Errorf("%v: L1 over b = %v, want 0.5", dt, got)
		}
	}
}
