package trainers

import (
	"math"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/testutil"
	"github.com/descent-go/descent/models"
)

// breastCancer is the embedded Wisconsin breast cancer set, standardized
// and split 60/20/20 with stratification on its (N, 1) 0/1 targets.
func breastCancer(t *testing.T) (train, val, test *datasets.Dataset) {
	t.Helper()
	d, err := datasets.BreastCancer(tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	parts, _, err := d.SplitStandardized(1, true, 0.6, 0.2, 0.2)
	if err != nil {
		t.Fatalf("stratified Split of binary targets: %v", err)
	}
	return parts[0], parts[1], parts[2]
}

// TestBinaryClassificationEndToEnd: a Logistic with BinaryCrossEntropy on
// a real binary CSV is a classifier everywhere — the default validation
// metric is accuracy, Keras' names work for EarlyStopping and Metrics, and
// the evaluation reports classification only.
func TestBinaryClassificationEndToEnd(t *testing.T) {
	train, val, test := breastCancer(t)
	c := Config{Epochs: 40, Loss: graph.BinaryCrossEntropy, Optimizer: NewAdam(0.01), Seed: 1,
		Validation: val, Metrics: []string{"accuracy", "val_auc"}}
	c.Callbacks = []Callback{EarlyStopping("val_accuracy", 5, 0, true)}
	p := graph.NewParams(tensor.Float64, 1)
	h, err := MiniBatchSGD{BatchSize: 32, Config: c}.Fit(bg, models.Logistic{}, p, train)
	if err != nil {
		t.Fatal(err)
	}
	if h.Metric != "accuracy" {
		t.Fatalf("default validation metric %q, want accuracy", h.Metric)
	}
	wantNames := "accuracy loss val_accuracy val_auc val_loss"
	if got := strings.Join(h.Names(), " "); got != wantNames {
		t.Errorf("recorded %q, want %q", got, wantNames)
	}
	for i := range h.Epochs {
		for _, name := range h.Names() {
			if v, ok := h.Value(name, i); !ok || math.IsNaN(v) {
				t.Fatalf("epoch %d: %s = %v %v", i+1, name, v, ok)
			}
		}
		if acc, _ := h.Value("val_accuracy", i); acc != h.Epochs[i].ValMetric || acc < 0 || acc > 1 {
			t.Errorf("epoch %d: val_accuracy %v, ValMetric %v", i+1, acc, h.Epochs[i].ValMetric)
		}
	}
	// The training accuracy is measured, not the loss restated.
	if acc, _ := h.Value("accuracy", len(h.Epochs)-1); acc < 0.95 {
		t.Errorf("training accuracy %v after %d epochs", acc, len(h.Epochs))
	}
	met, err := models.Evaluate(models.Logistic{}, p, graph.BinaryCrossEntropy, test)
	if err != nil {
		t.Fatal(err)
	}
	if !met.Classify || met.Regress || !met.HasAUC {
		t.Errorf("Evaluate: classify %v regress %v auc %v: want a binary classification", met.Classify, met.Regress, met.HasAUC)
	}
	// A logistic regression on standardized features is ~97% accurate here
	// (scikit-learn's LogisticRegression: 0.96–0.98 on such splits).
	if met.Accuracy < 0.93 || met.AUC < 0.97 {
		t.Errorf("test accuracy %.3f, AUC %.3f", met.Accuracy, met.AUC)
	}
	r, err := models.NewReport(models.Logistic{}, p, graph.BinaryCrossEntropy, test)
	if err != nil {
		t.Fatal(err)
	}
	if r.Accuracy != met.Accuracy || len(r.Classes) != 2 || r.Classes[0].Support+r.Classes[1].Support != test.Len() {
		t.Errorf("report %+v", r)
	}
	probs, err := models.PredictProbabilities(models.Logistic{}, p, test.X())
	if err != nil {
		t.Fatal(err)
	}
	classes, err := models.PredictClasses(models.Logistic{}, p, test.X())
	if err != nil {
		t.Fatal(err)
	}
	right := 0
	for i, c := range classes {
		pr := graph.Float64s(probs)[i]
		if (pr > 0.5) != (c == 1) {
			t.Fatalf("example %d: probability %v but class %d", i, pr, c)
		}
		if c == test.Labels()[i] {
			right++
		}
	}
	if float64(right)/float64(test.Len()) != met.Accuracy {
		t.Errorf("predicted classes are %d/%d right, Evaluate says %v", right, test.Len(), met.Accuracy)
	}
}

func TestClassIndexTargetsWithLogisticHint(t *testing.T) {
	train, _, _ := breastCancer(t)
	idx, err := train.ClassIndexTargets()
	if err != nil {
		t.Fatal(err)
	}
	c := Config{Epochs: 1, Loss: graph.BinaryCrossEntropy, Optimizer: SGD{LR: 0.1}}
	_, err = GD{Config: c}.Fit(bg, models.Logistic{}, graph.NewParams(tensor.Float64, 1), idx)
	testutil.ErrContains(t, err, "hint", "BinaryTargets()")
	back, err := idx.BinaryTargets()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (GD{Config: c}).Fit(bg, models.Logistic{}, graph.NewParams(tensor.Float64, 1), back); err != nil {
		t.Errorf("after BinaryTargets: %v", err)
	}
}

// TestMonitoredNames: Keras names, errors before the first step for what a
// Fit does not record, val_loss never silently the training loss.
func TestMonitoredNames(t *testing.T) {
	train, val, _ := breastCancer(t)
	base := Config{Epochs: 3, Loss: graph.BinaryCrossEntropy, Optimizer: SGD{LR: 0.1}, Seed: 1}
	fit := func(c Config) (*History, error) {
		return GD{Config: c}.Fit(bg, models.Logistic{}, graph.NewParams(tensor.Float64, 1), train)
	}
	for _, tc := range []struct {
		name string
		c    func(c Config) Config
		want []string
	}{
		{"val_loss without validation", func(c Config) Config {
			c.Callbacks = []Callback{EarlyStopping("val_loss", 1, 0, false)}
			return c
		}, []string{"EarlyStopping", `"val_loss"`, "validation set"}},
		{"checkpoint val_accuracy without validation", func(c Config) Config {
			c.Callbacks = []Callback{Checkpoint(t.TempDir()+"/p", 0, 1, "val_accuracy")}
			return c
		}, []string{"Checkpoint", "validation set"}},
		{"unrecorded metric", func(c Config) Config {
			c.Validation = val
			c.Callbacks = []Callback{EarlyStopping("val_f1", 1, 0, false)}
			return c
		}, []string{`"val_f1"`, "Config.Metrics"}},
		{"regression metric of a classifier", func(c Config) Config {
			c.Validation = val
			c.Metric = "r2"
			return c
		}, []string{`"r2"`, "classification"}},
		{"metric without validation", func(c Config) Config {
			c.Metric = "accuracy"
			return c
		}, []string{"needs Config.Validation"}},
		{"val_ metric without validation", func(c Config) Config {
			c.Metrics = []string{"val_accuracy"}
			return c
		}, []string{"needs Config.Validation"}},
		{"unknown metric", func(c Config) Config {
			c.Metrics = []string{"accuracyy"}
			return c
		}, []string{`"accuracyy"`, "accuracy, precision"}},
	} {
		var steps int
		c := tc.c(base)
		c.Callbacks = append(c.Callbacks, func(e Event) error {
			if e.Kind == EpochEnd {
				steps++
			}
			return nil
		})
		_, err := fit(c)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		testutil.ErrContains(t, err, tc.want...)
		if steps != 0 {
			t.Errorf("%s: failed after %d epochs, want before the first", tc.name, steps)
		}
	}
	// Keras names that work: "loss" without validation, val_accuracy and
	// val_metric alike with it; higher accuracy is better.
	c := base
	c.Callbacks = []Callback{EarlyStopping("loss", 1, 0, false)}
	if _, err := fit(c); err != nil {
		t.Error(err)
	}
	c = base
	c.Validation = val
	c.Metric = "val_accuracy"
	c.Callbacks = []Callback{EarlyStopping("val_accuracy", 10, 0, false), EarlyStopping("val_metric", 10, 0, false), EarlyStopping("", 10, 0, false)}
	h, err := fit(c)
	if err != nil {
		t.Fatal(err)
	}
	if h.Metric != "accuracy" || !h.HigherIsBetter("val_accuracy") || !h.HigherIsBetter("val_metric") || h.HigherIsBetter("val_loss") {
		t.Errorf("metric %q; higher-is-better %v %v %v", h.Metric, h.HigherIsBetter("val_accuracy"), h.HigherIsBetter("val_metric"), h.HigherIsBetter("val_loss"))
	}
}

func TestCustomTrainingMetric(t *testing.T) {
	train, val, _ := breastCancer(t)
	var calls int
	positives := models.Metric{Name: "predicted_positive", HigherIsBetter: false, Func: func(o models.Outcome) float64 {
		calls++
		n := 0
		for _, z := range o.Outputs {
			if z > 0 {
				n++
			}
		}
		return float64(n) / float64(o.N)
	}}
	c := Config{Epochs: 2, Loss: graph.BinaryCrossEntropy, Optimizer: SGD{LR: 0.1}, Seed: 1, Validation: val,
		Custom: []models.Metric{positives}}
	c.Callbacks = []Callback{EarlyStopping("val_predicted_positive", 5, 0, false)}
	h, err := GD{Config: c}.Fit(bg, models.Logistic{}, graph.NewParams(tensor.Float64, 1), train)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 4 || len(h.Metrics["predicted_positive"]) != 2 || len(h.Metrics["val_predicted_positive"]) != 2 {
		t.Errorf("%d calls; metrics %v", calls, h.Metrics)
	}
	for _, v := range h.Metrics["predicted_positive"] {
		if v <= 0 || v >= 1 {
			t.Errorf("fraction predicted positive %v", v)
		}
	}
	c.Custom = []models.Metric{{Name: "accuracy", Func: positives.Func}}
	_, err = GD{Config: c}.Fit(bg, models.Logistic{}, graph.NewParams(tensor.Float64, 1), train)
	testutil.ErrContains(t, err, "accuracy", "taken")
}
