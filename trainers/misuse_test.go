package trainers

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/testutil"
	"github.com/descent-go/descent/models"
)

// The wrong calls a user can make to each exported function of the package:
// each is an error naming what is wrong, never a panic, and leaves the
// Params and the data as they were. (Optimizer fields, schedule and
// callback settings have their own tables in optimizers_test.go and
// silent_test.go.)
func TestMisuse(t *testing.T) {
	lin := newLinReg(t, 40, 2, 0.1, 3, tensor.Float64)
	m := models.Linear{}
	p := graph.NewParams(tensor.Float64, 1)
	setTheta(t, p, 2, []float64{0.1, 0.2, 0.3})
	before := p.Clone()
	xBefore := graph.Float64s(lin.ds.X())
	ok := cfg(1, SGD{LR: 0.1})
	with := func(f func(c *Config)) Config { c := ok; f(&c); return c }
	f32 := graph.NewParams(tensor.Float32, 1)
	cls := labelled(t, 30, -1, 0)
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		call  func() error
		words []string
	}{
		{"Fit nil model", func() error { _, err := GD{Config: ok}.Fit(bg, nil, p, lin.ds); return err }, []string{"no model"}},
		{"Fit nil params", func() error { _, err := GD{Config: ok}.Fit(bg, m, nil, lin.ds); return err }, []string{"no params"}},
		{"Fit zero params", func() error { _, err := GD{Config: ok}.Fit(bg, m, &graph.Params{}, lin.ds); return err }, []string{"zero value"}},
		{"Fit nil data", func() error { _, err := GD{Config: ok}.Fit(bg, m, p, nil); return err }, []string{"no training set"}},
		{"Fit nil context", func() error {
			_, err := GD{Config: with(func(c *Config) { c.Epochs = 0 })}.Fit(nil, m, p, lin.ds)
			return err
		}, []string{"Epochs = 0"}},
		{"Fit dtype", func() error { _, err := GD{Config: ok}.Fit(bg, m, f32, lin.ds); return err }, []string{"float64", "float32"}},
		{"Fit no loss", func() error {
			_, err := GD{Config: with(func(c *Config) { c.Loss = nil })}.Fit(bg, m, p, lin.ds)
			return err
		}, []string{"Config.Loss"}},
		{"Fit no optimizer", func() error {
			_, err := GD{Config: with(func(c *Config) { c.Optimizer = nil })}.Fit(bg, m, p, lin.ds)
			return err
		}, []string{"Config.Optimizer"}},
		{"Fit negative LogEvery", func() error {
			_, err := GD{Config: with(func(c *Config) { c.LogEvery = -1 })}.Fit(bg, m, p, lin.ds)
			return err
		}, []string{"Config.LogEvery = -1"}},
		{"Fit unknown metric", func() error {
			_, err := GD{Config: with(func(c *Config) { c.Validation, c.Metric = lin.ds, "accuracy" })}.Fit(bg, m, p, lin.ds)
			return err
		}, []string{`"accuracy"`, "regression"}},
		{"Fit validation of other shape", func() error {
			_, err := GD{Config: with(func(c *Config) { c.Validation = cls })}.Fit(bg, m, p, lin.ds)
			return err
		}, []string{"validation examples", "differ"}},
		{"Fit canceled", func() error {
			ctx, cancel := context.WithCancel(bg)
			cancel()
			_, err := GD{Config: ok}.Fit(ctx, m, p, lin.ds)
			return err
		}, []string{"canceled"}},
		{"GD negative chunk", func() error { _, err := GD{Config: ok, Chunk: -1}.Fit(bg, m, p, lin.ds); return err }, []string{"Chunk = -1"}},
		{"MiniBatchSGD batch 0", func() error { _, err := MiniBatchSGD{Config: ok}.Fit(bg, m, p, lin.ds); return err }, []string{"BatchSize = 0"}},
		{"MiniBatchSGD DropLast leaves nothing", func() error {
			_, err := MiniBatchSGD{Config: ok, BatchSize: 100, DropLast: true}.Fit(bg, m, p, lin.ds)
			return err
		}, []string{"DropLast", "no batch"}},
		{"OnlineSGD noise batch too big", func() error {
			_, err := OnlineSGD{Config: with(func(c *Config) { c.NoiseEvery, c.NoiseBatch = 1, 30 })}.Fit(bg, m, p, lin.ds)
			return err
		}, []string{"gradient noise", "batch size 30"}},
		{"Loop negative batch", func() error { _, err := Loop{Policy{BatchSize: -2}, ok}.Fit(bg, m, p, lin.ds); return err }, []string{"batch size -2"}},
		{"Fit another model's params", func() error {
			_, err := GD{Config: ok}.Fit(bg, models.MLP{Hidden: []int{3}, Outputs: 1}, p, lin.ds)
			return err
		}, []string{"missing", "hidden1/w", "unexpected", "linear/w"}},
		{"SGD Start with no params", func() error {
			u, err := SGD{LR: 1}.Start(nil)
			if err == nil {
				err = u(0.1, []*tensor.Dense{tensor.New(tensor.WithShape(1), tensor.Of(tensor.Float64))})
			}
			return err
		}, []string{"1 gradients for 0 parameters"}},
		{"Adam from a literal", func() error { _, err := (Adam{LR: 1}).Start(nil); return err }, []string{"Eps = 0", "NewAdam"}},
		{"NewAdam LR 0", func() error { _, err := NewAdam(0).Start(nil); return err }, []string{"Adam", "LR = 0"}},
		{"NewAdamW negative decay", func() error { _, err := NewAdamW(0.1, -1).Start(nil); return err }, []string{"AdamW", "WeightDecay"}},
		{"NewRMSProp LR NaN", func() error { _, err := NewRMSProp(math.NaN()).Start(nil); return err }, []string{"RMSProp", "LR = NaN"}},
		{"NewAdaGrad LR Inf", func() error { _, err := NewAdaGrad(math.Inf(1)).Start(nil); return err }, []string{"AdaGrad", "LR = +Inf"}},
		{"Exponential 0", func() error {
			_, err := GD{Config: with(func(c *Config) { c.Schedule = Exponential(0) })}.Fit(bg, m, p, lin.ds)
			return err
		}, []string{"before the first step", "NaN"}},
		{"InverseScaling tau 0", func() error {
			_, err := GD{Config: with(func(c *Config) { c.Schedule = InverseScaling(0, 1) })}.Fit(bg, m, p, lin.ds)
			return err
		}, []string{"before the first step", "NaN"}},
		{"Cosine minFactor 2", func() error {
			_, err := GD{Config: with(func(c *Config) { c.Schedule = Cosine(2) })}.Fit(bg, m, p, lin.ds)
			return err
		}, []string{"before the first step", "Cosine"}},
		{"ReduceOnPlateau patience 0", func() error {
			_, err := GD{Config: with(func(c *Config) { c.Schedule = ReduceOnPlateau(0.5, 0, 0) })}.Fit(bg, m, p, lin.ds)
			return err
		}, []string{"before the first step", "ReduceOnPlateau"}},
		{"LogCSV to a failing writer", func() error {
			_, err := GD{Config: with(func(c *Config) { c.Callbacks = []Callback{LogCSV(failWriter{})} })}.Fit(bg, m, p.Clone(), lin.ds)
			return err
		}, []string{"LogCSV", "disk full"}},
		{"LogJSON to a failing writer", func() error {
			_, err := GD{Config: with(func(c *Config) { c.Callbacks = []Callback{LogJSON(failWriter{})} })}.Fit(bg, m, p.Clone(), lin.ds)
			return err
		}, []string{"LogJSON", "disk full"}},
		{"Checkpoint into a missing directory", func() error {
			cb := Checkpoint(filepath.Join(dir, "no", "c.bin"), 1, 1, "")
			_, err := GD{Config: with(func(c *Config) { c.Callbacks = []Callback{cb} })}.Fit(bg, m, p.Clone(), lin.ds)
			return err
		}, []string{"checkpoint after epoch 1", "no"}},
		{"History.WriteCSV to a failing writer", func() error {
			return (&History{Epochs: []Epoch{{}}}).WriteCSV(failWriter{})
		}, []string{"disk full"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testutil.Misuse(t, "trainers: ", tc.call, tc.words...)
			if !testutil.SameParams(p, before) {
				t.Error("the params changed")
			}
			if got := graph.Float64s(lin.ds.X()); got[3] != xBefore[3] {
				t.Error("the data changed")
			}
		})
	}
	var zero *datasets.Dataset
	if _, err := (GD{Config: ok}).Fit(bg, m, p, zero); err == nil {
		t.Error("a nil *Dataset gave no error")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errDiskFull }

var errDiskFull = &diskFull{}

type diskFull struct{}

func (*diskFull) Error() string { return "disk full" }
