package models

import (
	"context"
	"math"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/progcache"
)

// DefaultChunk is the number of examples evaluated per graph run by
// Evaluate and Predict: large enough to amortize a run, small enough to keep
// memory bounded on large sets.
const DefaultChunk = 512

// Metrics are a model's loss and quality over a dataset.
//
// Classification metrics are set (Classify) when the dataset has class
// labels — class-index targets (N), or (N, K) rows with K > 1, read as
// one-hot by their largest value — and, for binary classifiers trained with
// graph.BinaryCrossEntropy, when the targets are (N, 1) and all 0 or 1: the
// model's single output is then the logit of class 1, predicted when > 0.
//
// Regression metrics are set (Regress) when the targets are (N, K) rows of
// the model output's shape; with (N, K) one-hot targets both kinds are set.
type Metrics struct {
	N        int     // examples evaluated
	Loss     float64 // mean loss over the examples
	Classify bool    // whether the classification fields are set
	Regress  bool    // whether the regression fields are set

	// Accuracy is the fraction of examples whose predicted class — the
	// largest output (the first one on ties), or output > 0 for a single
	// output — is the label.
	Accuracy float64
	// Confusion[label][predicted] counts the examples; it is square, of
	// the larger of the dataset's number of classes and the model's
	// number of outputs.
	Confusion [][]int

	MSE float64 // mean squared error over all outputs
	MAE float64 // mean absolute error over all outputs
	// R2 is the coefficient of determination 1 − SSres/SStot, where SSres
	// sums the squared errors over all outputs and SStot the squared
	// deviations of each target column from its mean (for several targets,
	// scikit-learn's "variance_weighted" R²). It is 0 when the targets are
	// constant.
	R2 float64

	// AUC is the ROC AUC of a binary classifier's logit (HasAUC: a single
	// output, binary targets of both classes).
	AUC    float64
	HasAUC bool
	// Custom holds the user-defined metrics of the Evaluator, by name.
	Custom map[string]float64
}

// Metric returns a metric by name — a built-in one of the table
// (MetricTable, Keras aliases included) or a custom one computed by the
// Evaluator; false if it is unknown or not computed for this kind of
// dataset.
func (m Metrics) Metric(name string) (float64, bool) {
	if def, ok := LookupMetric(name); ok {
		return def.Of(m)
	}
	v, ok := m.Custom[name]
	return v, ok
}

// An Evaluator evaluates one model over its Params, compiling one
// evaluation graph per chunk size and keeping them for later calls. It never
// changes the Params or any training state (dropout is off), and is not
// safe for concurrent use.
type Evaluator struct {
	r      chunkRunner
	idx    []int
	custom []Metric
}

// AddMetrics has the Evaluator also compute user-defined metrics (each with
// a Func, under a name of its own), reported in Metrics.Custom. They see the
// outputs of the whole dataset, which the Evaluator then keeps in memory.
func (e *Evaluator) AddMetrics(ms ...Metric) error {
	if err := checkCustom(append(append([]Metric(nil), e.custom...), ms...)); err != nil {
		return err
	}
	e.custom = append(e.custom, ms...)
	return nil
}

// NewEvaluator returns an Evaluator of m with parameters p and the given loss
// (required), running chunk examples at a time (0: DefaultChunk). Chunks
// change memory and speed, not the result, up to rounding.
func NewEvaluator(m Model, p *graph.Params, loss graph.Loss, chunk int) *Evaluator {
	return &Evaluator{r: newChunkRunner(m, p, loss, chunk)}
}

// Evaluate computes the loss and metrics of the model over ds.
func Evaluate(m Model, p *graph.Params, loss graph.Loss, ds *datasets.Dataset) (Metrics, error) {
	return EvaluateContext(context.Background(), m, p, loss, ds)
}

// EvaluateContext is Evaluate that stops with ctx's error, between two
// chunks of examples, once ctx is done.
func EvaluateContext(ctx context.Context, m Model, p *graph.Params, loss graph.Loss, ds *datasets.Dataset) (Metrics, error) {
	e := NewEvaluator(m, p, loss, 0)
	defer e.Close()
	return e.EvaluateContext(ctx, ds)
}

// Close releases the compiled graphs.
func (e *Evaluator) Close() { e.r.close() }

func (e *Evaluator) programs(ds *datasets.Dataset) (*progcache.Cache, error) {
	if e.r.m == nil || e.r.p == nil || e.r.loss == nil {
		return nil, errors.New("models: Evaluate needs a model, params and a loss")
	}
	if ds == nil {
		return nil, errors.New("models: Evaluate: nil dataset")
	}
	if err := ds.Validate(); err != nil {
		return nil, errors.Wrap(err, "models: Evaluate")
	}
	return e.programsFor(ds.Dtype(), ds.XShape(), ds.YShape())
}

// programsFor returns the evaluation programs for examples of dtype dt
// and shapes xs, ys.
func (e *Evaluator) programsFor(dt tensor.Dtype, xs, ys tensor.Shape) (*progcache.Cache, error) {
	if e.r.m == nil || e.r.p == nil || e.r.loss == nil {
		return nil, errors.New("models: Evaluate needs a model, params and a loss")
	}
	if err := e.r.p.Validate(); err != nil {
		return nil, errors.Wrap(err, "models: Evaluate")
	}
	if dt != e.r.p.Dtype() {
		return nil, errors.Errorf("models: Evaluate: dataset dtype %v differs from params dtype %v", dt, e.r.p.Dtype())
	}
	return e.r.programs(xs, ys), nil
}

// Evaluate computes the loss and metrics of the model over ds.
func (e *Evaluator) Evaluate(ds *datasets.Dataset) (Metrics, error) {
	return e.EvaluateContext(context.Background(), ds)
}

// EvaluateContext is Evaluate that stops with ctx's error, between two
// chunks of examples, once ctx is done.
func (e *Evaluator) EvaluateContext(ctx context.Context, ds *datasets.Dataset) (Metrics, error) {
	var met Metrics
	cache, err := e.programs(ds)
	if err != nil {
		return met, err
	}
	var labels []int
	k := 0
	loss := e.r.loss
	classify := Classifies(ds, loss)
	if classify {
		labels, k = ds.Labels(), ds.NumClasses()
	}
	acc := newAccumulator(labels, k)
	acc.keepScore = true
	var out []float64 // the whole dataset's outputs, for custom metrics
	n := ds.Len()
	err = e.r.each(ctx, cache, chunkPass{what: "evaluate", n: n,
		hint: func() string { return TargetHint(ds, loss) },
		fill: func(c *progcache.Compiled, start, end int) error {
			if start == 0 {
				// Regression metrics compare outputs and targets of one shape.
				// Binary classifiers' outputs are logits, not estimates of 0/1.
				acc.regress = !ds.ClassIndices() && !(classify && ds.Targets() == datasets.KindBinary) && graph.SameShape(c.Out, c.Y.Shape())
				if labels == nil && !acc.regress {
					return errors.Errorf("models: evaluate: model output shape %v differs from target shape %v and the targets are not classes", c.Out, c.Y.Shape())
				}
			}
			e.idx = e.idx[:0]
			for i := start; i < end; i++ {
				e.idx = append(e.idx, i)
			}
			return errors.Wrap(ds.Gather(e.idx, c.X, c.Y), "models: evaluate")
		},
		take: func(c *progcache.Compiled, start, end int) error {
			if err := acc.add(start, c.Loss(), c.Output(0), c.Y); err != nil {
				return errors.Wrapf(err, "models: evaluate examples %d..%d", start, end-1)
			}
			if len(e.custom) > 0 {
				out = append(out, graph.Float64s(c.Output(0))...)
			}
			return nil
		},
	})
	if err != nil {
		return met, err
	}
	met = acc.metrics()
	if len(e.custom) > 0 {
		o := Outcome{N: n, Outputs: out, Width: len(out) / n, Targets: graph.Float64s(ds.Y()), Labels: labels}
		met.Custom = map[string]float64{}
		for _, m := range e.custom {
			v, err := customValue(m, o)
			if err != nil {
				return met, err
			}
			met.Custom[m.Name] = v
		}
	}
	return met, nil
}

// customValue runs a user-defined metric, turning a panic into an error.
func customValue(m Metric, o Outcome) (v float64, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errors.Errorf("models: custom metric %q panicked: %v", m.Name, p)
		}
	}()
	return m.Func(o), nil
}

// accumulator gathers the sums behind Metrics, chunk by chunk.
type accumulator struct {
	labels    []int // nil: no classification metrics
	regress   bool  // compute the regression metrics
	n         int
	loss      float64
	correct   int
	confusion [][]int
	scores    []float64 // a single-logit classifier's outputs, for the AUC
	keepScore bool      // collect scores: labels cover the whole set (not a stream)
	// regression sums over all output elements
	count   int
	sq, abs float64
	cols    []moments // per output column: the targets' mean and spread
}

// moments are the count, mean and sum of squared deviations from the mean
// of a stream of values, merged chunk by chunk (Chan et al.), which stays
// accurate when the mean is large next to the spread.
type moments struct {
	n        int
	mean, m2 float64
}

func (m *moments) merge(o moments) {
	if o.n == 0 {
		return
	}
	n := m.n + o.n
	d := o.mean - m.mean
	m.mean += d * float64(o.n) / float64(n)
	m.m2 += o.m2 + d*d*float64(m.n)*float64(o.n)/float64(n)
	m.n = n
}

func newAccumulator(labels []int, k int) *accumulator {
	a := &accumulator{labels: labels}
	if labels != nil {
		a.grow(k)
	}
	return a
}

// grow makes the confusion matrix at least k×k (and at least 2×2).
func (a *accumulator) grow(k int) {
	if k < 2 {
		k = 2
	}
	if k <= len(a.confusion) {
		return
	}
	c := make([][]int, k)
	for i := range c {
		c[i] = make([]int, k)
		if i < len(a.confusion) {
			copy(c[i], a.confusion[i])
		}
	}
	a.confusion = c
}

func (a *accumulator) add(start int, loss float64, out, y *tensor.Dense) error {
	if out == nil || out.Dims() < 1 || out.Shape()[0] != y.Shape()[0] {
		var s tensor.Shape
		if out != nil {
			s = out.Shape()
		}
		return errors.Errorf("model output shape %v does not hold one row per target of shape %v", s, y.Shape())
	}
	rows := out.Shape()[0]
	a.n += rows
	a.loss += loss * float64(rows)
	o := graph.Float64s(out)
	if a.labels != nil {
		a.classify(start, rows, o)
	}
	if a.regress {
		a.regression(o, graph.Float64s(y), len(o)/rows)
	}
	return nil
}

func (a *accumulator) classify(start, rows int, o []float64) {
	width := len(o) / rows
	// A model may have more outputs than the dataset has classes (a test
	// set without the last class): widen the matrix to them.
	a.grow(width)
	for r := 0; r < rows; r++ {
		row := o[r*width : (r+1)*width]
		if width == 1 && a.keepScore {
			a.scores = append(a.scores, row[0])
		}
		pred := argmax(row)
		label := a.labels[start+r]
		a.confusion[label][pred]++
		if pred == label {
			a.correct++
		}
	}
}

func (a *accumulator) regression(o, t []float64, width int) {
	if a.cols == nil {
		a.cols = make([]moments, width)
	}
	for i, v := range o {
		d := v - t[i]
		a.sq += d * d
		a.abs += math.Abs(d)
	}
	for j := range a.cols {
		var c moments
		for i := j; i < len(t); i += width {
			c.n++
			c.mean += t[i]
		}
		c.mean /= float64(c.n)
		for i := j; i < len(t); i += width {
			d := t[i] - c.mean
			c.m2 += d * d
		}
		a.cols[j].merge(c)
	}
	a.count += len(o)
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
		if len(a.scores) == a.n && len(a.labels) == a.n && len(a.confusion) == 2 { // whole-set labels (not a stream's chunk)
			m.AUC, m.HasAUC = rocAUC(a.scores, a.labels)
		}
	}
	if a.regress && a.count > 0 {
		m.Regress = true
		m.MSE = a.sq / float64(a.count)
		m.MAE = a.abs / float64(a.count)
		var ssTot float64
		for _, c := range a.cols {
			ssTot += c.m2
		}
		if ssTot > 0 {
			m.R2 = 1 - a.sq/ssTot
		}
	}
	return m
}
