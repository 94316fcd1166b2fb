package models

import (
	"context"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/progcache"
)

// A Predictor computes a model's outputs, compiling one graph per chunk size
// and keeping them for later calls. It never changes the Params, and is not
// safe for concurrent use.
//
// The outputs do not depend on the chunk size, bit for bit, for models of
// Dense layers. A convolution (LeNet) multiplies by a transposed kernel, a
// product that gonum's BLAS sums in blocks of 64 once the batch is large, so
// there chunk sizes can change the last bits (measured: a few 1e-15
// relative in float64, 1e-6 in float32).
type Predictor struct {
	r chunkRunner
}

// NewPredictor returns a Predictor of m with parameters p, running chunk
// examples at a time (0: DefaultChunk).
func NewPredictor(m Model, p *graph.Params, chunk int) *Predictor {
	return &Predictor{r: newChunkRunner(m, p, nil, chunk)}
}

// Predict returns the model's outputs for x of shape (N, example shape...):
// logits for classifiers, predictions for regressors, shape (N, outputs...).
func Predict(m Model, p *graph.Params, x *tensor.Dense) (*tensor.Dense, error) {
	return PredictContext(context.Background(), m, p, x)
}

// PredictContext is Predict that stops with ctx's error, between two chunks
// of examples, once ctx is done.
func PredictContext(ctx context.Context, m Model, p *graph.Params, x *tensor.Dense) (*tensor.Dense, error) {
	pr := NewPredictor(m, p, 0)
	defer pr.Close()
	return pr.PredictContext(ctx, x)
}

// Close releases the compiled graphs.
func (pr *Predictor) Close() { pr.r.close() }

// Predict returns the model's outputs for x of shape (N, example shape...).
func (pr *Predictor) Predict(x *tensor.Dense) (*tensor.Dense, error) {
	return pr.PredictContext(context.Background(), x)
}

// PredictContext is Predict that stops with ctx's error, between two chunks
// of examples, once ctx is done.
func (pr *Predictor) PredictContext(ctx context.Context, x *tensor.Dense) (*tensor.Dense, error) {
	if pr.r.m == nil || pr.r.p == nil {
		return nil, errors.New("models: Predict needs a model and params")
	}
	if err := pr.r.p.Validate(); err != nil {
		return nil, errors.Wrap(err, "models: Predict")
	}
	if x == nil {
		return nil, errors.New("models: Predict: nil input")
	}
	if x.Dims() < 2 {
		return nil, errors.Errorf("models: Predict wants inputs of shape (N, features...), got %v", x.Shape())
	}
	if x.Shape().TotalSize() == 0 {
		return nil, errors.Errorf("models: Predict: input shape %v holds no examples", x.Shape())
	}
	if x.Dtype() != pr.r.p.Dtype() {
		return nil, errors.Errorf("models: Predict: input dtype %v differs from params dtype %v", x.Dtype(), pr.r.p.Dtype())
	}
	if !x.IsNativelyAccessible() || x.RequiresIterator() {
		return nil, errors.New("models: Predict wants a contiguous dense input")
	}
	xs := x.Shape()[1:].Clone()
	n, row := x.Shape()[0], xs.TotalSize()
	var out *tensor.Dense
	err := pr.r.each(ctx, pr.r.programs(xs, nil), chunkPass{what: "predict", n: n,
		fill: func(c *progcache.Compiled, start, end int) error {
			copySlice(c.X, 0, x, start*row, (end-start)*row)
			return nil
		},
		take: func(c *progcache.Compiled, start, end int) error {
			o, err := batchOutput(c.Output(0), end-start, x.Dtype())
			if err != nil {
				return errors.Wrap(err, "models: predict")
			}
			if out == nil {
				shape := append(tensor.Shape{n}, o.Shape()[1:]...)
				out = tensor.New(tensor.Of(x.Dtype()), tensor.WithShape(shape...))
			}
			size := o.Shape().TotalSize()
			copySlice(out, start*(size/(end-start)), o, 0, size)
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// batchOutput checks that a model's output o holds one row per example of a
// batch of n, of dtype dt, and returns it contiguous.
func batchOutput(o *tensor.Dense, n int, dt tensor.Dtype) (*tensor.Dense, error) {
	if o == nil {
		return nil, errors.New("the model's output has no value")
	}
	if o.Dims() < 1 || o.Shape()[0] != n {
		return nil, errors.Errorf("the model's output has shape %v for a batch of %d; want (%d, ...)", o.Shape(), n, n)
	}
	if o.Dtype() != dt {
		return nil, errors.Errorf("the model's output has dtype %v, want %v", o.Dtype(), dt)
	}
	if o.RequiresIterator() { // a view: copy it out
		o = o.Materialize().(*tensor.Dense)
	}
	return o, nil
}

// copySlice copies n elements of src from offset so into dst at offset do.
func copySlice(dst *tensor.Dense, do int, src *tensor.Dense, so, n int) {
	switch d := dst.Data().(type) {
	case []float64:
		copy(d[do:do+n], src.Data().([]float64)[so:so+n])
	case []float32:
		copy(d[do:do+n], src.Data().([]float32)[so:so+n])
	}
}
