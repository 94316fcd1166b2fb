package models_test

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/testutil"
	"github.com/descent-go/descent/models"
)

func TestProbabilitiesAndClasses(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		// Softmax rows: each sums to 1, ordered like the logits, shift-invariant.
		z := tensor.New(tensor.WithShape(3, 3), tensor.WithBacking([]float64{1, 2, 3, 1000, 1001, 999, 0, 0, 0}))
		if dt == tensor.Float32 {
			z = tensor.New(tensor.WithShape(3, 3), tensor.WithBacking([]float32{1, 2, 3, 1000, 1001, 999, 0, 0, 0}))
		}
		p, err := models.Probabilities(z)
		must(t, err)
		if p.Dtype() != dt || !p.Shape().Eq(tensor.Shape{3, 3}) {
			t.Fatalf("%v: probabilities %v %v", dt, p.Dtype(), p.Shape())
		}
		pv := graph.Float64s(p)
		e := math.Exp(1.0)
		want := []float64{1 / (1 + e + e*e), e / (1 + e + e*e), e * e / (1 + e + e*e)}
		for j, w := range want {
			if math.Abs(pv[j]-w) > 1e-6 || math.Abs(pv[3+[]int{2, 0, 1}[j]]-w) > 1e-6 {
				t.Errorf("%v: softmax %v, want %v in rows 0 and 1", dt, pv, want)
			}
			if math.Abs(pv[6+j]-1.0/3) > 1e-6 {
				t.Errorf("%v: softmax of zeros %v", dt, pv[6:])
			}
		}
		classes, err := models.Classes(z)
		must(t, err)
		if !reflect.DeepEqual(classes, []int{2, 1, 0}) {
			t.Errorf("%v: classes %v, want [2 1 0]", dt, classes)
		}
	}
	// A single logit: sigmoid, class 1 iff logit > 0; no overflow.
	z := tensor.New(tensor.WithShape(4, 1), tensor.WithBacking([]float64{0, 2, -800, 800}))
	p, err := models.Probabilities(z)
	must(t, err)
	want := []float64{0.5, 1 / (1 + math.Exp(-2)), 0, 1}
	for i, v := range graph.Float64s(p) {
		if math.Abs(v-want[i]) > 1e-15 || math.IsNaN(v) {
			t.Errorf("sigmoid(%v) = %v, want %v", graph.Float64s(z)[i], v, want[i])
		}
	}
	classes, err := models.Classes(z)
	must(t, err)
	if !reflect.DeepEqual(classes, []int{0, 1, 0, 1}) {
		t.Errorf("binary classes %v", classes)
	}
	for _, bad := range []*tensor.Dense{nil, tensor.New(tensor.WithShape(3), tensor.WithBacking([]float64{1, 2, 3})),
		tensor.New(tensor.WithShape(2, 1), tensor.WithBacking([]int{1, 2}))} {
		if _, err := models.Probabilities(bad); err == nil {
			t.Errorf("Probabilities(%v): no error", bad)
		}
		if _, err := models.Classes(bad); err == nil {
			t.Errorf("Classes(%v): no error", bad)
		}
	}
}

// TestReport checks every figure of a report against counts by hand.
func TestReport(t *testing.T) {
	logits := []float64{
		3, 2, 1, // label 0, top-1 right
		1, 3, 2, // label 2, top-2
		2, 1, 3, // label 2, right
		3, 1, 2, // label 1, top-3
		1, 2, 0, // label 1, right
		0, 2, 1, // label 0, top-3
	}
	labels := []float64{0, 2, 2, 1, 1, 0}
	ds, err := datasets.FromFloat64(logits, []int{6, 3}, labels, []int{6}, tensor.Float64)
	must(t, err)
	r, err := models.NewReport(identity{}, graph.NewParams(tensor.Float64, 1), graph.SoftmaxCrossEntropy, ds)
	must(t, err)
	// Predicted 0 1 2 0 1 1; confusion rows label, columns predicted.
	wantConf := [][]int{{1, 1, 0}, {1, 1, 0}, {0, 1, 1}}
	if !reflect.DeepEqual(r.Confusion, wantConf) || r.Accuracy != 3.0/6 || r.N != 6 {
		t.Fatalf("confusion %v accuracy %v", r.Confusion, r.Accuracy)
	}
	// class 0: P 1/2 R 1/2; class 1: P 1/3 R 1/2; class 2: P 1/1 R 1/2.
	f1 := func(p, r float64) float64 { return 2 * p * r / (p + r) }
	want := []models.ClassScores{{Precision: 0.5, Recall: 0.5, F1: 0.5, Support: 2},
		{Precision: 1.0 / 3, Recall: 0.5, F1: f1(1.0/3, 0.5), Support: 2}, {Precision: 1, Recall: 0.5, F1: f1(1, 0.5), Support: 2}}
	for c, w := range want {
		g := r.Classes[c]
		if math.Abs(g.Precision-w.Precision) > 1e-15 || math.Abs(g.Recall-w.Recall) > 1e-15 || math.Abs(g.F1-w.F1) > 1e-15 || g.Support != w.Support {
			t.Errorf("class %d: %+v, want %+v", c, g, w)
		}
	}
	macroP := (0.5 + 1.0/3 + 1) / 3
	if math.Abs(r.Macro.Precision-macroP) > 1e-15 || math.Abs(r.Weighted.Precision-macroP) > 1e-15 || r.Macro.Support != 6 {
		t.Errorf("macro %+v weighted %+v, want precision %v (equal supports)", r.Macro, r.Weighted, macroP)
	}
	if !reflect.DeepEqual(r.TopK, []float64{3.0 / 6, 4.0 / 6, 1}) || r.HasAUC {
		t.Errorf("top-k %v, AUC %v", r.TopK, r.HasAUC)
	}
	// The table's macro metrics agree with the report.
	met, err := models.Evaluate(identity{}, graph.NewParams(tensor.Float64, 1), graph.SoftmaxCrossEntropy, ds)
	must(t, err)
	for name, w := range map[string]float64{"precision": r.Macro.Precision, "recall": r.Macro.Recall, "f1": r.Macro.F1, "acc": r.Accuracy} {
		if v, ok := met.Metric(name); !ok || v != w {
			t.Errorf("Metric(%q) = %v %v, want %v", name, v, ok, w)
		}
	}
	s := r.String()
	for _, w := range []string{"precision", "macro avg", "weighted avg", "top-2 0.6667", "confusion matrix", "1 1 0"} {
		if !strings.Contains(s, w) {
			t.Errorf("report lacks %q:\n%s", w, s)
		}
	}
	// A regression set is no classification.
	reg, err := datasets.FromFloat64(logits[:6], []int{6, 1}, []float64{0.5, 1, 2, 3, 4, 5}, []int{6, 1}, tensor.Float64)
	must(t, err)
	if _, err := models.NewReport(identity{}, graph.NewParams(tensor.Float64, 1), graph.MSE, reg); err == nil {
		t.Error("a report of a regression")
	}
}

func TestCustomMetrics(t *testing.T) {
	ds, err := datasets.FromFloat64([]float64{1, 2, 3, 4}, []int{4, 1}, []float64{1, 2, 2, 5}, []int{4, 1}, tensor.Float64)
	must(t, err)
	e := models.NewEvaluator(identity{}, graph.NewParams(tensor.Float64, 1), graph.MSE, 3) // two chunks
	defer e.Close()
	maxErr := models.Metric{Name: "max_error", Func: func(o models.Outcome) float64 {
		m := 0.0
		for i, v := range o.Outputs {
			m = math.Max(m, math.Abs(v-o.Targets[i]))
		}
		return m
	}}
	must(t, e.AddMetrics(maxErr))
	met, err := e.Evaluate(ds)
	must(t, err)
	if v, ok := met.Metric("max_error"); !ok || v != 1 {
		t.Errorf("max_error = %v %v, want 1", v, ok)
	}
	for _, bad := range []models.Metric{{Name: "max_error", Func: maxErr.Func}, {Name: "accuracy", Func: maxErr.Func},
		{Name: "val_x", Func: maxErr.Func}, {Name: "nofunc"}, {Name: ""}} {
		if err := e.AddMetrics(bad); err == nil {
			t.Errorf("AddMetrics(%q): no error", bad.Name)
		}
	}
	boom := models.NewEvaluator(identity{}, graph.NewParams(tensor.Float64, 1), graph.MSE, 0)
	must(t, boom.AddMetrics(models.Metric{Name: "boom", Func: func(models.Outcome) float64 { panic("no") }}))
	_, err = boom.Evaluate(ds) // a panicking metric
	testutil.ErrContains(t, err, "boom")
}

func TestMetricTable(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range models.MetricTable() {
		if m.Name == "" || m.Doc == "" || m.Of == nil || seen[m.Name] {
			t.Errorf("table entry %+v", m)
		}
		seen[m.Name] = true
		if got, ok := models.LookupMetric(m.Name); !ok || got.Name != m.Name {
			t.Errorf("LookupMetric(%q)", m.Name)
		}
	}
	for alias, want := range map[string]string{"acc": "accuracy", "binary_accuracy": "accuracy", "mean_squared_error": "mse"} {
		if m, ok := models.LookupMetric(alias); !ok || m.Name != want {
			t.Errorf("LookupMetric(%q) = %q", alias, m.Name)
		}
	}
	if m, _ := models.LookupMetric("loss"); m.HigherIsBetter {
		t.Error("loss: higher is better")
	}
	if m, _ := models.LookupMetric("accuracy"); !m.HigherIsBetter {
		t.Error("accuracy: lower is better")
	}
	for name, want := range map[string][2]string{"val_accuracy": {"val", "accuracy"}, "loss": {"train", "loss"},
		"train_loss": {"train", "loss"}, "accuracy": {"train", "accuracy"}, "val_metric": {"val", "metric"}} {
		if s, m := models.SplitMetricName(name); s != want[0] || m != want[1] {
			t.Errorf("SplitMetricName(%q) = %q, %q", name, s, m)
		}
	}
}

func TestSummarize(t *testing.T) {
	s, err := models.Summarize(models.MLP{Hidden: []int{16, 8}, Outputs: 3}, tensor.Shape{4}, tensor.Float32)
	must(t, err)
	want := 4*16 + 16 + 16*8 + 8 + 8*3 + 3
	if s.Total != want || len(s.Layers) != 3 || !s.Output.Eq(tensor.Shape{3}) || !s.Input.Eq(tensor.Shape{4}) {
		t.Fatalf("summary %+v, want %d parameters in 3 layers, output (3)", s, want)
	}
	if l := s.Layers[0]; l.Name != "hidden1" || l.Count != 4*16+16 || len(l.Params) != 2 {
		t.Errorf("first layer %+v", l)
	}
	text := s.String()
	for _, w := range []string{"hidden1", "hidden2", "out", "(4, 16)", "total parameters", "243"} {
		if !strings.Contains(text, w) {
			t.Errorf("summary lacks %q:\n%s", w, text)
		}
	}
	if _, err := models.Summarize(models.MLP{Outputs: 0}, tensor.Shape{4}, tensor.Float64); err == nil {
		t.Error("a bad model summarized")
	}
	if _, err := models.Summarize(nil, tensor.Shape{4}, tensor.Float64); err == nil {
		t.Error("no model summarized")
	}
}

// TestEvaluateHintsTargetForm: class indices given to a single-logit
// binary classifier fail with the fix named.
func TestEvaluateHintsTargetForm(t *testing.T) {
	ds, err := datasets.FromFloat64([]float64{1, -1, 2, -2}, []int{4, 1}, []float64{1, 0, 1, 0}, []int{4}, tensor.Float64)
	must(t, err)
	p := graph.NewParams(tensor.Float64, 1)
	must(t, models.Init(models.Logistic{}, p, ds.XShape()))
	_, err = models.Evaluate(models.Logistic{}, p, graph.BinaryCrossEntropy, ds)
	testutil.ErrContains(t, err, "hint", "BinaryTargets()")
	bin, err := ds.BinaryTargets()
	must(t, err)
	met, err := models.Evaluate(models.Logistic{}, p, graph.BinaryCrossEntropy, bin)
	must(t, err)
	if !met.Classify || met.N != 4 {
		t.Errorf("after BinaryTargets: %+v", met)
	}
}
