package datasets

import (
	"math"
	"math/rand"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/rng"
)

// maxSynthetic bounds the values a generator makes (n*d), 2^28.
const maxSynthetic = 1 << 28

// checkGen validates the arguments shared by the generators.
func checkGen(op string, n, d int, dt tensor.Dtype) error {
	if err := checkDtype(op, dt); err != nil {
		return err
	}
	if n <= 0 {
		return errors.Errorf("datasets: %s: n = %d examples: want at least 1", op, n)
	}
	if d <= 0 {
		return errors.Errorf("datasets: %s: d = %d features: want at least 1", op, d)
	}
	if size, ok := checkedSize([]int{n, d}); !ok || size > maxSynthetic {
		return errors.Errorf("datasets: %s: n = %d times d = %d values: more than %d", op, n, d, maxSynthetic)
	}
	return nil
}

// checkScale validates a noise or spread parameter.
func checkScale(op, name string, v float64) error {
	if !(v >= 0) || math.IsInf(v, 0) {
		return errors.Errorf("datasets: %s: %s = %v: want a finite value >= 0", op, name, v)
	}
	return nil
}

// LinearRegression returns n examples of a noisy linear model with d
// features: every x is drawn from N(0, I), and y = w·x + b + noise·ε with
// ε from N(0, 1), so Y has shape (n, 1). The true weights w and bias b
// (each drawn from N(0, 1)) are returned too: a model trained on the data
// should find them, up to the noise (the least-squares estimate is off by
// about noise/sqrt(n) per weight). Draws come from rng.New(seed,
// "LinearRegression").
func LinearRegression(n, d int, noise float64, seed int64, dt tensor.Dtype) (ds *Dataset, trueW []float64, trueB float64, err error) {
	const op = "LinearRegression"
	if err := checkGen(op, n, d, dt); err != nil {
		return nil, nil, 0, err
	}
	if err := checkScale(op, "noise", noise); err != nil {
		return nil, nil, 0, err
	}
	r := rng.New(seed, op)
	w := make([]float64, d)
	for j := range w {
		w[j] = r.NormFloat64()
	}
	b := r.NormFloat64()
	x := make([]float64, n*d)
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		s := b
		for j := 0; j < d; j++ {
			v := r.NormFloat64()
			x[i*d+j] = v
			s += w[j] * v
		}
		y[i] = s + noise*r.NormFloat64()
	}
	ds, err = newDataset(op, newDense(dt, tensor.Shape{n, d}, x), newDense(dt, tensor.Shape{n, 1}, y))
	if err != nil {
		return nil, nil, 0, err
	}
	return ds, w, b, nil
}

// Blobs returns n examples in d dimensions around `classes` centers drawn
// uniformly from the box [-10, 10]^d: each example is its class's center
// plus spread·N(0, I). Y holds class indices; the classes have n/classes
// examples each (the first n%classes one more) and come in random order.
// Small spreads give well-separated blobs, a first classification problem;
// large ones overlap. Draws come from rng.New(seed, "Blobs").
func Blobs(n, classes, d int, spread float64, seed int64, dt tensor.Dtype) (*Dataset, error) {
	const op = "Blobs"
	if err := checkGen(op, n, d, dt); err != nil {
		return nil, err
	}
	if classes <= 0 || classes > n {
		return nil, errors.Errorf("datasets: %s: %d classes for %d examples: want 1..n", op, classes, n)
	}
	if err := checkScale(op, "spread", spread); err != nil {
		return nil, err
	}
	r := rng.New(seed, op)
	centers := make([]float64, classes*d)
	for i := range centers {
		centers[i] = -10 + 20*r.Float64()
	}
	labels := make([]int, n)
	for i := range labels {
		labels[i] = i % classes
	}
	shuffle(labels, r)
	x := make([]float64, n*d)
	y := make([]float64, n)
	for i, c := range labels {
		for j := 0; j < d; j++ {
			x[i*d+j] = centers[c*d+j] + spread*r.NormFloat64()
		}
		y[i] = float64(c)
	}
	return newDataset(op, newDense(dt, tensor.Shape{n, d}, x), newDense(dt, tensor.Shape{n}, y))
}

// TwoMoons returns n points in the plane on two interleaving half circles,
// as scikit-learn's make_moons: class 0 on (cos t, sin t) and class 1 on
// (1 - cos t, 1/2 - sin t) for t evenly spaced in [0, π], plus noise·N(0, I),
// in random order. Class 0 gets n/2 points, class 1 the rest. No straight
// line separates the classes: a linear model fails where a small network
// with a hidden layer succeeds. Draws come from rng.New(seed, "TwoMoons").
func TwoMoons(n int, noise float64, seed int64, dt tensor.Dtype) (*Dataset, error) {
	const op = "TwoMoons"
	if err := checkGen(op, n, 2, dt); err != nil {
		return nil, err
	}
	if n < 2 {
		return nil, errors.Errorf("datasets: %s: n = %d: want at least 2 (one per moon)", op, n)
	}
	if err := checkScale(op, "noise", noise); err != nil {
		return nil, err
	}
	r := rng.New(seed, op)
	outer := n / 2
	x := make([]float64, 2*n)
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		c, k, m := 0, i, outer
		if i >= outer {
			c, k, m = 1, i-outer, n-outer
		}
		t := 0.0
		if m > 1 {
			t = math.Pi * float64(k) / float64(m-1)
		}
		if c == 0 {
			x[2*i], x[2*i+1] = math.Cos(t), math.Sin(t)
		} else {
			x[2*i], x[2*i+1] = 1-math.Cos(t), 0.5-math.Sin(t)
		}
		y[i] = float64(c)
	}
	for i := range x {
		x[i] += noise * r.NormFloat64()
	}
	permuteRows(r, x, 2, y)
	return newDataset(op, newDense(dt, tensor.Shape{n, 2}, x), newDense(dt, tensor.Shape{n}, y))
}

// Spirals returns n points in the plane on `classes` interleaved spiral arms
// (1.5 turns each): arm j has points at radius t and angle 2πj/classes + 3πt
// for t evenly spaced in (0, 1], plus noise·N(0, I), in random order. Y is
// the arm as a class index; the arms have n/classes points each (the first
// n%classes one more). It is a hard nonlinear problem: it needs a network
// with enough hidden units, and shows what depth and width buy. Draws come
// from rng.New(seed, "Spirals").
func Spirals(n, classes int, noise float64, seed int64, dt tensor.Dtype) (*Dataset, error) {
	const op = "Spirals"
	if err := checkGen(op, n, 2, dt); err != nil {
		return nil, err
	}
	if classes <= 0 || classes > n {
		return nil, errors.Errorf("datasets: %s: %d classes for %d examples: want 1..n", op, classes, n)
	}
	if err := checkScale(op, "noise", noise); err != nil {
		return nil, err
	}
	r := rng.New(seed, op)
	x := make([]float64, 0, 2*n)
	y := make([]float64, 0, n)
	for j := 0; j < classes; j++ {
		m := n / classes
		if j < n%classes {
			m++
		}
		for i := 0; i < m; i++ {
			t := float64(i+1) / float64(m)
			a := 2*math.Pi*float64(j)/float64(classes) + 3*math.Pi*t
			x = append(x, t*math.Cos(a), t*math.Sin(a))
			y = append(y, float64(j))
		}
	}
	for i := range x {
		x[i] += noise * r.NormFloat64()
	}
	permuteRows(r, x, 2, y)
	return newDataset(op, newDense(dt, tensor.Shape{n, 2}, x), newDense(dt, tensor.Shape{n}, y))
}

// permuteRows shuffles the rows of x (f values each) and y together.
func permuteRows(r *rand.Rand, x []float64, f int, y []float64) {
	for i := len(y) - 1; i > 0; i-- {
		j := r.Intn(i + 1)
		y[i], y[j] = y[j], y[i]
		for k := 0; k < f; k++ {
			x[i*f+k], x[j*f+k] = x[j*f+k], x[i*f+k]
		}
	}
}

// Quadratic returns a least-squares problem with a known, exactly
// conditioned Hessian: X (n, d) and Y = X·w* (n, 1) without noise, so that
// w* (returned, drawn from N(0, I)) is the exact minimizer of
//
//	L(w) = 1/(2n) · ||X·w - y||²,
//
// with L(w*) = 0, and the Hessian XᵀX/n has eigenvalues spaced
// geometrically from 1 to kappa: its condition number is exactly kappa, its
// smoothness constant L = kappa and its strong convexity μ = 1. Gradient
// descent with step 1/L then converges like (1 - 1/kappa)^t: vary kappa to
// see conditioning slow it down, and compare with momentum, whose rate goes
// with sqrt(kappa). The model has no bias term.
//
// X = U·diag(s)·Vᵀ with U (n, d) having random orthonormal columns, V a
// random orthogonal (d, d) matrix and s² = n·eigenvalues; n must be at least
// d, and kappa must be 1 when d is 1. With tensor.Float32, X is rounded and
// Y is computed from the rounded X, so the condition number and the
// residual at w* are exact only up to float32 precision. Draws come from
// rng.New(seed, "Quadratic").
func Quadratic(n, d int, kappa float64, seed int64, dt tensor.Dtype) (ds *Dataset, trueW []float64, err error) {
	const op = "Quadratic"
	if err := checkGen(op, n, d, dt); err != nil {
		return nil, nil, err
	}
	if n < d {
		return nil, nil, errors.Errorf("datasets: %s: n = %d examples < d = %d features: XᵀX would be singular", op, n, d)
	}
	if !(kappa >= 1) || math.IsInf(kappa, 0) || kappa > 1e12 {
		return nil, nil, errors.Errorf("datasets: %s: kappa = %v: want a condition number in [1, 1e12]", op, kappa)
	}
	if d == 1 && kappa != 1 {
		return nil, nil, errors.Errorf("datasets: %s: kappa = %v with d = 1: a 1x1 Hessian has condition number 1", op, kappa)
	}
	r := rng.New(seed, op)
	u := orthonormalColumns(r, n, d) // U[a][i] = u[i*n+a]
	v := orthonormalColumns(r, d, d) // V[c][i] = v[i*d+c]
	s := make([]float64, d)
	for i := range s {
		lambda := 1.0
		if d > 1 {
			lambda = math.Pow(kappa, float64(i)/float64(d-1))
		}
		s[i] = math.Sqrt(float64(n) * lambda)
	}
	w := make([]float64, d)
	for i := range w {
		w[i] = r.NormFloat64()
	}
	// X[a][c] = Σ_i U[a][i]·s[i]·V[c][i]; with W = diag(s)·Vᵀ precomputed.
	sv := make([]float64, d*d) // sv[i*d+c] = s[i]·V[c][i]
	for i := 0; i < d; i++ {
		for c := 0; c < d; c++ {
			sv[i*d+c] = s[i] * v[i*d+c]
		}
	}
	x := make([]float64, n*d)
	y := make([]float64, n)
	for a := 0; a < n; a++ {
		row := x[a*d : (a+1)*d]
		for i := 0; i < d; i++ {
			ua := u[i*n+a]
			for c := 0; c < d; c++ {
				row[c] += ua * sv[i*d+c]
			}
		}
		if dt == tensor.Float32 {
			for c := range row {
				row[c] = float64(float32(row[c]))
			}
		}
		sum := 0.0
		for c := range row {
			sum += row[c] * w[c]
		}
		y[a] = sum
	}
	ds, err = newDataset(op, newDense(dt, tensor.Shape{n, d}, x), newDense(dt, tensor.Shape{n, 1}, y))
	if err != nil {
		return nil, nil, err
	}
	return ds, w, nil
}

// orthonormalColumns returns k <= n orthonormal, uniformly random vectors
// of length n, one after the other (column j of an (n, k) matrix is
// m[j*n:(j+1)*n]): Gaussian vectors orthonormalized by modified
// Gram–Schmidt, done twice for accuracy.
func orthonormalColumns(r *rand.Rand, n, k int) []float64 {
	m := make([]float64, n*k)
	for j := 0; j < k; j++ {
		col := m[j*n : (j+1)*n]
		for {
			for a := range col {
				col[a] = r.NormFloat64()
			}
			for pass := 0; pass < 2; pass++ {
				for i := 0; i < j; i++ {
					q := m[i*n : (i+1)*n]
					dot := 0.0
					for a, c := range col {
						dot += q[a] * c
					}
					for a := range col {
						col[a] -= dot * q[a]
					}
				}
			}
			norm := 0.0
			for _, c := range col {
				norm += c * c
			}
			norm = math.Sqrt(norm)
			if norm > 1e-6 {
				for a := range col {
					col[a] /= norm
				}
				break
			}
		}
	}
	return m
}
