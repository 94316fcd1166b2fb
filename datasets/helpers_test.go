package datasets

import (
	"math"
	"testing"

	"gorgonia.org/tensor"
)

// dense64 returns a float64 tensor of the given shape holding data.
func dense64(data []float64, shape ...int) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
}

// dense32 returns a float32 tensor of the given shape holding data.
func dense32(data []float32, shape ...int) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
}

// seq returns 0, 1, ..., n-1 as float64.
func seq(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = float64(i)
	}
	return s
}

// floats returns the values of a float32 or float64 tensor as float64.
func floats(t *tensor.Dense) []float64 {
	if t.Dtype() == tensor.Float32 {
		s := t.Float32s()
		out := make([]float64, len(s))
		for i, v := range s {
			out[i] = float64(v)
		}
		return out
	}
	return append([]float64(nil), t.Float64s()...)
}

// classCounts counts the labels of a Dataset.
func classCounts(d *Dataset) map[int]int {
	c := map[int]int{}
	for _, l := range d.Labels() {
		c[l]++
	}
	return c
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// mustDS builds a small float64 Dataset: X (n, f) with X[i][j] = 10*i + j and
// Y (n) class indices i % k.
func mustDS(t testing.TB, n, f, k int) *Dataset {
	t.Helper()
	x := make([]float64, n*f)
	for i := 0; i < n; i++ {
		for j := 0; j < f; j++ {
			x[i*f+j] = float64(10*i + j)
		}
	}
	y := make([]float64, n)
	for i := range y {
		y[i] = float64(i % k)
	}
	d, err := FromFloat64(x, []int{n, f}, y, []int{n}, tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
