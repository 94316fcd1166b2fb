package kernels

import (
	"math"
	"unsafe"
)

// The elementwise loops of a training step's serial part — the sum of the
// replicas' gradients, the finite check of the result, the momentum update
// — over a 100,000-weight model take as long as a small batch's gradient
// in scalar Go; with AVX2 they run at the speed of memory. Each element is
// computed with the Go loop's rounded operations (a product, then a sum;
// never a fused multiply-add: the conversions T(…) keep the compiler from
// fusing them), so the assembly and the Go loops give the same bits.

// Axpy sets y[i] += a·x[i] over x's length, where x[i] ≠ 0: an update
// writes only the weights its gradient changes (MNIST's always-0 pixels
// give rows of zeros), which spares the memory traffic and, when several
// cores update the same weights (Hogwild), their trips between the
// cores' caches. Skipping them changes no value but the sign of a zero.
func Axpy[T float](a T, x, y []T) {
	y = y[:len(x)]
	i := 0
	if haveKernel && len(x) >= 8 {
		if is32(a) {
			n := len(x) / 8
			axpy32(n, *(*float32)(unsafe.Pointer(&a)), (*float32)(unsafe.Pointer(&x[0])), (*float32)(unsafe.Pointer(&y[0])))
			i = 8 * n
		} else {
			n := len(x) / 4
			axpy64(n, *(*float64)(unsafe.Pointer(&a)), (*float64)(unsafe.Pointer(&x[0])), (*float64)(unsafe.Pointer(&y[0])))
			i = 4 * n
		}
	}
	for ; i < len(x); i++ {
		if x[i] != 0 {
			y[i] += T(a * x[i])
		}
	}
}

// Axpby sets d[i] = a·x[i] + b·y[i] over x's length and reports whether
// every d[i] is finite: the sum of two replicas' gradients, weighted by
// their rows, and its check in one pass.
func Axpby[T float](a T, x []T, b T, y, d []T) bool {
	y, d = y[:len(x)], d[:len(x)]
	i, ok := 0, 1
	if haveKernel && len(x) >= 8 {
		if is32(a) {
			n := len(x) / 8
			ok = axpby32(n, *(*float32)(unsafe.Pointer(&a)), (*float32)(unsafe.Pointer(&x[0])),
				*(*float32)(unsafe.Pointer(&b)), (*float32)(unsafe.Pointer(&y[0])), (*float32)(unsafe.Pointer(&d[0])))
			i = 8 * n
		} else {
			n := len(x) / 4
			ok = axpby64(n, *(*float64)(unsafe.Pointer(&a)), (*float64)(unsafe.Pointer(&x[0])),
				*(*float64)(unsafe.Pointer(&b)), (*float64)(unsafe.Pointer(&y[0])), (*float64)(unsafe.Pointer(&d[0])))
			i = 4 * n
		}
	}
	for j := i; j < len(x); j++ {
		d[j] = T(a*x[j]) + T(b*y[j])
	}
	return ok == 1 && Finite(d[i:])
}

// Momentum is heavy-ball SGD (or Nesterov's, when nesterov) over g's
// length: v = μ·v + g; w −= lr·v (or lr·(g + μ·v)), with subnormal inputs
// and results of every operation taken as zero (as a CPU's flush-to-zero
// mode does). An optimizer meets subnormal numbers all the time — the
// velocity of a weight whose input is always 0 (MNIST's border pixels)
// decays geometrically into them, and lr·v of a small velocity lands there
// — and x86 computes on them 10–100× slower (measured: an update of
// 101,770 float32 weights 22 µs, 650 µs with subnormal velocities); the
// change is below the smallest normal number.
func Momentum[T float](lr, mu T, nesterov bool, w, g, v []T) {
	w, v = w[:len(g)], v[:len(g)]
	i := 0
	if haveKernel && len(g) >= 8 {
		nest := 0
		if nesterov {
			nest = 1
		}
		if is32(lr) {
			n := len(g) / 8
			momentum32(n, (*float32)(unsafe.Pointer(&w[0])), (*float32)(unsafe.Pointer(&g[0])), (*float32)(unsafe.Pointer(&v[0])),
				*(*float32)(unsafe.Pointer(&lr)), *(*float32)(unsafe.Pointer(&mu)), nest)
			i = 8 * n
		} else {
			n := len(g) / 4
			momentum64(n, (*float64)(unsafe.Pointer(&w[0])), (*float64)(unsafe.Pointer(&g[0])), (*float64)(unsafe.Pointer(&v[0])),
				*(*float64)(unsafe.Pointer(&lr)), *(*float64)(unsafe.Pointer(&mu)), nest)
			i = 4 * n
		}
	}
	tiny := MinNormal[T]()
	lr, mu = ftz(lr, tiny), ftz(mu, tiny)
	for ; i < len(g); i++ {
		gi := ftz(g[i], tiny)
		vi := ftz(ftz(T(mu*ftz(v[i], tiny)), tiny)+gi, tiny)
		v[i] = vi
		d := vi
		if nesterov {
			d = ftz(gi+ftz(T(mu*vi), tiny), tiny)
		}
		w[i] = ftz(ftz(w[i], tiny)-ftz(T(lr*d), tiny), tiny)
	}
}

// ftz is x, or a zero of x's sign when x is subnormal (|x| < tiny).
func ftz[T float](x, tiny T) T {
	if x < tiny && x > -tiny {
		return T(math.Copysign(0, float64(x)))
	}
	return x
}

// Finite reports whether no element of x is NaN or ±Inf.
func Finite[T float](x []T) bool {
	i := 0
	if haveKernel && len(x) >= 8 {
		var ok int
		if is32(x[0]) {
			n := len(x) / 8
			ok = finite32(n, (*float32)(unsafe.Pointer(&x[0])))
			i = 8 * n
		} else {
			n := len(x) / 4
			ok = finite64(n, (*float64)(unsafe.Pointer(&x[0])))
			i = 4 * n
		}
		if ok == 0 {
			return false
		}
	}
	// v−v is 0 for a finite v and NaN otherwise: four running sums of it
	// stay exactly 0 unless some element is not finite, with no branch.
	x = x[i:]
	var s0, s1, s2, s3 T
	i = 0
	for ; i+4 <= len(x); i += 4 {
		q := x[i : i+4 : i+4]
		s0 += q[0] - q[0]
		s1 += q[1] - q[1]
		s2 += q[2] - q[2]
		s3 += q[3] - q[3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] - x[i]
	}
	return s0 == 0 && s1 == 0 && s2 == 0 && s3 == 0
}

// Prefetch asks for x's memory in this core's caches, with a prefetch per
// line, all in flight at once: for data that another core has just
// written (weights updated by the other replicas' cores) and that a
// product will read in an order the hardware prefetcher does not follow
// (a weight matrix read in place by column panels), cheaper than the
// product's misses one at a time. A no-op off amd64.
func Prefetch[T float](x []T) {
	if havePrefetch && len(x) > 0 {
		n := (len(x)*int(unsafe.Sizeof(x[0])) + 63) / 64
		prefetchLines(n, unsafe.Pointer(&x[0]))
	}
}

func is32[T float](x T) bool { return unsafe.Sizeof(x) == 4 }

// MinNormal is the smallest positive normal number of T.
func MinNormal[T float]() T {
	var z T
	tiny := 0x1p-1022
	if is32(z) {
		tiny = 0x1p-126
	}
	return T(tiny)
}
