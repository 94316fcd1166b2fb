package graph

import (
	"math"
	"math/rand"

	"gorgonia.org/tensor"
)

// An Initializer fills dst, a new parameter of the given shape in row-major
// order, drawing any randomness from r. r is seeded from the Params seed and
// the parameter's name, so a parameter's initial value does not depend on the
// order in which parameters are created.
type Initializer func(r *rand.Rand, shape Shape, dst []float64)

// Fans returns the fan-in and fan-out of a weight of the given shape: (in,
// out) for a matrix (in, out); for a convolution kernel (out, in, kh, kw),
// in·kh·kw and out·kh·kw; for a vector its length both ways.
func Fans(shape Shape) (in, out int) {
	switch len(shape) {
	case 0:
		return 1, 1
	case 1:
		return shape[0], shape[0]
	case 2:
		return shape[0], shape[1]
	}
	field := 1
	for _, d := range shape[2:] {
		field *= d
	}
	return shape[1] * field, shape[0] * field
}

// Zeros sets every value to 0 (biases).
func Zeros(_ *rand.Rand, _ Shape, dst []float64) {
	for i := range dst {
		dst[i] = 0
	}
}

// Constant sets every value to v.
func Constant(v float64) Initializer {
	return func(_ *rand.Rand, _ tensor.Shape, dst []float64) {
		for i := range dst {
			dst[i] = v
		}
	}
}

// Uniform draws from U(lo, hi).
func Uniform(lo, hi float64) Initializer {
	return func(r *rand.Rand, _ tensor.Shape, dst []float64) {
		for i := range dst {
			dst[i] = lo + (hi-lo)*r.Float64()
		}
	}
}

// Normal draws from N(mean, std²).
func Normal(mean, std float64) Initializer {
	return func(r *rand.Rand, _ tensor.Shape, dst []float64) {
		for i := range dst {
			dst[i] = mean + std*r.NormFloat64()
		}
	}
}

// GlorotUniform (Xavier) draws from U(-a, a) with a = √(6/(fanIn+fanOut)),
// keeping the activation variance steady through tanh/sigmoid layers.
func GlorotUniform(r *rand.Rand, shape Shape, dst []float64) {
	in, out := Fans(shape)
	a := math.Sqrt(6 / float64(in+out))
	Uniform(-a, a)(r, shape, dst)
}

// GlorotNormal (Xavier) draws from N(0, 2/(fanIn+fanOut)).
func GlorotNormal(r *rand.Rand, shape Shape, dst []float64) {
	in, out := Fans(shape)
	Normal(0, math.Sqrt(2/float64(in+out)))(r, shape, dst)
}

// HeNormal draws from N(0, 2/fanIn), the variance that keeps ReLU
// activations from shrinking or growing with depth.
func HeNormal(r *rand.Rand, shape Shape, dst []float64) {
	in, _ := Fans(shape)
	Normal(0, math.Sqrt(2/float64(in)))(r, shape, dst)
}

// HeUniform draws from U(-a, a) with a = √(6/fanIn).
func HeUniform(r *rand.Rand, shape Shape, dst []float64) {
	in, _ := Fans(shape)
	a := math.Sqrt(6 / float64(in))
	Uniform(-a, a)(r, shape, dst)
}
