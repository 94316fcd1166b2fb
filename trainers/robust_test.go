package trainers

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/testutil"
	"github.com/descent-go/descent/models"
)

func TestCancelMidEpoch(t *testing.T) {
	lr := newLinReg(t, 100, 3, 0.3, 40, tensor.Float64)
	const k = 25 // 10 updates per epoch: canceled in the middle of epoch 2

	// Reference: an uninterrupted run, with the params copied after k updates.
	var atK *graph.Params
	c := cfg(5, SGD{LR: 0.05, Momentum: 0.5})
	c.LogEvery = 1
	c.Callbacks = []Callback{func(e Event) error {
		if e.Kind == StepEnd && e.Step == k {
			atK = e.Params.Clone()
		}
		return nil
	}}
	if _, err := (MiniBatchSGD{BatchSize: 10, Config: c}).Fit(bg, models.Linear{}, graph.NewParams(tensor.Float64, 1), lr.ds); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	var ends int
	c.Callbacks = []Callback{func(e Event) error {
		switch {
		case e.Kind == StepEnd && e.Step == k:
			cancel()
		case e.Kind == FitEnd:
			ends++
		}
		return nil
	}}
	p := graph.NewParams(tensor.Float64, 1)
	h, err := MiniBatchSGD{BatchSize: 10, Config: c}.Fit(ctx, models.Linear{}, p, lr.ds)
	if !errors.Is(err, context.Canceled) || errors.Cause(err) != context.Canceled {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	testutil.ErrContains(t, err, "epoch 3 step 25")
	if h == nil || len(h.Epochs) != 2 || h.Last().Updates != 20 || !strings.Contains(h.Stopped, "canceled") {
		t.Fatalf("History %+v: want the 2 finished epochs and Stopped", h)
	}
	if !testutil.SameParams(p, atK) {
		t.Errorf("params %v, want those after exactly %d updates %v", allParams(p), k, allParams(atK))
	}
	if ends != 1 {
		t.Errorf("FitEnd seen %d times", ends)
	}

	// Canceled before the start: no update at all.
	done, cancel2 := context.WithCancel(bg)
	cancel2()
	q := graph.NewParams(tensor.Float64, 1)
	setTheta(t, q, 3, []float64{1, 2, 3, 4})
	before := q.Clone()
	h, err = GD{Config: cfg(3, SGD{LR: 0.1})}.Fit(done, models.Linear{}, q, lr.ds)
	if !errors.Is(err, context.Canceled) || h == nil || len(h.Epochs) != 0 || !testutil.SameParams(q, before) {
		t.Errorf("pre-canceled Fit: %v, History %+v", err, h)
	}
}

func TestDivergenceIsAnError(t *testing.T) {
	lr := newLinReg(t, 100, 3, 0.3, 41, tensor.Float64)
	for _, tr := range []Trainer{
		GD{Config: cfg(500, SGD{LR: 5})},
		MiniBatchSGD{BatchSize: 10, Config: cfg(500, SGD{LR: 5})},
	} {
		h, err := tr.Fit(bg, models.Linear{}, graph.NewParams(tensor.Float64, 1), lr.ds)
		testutil.ErrContains(t, err, "epoch ", " step ", "loss is +Inf", "diverged")
		t.Logf("%v", err)
		if h == nil {
			t.Error("no History after divergence")
		}
	}
}

// divZero is a model whose output is x·W / 0: non-finite from the start.
type divZero struct{}

func (divZero) Forward(b *graph.Builder, x *G.Node) (*G.Node, error) {
	h, err := graph.Dense(b, "lin", x, 1, nil)
	if err != nil {
		return nil, err
	}
	return G.Div(h, G.NewConstant(0.0))
}

// sqrtBias is a model x·W + √c with c initialized to 0: its loss is finite
// but d√c/dc = 1/(2√c) is infinite there.
type sqrtBias struct{}

func (sqrtBias) Forward(b *graph.Builder, x *G.Node) (*G.Node, error) {
	h, err := graph.Dense(b, "lin", x, 1, nil)
	if err != nil {
		return nil, err
	}
	c, err := b.Param("sqrtbias/c", tensor.Shape{1}, graph.Zeros)
	if err != nil {
		return nil, err
	}
	s, err := G.Sqrt(c)
	if err != nil {
		return nil, err
	}
	s, err = G.Reshape(s, tensor.Shape{1, 1})
	if err != nil {
		return nil, err
	}
	return G.BroadcastAdd(h, s, nil, []byte{0})
}

// panicky panics in Forward.
type panicky struct{}

func (panicky) Forward(b *graph.Builder, x *G.Node) (*G.Node, error) { panic("model bug") }

func TestNonFiniteModelIsAnError(t *testing.T) {
	lr := newLinReg(t, 40, 2, 0.1, 42, tensor.Float64)
	_, err := GD{Config: cfg(3, SGD{LR: 0.1})}.Fit(bg, divZero{}, graph.NewParams(tensor.Float64, 1), lr.ds)
	testutil.ErrContains(t, err, "epoch 1 step 0", "loss is")
	t.Logf("x/0: %v", err)
	_, err = MiniBatchSGD{BatchSize: 8, Config: cfg(3, SGD{LR: 0.1})}.Fit(bg, sqrtBias{}, graph.NewParams(tensor.Float64, 1), lr.ds)
	testutil.ErrContains(t, err, "epoch 1 step 0", `gradient of "sqrtbias/c"`, "not finite")
	t.Logf("√c: %v", err)
	_, err = GD{Config: cfg(3, SGD{LR: 0.1})}.Fit(bg, panicky{}, graph.NewParams(tensor.Float64, 1), lr.ds)
	testutil.ErrContains(t, err, "model bug")
}

func TestShapeMismatchFailsBeforeTheFirstStep(t *testing.T) {
	blobs, err := datasets.Blobs(200, 10, 4, 1, 43, tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	oneHot, err := blobs.OneHot()
	if err != nil {
		t.Fatal(err)
	}
	lr := newLinReg(t, 100, 4, 0.1, 44, tensor.Float64)
	for _, tc := range []struct {
		name string
		m    models.Model
		ds   *datasets.Dataset
		loss graph.Loss
		want []string
	}{
		{"MLP 3 outputs, 10 one-hot classes", models.MLP{Hidden: []int{8}, Outputs: 3}, oneHot, graph.SoftmaxCrossEntropy, []string{"(32, 3)", "(32, 10)"}},
		{"Linear 2 outputs, 1 target", models.Linear{Outputs: 2}, lr.ds, graph.MSE, []string{"(32, 2)", "(32, 1)"}},
		{"Linear on class indices with MSE", models.Linear{Outputs: 10}, blobs, graph.MSE, []string{"(32, 10)", "(32)"}},
	} {
		c := cfg(2, SGD{LR: 0.1})
		c.Loss = tc.loss
		// Parameters made beforehand (for the model's own shapes) are untouched...
		p := graph.NewParams(tensor.Float64, 5)
		if err := models.Init(tc.m, p, tc.ds.XShape()); err != nil {
			t.Fatal(err)
		}
		before := p.Clone()
		h, err := MiniBatchSGD{BatchSize: 32, Config: c}.Fit(bg, tc.m, p, tc.ds)
		testutil.ErrContains(t, err, tc.want...)
		if h != nil || !testutil.SameParams(p, before) {
			t.Errorf("%s: History %v; params changed: %v", tc.name, h, !testutil.SameParams(p, before))
		}
		// ...and fresh ones stay empty, so a corrected model can use them.
		q := graph.NewParams(tensor.Float64, 5)
		if _, err := (MiniBatchSGD{BatchSize: 32, Config: c}).Fit(bg, tc.m, q, tc.ds); err == nil || q.Len() != 0 {
			t.Errorf("%s: fresh params now hold %v", tc.name, q.Names())
		}
		t.Logf("%s: %v", tc.name, err)
	}
	// The corrected model trains on the same (still empty) params.
	q := graph.NewParams(tensor.Float64, 5)
	c := cfg(1, SGD{LR: 0.1})
	c.Loss = graph.SoftmaxCrossEntropy
	MiniBatchSGD{BatchSize: 32, Config: c}.Fit(bg, models.MLP{Hidden: []int{8}, Outputs: 3}, q, oneHot)
	if _, err := (MiniBatchSGD{BatchSize: 32, Config: c}).Fit(bg, models.MLP{Hidden: []int{8}, Outputs: 10}, q, oneHot); err != nil {
		t.Errorf("corrected model on the same params: %v", err)
	}
}

func TestValidationAndDtypeMismatches(t *testing.T) {
	lr := newLinReg(t, 60, 3, 0.1, 45, tensor.Float64)
	other := newLinReg(t, 30, 4, 0.1, 46, tensor.Float64)
	lr32 := newLinReg(t, 60, 3, 0.1, 47, tensor.Float32)
	blobs, err := datasets.Blobs(60, 1, 3, 1, 48, tensor.Float64) // class indices: Y shape (N)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		train, val  *datasets.Dataset
		paramsDtype tensor.Dtype
		want        []string
	}{
		{"validation example shape", lr.ds, other.ds, tensor.Float64, []string{"validation", "(4)", "(3)"}},
		{"validation dtype", lr.ds, lr32.ds, tensor.Float64, []string{"validation", "float32"}},
		{"validation target shape (N) vs (N, 1)", lr.ds, blobs, tensor.Float64, []string{"validation"}},
		{"training set dtype", lr32.ds, nil, tensor.Float64, []string{"dtype float32", "float64"}},
	} {
		c := cfg(2, SGD{LR: 0.1})
		c.Validation = tc.val
		p := graph.NewParams(tc.paramsDtype, 1)
		_, err := GD{Config: c}.Fit(bg, models.Linear{}, p, tc.train)
		testutil.ErrContains(t, err, tc.want...)
		if p.Len() != 0 {
			t.Errorf("%s: params created", tc.name)
		}
	}
}

// sqrtExpBias is x·W + √exp(c) with c initialized to 1: when c reaches
// −Inf its forward pass is finite (√0) but its gradient is not (∞·0).
type sqrtExpBias struct{}

func (sqrtExpBias) Forward(b *graph.Builder, x *G.Node) (*G.Node, error) {
	h, err := graph.Dense(b, "lin", x, 1, nil)
	if err != nil {
		return nil, err
	}
	c, err := b.Param("c", tensor.Shape{1, 1}, graph.Constant(1))
	if err != nil {
		return nil, err
	}
	e, err := G.Exp(c)
	if err != nil {
		return nil, err
	}
	s, err := G.Sqrt(e)
	if err != nil {
		return nil, err
	}
	return G.BroadcastAdd(h, s, nil, []byte{0})
}

// cToMinusInf is SGD whose second update also sets the [1, 1] parameter
// (sqrtExpBias's c) to −Inf: a diverging update that the next step's loss
// does not show, only its gradient.
type cToMinusInf struct{ lr float64 }

func (o cToMinusInf) LearningRate() float64 { return o.lr }

func (o cToMinusInf) Start(params []*tensor.Dense) (Update, error) {
	calls := 0
	return func(lr float64, grads []*tensor.Dense) error {
		calls++
		for i, p := range params {
			axpy(-lr, grads[i], p)
			if calls == 2 && p.Shape().Eq(tensor.Shape{1, 1}) {
				p.Float64s()[0] = math.Inf(-1)
			}
		}
		return nil
	}, nil
}

// The guard's copy is made right before each update, after the gradients
// are checked: a step whose gradient is not finite because the last update
// made a weight so must not overwrite the copy of the weights before that
// update, which the Fit puts back.
func TestGuardKeepsTheWeightsBeforeTheDivergingUpdate(t *testing.T) {
	lr := newLinReg(t, 40, 2, 0.1, 42, tensor.Float64)
	for _, reps := range []int{1, 2} {
		var before []float64 // c after the first update, before the second
		c := cfg(3, cToMinusInf{lr: 0.01})
		c.LogEvery = 1
		p := graph.NewParams(tensor.Float64, 1)
		c.Callbacks = []Callback{func(e Event) error {
			if e.Kind == StepEnd && e.Step == 1 {
				before = p.CopyFloat64s("c")
			}
			return nil
		}}
		c.Parallel.Replicas = reps
		_, err := MiniBatchSGD{BatchSize: 8, Config: c}.Fit(bg, sqrtExpBias{}, p, lr.ds)
		testutil.ErrContains(t, err, "epoch 1 step 2", `gradient of "c"`, "not finite", "update 2", "left at their values before")
		if got := p.CopyFloat64s("c"); len(before) != 1 || got[0] != before[0] || math.IsInf(got[0], 0) {
			t.Errorf("%d replicas: c = %v after the Fit, want %v (its value before the diverging update)", reps, got, before)
		}
	}
}
