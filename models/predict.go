package models

import (
	"context"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/progcache"
)

// Init creates m's parameters in empty Params p, as training would on its
// first step, by building the model once for inputs of one example's shape
// xShape. Use it before loading a checkpoint into a fresh Params, or to count
// parameters. Params that already hold parameters are never changed: Init
// then only checks that they are exactly the model's, and an error names the
// missing and unexpected ones.
func Init(m Model, p *graph.Params, xShape tensor.Shape) error {
	if m == nil {
		return errors.New("models: Init: no model")
	}
	if err := p.Validate(); err != nil {
		return errors.Wrap(err, "models: Init")
	}
	c, err := progcache.New(progcache.Spec{Forward: m.Forward, Params: p, X: xShape, Create: true}).Get(1)
	if err != nil {
		return errors.Wrapf(err, "models: Init for example shape %v", xShape)
	}
	return c.Close()
}

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
	m     Model
	p     *graph.Params
	chunk int
	cache *progcache.Cache
	xs    tensor.Shape
}

// NewPredictor returns a Predictor of m with parameters p, running chunk
// examples at a time (0: DefaultChunk).
func NewPredictor(m Model, p *graph.Params, chunk int) *Predictor {
	if chunk <= 0 {
		chunk = DefaultChunk
	}
	return &Predictor{m: m, p: p, chunk: chunk}
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
func (pr *Predictor) Close() {
	if pr.cache != nil {
		pr.cache.Close()
		pr.cache = nil
	}
}

// Predict returns the model's outputs for x of shape (N, example shape...).
func (pr *Predictor) Predict(x *tensor.Dense) (*tensor.Dense, error) {
	return pr.PredictContext(context.Background(), x)
}

// PredictContext is Predict that stops with ctx's error, between two chunks
// of examples, once ctx is done.
func (pr *Predictor) PredictContext(ctx context.Context, x *tensor.Dense) (*tensor.Dense, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if pr.m == nil || pr.p == nil {
		return nil, errors.New("models: Predict needs a model and params")
	}
	if err := pr.p.Validate(); err != nil {
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
	if x.Dtype() != pr.p.Dtype() {
		return nil, errors.Errorf("models: Predict: input dtype %v differs from params dtype %v", x.Dtype(), pr.p.Dtype())
	}
	if !x.IsNativelyAccessible() || x.RequiresIterator() {
		return nil, errors.New("models: Predict wants a contiguous dense input")
	}
	xs := x.Shape()[1:].Clone()
	if pr.cache == nil || !graph.SameShape(xs, pr.xs) {
		pr.Close()
		pr.xs = xs
		pr.cache = progcache.New(progcache.Spec{Forward: pr.m.Forward, Params: pr.p, X: xs})
	}
	n, row := x.Shape()[0], xs.TotalSize()
	var out *tensor.Dense
	for start := 0; start < n; start += pr.chunk {
		end := start + pr.chunk
		if end > n {
			end = n
		}
		if err := ctx.Err(); err != nil {
			return nil, errors.Wrapf(err, "models: predict: stopped at example %d of %d", start, n)
		}
		c, err := pr.cache.Get(end - start)
		if err != nil {
			return nil, errors.Wrap(err, "models: predict")
		}
		copySlice(c.X, 0, x, start*row, (end-start)*row)
		if err := c.Run(); err != nil {
			return nil, errors.Wrapf(err, "models: predict examples %d..%d", start, end-1)
		}
		o, err := batchOutput(c.Output(0), end-start, x.Dtype())
		if err != nil {
			return nil, errors.Wrap(err, "models: predict")
		}
		if out == nil {
			shape := append(tensor.Shape{n}, o.Shape()[1:]...)
			out = tensor.New(tensor.Of(x.Dtype()), tensor.WithShape(shape...))
		}
		size := o.Shape().TotalSize()
		copySlice(out, start*(size/(end-start)), o, 0, size)
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
