package kernels

import (
	"math"
	"math/rand"
	"testing"

	"github.com/descent-go/descent/internal/testutil"
)

// vecInputs draws n values: normal ones, and in about a third of the places
// one of the special values (zeros, subnormals, NaN, ±Inf).
func vecInputs[T float](r *rand.Rand, n int, special []float64) []T {
	x := make([]T, n)
	for i := range x {
		x[i] = T(r.NormFloat64())
		if r.Intn(3) == 0 {
			x[i] = T(special[r.Intn(len(special))])
		}
	}
	return x
}

// sameBits compares float32s or float64s bit for bit, NaNs included
// (float32 → float64 is exact).
func sameBits[T float](a, b []T) bool {
	return testutil.SameBits(float64s(a), float64s(b))
}

func float64s[T float](x []T) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// withoutAssembly runs f with the vector loops off: the Go loops alone.
func withoutAssembly(f func()) {
	saved := haveKernel
	haveKernel = false
	defer func() { haveKernel = saved }()
	f()
}

// The vector loops give the Go loops' bits on every length around the
// vector widths, special values included.
func TestVecKernelsMatchGo(t *testing.T) {
	if !haveKernel {
		t.Log("no AVX2 on this CPU: the Go loops only")
	}
	testVec[float32](t)
	testVec[float64](t)
}

func testVec[T float](t *testing.T) {
	r := rand.New(rand.NewSource(7))
	special := []float64{0, math.Copysign(0, -1), 1e-39, -1e-39, 1e-310, -1e-310, math.NaN(), math.Inf(1), math.Inf(-1)}
	for n := 0; n < 41; n++ {
		x, y := vecInputs[T](r, n, special), vecInputs[T](r, n, special)
		a := T(r.NormFloat64())
		y1, y2 := append([]T(nil), y...), append([]T(nil), y...)
		Axpy(a, x, y1)
		withoutAssembly(func() { Axpy(a, x, y2) })
		if !sameBits(y1, y2) {
			t.Fatalf("Axpy %T n=%d: %v, want %v", a, n, y1, y2)
		}
		b := T(r.NormFloat64())
		d1, d2 := make([]T, n), make([]T, n)
		ok1 := Axpby(a, x, b, y, d1)
		var ok2 bool
		withoutAssembly(func() { ok2 = Axpby(a, x, b, y, d2) })
		if !sameBits(d1, d2) || ok1 != ok2 || ok1 != Finite(d2) {
			t.Fatalf("Axpby %T n=%d: %v (finite %v), want %v (finite %v)", a, n, d1, ok1, d2, ok2)
		}
		for i := range d2 {
			if want := T(a*x[i]) + T(b*y[i]); !sameBits([]T{d2[i]}, []T{want}) {
				t.Fatalf("Axpby %T n=%d: d[%d] = %v, want %v", a, n, i, d2[i], want)
			}
		}
		for _, nesterov := range []bool{false, true} {
			w, g, v := vecInputs[T](r, n, special), vecInputs[T](r, n, special), vecInputs[T](r, n, special)
			w1, v1 := append([]T(nil), w...), append([]T(nil), v...)
			w2, v2 := append([]T(nil), w...), append([]T(nil), v...)
			Momentum(T(0.1), T(0.9), nesterov, w1, g, v1)
			withoutAssembly(func() { Momentum(T(0.1), T(0.9), nesterov, w2, g, v2) })
			if !sameBits(w1, w2) || !sameBits(v1, v2) {
				t.Fatalf("Momentum %T nesterov=%v n=%d: w %v v %v, want %v %v", a, nesterov, n, w1, v1, w2, v2)
			}
		}
		for k := -1; k < n; k++ {
			z := vecInputs[T](r, n, []float64{0, 1e-39, -1e-310})
			want := true
			if k >= 0 {
				z[k], want = T(special[6+k%3]), false
			}
			var got2 bool
			withoutAssembly(func() { got2 = Finite(z) })
			if got := Finite(z); got != want || got2 != want {
				t.Fatalf("Finite %T n=%d, bad at %d: %v (Go %v), want %v", a, n, k, got, got2, want)
			}
		}
	}
}

// Momentum is the update written out per element, each operation rounded
// on its own and its subnormal inputs and results taken as 0, NaN left
// alone.
func TestMomentumFormula(t *testing.T) {
	z := func(x float64) float64 { // a subnormal is a zero of its sign
		if math.Abs(x) < 0x1p-1022 {
			return math.Copysign(0, x)
		}
		return x
	}
	for _, nesterov := range []bool{false, true} {
		// Eleven values: a vector of 8 float32s (two of 4 float64s) and a tail.
		g := []float64{0.1, -0.2, 0, 0.4, -0.5, 0, 0.7, 0, 0, 1e-310, 0}
		w := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 3e-310}
		v := []float64{0.5, -0.5, 2e-308, 0.25, 0, 2, -1, math.NaN(), -2e-308, 0, 3e-308}
		want, wantV := append([]float64(nil), w...), append([]float64(nil), v...)
		const lr, mu = 0.1, 0.9
		for i := range g {
			vi := z(z(float64(mu*z(wantV[i]))) + z(g[i]))
			wantV[i] = vi
			d := vi
			if nesterov {
				d = z(z(g[i]) + z(float64(mu*vi)))
			}
			want[i] = z(z(want[i]) - z(float64(lr*d)))
		}
		Momentum(lr, mu, nesterov, w, g, v)
		if !sameBits(w, want) || !sameBits(v, wantV) || v[2] != 0 || v[8] != 0 || v[9] != 0 || !math.IsNaN(v[7]) || v[10] == 0 {
			t.Errorf("nesterov %v: w %v v %v, want %v %v", nesterov, w, v, want, wantV)
		}
	}
}

func BenchmarkMomentum32(b *testing.B) {
	n := 101770
	w, g, v := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range g {
		g[i] = float32(i%7) - 3 // some zeros
	}
	b.SetBytes(int64(5 * 4 * n))
	for i := 0; i < b.N; i++ {
		Momentum(0.01, 0.9, false, w, g, v)
	}
}
