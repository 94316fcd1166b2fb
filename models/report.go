package models

import (
	"fmt"
	"strings"

	"github.com/pkg/errors"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
)

// Report is a classifier's evaluation in one value, like scikit-learn's
// classification_report with the confusion matrix, ROC AUC and top-k
// accuracy: what NewReport computes and String prints.
type Report struct {
	N        int
	Loss     float64
	Accuracy float64
	// Classes are the per-class precision, recall, F1 and support, indexed
	// by class.
	Classes []ClassScores
	// Macro averages the classes' scores (over the classes that occur or
	// are predicted); Weighted weights them by support.
	Macro, Weighted ClassScores
	// AUC is the ROC AUC of a binary classifier (HasAUC).
	AUC    float64
	HasAUC bool
	// TopK[k-1] is the top-k accuracy: the fraction of examples whose
	// label is among the k largest outputs, for k = 1 .. min(5, outputs).
	// A single-logit binary classifier has top-1 only.
	TopK []float64
	// Confusion[label][predicted] counts the examples.
	Confusion [][]int
}

// NewReport evaluates the classifier m with parameters p and its loss over
// ds, whose targets must be classes (see Classifies).
func NewReport(m Model, p *graph.Params, loss graph.Loss, ds *datasets.Dataset) (Report, error) {
	if ds != nil && !Classifies(ds, loss) {
		return Report{}, errors.Errorf("models: NewReport: %v holds %s, which are no classes for this loss", ds, ds.Targets())
	}
	// One pass: the top-k accuracies come from the outputs the evaluation
	// hands to a custom metric, so the model runs over ds once.
	var top []float64
	e := NewEvaluator(m, p, loss, 0)
	defer e.Close()
	err := e.AddMetrics(Metric{Name: "report/top-k", Func: func(o Outcome) float64 {
		top = topK(o.Outputs, o.Width, o.Labels, 5)
		return top[0]
	}})
	if err != nil {
		return Report{}, errors.Wrap(err, "models: NewReport")
	}
	met, err := e.Evaluate(ds)
	if err != nil {
		return Report{}, errors.Wrap(err, "models: NewReport")
	}
	r := Report{N: met.N, Loss: met.Loss, Accuracy: met.Accuracy, Confusion: met.Confusion, AUC: met.AUC, HasAUC: met.HasAUC, TopK: top}
	r.Classes = classScores(met.Confusion)
	r.Macro, r.Weighted = averages(r.Classes, met.Confusion)
	return r, nil
}

// topK returns the top-k accuracies for k = 1..min(maxK, width) of row-major
// logits of the given width.
func topK(z []float64, width int, labels []int, maxK int) []float64 {
	if width == 1 {
		right := 0
		for i, l := range labels {
			if argmax(z[i:i+1]) == l {
				right++
			}
		}
		return []float64{float64(right) / float64(len(labels))}
	}
	if maxK > width {
		maxK = width
	}
	hits := make([]int, maxK)
	for i, l := range labels {
		row := z[i*width : (i+1)*width]
		// The label's rank: outputs above it, and equal ones before it
		// (ties go to the first, as in argmax).
		rank := 0
		for j, v := range row {
			if v > row[l] || (v == row[l] && j < l) {
				rank++
			}
		}
		for k := rank; k < maxK; k++ {
			hits[k]++
		}
	}
	out := make([]float64, maxK)
	for k, h := range hits {
		out[k] = float64(h) / float64(len(labels))
	}
	return out
}

// String prints the report as a table, one row per class, then the
// averages, the AUC and top-k accuracies, and the confusion matrix.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-12s %9s %9s %9s %9s\n", "class", "precision", "recall", "f1", "support")
	for c, s := range r.Classes {
		fmt.Fprintf(&b, "%-12d %9.4f %9.4f %9.4f %9d\n", c, s.Precision, s.Recall, s.F1, s.Support)
	}
	fmt.Fprintf(&b, "\n%-12s %9s %9s %9.4f %9d\n", "accuracy", "", "", r.Accuracy, r.N)
	for _, a := range []struct {
		name string
		s    ClassScores
	}{{"macro avg", r.Macro}, {"weighted avg", r.Weighted}} {
		fmt.Fprintf(&b, "%-12s %9.4f %9.4f %9.4f %9d\n", a.name, a.s.Precision, a.s.Recall, a.s.F1, a.s.Support)
	}
	fmt.Fprintf(&b, "\nloss %.4f", r.Loss)
	if r.HasAUC {
		fmt.Fprintf(&b, "   ROC AUC %.4f", r.AUC)
	}
	for k, v := range r.TopK {
		if k > 0 {
			fmt.Fprintf(&b, "   top-%d %.4f", k+1, v)
		}
	}
	b.WriteString("\n\nconfusion matrix (rows: label, columns: predicted)\n")
	w := 1
	for _, row := range r.Confusion {
		for _, v := range row {
			if l := len(fmt.Sprint(v)); l > w {
				w = l
			}
		}
	}
	for _, row := range r.Confusion {
		for j, v := range row {
			if j > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%*d", w, v)
		}
		b.WriteByte('\n')
	}
	return b.String()
}
