package models_test

import (
	"context"
	"math"
	"math/rand"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/kernels"
	"github.com/descent-go/descent/internal/testutil"
	"github.com/descent-go/descent/models"
	"github.com/descent-go/descent/trainers"
)

func randInput(seed int64, dt tensor.Dtype, shape ...int) *tensor.Dense {
	r := rand.New(rand.NewSource(seed))
	x := tensor.New(tensor.WithShape(shape...), tensor.Of(dt))
	switch d := x.Data().(type) {
	case []float64:
		for i := range d {
			d[i] = r.NormFloat64()
		}
	case []float32:
		for i := range d {
			d[i] = float32(r.NormFloat64())
		}
	}
	return x
}

// Predicting in chunks of 7 gives exactly the outputs of one chunk of all
// 50 examples, of shape (N, outputs), and never changes the Params.
func TestPredictChunks(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		for _, c := range []struct {
			m     models.Model
			shape []int
			out   tensor.Shape
		}{
			{models.Linear{Outputs: 3}, []int{50, 4}, tensor.Shape{50, 3}},
			{models.Logistic{}, []int{50, 4}, tensor.Shape{50, 1}},
			{models.Softmax{Classes: 4}, []int{50, 6}, tensor.Shape{50, 4}},
			{models.MLP{Hidden: []int{8, 5}, Outputs: 3, Dropout: 0.5}, []int{50, 2, 3}, tensor.Shape{50, 3}},
			{models.LeNet{Classes: 4}, []int{50, 1, 12, 12}, tensor.Shape{50, 4}},
		} {
			p := graph.NewParams(dt, 3)
			x := randInput(1, dt, c.shape...)
			must(t, models.Init(c.m, p, x.Shape()[1:]))
			xBefore := graph.Float64s(x)
			big := models.NewPredictor(c.m, p, 1000)
			want, err := big.Predict(x)
			must(t, err)
			before := p.Clone()
			small := models.NewPredictor(c.m, p, 7)
			got, err := small.Predict(x)
			must(t, err)
			if !got.Shape().Eq(c.out) || !want.Shape().Eq(c.out) || got.Dtype() != dt {
				t.Errorf("%T %v: shapes %v and %v, dtype %v; want %v %v", c.m, dt, got.Shape(), want.Shape(), got.Dtype(), c.out, dt)
				continue
			}
			// Dense and convolutional layers give the same bits whatever
			// the batch size in the pure-Go build (every element of a
			// product is one FMA chain in depth order; OpenBLAS kernels
			// depend on the shape).
			tol := 0.0
			if kernels.OpenBLAS {
				tol = 1e-13
				if dt == tensor.Float32 {
					tol = 1e-5
				}
			}
			g, w := graph.Float64s(got), graph.Float64s(want)
			var worst float64
			for i := range w {
				d := math.Abs(g[i]-w[i]) / math.Max(math.Abs(w[i]), 1)
				worst = math.Max(worst, d)
				if !(d <= tol) || (tol == 0 && math.Float64bits(g[i]) != math.Float64bits(w[i])) {
					t.Errorf("%T %v: output %d: chunks of 7 give %v, one chunk %v", c.m, dt, i, g[i], w[i])
					break
				}
			}
			if tol > 0 {
				t.Logf("%T %v: chunks of 7 and 50 differ by %.2g (relative) at most", c.m, dt, worst)
			}
			// Again, through the compiled graphs the predictor keeps: the
			// same chunks give the same bits.
			again, err := small.Predict(x)
			must(t, err)
			if !testutil.SameBits(g, graph.Float64s(again)) {
				t.Errorf("%T %v: a second Predict differs", c.m, dt)
			}
			if !testutil.SameParams(before, p) {
				t.Errorf("%T %v: Predict changed the params", c.m, dt)
			}
			for i, v := range graph.Float64s(x) {
				if v != xBefore[i] {
					t.Errorf("%T %v: Predict changed its input", c.m, dt)
					break
				}
			}
			small.Close()
			big.Close()
		}
	}
}

// After training, Predict changes neither the trained values nor their
// shapes, in either dtype: parameters feed gorgonia ops such as Reshape
// that must not write into them.
func TestPredictLeavesTrainedParams(t *testing.T) {
	train, test := digits(t, tensor.Float32)
	m := models.MLP{Hidden: []int{16}, Outputs: 10, Dropout: 0.2}
	p := graph.NewParams(tensor.Float32, 1)
	fit(t, quickSGD(1, graph.SoftmaxCrossEntropy), m, p, train)
	before := p.Clone()
	out, err := models.Predict(m, p, test.X())
	must(t, err)
	if !out.Shape().Eq(tensor.Shape{test.Len(), 10}) {
		t.Errorf("output shape %v, want (%d, 10)", out.Shape(), test.Len())
	}
	if !testutil.SameParams(before, p) {
		t.Error("Predict changed the params")
	}
}

func TestPredictErrors(t *testing.T) {
	p := graph.NewParams(tensor.Float64, 1)
	m := models.MLP{Hidden: []int{4}, Outputs: 2}
	must(t, models.Init(m, p, tensor.Shape{3}))
	_, err := models.Predict(m, p, randInput(1, tensor.Float32, 5, 3))
	testutil.ErrContains(t, err, "dtype", "float32", "float64")
	_, err = models.Predict(m, p, nil)
	testutil.ErrContains(t, err, "models: Predict")
	_, err = models.Predict(m, p, randInput(1, tensor.Float64, 5))
	testutil.ErrContains(t, err, "models: Predict", "(N, features...)", "got (5)")
	_, err = models.Predict(m, p, tensor.New(tensor.WithShape(0, 3), tensor.Of(tensor.Float64)))
	testutil.ErrContains(t, err, "models: Predict", "(0, 3)", "no examples")
	_, err = models.Predict(nil, p, randInput(1, tensor.Float64, 5, 3))
	testutil.ErrContains(t, err, "models: Predict")
	_, err = models.Predict(m, nil, randInput(1, tensor.Float64, 5, 3))
	testutil.ErrContains(t, err, "models: Predict")
	_, err = models.Predict(models.MLP{Outputs: 0}, graph.NewParams(tensor.Float64, 1), randInput(1, tensor.Float64, 5, 3))
	testutil.ErrContains(t, err, "MLP Outputs = 0")

	// A view that is not contiguous.
	x := randInput(1, tensor.Float64, 6, 3)
	must(t, x.T())
	_, err = models.Predict(m, p, x)
	testutil.ErrContains(t, err, "contiguous")

	// Inputs of another example shape recompile; params made for the
	// first shape then fail with an error naming the parameter.
	pr := models.NewPredictor(m, p, 0)
	defer pr.Close()
	_, err = pr.Predict(randInput(1, tensor.Float64, 5, 3))
	must(t, err)
	_, err = pr.Predict(randInput(1, tensor.Float64, 5, 4))
	testutil.ErrContains(t, err, "hidden1/w", "(3, 4)", "(4, 4)")

	// A custom model whose output does not have one row per example.
	for _, bad := range []models.Model{sumModel{}, transposeModel{}} {
		_, err = models.Predict(bad, graph.NewParams(tensor.Float64, 1), randInput(1, tensor.Float64, 5, 3))
		testutil.ErrContains(t, err, "output", "shape")
	}
	_, err = models.Predict(panicModel{}, graph.NewParams(tensor.Float64, 1), randInput(1, tensor.Float64, 5, 3))
	testutil.ErrContains(t, err, "panic", "boom")
}

// sumModel outputs a scalar.
type sumModel struct{}

func (sumModel) Forward(b *graph.Builder, x *G.Node) (*G.Node, error) { return G.Sum(x) }

// transposeModel outputs (features, batch).
type transposeModel struct{}

func (transposeModel) Forward(b *graph.Builder, x *G.Node) (*G.Node, error) {
	return G.Transpose(x)
}

type panicModel struct{}

func (panicModel) Forward(b *graph.Builder, x *G.Node) (*G.Node, error) { panic("boom") }

// Init creates exactly the parameters training creates, with the same
// names, order, shapes and initial values; a checkpoint of a trained model
// then loads into them.
func TestInit(t *testing.T) {
	blobs, err := datasets.Blobs(60, 3, 4, 1, 1, tensor.Float64)
	must(t, err)
	ds, err := datasets.FromFloat64(graph.Float64s(blobs.X()), []int{60, 1, 2, 2}, graph.Float64s(blobs.Y()), []int{60}, tensor.Float64)
	must(t, err)
	for _, m := range []models.Model{
		models.Softmax{Classes: 3},
		models.MLP{Hidden: []int{5, 4}, Outputs: 3, Dropout: 0.3},
		models.MLP{Hidden: []int{5}, Outputs: 3, Activation: graph.Tanh},
	} {
		data := ds
		if _, ok := m.(models.Softmax); ok {
			data, err = datasets.FromFloat64(graph.Float64s(blobs.X()), []int{60, 4}, graph.Float64s(blobs.Y()), []int{60}, tensor.Float64)
			must(t, err)
		}
		initP := graph.NewParams(tensor.Float64, 11)
		must(t, models.Init(m, initP, data.XShape()))
		trained := graph.NewParams(tensor.Float64, 11)
		// A run with no update: zero learning rate via a schedule.
		zero := trainers.MiniBatchSGD{BatchSize: 7, Config: trainers.Config{Epochs: 1, Loss: graph.SoftmaxCrossEntropy,
			Optimizer: trainers.SGD{LR: 0.1}, Schedule: func(trainers.Time) float64 { return 0 }, Seed: 1}}
		_, err := zero.Fit(context.Background(), m, trained, data)
		must(t, err)
		if !testutil.SameParams(initP, trained) {
			t.Errorf("%T: Init made %v, training %v", m, initP.Names(), trained.Names())
		}
		for i := 0; i < initP.Len() && i < trained.Len(); i++ {
			if initP.Name(i) != trained.Name(i) {
				t.Errorf("%T: parameter %d is %q after Init, %q after training", m, i, initP.Name(i), trained.Name(i))
			}
		}
		// Now train for real, save, and load into the Init'ed params.
		fit(t, quickSGD(2, graph.SoftmaxCrossEntropy), m, trained, data)
		var buf bytesBuffer
		must(t, models.Save(&buf, trained))
		must(t, models.LoadInto(initP, buf.reader()))
		if !testutil.SameParams(initP, trained) {
			t.Errorf("%T: LoadInto after Init differs from the trained params", m)
		}
		want, err := models.Predict(m, trained, data.X())
		must(t, err)
		got, err := models.Predict(m, initP, data.X())
		must(t, err)
		if graph.Float64s(got)[7] != graph.Float64s(want)[7] {
			t.Errorf("%T: predictions differ after LoadInto", m)
		}
	}
}

func TestInitErrors(t *testing.T) {
	p := graph.NewParams(tensor.Float64, 1)
	testutil.ErrContains(t, models.Init(nil, p, tensor.Shape{3}), "models: Init")
	testutil.ErrContains(t, models.Init(models.Linear{}, nil, tensor.Shape{3}), "models: Init")
	testutil.ErrContains(t, models.Init(models.MLP{Outputs: 0}, p, tensor.Shape{3}), "models: Init", "MLP Outputs = 0")
	testutil.ErrContains(t, models.Init(models.LeNet{}, p, tensor.Shape{784}), "models: Init", "LeNet", "(1, 784)")
	testutil.ErrContains(t, models.Init(models.Linear{}, p, nil), "models: Init")
	if p.Len() != 0 {
		t.Errorf("failed Inits left parameters %v", p.Names())
	}
	must(t, models.Init(models.Linear{}, p, tensor.Shape{3}))
	testutil.ErrContains(t, models.Init(models.Linear{}, p, tensor.Shape{4}), "linear/w", "(3, 1)", "(4, 1)")
}
