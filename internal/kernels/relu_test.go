package kernels

import (
	"math"
	"math/rand"
	"testing"
)

// The vector ReLU mask gives the scalar loop's bits, −0, NaN and ±Inf
// included, on every length around the vector width.
func TestReluMask(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	special := []float64{0, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1), 1e-300, -1e-300}
	for n := 0; n < 40; n++ {
		x, v := make([]float64, n), make([]float64, n)
		for i := range x {
			x[i], v[i] = r.NormFloat64(), r.NormFloat64()
			if r.Intn(3) == 0 {
				x[i] = special[r.Intn(len(special))]
			}
			if r.Intn(3) == 0 {
				v[i] = special[r.Intn(len(special))]
			}
		}
		x32, v32 := make([]float32, n), make([]float32, n)
		for i := range x {
			x32[i], v32[i] = float32(x[i]), float32(v[i])
		}
		got, want := make([]float64, n), make([]float64, n)
		ReluMask64(x, v, got)
		reluTail(x, v, want)
		got32, want32 := make([]float32, n), make([]float32, n)
		ReluMask32(x32, v32, got32)
		reluTail(x32, v32, want32)
		for i := range x {
			if math.Float64bits(got[i]) != math.Float64bits(want[i]) || math.Float32bits(got32[i]) != math.Float32bits(want32[i]) {
				t.Fatalf("n=%d, i=%d: x=%v v=%v: %v, %v (float32), want %v, %v", n, i, x[i], v[i], got[i], got32[i], want[i], want32[i])
			}
		}
	}
}

// AddScalar32 adds as Go adds, on lengths around the vector width.
func TestAddScalar32(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 9, 31, 64, 101} {
		x, dst := make([]float32, n), make([]float32, n+1)
		for i := range x {
			x[i] = float32(i)*0.37 - 11
		}
		dst[n] = 42
		b := float32(0.1)
		AddScalar32(x, b, dst)
		for i, v := range x {
			if dst[i] != v+b {
				t.Fatalf("n=%d: dst[%d] = %v, want %v", n, i, dst[i], v+b)
			}
		}
		if dst[n] != 42 {
			t.Fatalf("n=%d: wrote past x's length", n)
		}
	}
}
