package kernels

// ReluMask32 sets dst[i] = v[i]·(x[i] ≥ 0 ? 1 : 0) over x's length, with
// one multiply per element (so −0, NaN and ±Inf come out as from
// gorgonia's x ⊙ (x ≥ 0)): ReLU's forward pass (v = x) and its gradient
// (v = the output's gradient). AVX2 where the CPU has it.
func ReluMask32(x, v, dst []float32) {
	v, dst = v[:len(x)], dst[:len(x)]
	i := 0
	if n := len(x) / 8; haveKernel && n > 0 {
		reluMask32(n, &x[0], &v[0], &dst[0])
		i = n * 8
	}
	reluTail(x[i:], v[i:], dst[i:])
}

// ReluMask64 is ReluMask32 for float64.
func ReluMask64(x, v, dst []float64) {
	v, dst = v[:len(x)], dst[:len(x)]
	i := 0
	if n := len(x) / 4; haveKernel && n > 0 {
		reluMask64(n, &x[0], &v[0], &dst[0])
		i = n * 4
	}
	reluTail(x[i:], v[i:], dst[i:])
}

func reluTail[T float](x, v, dst []T) {
	v, dst = v[:len(x)], dst[:len(x)]
	// The factor from a table by an integer the compiler sets without a
	// branch: the signs of activations are a coin toss that a branch
	// predictor loses half the time.
	factor := [2]T{0, 1}
	for i, xi := range x {
		k := 0
		if xi >= 0 {
			k = 1
		}
		dst[i] = v[i] * factor[k]
	}
}

// AddScalar32 sets dst[i] = x[i] + b over x's length (a bias added to a
// plane of a convolution's output), one rounded addition each, AVX2 where
// the CPU has it.
func AddScalar32(x []float32, b float32, dst []float32) {
	dst = dst[:len(x)]
	i := 0
	if n := len(x) / 8; haveKernel && n > 0 {
		addScalar32(n, &x[0], b, &dst[0])
		i = n * 8
	}
	for j, v := range x[i:] {
		dst[i+j] = v + b
	}
}
