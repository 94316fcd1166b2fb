package graph

import (
	"github.com/descent-go/descent/internal/kernels"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// An Activation is an elementwise (or, for Softmax, row-wise) function of a
// node.
type Activation func(x *G.Node) (*G.Node, error)

// ReLU is max(x, 0).
func ReLU(x *G.Node) (*G.Node, error) {
	return activation("ReLU", x, func(x *G.Node) (*G.Node, error) {
		if x.IsScalar() || (x.Dtype() != tensor.Float32 && x.Dtype() != tensor.Float64) {
			return G.Rectify(x)
		}
		// x ⊙ (x ≥ 0), as gorgonia's Rectify, in one fused op (fusedop.go).
		return G.ApplyOp(reluOp{dims: x.Dims()}, x)
	})
}

// Sigmoid is 1/(1+e^−x).
func Sigmoid(x *G.Node) (*G.Node, error) {
	return actLayer(actSigmoid, 0, G.Sigmoid)(x) // activation.go
}

// Tanh is the hyperbolic tangent.
func Tanh(x *G.Node) (*G.Node, error) {
	return actLayer(actTanh, 0, G.Tanh)(x)
}

// activation applies f to x, reporting a nil x or a gorgonia panic as an
// error naming the activation.
func activation(layer string, x *G.Node, f func(*G.Node) (*G.Node, error)) (*G.Node, error) {
	what := describe(layer, "", x)
	if x == nil {
		return nil, errors.New(what)
	}
	return guard(what, func() (*G.Node, error) { return f(x) })
}

// Softmax normalizes each row of a (batch, classes) node into probabilities.
// Classifiers output logits and train with SoftmaxCrossEntropy, which is
// stabler than Softmax followed by a log.
func Softmax(x *G.Node) (*G.Node, error) {
	return activation("Softmax", x, func(x *G.Node) (*G.Node, error) { return G.SoftMax(x) })
}

// LeakyReLU returns the activation x for x > 0, alpha·x otherwise.
func LeakyReLU(alpha float64) Activation {
	return actLayer(actLeaky, alpha, func(x *G.Node) (*G.Node, error) { return G.LeakyRelu(x, alpha) })
}

// Dense is a fully connected layer: x·W + b for x of shape (batch, in), with
// W (in, units) named name+"/w" and initialized by init (nil: GlorotUniform),
// and b (units) named name+"/b", initialized to zero.
func Dense(b *Builder, name string, x *G.Node, units int, init Initializer) (*G.Node, error) {
	what := describe("Dense", name, x)
	if x == nil {
		return nil, errors.New(what)
	}
	if x.Dims() != 2 {
		return nil, errors.Errorf("%s: want a (batch, features) input; use Flatten first", what)
	}
	if units <= 0 {
		return nil, errors.Errorf("%s: units = %d, want > 0", what, units)
	}
	w, err := b.Param(name+"/w", tensor.Shape{x.Shape()[1], units}, init)
	if err != nil {
		return nil, errors.Wrap(err, what)
	}
	bias, err := b.Param(name+"/b", tensor.Shape{units}, Zeros)
	if err != nil {
		return nil, errors.Wrap(err, what)
	}
	return guard(what, func() (*G.Node, error) {
		xw, err := G.Mul(x, w)
		if err != nil {
			return nil, err
		}
		return addBias(xw, bias, 1)
	})
}

// addBias adds a bias vector along axis of x, broadcasting over the others,
// with one fused op (fusedop.go) where gorgonia would repeat the bias to x's
// shape first.
func addBias(x, bias *G.Node, axis int) (*G.Node, error) {
	if dt := x.Dtype(); !x.IsScalar() && axis < x.Dims() && bias.Dims() == 1 && bias.Dtype() == dt &&
		(dt == tensor.Float32 || dt == tensor.Float64) && bias.Shape()[0] == x.Shape()[axis] {
		return G.ApplyOp(biasAddOp{axis: axis, dims: x.Dims()}, x, bias)
	}
	return broadcastBias(x, bias, axis)
}

// broadcastBias is addBias with gorgonia's broadcasting ops.
func broadcastBias(x, bias *G.Node, axis int) (*G.Node, error) {
	shape := make(tensor.Shape, x.Dims())
	var pattern []byte
	for i := range shape {
		shape[i] = 1
		if i != axis {
			pattern = append(pattern, byte(i))
		}
	}
	shape[axis] = bias.Shape()[0]
	b, err := G.Reshape(bias, shape)
	if err != nil {
		return nil, err
	}
	return G.BroadcastAdd(x, b, nil, pattern)
}

// Flatten reshapes (batch, d1, d2, ...) into (batch, d1·d2·...).
func Flatten(x *G.Node) (*G.Node, error) {
	what := describe("Flatten", "", x)
	if x == nil {
		return nil, errors.New(what)
	}
	if x.Dims() < 2 {
		return nil, errors.Errorf("%s: want at least 2 dimensions", what)
	}
	s := x.Shape()
	if x.Dims() == 2 {
		return x, nil
	}
	return guard(what, func() (*G.Node, error) { return G.Reshape(x, tensor.Shape{s[0], s.TotalSize() / s[0]}) })
}

// Dropout zeroes each element of x with probability p in a training graph
// and scales the survivors by 1/(1−p), so that the evaluation graph, where it
// is the identity, sees activations of the same expected size. Masks are
// drawn from Builder.Rand(name, batch): the same seed gives the same masks.
func Dropout(b *Builder, name string, x *G.Node, p float64) (*G.Node, error) {
	what := describe("Dropout", name, x)
	if x == nil {
		return nil, errors.New(what)
	}
	if !(p >= 0 && p < 1) {
		return nil, errors.Errorf("%s: probability %v not in [0, 1)", what, p)
	}
	if err := b.check(); err != nil {
		return nil, errors.Wrap(err, what)
	}
	if !b.training || p == 0 {
		return x, nil
	}
	r := b.Rand(name, x.Shape()[0])
	scale := 1 / (1 - p)
	mask, err := b.Feed(name+"/mask", x.Shape().Clone(), func(t *tensor.Dense) error {
		switch d := t.Data().(type) {
		case []float64:
			for i := range d {
				d[i] = 0
				if r.Float64() >= p {
					d[i] = scale
				}
			}
		case []float32:
			for i := range d {
				d[i] = 0
				if r.Float64() >= p {
					d[i] = float32(scale)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, errors.Wrap(err, what)
	}
	return guard(what, func() (*G.Node, error) { return G.HadamardProd(x, mask) })
}

// Conv2D is a 2-D convolution over x of shape (batch, channels, height,
// width) (NCHW) with filters output channels of size kernel×kernel, the given
// stride and zero padding, plus a bias per output channel. Its weights are
// name+"/w" (filters, channels, kernel, kernel), initialized by init (nil:
// HeNormal), and name+"/b" (filters).
func Conv2D(b *Builder, name string, x *G.Node, filters, kernel, stride, pad int, init Initializer) (*G.Node, error) {
	what := describe("Conv2D", name, x)
	if x == nil {
		return nil, errors.New(what)
	}
	if x.Dims() != 4 {
		return nil, errors.Errorf("%s: want a (batch, channels, height, width) input", what)
	}
	if filters <= 0 || kernel <= 0 || stride <= 0 || pad < 0 {
		return nil, errors.Errorf("%s: filters %d, kernel %d, stride %d, pad %d: want positive sizes and pad ≥ 0", what, filters, kernel, stride, pad)
	}
	s := x.Shape()
	if s[2]+2*pad < kernel || s[3]+2*pad < kernel {
		return nil, errors.Errorf("%s: kernel %d×%d is larger than the padded input", what, kernel, kernel)
	}
	if init == nil {
		init = HeNormal
	}
	w, err := b.Param(name+"/w", tensor.Shape{filters, s[1], kernel, kernel}, init)
	if err != nil {
		return nil, errors.Wrap(err, what)
	}
	bias, err := b.Param(name+"/b", tensor.Shape{filters}, Zeros)
	if err != nil {
		return nil, errors.Wrap(err, what)
	}
	return guard(what, func() (*G.Node, error) {
		var c *G.Node
		var err error
		if dt := x.Dtype(); !gorgoniaConv && (dt == tensor.Float32 || dt == tensor.Float64) {
			// One im2col and one product per pass (convop.go).
			g := kernels.Conv{N: s[0], C: s[1], H: s[2], W: s[3], F: filters, K: kernel, S: stride, P: pad}
			c, err = G.ApplyOp(convOp{g: g, st: new(convState)}, x, w)
		} else {
			c, err = G.Conv2d(x, w, tensor.Shape{kernel, kernel}, []int{pad, pad}, []int{stride, stride}, []int{1, 1})
		}
		if err != nil {
			return nil, err
		}
		return addBias(c, bias, 1)
	})
}

// gorgoniaConv makes Conv2D and MaxPool2D build gorgonia's own ops, which
// tests compare this package's with.
var gorgoniaConv = false

// MaxPool2D takes the maximum over size×size windows of an NCHW input,
// moving by stride.
func MaxPool2D(x *G.Node, size, stride int) (*G.Node, error) {
	what := describe("MaxPool2D", "", x)
	if x == nil {
		return nil, errors.New(what)
	}
	if x.Dims() != 4 {
		return nil, errors.Errorf("%s: want a (batch, channels, height, width) input", what)
	}
	if size <= 0 || stride <= 0 || x.Shape()[2] < size || x.Shape()[3] < size {
		return nil, errors.Errorf("%s: window %d, stride %d do not fit", what, size, stride)
	}
	return guard(what, func() (*G.Node, error) {
		if s, dt := x.Shape(), x.Dtype(); !gorgoniaConv && (dt == tensor.Float32 || dt == tensor.Float64) {
			g := kernels.Pool{N: s[0], C: s[1], H: s[2], W: s[3], K: size, S: stride}
			return G.ApplyOp(maxPoolOp{g: g, st: new(poolState)}, x)
		}
		return G.MaxPool2D(x, tensor.Shape{size, size}, []int{0, 0}, []int{stride, stride})
	})
}
