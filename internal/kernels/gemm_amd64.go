//go:build !openblas

package kernels

import "unsafe"

// sgemmKernel computes the mr×nr tile c[r*ldc+j] (+)= Σ_l ap[l*mr+r]·bp[l*ldb+j]
// over depth d, adding to c when add is 1 and storing otherwise. It needs
// AVX2 and FMA.
//
//go:noescape
func sgemmKernel(d int, ap, bp *float32, ldb int, c *float32, ldc, add int)

// sgemmRow computes one row of 16 columns of C, c[j] (+)= Σ_l
// a[l*inca]·b[l*ldb+j] over depth d, with sgemmKernel's arithmetic.
//
//go:noescape
func sgemmRow(d int, a *float32, inca int, b *float32, ldb int, c *float32, add int)

// dgemmKernel is sgemmKernel for float64: a 6×8 tile.
//
//go:noescape
func dgemmKernel(d int, ap, bp *float64, ldb int, c *float64, ldc, add int)

// dgemmRow is sgemmRow for float64: one row of 8 columns.
//
//go:noescape
func dgemmRow(d int, a *float64, inca int, b *float64, ldb int, c *float64, add int)

// sdotKernel computes the 2×4 products out[r*4+c] = Σ_l a_r[l]·b_c[l] over
// l < 8·k8 (sgemmNT's tile).
//
//go:noescape
func sdotKernel(k8 int, a0, a1, b0, b1, b2, b3 *float32, out *[8]float32)

// reluMask32 and reluMask64 are ReluMask32's and ReluMask64's vector loops.
//
//go:noescape
func reluMask32(n8 int, x, v, dst *float32)

//go:noescape
func reluMask64(n4 int, x, v, dst *float64)

func cpuid(eax, ecx uint32) (a, b, c, d uint32)

func xgetbv() (eax, edx uint32)

func init() {
	max, _, _, _ := cpuid(0, 0)
	if max < 7 {
		return
	}
	_, _, c1, _ := cpuid(1, 0)
	const fma, osxsave, avx = 1 << 12, 1 << 27, 1 << 28
	if c1&fma == 0 || c1&osxsave == 0 || c1&avx == 0 {
		return
	}
	if xcr0, _ := xgetbv(); xcr0&6 != 6 { // the OS saves SSE and AVX state
		return
	}
	_, b7, _, _ := cpuid(7, 0)
	const avx2 = 1 << 5
	haveKernel = b7&avx2 != 0
}

// copyRows32 and addRows32 are im2col's and col2im's vector loops over
// rows of w values: dst[r*ldd+j] (+)= src[r*lds+j].
//
//go:noescape
func copyRows32(rows, w int, src *float32, lds int, dst *float32, ldd int)

//go:noescape
func addRows32(rows, w int, src *float32, lds int, dst *float32, ldd int)

// addScalar32 is AddScalar32's vector loop.
//
//go:noescape
func addScalar32(n8 int, x *float32, b float32, dst *float32)

// axpy32, momentum32 and finite32 are Axpy's, Momentum's and Finite's
// vector loops over 8·n8 float32s; the 64 versions over 4·n4 float64s.
// finite returns 1 when every value is finite, else 0.
//
//go:noescape
func axpy32(n8 int, a float32, x, y *float32)

//go:noescape
func axpy64(n4 int, a float64, x, y *float64)

// axpby32 and axpby64 are Axpby's vector loops; 1 when every result is
// finite.
//
//go:noescape
func axpby32(n8 int, a float32, x *float32, b float32, y, d *float32) int

//go:noescape
func axpby64(n4 int, a float64, x *float64, b float64, y, d *float64) int

//go:noescape
func momentum32(n8 int, w, grad, v *float32, lr, mu float32, nesterov int)

//go:noescape
func momentum64(n4 int, w, grad, v *float64, lr, mu float64, nesterov int)

//go:noescape
func finite32(n8 int, x *float32) int

//go:noescape
func finite64(n4 int, x *float64) int

// prefetchLines is Prefetch's loop (PREFETCHT0 needs no AVX).
//
//go:noescape
func prefetchLines(n int, p unsafe.Pointer)

const havePrefetch = true
