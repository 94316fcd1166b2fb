package models_test

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/models"
	"github.com/descent-go/descent/trainers"
)

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// floats returns the values of a float32 or float64 tensor as float64.

// digits is scikit-learn's digits split 80/20 (stratified, seed 1) and
// standardized with the training set's statistics.
type digitsData struct{ train, test *datasets.Dataset }

var (
	digitsOnce sync.Once
	digits64   digitsData
	digits32   digitsData
	digitsErr  error
)

func digits(t testing.TB, dt tensor.Dtype) (train, test *datasets.Dataset) {
	t.Helper()
	digitsOnce.Do(func() {
		load := func(dt tensor.Dtype) (digitsData, error) {
			ds, err := datasets.Digits(dt)
			if err != nil {
				return digitsData{}, err
			}
			parts, _, err := ds.SplitStandardized(1, true, 0.8, 0.2)
			if err != nil {
				return digitsData{}, err
			}
			return digitsData{train: parts[0], test: parts[1]}, nil
		}
		if digits64, digitsErr = load(tensor.Float64); digitsErr == nil {
			digits32, digitsErr = load(tensor.Float32)
		}
	})
	must(t, digitsErr)
	if dt == tensor.Float32 {
		return digits32.train, digits32.test
	}
	return digits64.train, digits64.test
}

// quickSGD is mini-batch SGD with momentum as the package doc shows it.
func quickSGD(epochs int, loss graph.Loss) trainers.MiniBatchSGD {
	return trainers.MiniBatchSGD{BatchSize: 32, Config: trainers.Config{
		Epochs: epochs, Loss: loss, Optimizer: trainers.SGD{LR: 0.05, Momentum: 0.9}, Seed: 1,
	}}
}

func fit(t testing.TB, tr trainers.Trainer, m models.Model, p *graph.Params, ds *datasets.Dataset) *trainers.History {
	t.Helper()
	h, err := tr.Fit(context.Background(), m, p, ds)
	must(t, err)
	return h
}

// dense64 returns a float64 tensor of the given shape holding data.
func dense64(data []float64, shape ...int) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
}

// bytesBuffer is a bytes.Buffer that can be read several times.
type bytesBuffer struct{ b []byte }

func (w *bytesBuffer) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }
func (w *bytesBuffer) reader() *bytes.Reader       { return bytes.NewReader(w.b) }
