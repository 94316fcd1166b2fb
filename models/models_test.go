package models_test

import (
	"context"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/testutil"
	"github.com/descent-go/descent/models"
	"github.com/descent-go/descent/trainers"
)

// Linear regression trained by full-batch GD converges to the least-squares
// solution, which is within a few standard errors of the true weights.
func TestLinearRecoversWeights(t *testing.T) {
	const n, d, noise = 400, 5, 0.1
	ds, trueW, trueB, err := datasets.LinearRegression(n, d, noise, 1, tensor.Float64)
	must(t, err)
	p := graph.NewParams(tensor.Float64, 1)
	// The Hessian of the mean squared error, 2·AᵀA/n with A = [X 1], has
	// eigenvalues near 2 (X ~ N(0, I)), so step 0.3 contracts the error by
	// about half per epoch: 150 epochs reach machine precision.
	gd := trainers.GD{Config: trainers.Config{Epochs: 150, Loss: graph.MSE, Optimizer: trainers.SGD{LR: 0.3}, Seed: 1}}
	fit(t, gd, models.Linear{}, p, ds)
	got := append(p.CopyFloat64s("linear/w"), p.CopyFloat64s("linear/b")...)
	if len(got) != d+1 {
		t.Fatalf("params %v: got %d weights and biases, want %d", p.Names(), len(got), d+1)
	}

	// Closed form: min ||A·β − y||² by QR, and the standard errors
	// noise·sqrt(diag((AᵀA)⁻¹)) of the estimate.
	x := ds.X().Data().([]float64)
	a := mat.NewDense(n, d+1, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			a.Set(i, j, x[i*d+j])
		}
		a.Set(i, d, 1)
	}
	y := mat.NewVecDense(n, append([]float64(nil), ds.Y().Data().([]float64)...))
	var ls mat.VecDense
	must(t, ls.SolveVec(a, y))
	var ata, cov mat.Dense
	ata.Mul(a.T(), a)
	must(t, cov.Inverse(&ata))

	want := append(append([]float64(nil), trueW...), trueB)
	var lsDiff, trueDiff float64
	for j := range got {
		lsDiff = math.Max(lsDiff, math.Abs(got[j]-ls.AtVec(j)))
		se := noise * math.Sqrt(cov.At(j, j))
		e := math.Abs(got[j] - want[j])
		trueDiff = math.Max(trueDiff, e)
		if e > 5*se {
			t.Errorf("coefficient %d: got %.6f, true %.6f: off by %.2g, more than 5 standard errors (%.2g)", j, got[j], want[j], e, 5*se)
		}
	}
	if lsDiff > 1e-6 {
		t.Errorf("GD weights differ from the least-squares solution by %.3g, want ≤ 1e-6", lsDiff)
	}
	t.Logf("max |GD − least squares| = %.2g; max |GD − true| = %.2g (noise/√n = %.2g)", lsDiff, trueDiff, noise/math.Sqrt(n))
}

// binaryTargets turns a 2-class Dataset with class indices into one with
// (N, 1) targets in {0, 1}, as BinaryCrossEntropy wants.
func binaryTargets(t *testing.T, ds *datasets.Dataset) *datasets.Dataset {
	t.Helper()
	labels := ds.Labels()
	y := make([]float64, len(labels))
	for i, l := range labels {
		y[i] = float64(l)
	}
	out, err := datasets.FromFloat64(graph.Float64s(ds.X()), ds.X().Shape(), y, []int{len(y), 1}, ds.Dtype())
	must(t, err)
	return out
}

// Logistic regression separates two well-separated blobs without error.
func TestLogisticSeparatesBlobs(t *testing.T) {
	blobs, err := datasets.Blobs(200, 2, 2, 0.5, 3, tensor.Float64)
	must(t, err)
	ds := binaryTargets(t, blobs)
	p := graph.NewParams(tensor.Float64, 1)
	fit(t, quickSGD(10, graph.BinaryCrossEntropy), models.Logistic{}, p, ds)
	logits, err := models.Predict(models.Logistic{}, p, ds.X())
	must(t, err)
	if !logits.Shape().Eq(tensor.Shape{200, 1}) {
		t.Fatalf("logits shape %v, want (200, 1)", logits.Shape())
	}
	correct := 0
	for i, z := range graph.Float64s(logits) {
		if (z > 0) == (blobs.Labels()[i] == 1) {
			correct++
		}
	}
	if correct != 200 {
		t.Errorf("train accuracy %d/200, want 200/200 on separable blobs", correct)
	}
}

func testDigits(t *testing.T, m models.Model, min float64) {
	train, test := digits(t, tensor.Float64)
	p := graph.NewParams(tensor.Float64, 1)
	start := time.Now()
	fit(t, quickSGD(10, graph.SoftmaxCrossEntropy), m, p, train)
	met, err := models.Evaluate(m, p, graph.SoftmaxCrossEntropy, test)
	must(t, err)
	if !met.Classify || met.N != test.Len() {
		t.Fatalf("metrics %+v: want classification metrics over %d examples", met, test.Len())
	}
	if met.Accuracy < min {
		t.Errorf("%T: test accuracy %.4f, want ≥ %.2f", m, met.Accuracy, min)
	}
	t.Logf("%T: test accuracy %.4f, loss %.4f, trained in %v", m, met.Accuracy, met.Loss, time.Since(start).Round(time.Millisecond))
}

func TestSoftmaxDigits(t *testing.T) { testDigits(t, models.Softmax{Classes: 10}, 0.95) }

func TestMLPDigits(t *testing.T) { testDigits(t, models.MLP{Hidden: []int{64}, Outputs: 10}, 0.95) }

// LeNet maps MNIST-shaped batches to logits, and accepts any image of at
// least 12×12 pixels, with any number of channels.
func TestLeNetForward(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, s := range []tensor.Shape{{5, 1, 28, 28}, {2, 1, 12, 12}, {2, 1, 13, 13}, {2, 1, 15, 15}, {2, 3, 12, 20}, {1, 1, 32, 32}} {
		x := tensor.New(tensor.WithShape(s...), tensor.Of(tensor.Float32))
		for i, d := 0, x.Data().([]float32); i < len(d); i++ {
			d[i] = r.Float32()
		}
		p := graph.NewParams(tensor.Float32, 1)
		must(t, models.Init(models.LeNet{}, p, s[1:]))
		out, err := models.Predict(models.LeNet{}, p, x)
		if err != nil {
			t.Errorf("input %v: %v", s, err)
			continue
		}
		if !out.Shape().Eq(tensor.Shape{s[0], 10}) || out.Dtype() != tensor.Float32 {
			t.Errorf("input %v: output %v %v, want (%d, 10) float32", s, out.Shape(), out.Dtype(), s[0])
		}
		for _, v := range graph.Float64s(out) {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Errorf("input %v: output %v", s, graph.Float64s(out))
				break
			}
		}
	}
	p := graph.NewParams(tensor.Float32, 1)
	must(t, models.Init(models.LeNet{Classes: 3}, p, tensor.Shape{1, 28, 28}))
	out, err := models.Predict(models.LeNet{Classes: 3}, p, tensor.New(tensor.WithShape(4, 1, 28, 28), tensor.Of(tensor.Float32)))
	must(t, err)
	if !out.Shape().Eq(tensor.Shape{4, 3}) {
		t.Errorf("LeNet{Classes: 3}: output %v, want (4, 3)", out.Shape())
	}
}

func TestLeNetBadInputs(t *testing.T) {
	p := graph.NewParams(tensor.Float32, 1)
	for _, c := range []struct {
		m     models.LeNet
		shape tensor.Shape
		want  string
	}{
		{models.LeNet{}, tensor.Shape{4, 784}, "(4, 784)"},
		{models.LeNet{}, tensor.Shape{4, 28, 28}, "(4, 28, 28)"},
		{models.LeNet{}, tensor.Shape{2, 1, 11, 28}, "(2, 1, 11, 28)"},
		{models.LeNet{}, tensor.Shape{2, 1, 28, 8}, "(2, 1, 28, 8)"},
		{models.LeNet{Classes: -1}, tensor.Shape{2, 1, 28, 28}, "Classes = -1"},
		{models.LeNet{Classes: 1}, tensor.Shape{2, 1, 28, 28}, "Classes = 1"},
	} {
		_, err := models.Predict(c.m, p, tensor.New(tensor.WithShape(c.shape...), tensor.Of(tensor.Float32)))
		testutil.ErrContains(t, err, "LeNet", c.want)
	}
	if p.Len() != 0 {
		t.Errorf("failed builds left parameters %v", p.Names())
	}
}

// leNetGradInputs makes a tiny LeNet problem: 2 random 12×12 images and
// their classes.
func leNetGradInputs(b *graph.Builder) (x, y *G.Node, err error) {
	if x, err = b.Input("x", tensor.Shape{2, 1, 12, 12}); err != nil {
		return nil, nil, err
	}
	r := rand.New(rand.NewSource(5))
	for i, d := 0, b.InputTensor("x").Data().([]float64); i < len(d); i++ {
		d[i] = r.NormFloat64()
	}
	if y, err = b.Input("y", tensor.Shape{2}); err != nil {
		return nil, nil, err
	}
	copy(b.InputTensor("y").Data().([]float64), []float64{3, 7})
	return x, y, nil
}

func leNetLoss(b *graph.Builder) (*G.Node, error) {
	x, y, err := leNetGradInputs(b)
	if err != nil {
		return nil, err
	}
	out, err := models.LeNet{}.Forward(b, x)
	if err != nil {
		return nil, err
	}
	return graph.SoftmaxCrossEntropy(b, out, y)
}

// LeNet's reverse-mode gradients agree with central differences, scalar by
// scalar: every weight of the two convolutions (through gorgonia's Conv2d
// and MaxPool2D) and a seeded sample of the Dense weights after them.
//
// The tolerance is the one graph.GradCheck uses, 1e-6 relative, plus the
// resolution of the differences themselves: a loss L computed in float64 is
// off by some ulps, ε·|L|, so (L(w+h) − L(w−h))/2h cannot resolve
// gradients below about ε·|L|/h ≈ 5e-10 here. Tiny gradients (the logits of
// unlikely classes) are below 1e-6 and meet that floor, not the relative
// bound; TestLeNetGradCheck reports graph.GradCheck's figure.
func TestLeNetGradients(t *testing.T) {
	const eps = 1e-6
	p := graph.NewParams(tensor.Float64, 7)
	train := graph.NewBuilder(p)
	train.SetTraining(true)
	loss, err := leNetLoss(train)
	must(t, err)
	prog, err := train.Compile(loss)
	must(t, err)
	defer prog.Close()
	must(t, prog.Run())
	analytic := map[string][]float64{}
	for i := 0; i < prog.NumParams(); i++ {
		analytic[prog.ParamName(i)] = graph.Float64s(prog.Grad(i))
	}
	if len(analytic) != 10 || len(analytic) != p.Len() {
		t.Fatalf("gradients of %d parameters, params %v", len(analytic), p.Names())
	}

	// An evaluation graph of the same loss computes the differences: it
	// runs forward only, twice as fast.
	eval := graph.NewBuilder(p)
	evalLoss, err := leNetLoss(eval)
	must(t, err)
	ev, err := eval.Compile(evalLoss)
	must(t, err)
	defer ev.Close()
	must(t, ev.Run())
	l0 := ev.Loss()
	if math.Abs(l0-prog.Loss()) > 1e-12 {
		t.Fatalf("evaluation loss %v, training loss %v", l0, prog.Loss())
	}
	floor := 16 * 0x1p-52 * math.Max(1, math.Abs(l0)) / eps

	sample := 60 // Dense weights checked per parameter
	if testutil.Race {
		sample = 10
	}
	r := rand.New(rand.NewSource(9))
	var maxRel, maxAbs, maxRelBig float64
	checked := 0
	for _, name := range p.Names() {
		w := p.Value(name).Data().([]float64)
		idx := r.Perm(len(w))
		if len(name) > 4 && name[:4] == "conv" {
			if testutil.Race && len(idx) > 300 {
				idx = idx[:300]
			}
			sort.Ints(idx)
		} else if len(idx) > sample {
			idx = idx[:sample]
		}
		for _, j := range idx {
			orig := w[j]
			w[j] = orig + eps
			must(t, ev.Run())
			up := ev.Loss()
			w[j] = orig - eps
			must(t, ev.Run())
			down := ev.Loss()
			w[j] = orig
			num, a := (up-down)/(2*eps), analytic[name][j]
			big := math.Max(math.Abs(a), math.Abs(num))
			diff := math.Abs(a - num)
			rel := diff / math.Max(big, graph.GradCheckFloor)
			maxRel, maxAbs = math.Max(maxRel, rel), math.Max(maxAbs, diff)
			if big > 1e-3 {
				maxRelBig = math.Max(maxRelBig, rel)
			}
			if !(diff <= 1e-6*big+floor) {
				t.Errorf("%s[%d]: analytic %.10g, numeric %.10g: differ by %.3g (relative %.3g), allowed 1e-6·%.3g + %.3g",
					name, j, a, num, diff, rel, big, floor)
			}
			checked++
		}
	}
	t.Logf("%d scalars of %d checked: max relative error %.2g (%.2g where |g| > 1e-3), max absolute %.2g, floor %.2g",
		checked, p.NumScalars(), maxRel, maxRelBig, maxAbs, floor)
}

// graph.GradCheck over every one of LeNet's 15,626 scalars: two forward and
// backward runs per scalar, about 8 s, so -short and the race detector skip
// it; TestLeNetGradients is the quick check that always runs.
func TestLeNetGradCheck(t *testing.T) {
	if testing.Short() || testutil.Race {
		t.Skip("graph.GradCheck of all of LeNet takes seconds; TestLeNetGradients checks a sample")
	}
	t.Parallel()
	p := graph.NewParams(tensor.Float64, 7)
	start := time.Now()
	res, err := graph.GradCheck(p, leNetLoss, 1e-6)
	must(t, err)
	if res.Checked != p.NumScalars() {
		t.Errorf("checked %d scalars of %d", res.Checked, p.NumScalars())
	}
	// The worst relative error falls on a tiny gradient, where the finite
	// difference's own rounding (≈ 5e-10 absolute) dominates.
	if !(res.MaxRelErr <= 1e-6 || math.Abs(res.Analytic-res.Numeric) <= 1e-8) {
		t.Errorf("max relative error %.3g at %s[%d]: analytic %.10g, numeric %.10g", res.MaxRelErr, res.Param, res.Index, res.Analytic, res.Numeric)
	}
	t.Logf("%d scalars in %v: max relative error %.2g at %s[%d] (analytic %.6g, numeric %.6g)",
		res.Checked, time.Since(start).Round(time.Second), res.MaxRelErr, res.Param, res.Index, res.Analytic, res.Numeric)
}

// LeNet learns on real MNIST: one epoch of mini-batch SGD over 1000
// examples lowers the loss.
func TestLeNetMNIST(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "data", "mnist")
	if _, err := os.Stat(filepath.Join(dir, "train-labels-idx1-ubyte.gz")); err != nil {
		t.Skipf("no MNIST at %s: %v", dir, err)
	}
	if testutil.Race {
		// Decoding 70,000 images takes half a minute under the race
		// detector, and this single-goroutine check has no race to find.
		t.Skip("MNIST is too slow to load under the race detector")
	}
	train, _, err := datasets.LoadMNISTWith(context.Background(), dir, datasets.MNISTOptions{Dtype: tensor.Float32, Layout: datasets.NCHW})
	must(t, err)
	if !train.XShape().Eq(tensor.Shape{1, 28, 28}) {
		t.Fatalf("MNIST example shape %v, want (1, 28, 28)", train.XShape())
	}
	idx := make([]int, 1000)
	for i := range idx {
		idx[i] = i
	}
	sub, err := train.Subset(idx)
	must(t, err)
	m := models.LeNet{}
	p := graph.NewParams(tensor.Float32, 1)
	must(t, models.Init(m, p, sub.XShape()))
	before, err := models.Evaluate(m, p, graph.SoftmaxCrossEntropy, sub)
	must(t, err)
	start := time.Now()
	h := fit(t, quickSGD(1, graph.SoftmaxCrossEntropy), m, p, sub)
	after, err := models.Evaluate(m, p, graph.SoftmaxCrossEntropy, sub)
	must(t, err)
	if !(after.Loss < 0.7*before.Loss) {
		t.Errorf("loss %.4f before and %.4f after an epoch: want it to fall by 30%% at least", before.Loss, after.Loss)
	}
	t.Logf("1000 MNIST examples, 1 epoch (%d steps) in %v: loss %.3f → %.3f (epoch mean %.3f), accuracy %.3f → %.3f",
		h.Epochs[0].Updates, time.Since(start).Round(time.Millisecond), before.Loss, after.Loss, h.Epochs[0].TrainLoss, before.Accuracy, after.Accuracy)
}
