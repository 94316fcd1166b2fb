package trainers

import (
	"context"
	"math"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/testutil"
	"github.com/descent-go/descent/models"
)

// labelled returns a 4-feature, 3-class dataset of n rows whose row bad (if
// ≥ 0) has class label, and the same for targets of shape (n, 1) in {0, 1}.
func labelled(t *testing.T, n, bad int, label float64) *datasets.Dataset {
	t.Helper()
	x, y := make([]float64, 4*n), make([]float64, n)
	for i := range y {
		y[i] = float64(i % 3)
		for j := 0; j < 4; j++ {
			x[4*i+j] = float64((i*7+j*3)%11) / 11
		}
	}
	if bad >= 0 {
		y[bad] = label
	}
	ds, err := datasets.FromFloat64(x, []int{n, 4}, y, []int{n}, tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func binary(t *testing.T, n, bad int, target float64) *datasets.Dataset {
	t.Helper()
	x, y := make([]float64, 2*n), make([]float64, n)
	for i := range y {
		y[i] = float64(i % 2)
		x[2*i], x[2*i+1] = float64(i%5), float64(i%3)
	}
	y[bad] = target
	ds, err := datasets.FromFloat64(x, []int{n, 2}, y, []int{n, 1}, tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// nanLater is the training set of the case whose data turns NaN mid-Fit.
var nanLater *datasets.Dataset

// Issue 15 items 4 and 6, and the zero values of item 10: bad data is an
// error before the first step naming the dataset row, divergence leaves the
// params finite and names its cause, zero values give plain messages.
func TestNoSilentWrongResult(t *testing.T) {
	sce := Config{Epochs: 2, Loss: graph.SoftmaxCrossEntropy, Optimizer: SGD{LR: 0.1}, Seed: 1}
	mlp3 := models.MLP{Hidden: []int{4}, Outputs: 3}
	nanAfterLoading := labelled(t, 40, -1, 0)
	nanAfterLoading.X().Float64s()[4*29+2] = math.NaN()
	lin := newLinReg(t, 40, 2, 0.1, 3, tensor.Float64)
	lin8 := newLinReg(t, 8, 2, 0.1, 3, tensor.Float64) // one batch: one update per epoch
	for _, tc := range []struct {
		name   string
		cfg    Config
		m      models.Model
		train  *datasets.Dataset
		p      *graph.Params
		words  []string
		finite bool // the params must stay finite (after a step)
	}{
		{"class 3 for 3 outputs", sce, mlp3, labelled(t, 40, 37, 3), nil,
			[]string{"training set", "row 37", "Y[37] = 3", "3 outputs"}, false},
		{"validation class out of range", func() Config { c := sce; c.Validation = labelled(t, 10, 6, 5); return c }(), mlp3,
			labelled(t, 40, -1, 0), nil, []string{"validation set", "row 6", "5", "3 outputs"}, false},
		{"BCE target 5", Config{Epochs: 1, Loss: graph.BinaryCrossEntropy, Optimizer: SGD{LR: 0.1}}, models.Logistic{},
			binary(t, 30, 12, 5), nil, []string{"row 12", "5", "[0, 1]"}, false},
		{"data NaN after loading", sce, mlp3, nanAfterLoading, nil,
			[]string{"training set", "row 29", "NaN", "changed after loading"}, false},
		{"an update makes a weight -Inf", Config{Epochs: 3, Loss: graph.MSE, Optimizer: SGD{LR: 1e308}}, models.Linear{},
			lin.ds, nil, []string{"update 1", "1e+308", "linear/", "not finite", "left at their values before"}, true},
		{"an update makes a weight -Inf, 2 replicas", Config{Epochs: 3, Loss: graph.MSE, Optimizer: SGD{LR: 1e308}, Parallel: Parallel{Replicas: 2}}, models.Linear{},
			lin.ds, nil, []string{"update 1", "linear/", "not finite", "left at their values before"}, true},
		{"data NaN after loading, 2 replicas", func() Config { c := sce; c.Parallel.Replicas = 2; return c }(), mlp3, nanAfterLoading, nil,
			[]string{"training set", "row 29", "NaN", "changed after loading"}, false},
		{"data turns NaN during the Fit", func() Config {
			c := sce
			ds := labelled(t, 40, -1, 0)
			c.LogEvery = 1
			c.Callbacks = []Callback{func(e Event) error {
				if e.Kind == StepEnd && e.Step == 2 {
					x := ds.X().Float64s()
					for i := range x {
						x[i] = math.NaN()
					}
				}
				return nil
			}}
			c.Validation = nil
			nanLater = ds
			return c
		}(), mlp3, nil, nil, []string{"epoch 1 step 2", "loss is NaN", "dataset row", "non-finite X", "not the learning rate"}, true},
		{"the last update makes a weight -Inf", Config{Epochs: 1, Loss: graph.MSE, Optimizer: SGD{LR: 1e308}}, models.Linear{},
			lin8.ds, nil, []string{"end of epoch 1", "update 1", "not finite", "left at their values before"}, true},
		{"zero Params", sce, mlp3, labelled(t, 40, -1, 0), &graph.Params{},
			[]string{"params are a zero value", "graph.NewParams"}, false},
		{"zero Dataset", sce, mlp3, &datasets.Dataset{}, nil,
			[]string{"training set", "zero value", "datasets.New"}, false},
		{"zero validation Dataset", func() Config { c := sce; c.Validation = &datasets.Dataset{}; return c }(), mlp3,
			labelled(t, 40, -1, 0), nil, []string{"validation set", "zero value"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.train == nil {
				tc.train = nanLater
			}
			p := tc.p
			if p == nil {
				p = graph.NewParams(tensor.Float64, 1)
			}
			var steps int
			c := tc.cfg
			c.Callbacks = append(c.Callbacks, func(e Event) error { steps = e.Step; return nil })
			_, err := MiniBatchSGD{BatchSize: 8, Config: c}.Fit(context.Background(), tc.m, p, tc.train)
			testutil.ErrContains(t, err, tc.words...)
			if strings.Contains(err.Error(), "PANIC") {
				t.Errorf("the message hides a panic: %v", err)
			}
			if tc.finite {
				for _, name := range p.Names() {
					for _, v := range p.CopyFloat64s(name) {
						if math.IsNaN(v) || math.IsInf(v, 0) {
							t.Fatalf("parameter %q holds %v after the Fit", name, v)
						}
					}
				}
			} else if steps != 0 || (tc.p == nil && p.Len() != 0) {
				t.Errorf("the error came after %d steps, with params %v: want it before the first", steps, p.Names())
			}
		})
	}
}

// Issue 15 item 3: a cancel that arrives while the validation set is
// evaluated stops the evaluation at the next chunk, not at its end; so do
// evaluation and prediction on their own.
func TestCancelDuringValidation(t *testing.T) {
	train := labelled(t, 40, -1, 0)
	val := labelled(t, 3000, -1, 0)
	m := models.MLP{Hidden: []int{4}, Outputs: 3}
	for _, tc := range []struct {
		name  string
		run   func(ctx context.Context, loss graph.Loss) error
		words []string
	}{
		{"Fit validation", func(ctx context.Context, loss graph.Loss) error {
			c := Config{Epochs: 3, Loss: loss, Optimizer: SGD{LR: 0.1}, Validation: val, EvalChunk: 100}
			_, err := MiniBatchSGD{BatchSize: 8, Config: c}.Fit(ctx, m, graph.NewParams(tensor.Float64, 1), train)
			return err
		}, []string{"epoch 1", "validation", "stopped at example 100 of 3000", "context canceled"}},
		{"EvaluateContext", func(ctx context.Context, loss graph.Loss) error {
			p := graph.NewParams(tensor.Float64, 1)
			if err := models.Init(m, p, val.XShape()); err != nil {
				return err
			}
			e := models.NewEvaluator(m, p, loss, 100)
			defer e.Close()
			_, err := e.EvaluateContext(ctx, val)
			return err
		}, []string{"models: evaluate", "stopped at example 100 of 3000", "context canceled"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// The loss cancels when an evaluation graph is built: the
			// cancel arrives during the validation pass.
			loss := func(b *graph.Builder, out, y *G.Node) (*G.Node, error) {
				if !b.Training() {
					cancel()
				}
				return graph.SoftmaxCrossEntropy(b, out, y)
			}
			testutil.ErrContains(t, tc.run(ctx, loss), tc.words...)
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := graph.NewParams(tensor.Float64, 1)
	if err := models.Init(m, p, val.XShape()); err != nil {
		t.Fatal(err)
	}
	_, err := models.PredictContext(ctx, m, p, val.X())
	testutil.ErrContains(t, err, "models: predict", "stopped at example 0 of 3000", "context canceled")
}

// Issue 15 item 10: schedule and callback settings that cannot work are
// errors before the first step (they used to be accepted, or found at the
// end of the first epoch).
func TestSettingsCheckedBeforeFirstStep(t *testing.T) {
	lin := newLinReg(t, 40, 2, 0.1, 3, tensor.Float64)
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		set   func(c *Config)
		words []string
	}{
		{"StepDecay(0)", func(c *Config) { c.Schedule = StepDecay(0, 0.5) }, []string{"before the first step", "NaN", "StepDecay"}},
		{"Warmup(0)", func(c *Config) { c.Schedule = Warmup(0, nil) }, []string{"before the first step", "NaN", "Warmup"}},
		{"Warmup(-3)", func(c *Config) { c.Schedule = Warmup(-3, nil) }, []string{"NaN", "Warmup"}},
		{"Checkpoint every 0", func(c *Config) { c.Callbacks = []Callback{Checkpoint(dir+"/c.bin", 0, 1, "")} }, []string{"Checkpoint", "every = 0"}},
		{"Checkpoint keep 0", func(c *Config) { c.Callbacks = []Callback{Checkpoint(dir+"/c.bin", 1, 0, "")} }, []string{"Checkpoint", "keep = 0"}},
		{"Checkpoint empty path", func(c *Config) { c.Callbacks = []Callback{Checkpoint("", 1, 1, "")} }, []string{"Checkpoint", "empty path"}},
		{"Checkpoint best of an unknown quantity", func(c *Config) { c.Callbacks = []Callback{Checkpoint(dir+"/c.bin", 0, 1, "val_acc")} }, []string{"Checkpoint", "val_acc"}},
		{"EarlyStopping patience -1", func(c *Config) { c.Callbacks = []Callback{EarlyStopping("", -1, 0, false)} }, []string{"EarlyStopping", "patience = -1"}},
		{"EarlyStopping minDelta NaN", func(c *Config) { c.Callbacks = []Callback{EarlyStopping("", 1, math.NaN(), false)} }, []string{"EarlyStopping", "minDelta = NaN"}},
		{"EarlyStopping val_metric without validation", func(c *Config) { c.Callbacks = []Callback{EarlyStopping("val_metric", 1, 0, false)} }, []string{"EarlyStopping", "val_metric", "Config.Validation"}},
		{"EarlyStopping unknown quantity", func(c *Config) { c.Callbacks = []Callback{EarlyStopping("accuracy", 1, 0, false)} }, []string{"EarlyStopping", "accuracy"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg(2, SGD{LR: 0.01})
			tc.set(&c)
			steps := 0
			c.LogEvery = 1
			c.Callbacks = append(c.Callbacks, func(e Event) error {
				if e.Kind == StepEnd {
					steps++
				}
				return nil
			})
			p := graph.NewParams(tensor.Float64, 1)
			h, err := MiniBatchSGD{BatchSize: 8, Config: c}.Fit(context.Background(), models.Linear{}, p, lin.ds)
			testutil.ErrContains(t, err, tc.words...)
			if steps != 0 || h != nil || p.Len() != 0 {
				t.Errorf("the error came after %d steps (History %v, params %v): want it before the first", steps, h, p.Names())
			}
		})
	}
}
