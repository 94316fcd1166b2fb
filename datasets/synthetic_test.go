package datasets

import (
	"math"
	"reflect"
	"testing"

	"gonum.org/v1/gonum/mat"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/testutil"
)

// lstsq solves min ||A w - y|| with a bias column appended when bias.
func lstsq(t *testing.T, d *Dataset, bias bool) []float64 {
	t.Helper()
	n, f := d.Len(), d.XShape()[0]
	cols := f
	if bias {
		cols++
	}
	x := floats(d.X())
	a := mat.NewDense(n, cols, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < f; j++ {
			a.Set(i, j, x[i*f+j])
		}
		if bias {
			a.Set(i, f, 1)
		}
	}
	y := mat.NewVecDense(n, floats(d.Y()))
	var w mat.VecDense
	if err := w.SolveVec(a, y); err != nil {
		t.Fatal(err)
	}
	return w.RawVector().Data
}

func TestLinearRegression(t *testing.T) {
	const n, dim, noise = 2000, 5, 0.1
	d, w, b, err := LinearRegression(n, dim, noise, 11, tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	if !d.X().Shape().Eq(tensor.Shape{n, dim}) || !d.Y().Shape().Eq(tensor.Shape{n, 1}) || len(w) != dim {
		t.Fatalf("%v, %d weights", d, len(w))
	}
	est := lstsq(t, d, true)
	// the standard error of each estimate is about noise/sqrt(n) = 0.0022
	tol := 6 * noise / math.Sqrt(n)
	for j := range w {
		if !near(est[j], w[j], tol) {
			t.Errorf("w[%d]: fitted %v, true %v", j, est[j], w[j])
		}
	}
	if !near(est[dim], b, tol) {
		t.Errorf("b: fitted %v, true %v", est[dim], b)
	}
	// noise-free: exact
	d0, w0, b0, _ := LinearRegression(50, 3, 0, 11, tensor.Float64)
	est0 := lstsq(t, d0, true)
	for j := range w0 {
		if !near(est0[j], w0[j], 1e-9) {
			t.Errorf("noise-free w[%d]: %v vs %v", j, est0[j], w0[j])
		}
	}
	if !near(est0[3], b0, 1e-9) {
		t.Errorf("noise-free b: %v vs %v", est0[3], b0)
	}
	// seeded
	again, w2, _, _ := LinearRegression(n, dim, noise, 11, tensor.Float64)
	if !reflect.DeepEqual(floats(again.X()), floats(d.X())) || !reflect.DeepEqual(w, w2) {
		t.Error("same seed, different data")
	}
	other, _, _, _ := LinearRegression(n, dim, noise, 12, tensor.Float64)
	if reflect.DeepEqual(floats(other.X()), floats(d.X())) {
		t.Error("seeds 11 and 12 give the same data")
	}
}

func TestQuadratic(t *testing.T) {
	for _, tc := range []struct {
		n, d  int
		kappa float64
	}{{200, 10, 100}, {50, 50, 1e4}, {1000, 3, 1}, {30, 2, 2.5}, {5, 1, 1}} {
		d, w, err := Quadratic(tc.n, tc.d, tc.kappa, 3, tensor.Float64)
		if err != nil {
			t.Fatal(err)
		}
		x := mat.NewDense(tc.n, tc.d, floats(d.X()))
		var h mat.SymDense
		h.SymOuterK(1/float64(tc.n), x.T())
		var eig mat.EigenSym
		if !eig.Factorize(&h, false) {
			t.Fatal("eigendecomposition failed")
		}
		vals := eig.Values(nil)
		lo, hi := vals[0], vals[len(vals)-1]
		rel := math.Abs(hi/lo-tc.kappa) / tc.kappa
		t.Logf("n %d d %d kappa %g: measured %.12g (relative error %.1e)", tc.n, tc.d, tc.kappa, hi/lo, rel)
		if rel > 1e-6 {
			t.Errorf("%+v: condition number %v, want %v (relative error %g)", tc, hi/lo, tc.kappa, rel)
		}
		if !near(lo, 1, 1e-8) || !near(hi, tc.kappa, 1e-8*tc.kappa) {
			t.Errorf("%+v: eigenvalues in [%v, %v], want [1, %v]", tc, lo, hi, tc.kappa)
		}
		// y = X w* exactly, so w* is the least-squares solution
		y := floats(d.Y())
		var xw mat.VecDense
		xw.MulVec(x, mat.NewVecDense(tc.d, w))
		for i := range y {
			if !near(xw.AtVec(i), y[i], 1e-9*(1+math.Abs(y[i]))) {
				t.Fatalf("%+v: y[%d] = %v, X w* = %v", tc, i, y[i], xw.AtVec(i))
			}
		}
		est := lstsq(t, d, false)
		for j := range w {
			if !near(est[j], w[j], 1e-6*(1+math.Abs(w[j]))) {
				t.Errorf("%+v: least squares w[%d] = %v, w* = %v", tc, j, est[j], w[j])
			}
		}
	}
	// float32: close, within float32 precision
	d, _, err := Quadratic(100, 4, 10, 3, tensor.Float32)
	if err != nil || d.Dtype() != tensor.Float32 {
		t.Fatal(err)
	}
}

func TestClassificationGenerators(t *testing.T) {
	b, err := Blobs(103, 4, 3, 0.5, 1, tensor.Float32)
	if err != nil {
		t.Fatal(err)
	}
	if !b.X().Shape().Eq(tensor.Shape{103, 3}) || b.NumClasses() != 4 || b.Dtype() != tensor.Float32 {
		t.Fatalf("%v", b)
	}
	if c := classCounts(b); c[0] != 26 || c[1] != 26 || c[2] != 26 || c[3] != 25 {
		t.Errorf("Blobs class counts %v", c)
	}
	// points lie near their class's mean (spread 0.5, centers in [-10, 10])
	x, labels := floats(b.X()), b.Labels()
	means := make([]float64, 4*3)
	counts := classCounts(b)
	for i, c := range labels {
		for j := 0; j < 3; j++ {
			means[c*3+j] += x[i*3+j] / float64(counts[c])
		}
	}
	for i, c := range labels {
		for j := 0; j < 3; j++ {
			if math.Abs(x[i*3+j]-means[c*3+j]) > 3 {
				t.Errorf("Blobs example %d is %v from its class mean", i, x[i*3+j]-means[c*3+j])
			}
		}
	}
	if reflect.DeepEqual(labels[:10], []int{0, 1, 2, 3, 0, 1, 2, 3, 0, 1}) {
		t.Error("Blobs examples are not shuffled")
	}

	m, err := TwoMoons(200, 0, 1, tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	if c := classCounts(m); c[0] != 100 || c[1] != 100 {
		t.Errorf("TwoMoons counts %v", c)
	}
	x, labels = floats(m.X()), m.Labels()
	for i, c := range labels {
		cx, cy := 0.0, 0.0 // the moon's circle center
		if c == 1 {
			cx, cy = 1, 0.5
		}
		if r := math.Hypot(x[2*i]-cx, x[2*i+1]-cy); !near(r, 1, 1e-12) {
			t.Errorf("noise-free moon point %d at radius %v", i, r)
		}
	}

	s, err := Spirals(300, 3, 0, 1, tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	if c := classCounts(s); c[0] != 100 || c[1] != 100 || c[2] != 100 {
		t.Errorf("Spirals counts %v", c)
	}
	for i, v := range floats(s.X()) {
		if math.Abs(v) > 1 {
			t.Errorf("noise-free spiral coordinate %d = %v outside [-1, 1]", i, v)
		}
	}
	s2, _ := Spirals(300, 3, 0, 1, tensor.Float64)
	if !reflect.DeepEqual(floats(s.X()), floats(s2.X())) {
		t.Error("Spirals: same seed, different data")
	}
}

func TestGeneratorBadInputs(t *testing.T) {
	f64 := tensor.Float64
	check := func(err error, want string) {
		t.Helper()
		testutil.ErrPrefixed(t, err, "datasets: ", want)
	}
	_, _, _, err := LinearRegression(0, 2, 0.1, 1, f64)
	check(err, "LinearRegression: n = 0 examples")
	_, _, _, err = LinearRegression(10, 0, 0.1, 1, f64)
	check(err, "d = 0 features")
	_, _, _, err = LinearRegression(10, 2, -1, 1, f64)
	check(err, "noise = -1")
	_, _, _, err = LinearRegression(10, 2, math.NaN(), 1, f64)
	check(err, "noise = NaN")
	_, _, _, err = LinearRegression(1<<20, 1<<20, 0, 1, f64)
	check(err, "more than")
	_, _, _, err = LinearRegression(10, 2, 0, 1, tensor.Int)
	check(err, "dtype int")
	_, err = Blobs(10, 0, 2, 1, 1, f64)
	check(err, "Blobs: 0 classes for 10 examples")
	_, err = Blobs(3, 4, 2, 1, 1, f64)
	check(err, "4 classes for 3 examples")
	_, err = Blobs(10, 2, 2, math.Inf(1), 1, f64)
	check(err, "spread = +Inf")
	_, err = TwoMoons(1, 0.1, 1, f64)
	check(err, "TwoMoons: n = 1")
	_, err = TwoMoons(10, -0.1, 1, f64)
	check(err, "noise = -0.1")
	_, err = Spirals(10, 0, 0.1, 1, f64)
	check(err, "Spirals: 0 classes")
	_, err = Spirals(-5, 2, 0.1, 1, f64)
	check(err, "n = -5")
	_, _, err = Quadratic(10, 3, 0.5, 1, f64)
	check(err, "kappa = 0.5")
	_, _, err = Quadratic(10, 3, math.NaN(), 1, f64)
	check(err, "kappa = NaN")
	_, _, err = Quadratic(2, 3, 10, 1, f64)
	check(err, "n = 2 examples < d = 3 features")
	_, _, err = Quadratic(10, 1, 10, 1, f64)
	check(err, "a 1x1 Hessian has condition number 1")
	_, _, err = Quadratic(0, 1, 1, 1, f64)
	check(err, "n = 0")
}
