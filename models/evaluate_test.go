package models_test

import (
	"math"
	"reflect"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/testutil"
	"github.com/descent-go/descent/models"
)

// identity is a model without parameters whose output is its input, so
// that a test chooses the logits or predictions.
type identity struct{}

func (identity) Forward(b *graph.Builder, x *G.Node) (*G.Node, error) { return x, nil }

func TestEvaluateClassification(t *testing.T) {
	logits := []float64{
		2, 1, 0, // predicts 0
		0, 3, 1, // 1
		1, 0, 5, // 2
		4, 0, 0, // 0
		0, 0, 1, // 2
		1, 2, 0, // 1
		3, 3, 0, // a tie: the first, 0
	}
	labels := []float64{0, 1, 1, 2, 2, 0, 0}
	var wantLoss float64
	for i, l := range labels {
		row := logits[3*i : 3*i+3]
		var s float64
		for _, z := range row {
			s += math.Exp(z)
		}
		wantLoss += math.Log(s) - row[int(l)]
	}
	wantLoss /= float64(len(labels))
	wantConf := [][]int{
		{2, 1, 0},
		{0, 1, 1},
		{1, 0, 1},
	}
	ds, err := datasets.FromFloat64(logits, []int{7, 3}, labels, []int{7}, tensor.Float64)
	must(t, err)
	oneHot, err := ds.OneHot()
	must(t, err)
	p := graph.NewParams(tensor.Float64, 1)
	for _, d := range []*datasets.Dataset{ds, oneHot} {
		for _, chunk := range []int{0, 1, 3} {
			e := models.NewEvaluator(identity{}, p, graph.SoftmaxCrossEntropy, chunk)
			met, err := e.Evaluate(d)
			e.Close()
			must(t, err)
			if !met.Classify || met.N != 7 || met.Accuracy != 4.0/7 || !reflect.DeepEqual(met.Confusion, wantConf) {
				t.Errorf("targets %v, chunk %d: N %d, accuracy %v, confusion %v; want 7, 4/7, %v", d.YShape(), chunk, met.N, met.Accuracy, met.Confusion, wantConf)
			}
			if math.Abs(met.Loss-wantLoss) > 1e-15 {
				t.Errorf("targets %v, chunk %d: loss %.17g, want %.17g", d.YShape(), chunk, met.Loss, wantLoss)
			}
			// One-hot rows are also targets of the output's shape.
			if oneHotTargets := d == oneHot; met.Regress != oneHotTargets || (!oneHotTargets && (met.MSE != 0 || met.MAE != 0 || met.R2 != 0)) {
				t.Errorf("targets %v: regression metrics %+v", d.YShape(), met)
			}
		}
	}
}

// A model with more outputs than the dataset has classes (a test set
// missing the last classes) predicts them into a wider confusion matrix.
func TestEvaluateMoreOutputsThanClasses(t *testing.T) {
	ds, err := datasets.FromFloat64([]float64{9, 0, 0, 5, 0, 0, 5, 0, 0, 0, 0, 7}, []int{3, 4}, []float64{0, 0, 1}, []int{3}, tensor.Float64)
	must(t, err)
	met, err := models.Evaluate(identity{}, graph.NewParams(tensor.Float64, 1), graph.SoftmaxCrossEntropy, ds)
	must(t, err)
	want := [][]int{{1, 0, 1, 0}, {0, 0, 0, 1}, {0, 0, 0, 0}, {0, 0, 0, 0}}
	if met.Accuracy != 1.0/3 || !reflect.DeepEqual(met.Confusion, want) {
		t.Errorf("accuracy %v, confusion %v; want 1/3, %v", met.Accuracy, met.Confusion, want)
	}
}

// regressionWant computes MSE, MAE and R² by hand for outputs and targets
// of width columns.
func regressionWant(pred, target []float64, width int) (mse, mae, r2 float64) {
	var sq, abs float64
	for i := range pred {
		d := pred[i] - target[i]
		sq += d * d
		abs += math.Abs(d)
	}
	var ssTot float64
	for j := 0; j < width; j++ {
		var mean float64
		for i := j; i < len(target); i += width {
			mean += target[i]
		}
		mean /= float64(len(target) / width)
		for i := j; i < len(target); i += width {
			ssTot += (target[i] - mean) * (target[i] - mean)
		}
	}
	return sq / float64(len(pred)), abs / float64(len(pred)), 1 - sq/ssTot
}

func TestEvaluateRegression(t *testing.T) {
	pred := []float64{1, 10, 2, 20, 3, 30, 4, 40, 5, 50}
	target := []float64{1.5, 12, 2, 18, 2, 31, 4, 40, 6, 45}
	// By hand: errors −0.5, −2, 0, 2, 1, −1, 0, 0, −1, 5; Σd² = 36.25,
	// Σ|d| = 12.5; column means 3.1 and 29.2, SStot = 14.2 + 790.8 = 805.
	for _, c := range []struct {
		shape []int
		mse   float64
		mae   float64
		r2    float64
	}{
		{[]int{5, 2}, 3.625, 1.25, 1 - 36.25/805},
		{[]int{10, 1}, 3.625, 1.25, 1 - 36.25/2508.025}, // one column: mean 16.15
	} {
		mse, mae, r2 := regressionWant(pred, target, c.shape[1])
		if math.Abs(mse-c.mse) > 1e-12 || math.Abs(mae-c.mae) > 1e-12 || math.Abs(r2-c.r2) > 1e-12 {
			t.Fatalf("hand computation: %v %v %v, want %v %v %v", mse, mae, r2, c.mse, c.mae, c.r2)
		}
		ds, err := datasets.FromFloat64(pred, c.shape, target, c.shape, tensor.Float64)
		must(t, err)
		for _, chunk := range []int{0, 2, 3} {
			e := models.NewEvaluator(identity{}, graph.NewParams(tensor.Float64, 1), graph.MSE, chunk)
			met, err := e.Evaluate(ds)
			e.Close()
			must(t, err)
			if !met.Regress || met.N != c.shape[0] {
				t.Fatalf("targets %v chunk %d: %+v: want regression metrics over %d examples", c.shape, chunk, met, c.shape[0])
			}
			for _, m := range []struct {
				name      string
				got, want float64
			}{{"loss", met.Loss, mse}, {"mse", met.MSE, mse}, {"mae", met.MAE, mae}, {"r2", met.R2, r2}} {
				if math.Abs(m.got-m.want) > 1e-12 {
					t.Errorf("targets %v chunk %d: %s %.15g, want %.15g", c.shape, chunk, m.name, m.got, m.want)
				}
			}
		}
	}
}

// R² stays accurate when the targets' mean is large next to their spread,
// where Σy² − n·ȳ² would cancel to noise.
func TestEvaluateR2LargeMean(t *testing.T) {
	const n = 1000
	target, pred := make([]float64, n), make([]float64, n)
	for i := range target {
		target[i] = 1e8 + float64(i%10)
		pred[i] = target[i] + 0.5
	}
	// SSres = n/4, SStot = n·var(0..9) = n·8.25.
	want := 1 - 0.25/8.25
	ds, err := datasets.FromFloat64(pred, []int{n, 1}, target, []int{n, 1}, tensor.Float64)
	must(t, err)
	e := models.NewEvaluator(identity{}, graph.NewParams(tensor.Float64, 1), graph.MSE, 64)
	defer e.Close()
	met, err := e.Evaluate(ds)
	must(t, err)
	if math.Abs(met.R2-want) > 1e-9 || met.MSE != 0.25 || met.MAE != 0.5 {
		t.Errorf("R² %.12g, MSE %v, MAE %v; want %.12g, 0.25, 0.5", met.R2, met.MSE, met.MAE, want)
	}
	// Constant targets: R² is 0, not NaN.
	same := make([]float64, n)
	for i := range same {
		same[i] = 3
	}
	ds, err = datasets.FromFloat64(pred, []int{n, 1}, same, []int{n, 1}, tensor.Float64)
	must(t, err)
	met, err = e.Evaluate(ds)
	must(t, err)
	if met.R2 != 0 {
		t.Errorf("constant targets: R² %v, want 0", met.R2)
	}
}

// With BinaryCrossEntropy and (N, 1) targets in {0, 1}, the output is a
// logit and Evaluate scores it as a binary classifier, not a regression of
// logits: no MSE or R², and the ROC AUC of the logit.
func TestEvaluateBinary(t *testing.T) {
	logits := []float64{2, -1, 0.5, -3, 0, 4}
	targets := []float64{1, 0, 0, 1, 0, 1}
	// Predicted classes 1 0 1 0 0 1: right, right, wrong, wrong, right, right.
	var wantLoss float64
	for i, z := range logits {
		wantLoss += math.Max(z, 0) - z*targets[i] + math.Log1p(math.Exp(-math.Abs(z)))
	}
	wantLoss /= 6
	ds, err := datasets.FromFloat64(logits, []int{6, 1}, targets, []int{6, 1}, tensor.Float64)
	must(t, err)
	met, err := models.Evaluate(identity{}, graph.NewParams(tensor.Float64, 1), graph.BinaryCrossEntropy, ds)
	must(t, err)
	wantConf := [][]int{{2, 1}, {1, 2}}
	if !met.Classify || met.Regress || met.Accuracy != 4.0/6 || !reflect.DeepEqual(met.Confusion, wantConf) {
		t.Errorf("%+v: want classification only, accuracy 4/6 and confusion %v", met, wantConf)
	}
	// AUC: the fraction of (positive, negative) pairs ordered right.
	var won, pairs float64
	for i, zi := range logits {
		for j, zj := range logits {
			if targets[i] == 1 && targets[j] == 0 {
				pairs++
				if zi > zj {
					won++
				} else if zi == zj {
					won += 0.5
				}
			}
		}
	}
	if v, ok := met.Metric("auc"); !ok || v != won/pairs {
		t.Errorf("auc %v %v, want %v", v, ok, won/pairs)
	}
	if _, ok := met.Metric("r2"); ok {
		t.Error("r2 of a binary classifier's logits reported")
	}
	if math.Abs(met.Loss-wantLoss) > 1e-15 {
		t.Errorf("loss %.17g, want %.17g", met.Loss, wantLoss)
	}
	// Targets that are not all 0 or 1, or another loss: regression only.
	soft, err := datasets.FromFloat64(logits, []int{6, 1}, []float64{1, 0, 0.5, 1, 0, 1}, []int{6, 1}, tensor.Float64)
	must(t, err)
	met, err = models.Evaluate(identity{}, graph.NewParams(tensor.Float64, 1), graph.BinaryCrossEntropy, soft)
	must(t, err)
	if met.Classify || !met.Regress {
		t.Errorf("soft targets: %+v: want regression metrics only", met)
	}
	met, err = models.Evaluate(identity{}, graph.NewParams(tensor.Float64, 1), graph.MSE, ds)
	must(t, err)
	if met.Classify || !met.Regress {
		t.Errorf("MSE: %+v: want regression metrics only", met)
	}
}

// The loss over a dataset is the mean of the chunks' mean losses weighted
// by their sizes; accuracy and the confusion matrix do not depend on the
// chunks at all.
func TestEvaluateChunkWeighting(t *testing.T) {
	_, test := digits(t, tensor.Float64)
	idx := make([]int, 50)
	for i := range idx {
		idx[i] = i
	}
	ds, err := test.Subset(idx)
	must(t, err)
	m := models.MLP{Hidden: []int{16}, Outputs: 10}
	p := graph.NewParams(tensor.Float64, 2)
	must(t, models.Init(m, p, ds.XShape()))
	before := p.Clone()

	whole := models.NewEvaluator(m, p, graph.SoftmaxCrossEntropy, 1000)
	defer whole.Close()
	want, err := whole.Evaluate(ds)
	must(t, err)
	small := models.NewEvaluator(m, p, graph.SoftmaxCrossEntropy, 7)
	defer small.Close()
	got, err := small.Evaluate(ds)
	must(t, err)

	var weighted float64
	for start := 0; start < 50; start += 7 {
		end := start + 7
		if end > 50 {
			end = 50
		}
		part, err := ds.Subset(idx[start:end])
		must(t, err)
		met, err := whole.Evaluate(part)
		must(t, err)
		weighted += met.Loss * float64(end-start)
	}
	weighted /= 50
	if math.Abs(got.Loss-weighted) > 1e-14*weighted || math.Abs(got.Loss-want.Loss) > 1e-14*want.Loss {
		t.Errorf("loss in chunks of 7: %.17g; weighted mean of chunk losses %.17g; one chunk %.17g", got.Loss, weighted, want.Loss)
	}
	if got.Accuracy != want.Accuracy || !reflect.DeepEqual(got.Confusion, want.Confusion) || got.N != 50 {
		t.Errorf("chunks of 7: N %d, accuracy %v; one chunk: accuracy %v", got.N, got.Accuracy, want.Accuracy)
	}
	// The evaluation graphs are kept: another call gives the same bits.
	again, err := small.Evaluate(ds)
	must(t, err)
	if again.Loss != got.Loss {
		t.Errorf("a second evaluation gives loss %v, then %v", got.Loss, again.Loss)
	}
	if !testutil.SameParams(before, p) {
		t.Error("Evaluate changed the params")
	}
}

// Evaluate changes no parameter of a trained model with dropout, and its
// result does not depend on any random draw.
func TestEvaluateLeavesParams(t *testing.T) {
	train, test := digits(t, tensor.Float32)
	m := models.MLP{Hidden: []int{32}, Outputs: 10, Dropout: 0.3}
	p := graph.NewParams(tensor.Float32, 1)
	fit(t, quickSGD(1, graph.SoftmaxCrossEntropy), m, p, train)
	before := p.Clone()
	first, err := models.Evaluate(m, p, graph.SoftmaxCrossEntropy, test)
	must(t, err)
	second, err := models.Evaluate(m, p, graph.SoftmaxCrossEntropy, test)
	must(t, err)
	if !reflect.DeepEqual(first, second) {
		t.Errorf("two evaluations differ: %+v, %+v", first, second)
	}
	if !testutil.SameParams(before, p) {
		t.Error("Evaluate changed the params")
	}
}

func TestMetric(t *testing.T) {
	cls := models.Metrics{N: 3, Loss: 0.5, Classify: true, Accuracy: 0.75}
	reg := models.Metrics{N: 3, Loss: 0.25, Regress: true, MSE: 0.25, MAE: 0.4, R2: 0.9}
	both := models.Metrics{N: 3, Loss: 0.1, Classify: true, Regress: true, Accuracy: 1, MSE: 0.2, MAE: 0.3, R2: 0.4}
	for _, c := range []struct {
		m    models.Metrics
		name string
		want float64
		ok   bool
	}{
		{cls, "loss", 0.5, true}, {cls, "accuracy", 0.75, true}, {cls, "mse", 0, false}, {cls, "mae", 0, false}, {cls, "r2", 0, false},
		{reg, "loss", 0.25, true}, {reg, "accuracy", 0, false}, {reg, "mse", 0.25, true}, {reg, "mae", 0.4, true}, {reg, "r2", 0.9, true},
		{both, "accuracy", 1, true}, {both, "mse", 0.2, true}, {both, "mae", 0.3, true}, {both, "r2", 0.4, true},
		{cls, "Accuracy", 0, false}, {reg, "rmse", 0, false}, {both, "", 0, false},
	} {
		v, ok := c.m.Metric(c.name)
		if ok != c.ok || (ok && v != c.want) {
			t.Errorf("Metric(%q) of %+v = %v, %v; want %v, %v", c.name, c.m, v, ok, c.want, c.ok)
		}
	}
}

func TestEvaluateErrors(t *testing.T) {
	ds, err := datasets.FromFloat64([]float64{1, 2, 3, 4, 5, 6}, []int{3, 2}, []float64{0, 1, 1}, []int{3}, tensor.Float64)
	must(t, err)
	p := graph.NewParams(tensor.Float64, 1)
	_, err = models.Evaluate(nil, p, graph.MSE, ds)
	testutil.ErrContains(t, err, "models: Evaluate needs a model")
	_, err = models.Evaluate(identity{}, nil, graph.MSE, ds)
	testutil.ErrContains(t, err, "models: Evaluate needs")
	_, err = models.Evaluate(identity{}, p, nil, ds)
	testutil.ErrContains(t, err, "models: Evaluate needs", "loss")
	_, err = models.Evaluate(identity{}, p, graph.MSE, nil)
	testutil.ErrContains(t, err, "models: Evaluate: nil dataset")
	_, err = models.Evaluate(identity{}, graph.NewParams(tensor.Float32, 1), graph.MSE, ds)
	testutil.ErrContains(t, err, "dtype", "float64", "float32")
	// MSE of (N, 2) outputs against class indices (N).
	_, err = models.Evaluate(identity{}, p, graph.MSE, ds)
	testutil.ErrContains(t, err, "MSE", "(3, 2)", "(3)")
	// A model that fails to build.
	_, err = models.Evaluate(models.Softmax{Classes: 1}, p, graph.SoftmaxCrossEntropy, ds)
	testutil.ErrContains(t, err, "at least 2 classes")
	// A custom loss that accepts any shapes, with outputs unlike the targets.
	anyLoss := func(b *graph.Builder, out, y *G.Node) (*G.Node, error) { return G.Sum(out) }
	reg, err := datasets.FromFloat64([]float64{1, 2, 3, 4, 5, 6}, []int{3, 2}, []float64{0, 1, 1}, []int{3, 1}, tensor.Float64)
	must(t, err)
	_, err = models.Evaluate(identity{}, p, anyLoss, reg)
	testutil.ErrContains(t, err, "output shape (3, 2)", "target shape (3, 1)")
}
