package trainers

import (
	"math"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/kernels"
)

// Vector kernels over a parameter's or gradient's data, in its own dtype, so
// that optimizer steps allocate nothing.

type float interface{ ~float32 | ~float64 }

// The kernels read a tensor's data through Float64s/Float32s, which, unlike
// Data, allocate nothing.

func isF64(t *tensor.Dense) bool { return t.Dtype() == tensor.Float64 }

// axpy sets y += a·x.
func axpy(a float64, x, y *tensor.Dense) {
	if isF64(y) {
		axpyT(a, x.Float64s(), y.Float64s())
		return
	}
	axpyT(a, x.Float32s(), y.Float32s())
}

func axpyT[T float](a float64, x, y []T) { kernels.Axpy(T(a), x, y) }

// scaleBy sets x *= a.
func scaleBy(a float64, x *tensor.Dense) {
	if isF64(x) {
		d := x.Float64s()
		for i := range d {
			d[i] *= a
		}
		return
	}
	d, s := x.Float32s(), float32(a)
	for i := range d {
		d[i] *= s
	}
}

// zero sets x to 0 (NaN and ±Inf included, which scaling by 0 would keep).
func zero(x *tensor.Dense) {
	if isF64(x) {
		clear(x.Float64s())
		return
	}
	clear(x.Float32s())
}

// A splitter runs an elementwise pass f(i, lo, hi) over tensors, each
// tensor i's elements split over the cores by kernels.Split: an optimizer
// step or a sum of gradients is serial work between the parallel
// gradients, and on a 100,000-weight MLP as long as a small batch's
// gradient. Each element is computed by one goroutine whatever the split,
// so the bits do not depend on the number of cores. Built once per Fit; a
// pass allocates nothing.
type splitter struct {
	i int
	f func(i, lo, hi int)
	r rangeFunc
}

type rangeFunc func(lo, hi int)

func (f rangeFunc) Range(lo, hi int) { f(lo, hi) }

func newSplitter(f func(i, lo, hi int)) *splitter {
	s := &splitter{f: f}
	s.r = func(lo, hi int) { s.f(s.i, lo, hi) }
	return s
}

// run runs the pass over every tensor of ts.
func (s *splitter) run(ts []*tensor.Dense) {
	for i, t := range ts {
		s.i = i
		kernels.Split(t.DataSize(), s.r)
	}
}

// sumSquares is Σx², accumulated in float64.
func sumSquares(x *tensor.Dense) float64 {
	if isF64(x) {
		return sumSquaresT(x.Float64s())
	}
	return sumSquaresT(x.Float32s())
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
	var i int
	var v float64
	if isF64(x) {
		i, v = firstNonFinite(x.Float64s())
	} else {
		i, v = firstNonFinite(x.Float32s())
	}
	if i >= 0 {
		return errors.Errorf("element %d is %v", i, v)
	}
	return nil
}

// firstNonFinite is the index and value of x's first NaN or ±Inf, or −1.
func firstNonFinite[T float](x []T) (int, float64) {
	if kernels.Finite(x) {
		return -1, 0
	}
	for i, v := range x {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return i, f
		}
	}
	return -1, 0
}

func newLike(t *tensor.Dense) *tensor.Dense {
	return tensor.New(tensor.Of(t.Dtype()), tensor.WithShape(t.Shape().Clone()...))
}
