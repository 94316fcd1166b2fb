package models_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/testutil"
	"github.com/descent-go/descent/models"
)

// The wrong calls a user can make to each exported function of the package:
// each is an error naming what is wrong, never a panic, and leaves the
// Params, the data and the files as they were.
func TestMisuse(t *testing.T) {
	train, test := digits(t, tensor.Float64)
	m := models.MLP{Hidden: []int{8}, Outputs: 10}
	p := graph.NewParams(tensor.Float64, 1)
	must(t, models.Init(m, p, train.XShape()))
	var saved bytes.Buffer
	must(t, models.Save(&saved, p))
	dir := t.TempDir()
	file := filepath.Join(dir, "ckpt.bin")
	must(t, models.SaveFile(file, p))
	fileBefore, _ := os.ReadFile(file)
	corrupt := append([]byte(nil), saved.Bytes()...)
	corrupt[len(corrupt)-1] ^= 1 // the last byte of the checksum
	x32 := tensor.New(tensor.WithShape(2, 64), tensor.Of(tensor.Float32))
	f32 := graph.NewParams(tensor.Float32, 1)
	zero := &graph.Params{}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	before, xBefore := p.Clone(), graph.Float64s(test.X())
	for _, tc := range []struct {
		name  string
		call  func() error
		words []string
	}{
		{"Init nil model", func() error { return models.Init(nil, graph.NewParams(tensor.Float64, 1), train.XShape()) }, []string{"Init", "no model"}},
		{"Init zero params", func() error { return models.Init(m, zero, train.XShape()) }, []string{"Init", "zero value"}},
		{"Init nil params", func() error { return models.Init(m, nil, train.XShape()) }, []string{"Init", "nil"}},
		{"Init empty shape", func() error { return models.Init(m, graph.NewParams(tensor.Float64, 1), nil) }, []string{"Init"}},
		{"Init another model", func() error { return models.Init(models.MLP{Hidden: []int{9}, Outputs: 10}, p, train.XShape()) }, []string{"hidden1/w", "(64, 9)"}},
		{"Predict nil model", func() error { _, err := models.Predict(nil, p, test.X()); return err }, []string{"Predict"}},
		{"Predict zero params", func() error { _, err := models.Predict(m, zero, test.X()); return err }, []string{"zero value"}},
		{"Predict dtype", func() error { _, err := models.Predict(m, p, x32); return err }, []string{"float32", "float64"}},
		{"Predict wrong features", func() error {
			_, err := models.Predict(m, p, tensor.New(tensor.WithShape(2, 63), tensor.Of(tensor.Float64)))
			return err
		}, []string{"hidden1/w", "(64, 8)", "(63, 8)"}},
		{"PredictContext canceled", func() error { _, err := models.PredictContext(canceled, m, p, test.X()); return err }, []string{"predict", "canceled"}},
		{"Predictor of nil params", func() error { _, err := models.NewPredictor(m, nil, 0).Predict(test.X()); return err }, []string{"Predict"}},
		{"Evaluate nil loss", func() error { _, err := models.Evaluate(m, p, nil, test); return err }, []string{"Evaluate", "loss"}},
		{"Evaluate nil dataset", func() error { _, err := models.Evaluate(m, p, graph.SoftmaxCrossEntropy, nil); return err }, []string{"Evaluate", "nil dataset"}},
		{"Evaluate zero dataset", func() error {
			_, err := models.Evaluate(m, p, graph.SoftmaxCrossEntropy, &datasets.Dataset{})
			return err
		}, []string{"Evaluate", "zero value"}},
		{"Evaluate zero params", func() error { _, err := models.Evaluate(m, zero, graph.SoftmaxCrossEntropy, test); return err }, []string{"zero value"}},
		{"Evaluate dtype", func() error { _, err := models.Evaluate(m, f32, graph.SoftmaxCrossEntropy, test); return err }, []string{"float64", "float32"}},
		{"EvaluateContext canceled", func() error {
			_, err := models.EvaluateContext(canceled, m, p, graph.SoftmaxCrossEntropy, test)
			return err
		}, []string{"evaluate", "canceled"}},
		{"Evaluator of another model", func() error {
			_, err := models.NewEvaluator(models.MLP{Hidden: []int{8, 8}, Outputs: 10}, p, graph.SoftmaxCrossEntropy, 0).Evaluate(test)
			return err
		}, []string{"missing", "hidden2/w"}},
		{"Save nil params", func() error { return models.Save(&bytes.Buffer{}, nil) }, []string{"models"}},
		{"Save zero params", func() error { return models.Save(&bytes.Buffer{}, zero) }, []string{"zero value"}},
		{"SaveFile into a missing directory", func() error { return models.SaveFile(filepath.Join(dir, "no", "c.bin"), p) }, []string{"models", "no"}},
		{"SaveFile zero params", func() error { return models.SaveFile(file, zero) }, []string{"zero value"}},
		{"Load garbage", func() error { _, err := models.Load(strings.NewReader("garbage")); return err }, []string{"models"}},
		// Both sums in full: they differ only in their last byte here.
		{"Load checksum damaged", func() error { _, err := models.Load(bytes.NewReader(corrupt)); return err },
			[]string{"checksum mismatch", fmt.Sprintf("stored %x,", corrupt[len(corrupt)-32:])}},
		{"LoadFile missing", func() error { _, err := models.LoadFile(filepath.Join(dir, "missing.bin")); return err }, []string{"missing.bin"}},
		{"LoadInto another model's params", func() error {
			q := graph.NewParams(tensor.Float64, 1)
			must(t, models.Init(models.MLP{Hidden: []int{9}, Outputs: 10}, q, train.XShape()))
			return models.LoadInto(q, bytes.NewReader(saved.Bytes()))
		}, []string{"hidden1/w"}},
		{"LoadInto nil params", func() error { return models.LoadInto(nil, bytes.NewReader(saved.Bytes())) }, []string{"models"}},
		{"LoadInto zero params", func() error { return models.LoadInto(zero, bytes.NewReader(saved.Bytes())) }, []string{"zero value"}},
		{"MLP Outputs 0", func() error {
			return models.Init(models.MLP{Outputs: 0}, graph.NewParams(tensor.Float64, 1), train.XShape())
		}, []string{"MLP Outputs = 0"}},
		{"MLP Dropout 1", func() error {
			return models.Init(models.MLP{Outputs: 2, Dropout: 1}, graph.NewParams(tensor.Float64, 1), train.XShape())
		}, []string{"MLP Dropout = 1"}},
		{"Softmax 1 class", func() error {
			return models.Init(models.Softmax{Classes: 1}, graph.NewParams(tensor.Float64, 1), train.XShape())
		}, []string{"Softmax", "2 classes", "got 1"}},
		{"Linear negative outputs", func() error {
			return models.Init(models.Linear{Outputs: -1}, graph.NewParams(tensor.Float64, 1), train.XShape())
		}, []string{"Linear Outputs = -1"}},
		{"LeNet 1 class", func() error {
			return models.Init(models.LeNet{Classes: 1}, graph.NewParams(tensor.Float64, 1), tensor.Shape{1, 28, 28})
		}, []string{"LeNet Classes = 1"}},
		{"LeNet small images", func() error {
			return models.Init(models.LeNet{}, graph.NewParams(tensor.Float64, 1), tensor.Shape{1, 8, 8})
		}, []string{"LeNet", "≥ 12"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testutil.Misuse(t, "models: ", tc.call, tc.words...)
			if !testutil.SameParams(before, p) {
				t.Error("the params changed")
			}
			if got := graph.Float64s(test.X()); len(got) != len(xBefore) || got[7] != xBefore[7] {
				t.Error("the data changed")
			}
			if b, _ := os.ReadFile(file); !bytes.Equal(b, fileBefore) {
				t.Error("the checkpoint file changed")
			}
		})
	}
}

// FuzzLoadInto feeds LoadInto arbitrary bytes for Params of a fixed model
// (what the Checkpoint callback and a resumed run do): on an error the
// Params keep every bit, on success they hold what Load reads.
func FuzzLoadInto(f *testing.F) {
	small := smallCheckpoint(f)
	f.Add(small)
	f.Add(small[:len(small)-3])
	other := append([]byte(nil), small...)
	other[len(other)-40] ^= 1
	f.Add(other)
	f.Add([]byte("DSCNTPRM"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := models.Load(bytes.NewReader(smallCheckpoint(t)))
		must(t, err)
		before := p.Clone()
		err = models.LoadInto(p, bytes.NewReader(data))
		if err != nil {
			if !testutil.SameParams(before, p) {
				t.Fatalf("LoadInto failed (%v) and changed the params", err)
			}
			testutil.ErrPrefixed(t, err, "models: LoadInto")
			return
		}
		q, err := models.Load(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("LoadInto accepted what Load refuses: %v", err)
		}
		if !testutil.SameParams(q, p) {
			t.Fatal("LoadInto and Load read different values")
		}
	})
}
