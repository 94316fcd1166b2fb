package models

import (
	"reflect"
	"sort"
	"strings"

	"github.com/pkg/errors"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
)

// A Metric is one entry of the table of metrics: its name, how it is
// computed and whether higher values are better. The table (Metrics) is the
// only place metric names are defined: Evaluate, the trainers' validation
// and training metrics, EarlyStopping, Checkpoint and the charts all look
// names up in it.
//
// A metric of your own is a Metric value with Func set, given to a trainer
// (trainers.Config.Custom) or an Evaluator (AddMetrics): Func gets the
// model's outputs and the targets of a whole dataset.
//
//	f2 := models.Metric{Name: "hit_rate", HigherIsBetter: true,
//		Func: func(o models.Outcome) float64 { ... }}
type Metric struct {
	Name           string
	HigherIsBetter bool
	// Doc says how the metric is computed.
	Doc string
	// Of reads a built-in metric from an evaluation; false when the
	// evaluation does not have it (the accuracy of a regression).
	Of func(m Metrics) (float64, bool)
	// Func computes a user-defined metric over a whole dataset.
	Func func(o Outcome) float64
}

// Outcome is what a user-defined metric is computed from: a model's outputs
// and the targets over a whole dataset.
type Outcome struct {
	N       int
	Outputs []float64 // N × Width model outputs (logits for classifiers), row by row
	Width   int
	Targets []float64 // the dataset's targets as stored: N class indices or N × K values
	// Labels are the examples' classes when the model is a classifier
	// (see Classifies), else nil.
	Labels []int
}

// metricTable is the table of built-in metrics.
var metricTable = []Metric{
	{Name: "loss", Doc: "mean loss over the examples",
		Of: func(m Metrics) (float64, bool) { return m.Loss, m.N > 0 }},
	{Name: "accuracy", HigherIsBetter: true, Doc: "fraction of examples whose predicted class (largest output; output > 0 for a single logit) is the label",
		Of: func(m Metrics) (float64, bool) { return m.Accuracy, m.Classify }},
	{Name: "precision", HigherIsBetter: true, Doc: "macro-averaged precision: mean over classes of TP / (TP + FP)",
		Of: func(m Metrics) (float64, bool) { return macro(m, func(s ClassScores) float64 { return s.Precision }) }},
	{Name: "recall", HigherIsBetter: true, Doc: "macro-averaged recall: mean over classes of TP / (TP + FN)",
		Of: func(m Metrics) (float64, bool) { return macro(m, func(s ClassScores) float64 { return s.Recall }) }},
	{Name: "f1", HigherIsBetter: true, Doc: "macro-averaged F1: mean over classes of 2·P·R / (P + R)",
		Of: func(m Metrics) (float64, bool) { return macro(m, func(s ClassScores) float64 { return s.F1 }) }},
	{Name: "auc", HigherIsBetter: true, Doc: "ROC AUC of a binary classifier's logit: the probability that a positive scores above a negative (ties count half)",
		Of: func(m Metrics) (float64, bool) { return m.AUC, m.HasAUC }},
	{Name: "mse", Doc: "mean squared error over all outputs",
		Of: func(m Metrics) (float64, bool) { return m.MSE, m.Regress }},
	{Name: "mae", Doc: "mean absolute error over all outputs",
		Of: func(m Metrics) (float64, bool) { return m.MAE, m.Regress }},
	{Name: "r2", HigherIsBetter: true, Doc: "coefficient of determination 1 − SSres/SStot (variance-weighted over several targets)",
		Of: func(m Metrics) (float64, bool) { return m.R2, m.Regress }},
}

// metricAliases are other names users type for built-in metrics (Keras').
var metricAliases = map[string]string{"acc": "accuracy", "binary_accuracy": "accuracy",
	"categorical_accuracy": "accuracy", "sparse_categorical_accuracy": "accuracy",
	"mean_squared_error": "mse", "mean_absolute_error": "mae", "f1_score": "f1"}

// Metrics returns the table of built-in metrics (a copy).
func MetricTable() []Metric { return append([]Metric(nil), metricTable...) }

// LookupMetric returns the built-in metric of that name, or of a Keras name
// for it ("acc", "binary_accuracy", "mean_squared_error", ...).
func LookupMetric(name string) (Metric, bool) {
	if a, ok := metricAliases[name]; ok {
		name = a
	}
	for _, m := range metricTable {
		if m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}

// MetricNames lists the built-in metrics' names.
func MetricNames() []string {
	var s []string
	for _, m := range metricTable {
		s = append(s, m.Name)
	}
	return s
}

// SplitMetricName splits a monitored name into the dataset it is measured
// on and the metric, as Keras names them: "val_accuracy" is ("val",
// "accuracy"); "accuracy", "loss" and "train_loss" are measured on the
// training data ("train"); the bare "val_metric" is ("val", "metric"), the
// validation metric a trainer records in History.Metric.
func SplitMetricName(name string) (set, metric string) {
	switch {
	case strings.HasPrefix(name, "val_"):
		return "val", strings.TrimPrefix(name, "val_")
	case strings.HasPrefix(name, "train_"):
		return "train", strings.TrimPrefix(name, "train_")
	}
	return "train", name
}

// checkCustom checks user-defined metrics: each named, with a Func, under a
// name no built-in metric or other custom metric has.
func checkCustom(ms []Metric) error {
	seen := map[string]bool{}
	for i, m := range ms {
		switch _, builtin := LookupMetric(m.Name); {
		case m.Name == "" || strings.ContainsAny(m.Name, " ,\t\n"):
			return errors.Errorf("models: custom metric %d: name %q, want a word", i, m.Name)
		case builtin || m.Name == "metric" || strings.HasPrefix(m.Name, "val_") || strings.HasPrefix(m.Name, "train_"):
			return errors.Errorf("models: custom metric %q: the name is taken by a built-in metric or prefix", m.Name)
		case m.Func == nil:
			return errors.Errorf("models: custom metric %q has no Func", m.Name)
		case seen[m.Name]:
			return errors.Errorf("models: custom metric %q given twice", m.Name)
		}
		seen[m.Name] = true
	}
	return nil
}

// Classifies reports whether a model trained with loss on ds's targets is a
// classifier, by datasets' rule (see datasets.TargetKind): class indices and
// one-hot rows are classes; binary (N, 1) 0/1 targets are classes for
// graph.BinaryCrossEntropy, whose single output is the logit of class 1,
// and regression targets for any other loss.
func Classifies(ds *datasets.Dataset, loss graph.Loss) bool {
	if ds == nil {
		return false
	}
	switch ds.Targets() {
	case datasets.KindClassIndex, datasets.KindOneHot:
		return true
	case datasets.KindBinary:
		return IsBinaryCrossEntropy(loss)
	}
	return false
}

// IsBinaryCrossEntropy reports whether l is graph.BinaryCrossEntropy, whose
// model outputs are logits of class 1.
func IsBinaryCrossEntropy(l graph.Loss) bool {
	return l != nil && reflect.ValueOf(l).Pointer() == reflect.ValueOf(graph.BinaryCrossEntropy).Pointer()
}

// TargetHint says how to fix a model/target mismatch: class-index targets
// given to a single-logit binary classifier, or binary targets to softmax
// cross-entropy. "" when it has nothing to suggest.
func TargetHint(ds *datasets.Dataset, loss graph.Loss) string {
	if ds == nil {
		return ""
	}
	switch {
	case ds.Targets() == datasets.KindClassIndex && IsBinaryCrossEntropy(loss) && ds.NumClasses() <= 2:
		return "hint: graph.BinaryCrossEntropy (models.Logistic) wants (N, 1) targets in {0, 1}, these are class indices of shape (N): convert them with ds.BinaryTargets()"
	case ds.Targets() == datasets.KindBinary && !IsBinaryCrossEntropy(loss):
		return "hint: these are binary (N, 1) targets; for graph.SoftmaxCrossEntropy with 2 outputs convert them with ds.ClassIndexTargets(), or use models.Logistic with graph.BinaryCrossEntropy"
	}
	return ""
}

// ClassScores are one class's precision, recall and F1, with its support
// (the examples of that class); or their average.
type ClassScores struct {
	Precision, Recall, F1 float64
	Support               int
}

// classScores derives each class's scores from a confusion matrix
// (confusion[label][predicted]). A class never predicted has precision 0,
// one never present recall 0 (scikit-learn's zero_division=0).
func classScores(confusion [][]int) []ClassScores {
	k := len(confusion)
	out := make([]ClassScores, k)
	for c := 0; c < k; c++ {
		tp, predicted, actual := confusion[c][c], 0, 0
		for j := 0; j < k; j++ {
			actual += confusion[c][j]
			predicted += confusion[j][c]
		}
		s := ClassScores{Support: actual}
		if predicted > 0 {
			s.Precision = float64(tp) / float64(predicted)
		}
		if actual > 0 {
			s.Recall = float64(tp) / float64(actual)
		}
		if s.Precision+s.Recall > 0 {
			s.F1 = 2 * s.Precision * s.Recall / (s.Precision + s.Recall)
		}
		out[c] = s
	}
	return out
}

// averages returns the macro average (over classes with support or
// predictions) and the support-weighted average of per-class scores.
func averages(scores []ClassScores, confusion [][]int) (macroAvg, weighted ClassScores) {
	classes, total := 0, 0
	for c, s := range scores {
		predicted := 0
		for j := range confusion {
			predicted += confusion[j][c]
		}
		if s.Support == 0 && predicted == 0 {
			continue // a class the model may output but nothing is about
		}
		classes++
		total += s.Support
		macroAvg.Precision += s.Precision
		macroAvg.Recall += s.Recall
		macroAvg.F1 += s.F1
		w := float64(s.Support)
		weighted.Precision += w * s.Precision
		weighted.Recall += w * s.Recall
		weighted.F1 += w * s.F1
	}
	if classes > 0 {
		macroAvg.Precision /= float64(classes)
		macroAvg.Recall /= float64(classes)
		macroAvg.F1 /= float64(classes)
	}
	if total > 0 {
		weighted.Precision /= float64(total)
		weighted.Recall /= float64(total)
		weighted.F1 /= float64(total)
	}
	macroAvg.Support, weighted.Support = total, total
	return macroAvg, weighted
}

func macro(m Metrics, f func(ClassScores) float64) (float64, bool) {
	if !m.Classify {
		return 0, false
	}
	avg, _ := averages(classScores(m.Confusion), m.Confusion)
	return f(avg), true
}

// rocAUC is the area under the ROC curve of scores for 0/1 labels: the
// Mann–Whitney probability that a positive outscores a negative, ties
// counted half. false without both classes.
func rocAUC(scores []float64, labels []int) (float64, bool) {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	var pos, neg int
	for _, l := range labels {
		if l == 1 {
			pos++
		} else {
			neg++
		}
	}
	if pos == 0 || neg == 0 {
		return 0, false
	}
	// Sum of the positives' (mid-)ranks.
	var rankSum float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		mid := float64(i+j+1) / 2 // ranks i+1..j, averaged
		for k := i; k < j; k++ {
			if labels[idx[k]] == 1 {
				rankSum += mid
			}
		}
		i = j
	}
	u := rankSum - float64(pos)*float64(pos+1)/2
	return u / (float64(pos) * float64(neg)), true
}
