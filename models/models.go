// Package models defines what a model is in descent — an architecture whose
// Forward adds its computation to a gorgonia graph — and provides built-in
// models, prediction, evaluation and checkpoints of parameters.
//
// A model holds no weights: they live in a graph.Params, so one architecture
// can be trained from several seeds, and graphs of several batch sizes share
// the same weights. Any type with a Forward method is a model, including one
// defined in a notebook.
package models

import (
	"strconv"

	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"

	"github.com/descent-go/descent/graph"
)

// A Model adds its computation for the input batch x to the graph through b,
// creating or reusing its parameters with b.Param, and returns the output
// node: logits for classifiers, predictions for regressors.
type Model interface {
	Forward(b *graph.Builder, x *G.Node) (*G.Node, error)
}

// Linear is linear regression: y = x·W + b. Input (batch, features); output
// and targets (batch, Outputs). Natural loss: graph.MSE.
type Linear struct {
	Outputs int // number of targets; 0 means 1
}

// Forward implements Model.
func (m Linear) Forward(b *graph.Builder, x *G.Node) (*G.Node, error) {
	if m.Outputs < 0 {
		return nil, errors.Errorf("models: Linear Outputs = %d, want ≥ 0 (0 means 1)", m.Outputs)
	}
	return graph.Dense(b, "linear", x, orOne(m.Outputs), graph.Zeros)
}

// Logistic is binary logistic regression. Input (batch, features); output:
// one logit per example (batch, 1); targets (batch, 1) in {0, 1}. Natural
// loss: graph.BinaryCrossEntropy.
type Logistic struct{}

// Forward implements Model.
func (Logistic) Forward(b *graph.Builder, x *G.Node) (*G.Node, error) {
	return graph.Dense(b, "logistic", x, 1, graph.Zeros)
}

// Softmax is multinomial logistic (softmax) regression. Input (batch,
// features); output logits (batch, Classes); targets class indices (batch)
// or one-hot rows. Natural loss: graph.SoftmaxCrossEntropy.
type Softmax struct {
	Classes int
}

// Forward implements Model.
func (m Softmax) Forward(b *graph.Builder, x *G.Node) (*G.Node, error) {
	if m.Classes < 2 {
		return nil, errors.Errorf("models: Softmax needs at least 2 classes, got %d", m.Classes)
	}
	return graph.Dense(b, "softmax", x, m.Classes, graph.Zeros)
}

// MLP is a multi-layer perceptron: Dense layers of the Hidden sizes, each
// followed by Activation (nil: ReLU) and, when Dropout > 0, dropout; then a
// Dense output layer of Outputs units with no activation. Input (batch,
// features) — or any (batch, ...) shape, which it flattens. For
// classification Outputs is the number of classes and the natural loss
// graph.SoftmaxCrossEntropy; for regression, graph.MSE.
//
// Hidden layers are initialized with graph.HeNormal under the default ReLU
// and with graph.GlorotUniform under any other Activation; Dropout, in [0,
// 1), drops units in training graphs only (see graph.Dropout).
type MLP struct {
	Hidden     []int
	Outputs    int
	Activation graph.Activation
	Dropout    float64
}

// Forward implements Model.
func (m MLP) Forward(b *graph.Builder, x *G.Node) (*G.Node, error) {
	if m.Outputs <= 0 {
		return nil, errors.Errorf("models: MLP Outputs = %d, want > 0", m.Outputs)
	}
	if !(m.Dropout >= 0 && m.Dropout < 1) {
		return nil, errors.Errorf("models: MLP Dropout = %v, want a probability in [0, 1)", m.Dropout)
	}
	act := m.Activation
	if act == nil {
		act = graph.ReLU
	}
	init := graph.GlorotUniform
	if m.Activation == nil {
		init = graph.HeNormal
	}
	h, err := graph.Flatten(x)
	if err != nil {
		return nil, err
	}
	for i, units := range m.Hidden {
		name := layerName("hidden", i)
		if h, err = graph.Dense(b, name, h, units, init); err != nil {
			return nil, err
		}
		if h, err = act(h); err != nil {
			return nil, errors.Wrapf(err, "models: MLP layer %s", name)
		}
		if m.Dropout > 0 {
			if h, err = graph.Dropout(b, name+"/dropout", h, m.Dropout); err != nil {
				return nil, err
			}
		}
	}
	return graph.Dense(b, "out", h, m.Outputs, graph.GlorotUniform)
}

// LeNet is a LeNet-5-style convolutional network for (batch, 1, 28, 28)
// images (NCHW): two convolution + ReLU + 2×2 max-pool stages (6 filters of
// 5×5 with padding 2, then 16 of 5×5 without), then Dense 120 → ReLU →
// Dense 84 → ReLU → Dense Classes. Output logits (batch, Classes); targets
// class indices. Natural loss: graph.SoftmaxCrossEntropy.
//
// Other image sizes work too, square or not, with any number of channels,
// as long as height and width are at least 12 (the second pooling needs a
// 2×2 input); the first Dense layer's size follows the image size, so the
// parameters fit one image shape.
type LeNet struct {
	Classes int // 0 means 10
}

// imageClassifier checks what the convolutional classifiers share: Classes
// (0 means 10) and an input of shape (batch, channels, height, width) with
// height and width ≥ minSize. It returns the number of classes.
func imageClassifier(name string, classes int, x *G.Node, minSize int) (int, error) {
	k := classes
	if k == 0 {
		k = 10
	}
	if k < 2 {
		return 0, errors.Errorf("models: %s Classes = %d, want ≥ 2 (0 means 10)", name, classes)
	}
	if x == nil {
		return 0, errors.Errorf("models: %s: nil input", name)
	}
	if s := x.Shape(); x.Dims() != 4 || s[2] < minSize || s[3] < minSize {
		return 0, errors.Errorf("models: %s wants (batch, channels, height, width) input with height and width ≥ %d, got shape %v", name, minSize, s)
	}
	return k, nil
}

// leNetMinSize is the smallest image height and width LeNet accepts.
const leNetMinSize = 12

// Forward implements Model.
func (m LeNet) Forward(b *graph.Builder, x *G.Node) (*G.Node, error) {
	classes, err := imageClassifier("LeNet", m.Classes, x, leNetMinSize)
	if err != nil {
		return nil, err
	}
	h, err := graph.Conv2D(b, "conv1", x, 6, 5, 1, 2, nil)
	if err == nil {
		h, err = graph.ReLU(h)
	}
	if err == nil {
		h, err = graph.MaxPool2D(h, 2, 2)
	}
	if err == nil {
		h, err = graph.Conv2D(b, "conv2", h, 16, 5, 1, 0, nil)
	}
	if err == nil {
		h, err = graph.ReLU(h)
	}
	if err == nil {
		h, err = graph.MaxPool2D(h, 2, 2)
	}
	if err == nil {
		h, err = graph.Flatten(h)
	}
	for i, units := range []int{120, 84} {
		if err == nil {
			h, err = graph.Dense(b, layerName("fc", i), h, units, graph.HeNormal)
		}
		if err == nil {
			h, err = graph.ReLU(h)
		}
	}
	if err != nil {
		return nil, errors.Wrap(err, "models: LeNet")
	}
	return graph.Dense(b, "out", h, classes, graph.GlorotUniform)
}

func orOne(n int) int {
	if n <= 0 {
		return 1
	}
	return n
}

func layerName(prefix string, i int) string {
	return prefix + strconv.Itoa(i+1)
}

// ConvNet is a small convolutional network with batch normalization for
// (batch, channels, height, width) images (NCHW), height and width at least
// 4: two stages of 3×3 convolution (16, then 32 filters, padding 1) →
// graph.BatchNorm → ReLU → 2×2 max-pool, then Dense 128 → BatchNorm → ReLU →
// Dense Classes. Output logits (batch, Classes); targets class indices.
// Natural loss: graph.SoftmaxCrossEntropy. Its BatchNorm layers keep
// running statistics in Params buffers, which training updates and
// evaluation uses; a training batch needs at least 2 examples.
type ConvNet struct {
	Classes int // 0 means 10
}

// Forward implements Model.
func (m ConvNet) Forward(b *graph.Builder, x *G.Node) (*G.Node, error) {
	classes, err := imageClassifier("ConvNet", m.Classes, x, 4)
	if err != nil {
		return nil, err
	}
	h := x
	for i, filters := range []int{16, 32} {
		name := layerName("conv", i)
		if err == nil {
			h, err = graph.Conv2D(b, name, h, filters, 3, 1, 1, nil)
		}
		if err == nil {
			h, err = graph.BatchNorm(b, name+"/bn", h)
		}
		if err == nil {
			h, err = graph.ReLU(h)
		}
		if err == nil {
			h, err = graph.MaxPool2D(h, 2, 2)
		}
	}
	if err == nil {
		h, err = graph.Flatten(h)
	}
	if err == nil {
		h, err = graph.Dense(b, "fc1", h, 128, graph.HeNormal)
	}
	if err == nil {
		h, err = graph.BatchNorm(b, "fc1/bn", h)
	}
	if err == nil {
		h, err = graph.ReLU(h)
	}
	if err != nil {
		return nil, errors.Wrap(err, "models: ConvNet")
	}
	return graph.Dense(b, "out", h, classes, graph.GlorotUniform)
}
