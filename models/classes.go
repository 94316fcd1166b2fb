package models

import (
	"math"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/graph"
)

// Probabilities turns a classifier's logits, shape (N, K), into class
// probabilities: the softmax of each row for K > 1, and for a single logit
// (N, 1) — a binary classifier — the sigmoid, the probability of class 1.
// The result is a new tensor of the logits' dtype and shape.
func Probabilities(logits *tensor.Dense) (*tensor.Dense, error) {
	n, k, err := logitShape("Probabilities", logits)
	if err != nil {
		return nil, err
	}
	z := graph.Float64s(logits)
	p := make([]float64, len(z))
	for r := 0; r < n; r++ {
		row, out := z[r*k:(r+1)*k], p[r*k:(r+1)*k]
		if k == 1 {
			out[0] = sigmoid(row[0])
			continue
		}
		max := math.Inf(-1)
		for _, v := range row {
			max = math.Max(max, v)
		}
		var sum float64
		for j, v := range row {
			out[j] = math.Exp(v - max)
			sum += out[j]
		}
		for j := range out {
			out[j] /= sum
		}
	}
	shape := logits.Shape().Clone()
	if logits.Dtype() == tensor.Float32 {
		p32 := make([]float32, len(p))
		for i, v := range p {
			p32[i] = float32(v)
		}
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(p32)), nil
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(p)), nil
}

// sigmoid is 1/(1+e^−z), computed without overflow.
func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// Classes returns the predicted class of each row of a classifier's logits,
// shape (N, K): the largest output (the first one on ties), or for a single
// logit (N, 1) class 1 when the logit is > 0 (probability > 0.5). It is the
// rule Evaluate's accuracy and confusion matrix use.
func Classes(logits *tensor.Dense) ([]int, error) {
	n, k, err := logitShape("Classes", logits)
	if err != nil {
		return nil, err
	}
	z := graph.Float64s(logits)
	out := make([]int, n)
	for r := range out {
		out[r] = argmax(z[r*k : (r+1)*k])
	}
	return out, nil
}

// argmax is the predicted class of one row of logits: the largest (the
// first on ties), or for a single logit 1 when it is > 0.
func argmax(row []float64) int {
	if len(row) == 1 {
		if row[0] > 0 {
			return 1
		}
		return 0
	}
	best := 0
	for j, v := range row {
		if v > row[best] {
			best = j
		}
	}
	return best
}

func logitShape(op string, logits *tensor.Dense) (n, k int, err error) {
	if logits == nil {
		return 0, 0, errors.Errorf("models: %s: nil logits", op)
	}
	if s := logits.Shape(); logits.Dims() != 2 || s[0] < 1 || s[1] < 1 {
		return 0, 0, errors.Errorf("models: %s wants logits of shape (N, classes) or (N, 1), got %v", op, s)
	}
	if dt := logits.Dtype(); dt != tensor.Float64 && dt != tensor.Float32 {
		return 0, 0, errors.Errorf("models: %s: logits of dtype %v, want float32 or float64", op, dt)
	}
	return logits.Shape()[0], logits.Shape()[1], nil
}

// PredictProbabilities returns the class probabilities of a classifier for
// x (see Probabilities): shape (N, K), or (N, 1) holding P(class 1) for a
// single-logit binary classifier.
func PredictProbabilities(m Model, p *graph.Params, x *tensor.Dense) (*tensor.Dense, error) {
	logits, err := Predict(m, p, x)
	if err != nil {
		return nil, err
	}
	return Probabilities(logits)
}

// PredictClasses returns the predicted class of each example of x (see
// Classes).
func PredictClasses(m Model, p *graph.Params, x *tensor.Dense) ([]int, error) {
	logits, err := Predict(m, p, x)
	if err != nil {
		return nil, err
	}
	return Classes(logits)
}

// Probabilities is PredictProbabilities with the Predictor's compiled
// graphs.
func (pr *Predictor) Probabilities(x *tensor.Dense) (*tensor.Dense, error) {
	logits, err := pr.Predict(x)
	if err != nil {
		return nil, err
	}
	return Probabilities(logits)
}

// Classes is PredictClasses with the Predictor's compiled graphs.
func (pr *Predictor) Classes(x *tensor.Dense) ([]int, error) {
	logits, err := pr.Predict(x)
	if err != nil {
		return nil, err
	}
	return Classes(logits)
}
