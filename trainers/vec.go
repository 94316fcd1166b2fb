package trainers

import (
	"math"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// Vector kernels over a parameter's or gradient's data, in its own dtype, so
// that optimizer steps allocate nothing.

type float interface{ ~float32 | ~float64 }

// axpy sets y += a·x.
func axpy(a float64, x, y *tensor.Dense) {
	switch yd := y.Data().(type) {
	case []float64:
		axpyT(a, x.Data().([]float64), yd)
	case []float32:
		axpyT(a, x.Data().([]float32), yd)
	}
}

func axpyT[T float](a float64, x, y []T) {
	s := T(a)
	for i, v := range x {
		y[i] += s * v
	}
}

// scaleBy sets x *= a.
func scaleBy(a float64, x *tensor.Dense) {
	switch d := x.Data().(type) {
	case []float64:
		for i := range d {
			d[i] *= a
		}
	case []float32:
		s := float32(a)
		for i := range d {
			d[i] *= s
		}
	}
}

// zero sets x to 0.
func zero(x *tensor.Dense) { scaleBy(0, x) }

// copyInto sets dst = src.
func copyInto(dst, src *tensor.Dense) {
	switch d := dst.Data().(type) {
	case []float64:
		copy(d, src.Data().([]float64))
	case []float32:
		copy(d, src.Data().([]float32))
	}
}

// sumSquares is Σx², accumulated in float64.
func sumSquares(x *tensor.Dense) float64 {
	switch d := x.Data().(type) {
	case []float64:
		return sumSquaresT(d)
	case []float32:
		return sumSquaresT(d)
	}
	return 0
}

func sumSquaresT[T float](x []T) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return s
}

// checkFinite reports the first NaN or ±Inf in x.
func checkFinite(x *tensor.Dense) error {
	switch d := x.Data().(type) {
	case []float64:
		return checkFiniteT(d)
	case []float32:
		return checkFiniteT(d)
	}
	return nil
}

func checkFiniteT[T float](x []T) error {
	for i, v := range x {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return errors.Errorf("element %d is %v", i, f)
		}
	}
	return nil
}

func newLike(t *tensor.Dense) *tensor.Dense {
	return tensor.New(tensor.Of(t.Dtype()), tensor.WithShape(t.Shape().Clone()...))
}
