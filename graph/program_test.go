package graph

import (
	"math"
	"sync"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/testutil"
)

// linearMSE builds loss = MSE(x·w + b, y) for x (2, 2), w (2, 1) = [1, 2],
// b = [0.5], y (2, 1), with w and b added to p (unless there already).
func linearMSE(t *testing.T, p *Params, training bool) (*Builder, *G.Node, *G.Node) {
	t.Helper()
	if p.Value("d/w") == nil {
		if err := p.Add("d/w", tensor.New(tensor.WithShape(2, 1), tensor.WithBacking([]float64{1, 2}))); err != nil {
			t.Fatal(err)
		}
		if err := p.Add("d/b", tensor.New(tensor.WithShape(1), tensor.WithBacking([]float64{0.5}))); err != nil {
			t.Fatal(err)
		}
	}
	b := NewBuilder(p)
	b.SetTraining(training)
	x := fillInput(t, b, "x", tensor.Shape{2, 2}, func(i int) float64 { return []float64{1, 0, 0, 1}[i] })
	y := fillInput(t, b, "y", tensor.Shape{2, 1}, func(i int) float64 { return []float64{0, 0}[i] })
	h, err := Dense(b, "d", x, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := MSE(b, h, y)
	if err != nil {
		t.Fatal(err)
	}
	return b, loss, h
}

func TestProgramInputsAndOutputs(t *testing.T) {
	b, loss, h := linearMSE(t, NewParams(tensor.Float64, 1), true)
	prog, err := b.Compile(loss, h)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	x := prog.Input("x")
	if x == nil || x != b.InputTensor("x") || prog.Input("nope") != nil {
		t.Fatalf("Input(x) = %p, the builder's tensor %p; Input(nope) = %v", x, b.InputTensor("x"), prog.Input("nope"))
	}
	run(t, prog)
	// x = I: outputs w + b = [1.5, 2.5], loss (1.5² + 2.5²)/2.
	if got, want := prog.Loss(), (1.5*1.5+2.5*2.5)/2; got != want {
		t.Errorf("loss %v, want %v", got, want)
	}
	if prog.NumOutputs() != 1 || !testutil.SameBits(Float64s(prog.Output(0)), []float64{1.5, 2.5}) {
		t.Errorf("outputs %d: %v, want [1.5 2.5]", prog.NumOutputs(), prog.Output(0))
	}
	// Refill x in place: x = [[2, 0], [1, 1]] → outputs [2.5, 3.5].
	copy(x.Data().([]float64), []float64{2, 0, 1, 1})
	prog.Input("y").Data().([]float64)[1] = 1
	run(t, prog)
	if got, want := prog.Loss(), (2.5*2.5+2.5*2.5)/2; got != want {
		t.Errorf("after refilling x and y: loss %v, want %v", got, want)
	}
	if !testutil.SameBits(Float64s(prog.Output(0)), []float64{2.5, 3.5}) {
		t.Errorf("after refilling x: outputs %v, want [2.5 3.5]", prog.Output(0))
	}
	// d/dw of mean((x·w + b − y)²) = (2/n)·xᵀ(x·w + b − y); d/db = (2/n)·Σ(…).
	r := []float64{2.5, 2.5}
	if gw, gb := Float64s(prog.Grad(0)), Float64s(prog.Grad(1)); !testutil.SameBits(gw, []float64{2*r[0] + r[1], r[1]}) || !testutil.SameBits(gb, []float64{r[0] + r[1]}) {
		t.Errorf("gradients w %v b %v, want [7.5 2.5] [5]", gw, gb)
	}
}

// Gradients are those of the last run, not sums over runs.
func TestProgramGradientsPerRun(t *testing.T) {
	p := NewParams(tensor.Float64, 4)
	build := model(t, tensor.Shape{4, 3}, sceIndexHead, dense("d1", 5), act(Tanh), dense("d2", 3))
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
	grads := func() [][]float64 {
		var gs [][]float64
		for i := 0; i < prog.NumParams(); i++ {
			gs = append(gs, Float64s(prog.Grad(i)))
		}
		return gs
	}
	run(t, prog)
	first, firstLoss := grads(), prog.Loss()
	run(t, prog)
	second := grads()
	// A run on other inputs, then the first inputs again.
	x := prog.Input("x").Data().([]float64)
	saved := append([]float64(nil), x...)
	for i := range x {
		x[i] *= -2
	}
	run(t, prog)
	other := grads()
	copy(x, saved)
	run(t, prog)
	third := grads()
	if prog.Loss() != firstLoss {
		t.Errorf("loss %v on the first inputs again, was %v", prog.Loss(), firstLoss)
	}
	for i := range first {
		if !testutil.SameBits(first[i], second[i]) || !testutil.SameBits(first[i], third[i]) {
			t.Errorf("%s: gradients differ between runs on the same input:\n%v\n%v\n%v", prog.ParamName(i), first[i], second[i], third[i])
		}
		if testutil.SameBits(first[i], other[i]) {
			t.Errorf("%s: gradient unchanged by other inputs", prog.ParamName(i))
		}
	}
}

func TestProgramParamOrder(t *testing.T) {
	p := NewParams(tensor.Float64, 1)
	b := NewBuilder(p)
	if _, err := b.Param("a", tensor.Shape{2}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Param("b", tensor.Shape{2}, nil); err != nil {
		t.Fatal(err)
	}
	// A second graph asks for b, then a: gradients still come in Params order.
	b2 := NewBuilder(p)
	b2.SetTraining(true)
	bn, _ := b2.Param("b", tensor.Shape{2}, nil)
	an, _ := b2.Param("a", tensor.Shape{2}, nil)
	prod, err := G.HadamardProd(bn, an)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := G.Sum(prod)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := b2.Compile(loss)
	if err != nil {
		t.Fatal(err)
	}
	run(t, prog)
	if prog.NumParams() != 2 || prog.ParamName(0) != "a" || prog.ParamName(1) != "b" {
		t.Fatalf("params %d: %s, %s; want a, b", prog.NumParams(), prog.ParamName(0), prog.ParamName(1))
	}
	// d Σ a⊙b / da = b.
	if !testutil.SameBits(Float64s(prog.Grad(0)), p.CopyFloat64s("b")) || !testutil.SameBits(Float64s(prog.Grad(1)), p.CopyFloat64s("a")) {
		t.Errorf("gradients %v %v, want b %v and a %v", prog.Grad(0), prog.Grad(1), p.CopyFloat64s("b"), p.CopyFloat64s("a"))
	}
}

func TestEvaluationGraphHasNoGradients(t *testing.T) {
	b, loss, _ := linearMSE(t, NewParams(tensor.Float64, 1), false)
	prog, err := b.Compile(loss)
	if err != nil {
		t.Fatal(err)
	}
	run(t, prog)
	if prog.NumParams() != 0 || prog.Loss() != (1.5*1.5+2.5*2.5)/2 {
		t.Errorf("evaluation graph: %d gradients, loss %v", prog.NumParams(), prog.Loss())
	}
	// A program without a loss reports 0.
	b, _, h := linearMSE(t, NewParams(tensor.Float64, 1), true)
	prog, err = b.Compile(nil, h)
	if err != nil {
		t.Fatal(err)
	}
	run(t, prog)
	if prog.Loss() != 0 || prog.NumParams() != 0 {
		t.Errorf("program without loss: loss %v, %d gradients", prog.Loss(), prog.NumParams())
	}
}

func TestCompileErrors(t *testing.T) {
	b, loss, h := linearMSE(t, NewParams(tensor.Float64, 1), true)
	_, err := b.Compile(h)
	testutil.ErrContains(t, err, "scalar", "(2, 1)")
	if _, err := b.Compile(loss); err != nil {
		t.Fatalf("Compile after a failed Compile: %v", err)
	}
	_, err = b.Compile(loss)
	testutil.ErrContains(t, err, "already compiled")

	_, err = (*Builder)(nil).Compile(nil)
	testutil.ErrContains(t, err, "nil builder")

	// A parameter the loss does not depend on has no gradient.
	p := NewParams(tensor.Float64, 1)
	b = NewBuilder(p)
	b.SetTraining(true)
	x := fillInput(t, b, "x", tensor.Shape{3, 2}, randn(1))
	out, err := Dense(b, "used", x, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Dense(b, "unused", x, 2, nil); err != nil {
		t.Fatal(err)
	}
	loss, err = mseHead(t, b, out)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Compile(loss)
	testutil.ErrContains(t, err, "unused/w")

	// A loss from another graph.
	b1, loss1, _ := linearMSE(t, NewParams(tensor.Float64, 1), true)
	_ = b1
	b2 := NewBuilder(NewParams(tensor.Float64, 1))
	b2.SetTraining(true)
	if _, err := b2.Param("w", tensor.Shape{2}, nil); err != nil {
		t.Fatal(err)
	}
	_, err = b2.Compile(loss1)
	testutil.ErrContains(t, err, "graph")
}

// Programs of one Params run concurrently: they only read the parameters.
// (gorgonia transposes matmul operands in place during a run; graphs sharing
// one tensor header would race, which -race reports.)
func TestProgramsRunConcurrently(t *testing.T) {
	p := NewParams(tensor.Float64, 2)
	build := model(t, tensor.Shape{2, 1, 6, 6}, sceIndexHead, conv("c", 2, 3, 1, 1), act(ReLU), pool(2, 2),
		flatten(), dense("d1", 5), act(Tanh), dense("d2", 3))
	var progs []*Program
	for i := 0; i < 4; i++ {
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
		progs = append(progs, prog)
	}
	before := p.Clone()
	losses := make([]float64, len(progs))
	errs := make([]error, len(progs))
	var wg sync.WaitGroup
	for i, prog := range progs {
		i, prog := i, prog
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 20 && errs[i] == nil; j++ {
				errs[i] = prog.Run()
			}
			losses[i] = prog.Loss()
		}()
	}
	wg.Wait()
	for i := range progs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if losses[i] != losses[0] || math.IsNaN(losses[i]) {
			t.Errorf("program %d: loss %v, program 0: %v", i, losses[i], losses[0])
		}
	}
	if d := testutil.ParamsDiff(before, p); d != "" {
		t.Fatal(d)
	}
}
