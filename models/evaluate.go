package models

import (
	"math"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/exec"
)

// DefaultChunk is the number of examples evaluated per graph run by
// Evaluate and Predict: large enough to amortize a run, small enough to keep
// memory bounded on large sets.
const DefaultChunk = 512

// Metrics are a model's loss and quality over a dataset. Classification
// metrics are set when the dataset has class labels, regression metrics
// otherwise.
type Metrics struct {
	N        int     // examples evaluated
	Loss     float64 // mean loss over the examples
	Classify bool    // whether the classification fields are set

	Accuracy  float64 // fraction of examples whose predicted class is the label
	Confusion [][]int // Confusion[label][predicted] counts

	MSE float64 // mean squared error over all outputs
	MAE float64 // mean absolute error over all outputs
	R2  float64 // coefficient of determination, 1 − SSres/SStot
}

// Metric returns a metric by name: "loss", "accuracy", "mse", "mae" or
// "r2"; false if it is unknown or not computed for this kind of dataset.
func (m Metrics) Metric(name string) (float64, bool) {
	switch name {
	case "loss":
		return m.Loss, true
	case "accuracy":
		return m.Accuracy, m.Classify
	case "mse":
		return m.MSE, !m.Classify
	case "mae":
		return m.MAE, !m.Classify
	case "r2":
		return m.R2, !m.Classify
	}
	return 0, false
}

// An Evaluator evaluates one model over its Params, compiling one
// evaluation graph per chunk size and keeping them for later calls. It never
// changes the Params or any training state.
type Evaluator struct {
	m      Model
	p      *graph.Params
	loss   graph.Loss
	chunk  int
	cache  *exec.Cache
	xs, ys tensor.Shape
	idx    []int
}

// NewEvaluator returns an Evaluator of m with parameters p and the given loss
// (required), running chunk examples at a time (0: DefaultChunk).
func NewEvaluator(m Model, p *graph.Params, loss graph.Loss, chunk int) *Evaluator {
	if chunk <= 0 {
		chunk = DefaultChunk
	}
	return &Evaluator{m: m, p: p, loss: loss, chunk: chunk}
}

// Evaluate computes the loss and metrics of the model over ds.
func Evaluate(m Model, p *graph.Params, loss graph.Loss, ds *datasets.Dataset) (Metrics, error) {
	e := NewEvaluator(m, p, loss, 0)
	defer e.Close()
	return e.Evaluate(ds)
}

// Close releases the compiled graphs.
func (e *Evaluator) Close() {
	if e.cache != nil {
		e.cache.Close()
		e.cache = nil
	}
}

func (e *Evaluator) programs(ds *datasets.Dataset) (*exec.Cache, error) {
	if e.m == nil || e.p == nil || e.loss == nil {
		return nil, errors.New("models: Evaluate needs a model, params and a loss")
	}
	if ds == nil {
		return nil, errors.New("models: Evaluate: nil dataset")
	}
	if ds.Dtype() != e.p.Dtype() {
		return nil, errors.Errorf("models: dataset dtype %v differs from params dtype %v", ds.Dtype(), e.p.Dtype())
	}
	xs, ys := ds.XShape(), ds.YShape()
	if e.cache == nil || !xs.Eq(e.xs) || !ys.Eq(e.ys) {
		e.Close()
		e.xs, e.ys = xs, ys
		e.cache = exec.New(exec.Spec{Forward: e.m.Forward, Params: e.p, X: xs, Y: ys, Loss: e.loss})
	}
	return e.cache, nil
}

// Evaluate computes the loss and metrics of the model over ds.
func (e *Evaluator) Evaluate(ds *datasets.Dataset) (Metrics, error) {
	var met Metrics
	cache, err := e.programs(ds)
	if err != nil {
		return met, err
	}
	labels := ds.Labels()
	acc := newAccumulator(labels, ds.NumClasses())
	n := ds.Len()
	for start := 0; start < n; start += e.chunk {
		end := start + e.chunk
		if end > n {
			end = n
		}
		c, err := cache.Get(end - start)
		if err != nil {
			return met, errors.Wrap(err, "models: evaluate")
		}
		e.idx = e.idx[:0]
		for i := start; i < end; i++ {
			e.idx = append(e.idx, i)
		}
		if err := ds.Gather(e.idx, c.X, c.Y); err != nil {
			return met, errors.Wrap(err, "models: evaluate")
		}
		if err := c.Run(); err != nil {
			return met, errors.Wrapf(err, "models: evaluate examples %d..%d", start, end-1)
		}
		if err := acc.add(start, c.Loss(), c.Output(0), c.Y); err != nil {
			return met, errors.Wrap(err, "models: evaluate")
		}
	}
	return acc.metrics(), nil
}

// accumulator gathers the sums behind Metrics, chunk by chunk.
type accumulator struct {
	labels    []int
	n         int
	loss      float64
	correct   int
	confusion [][]int
	// regression sums over all output elements
	count         int
	sq, abs       float64
	colSum, colSq []float64
}

func newAccumulator(labels []int, k int) *accumulator {
	a := &accumulator{labels: labels}
	if labels != nil {
		if k < 2 {
			k = 2
		}
		a.confusion = make([][]int, k)
		for i := range a.confusion {
			a.confusion[i] = make([]int, k)
		}
	}
	return a
}

func (a *accumulator) add(start int, loss float64, out, y *tensor.Dense) error {
	rows := out.Shape()[0]
	a.n += rows
	a.loss += loss * float64(rows)
	o := floats(out)
	width := len(o) / rows
	if a.labels != nil {
		for r := 0; r < rows; r++ {
			row := o[r*width : (r+1)*width]
			pred := 0
			if width == 1 {
				if row[0] > 0 {
					pred = 1
				}
			} else {
				for j, v := range row {
					if v > row[pred] {
						pred = j
					}
				}
			}
			label := a.labels[start+r]
			if label >= len(a.confusion) || pred >= len(a.confusion) {
				return errors.Errorf("class %d or prediction %d outside %d classes", label, pred, len(a.confusion))
			}
			a.confusion[label][pred]++
			if pred == label {
				a.correct++
			}
		}
		return nil
	}
	t := floats(y)
	if len(t) != len(o) {
		return errors.Errorf("output shape %v and target shape %v differ", out.Shape(), y.Shape())
	}
	if a.colSum == nil {
		a.colSum, a.colSq = make([]float64, width), make([]float64, width)
	}
	for i, v := range o {
		d := v - t[i]
		a.sq += d * d
		a.abs += math.Abs(d)
		a.colSum[i%width] += t[i]
		a.colSq[i%width] += t[i] * t[i]
	}
	a.count += len(o)
	return nil
}

func (a *accumulator) metrics() Metrics {
	m := Metrics{N: a.n}
	if a.n == 0 {
		return m
	}
	m.Loss = a.loss / float64(a.n)
	if a.labels != nil {
		m.Classify = true
		m.Accuracy = float64(a.correct) / float64(a.n)
		m.Confusion = a.confusion
		return m
	}
	m.MSE = a.sq / float64(a.count)
	m.MAE = a.abs / float64(a.count)
	var ssTot float64
	for j := range a.colSum {
		mean := a.colSum[j] / float64(a.n)
		ssTot += a.colSq[j] - float64(a.n)*mean*mean
	}
	m.R2 = 1 - a.sq/ssTot
	if ssTot <= 0 {
		m.R2 = 0
	}
	return m
}

// floats reads a float32 or float64 tensor's data as float64s.
func floats(t *tensor.Dense) []float64 {
	switch d := t.Data().(type) {
	case []float64:
		return d
	case []float32:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out
	}
	return nil
}
