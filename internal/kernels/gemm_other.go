//go:build !amd64 || openblas

package kernels

import "unsafe"

// sgemmKernel is never called off amd64 or with OpenBLAS: haveKernel stays
// false.
func sgemmKernel(d int, ap, bp *float32, ldb int, c *float32, ldc, add int) {
	panic("kernels: sgemmKernel without assembly")
}

func sgemmRow(d int, a *float32, inca int, b *float32, ldb int, c *float32, add int) {
	panic("kernels: sgemmRow without assembly")
}

func dgemmKernel(d int, ap, bp *float64, ldb int, c *float64, ldc, add int) {
	panic("kernels: dgemmKernel without assembly")
}

func dgemmRow(d int, a *float64, inca int, b *float64, ldb int, c *float64, add int) {
	panic("kernels: dgemmRow without assembly")
}

func sdotKernel(k8 int, a0, a1, b0, b1, b2, b3 *float32, out *[8]float32) {
	panic("kernels: sdotKernel without assembly")
}

func reluMask32(n8 int, x, v, dst *float32) { panic("kernels: reluMask32 without assembly") }

func reluMask64(n4 int, x, v, dst *float64) { panic("kernels: reluMask64 without assembly") }

func copyRows32(rows, w int, src *float32, lds int, dst *float32, ldd int) {
	panic("kernels: copyRows32 without assembly")
}

func addRows32(rows, w int, src *float32, lds int, dst *float32, ldd int) {
	panic("kernels: addRows32 without assembly")
}

func addScalar32(n8 int, x *float32, b float32, dst *float32) {
	panic("kernels: addScalar32 without assembly")
}

func axpy32(n8 int, a float32, x, y *float32) { panic("kernels: axpy32 without assembly") }

func axpy64(n4 int, a float64, x, y *float64) { panic("kernels: axpy64 without assembly") }

func axpby32(n8 int, a float32, x *float32, b float32, y, d *float32) int {
	panic("kernels: axpby32 without assembly")
}

func axpby64(n4 int, a float64, x *float64, b float64, y, d *float64) int {
	panic("kernels: axpby64 without assembly")
}

func momentum32(n8 int, w, grad, v *float32, lr, mu float32, nesterov int) {
	panic("kernels: momentum32 without assembly")
}

func momentum64(n4 int, w, grad, v *float64, lr, mu float64, nesterov int) {
	panic("kernels: momentum64 without assembly")
}

func finite32(n8 int, x *float32) int { panic("kernels: finite32 without assembly") }

func finite64(n4 int, x *float64) int { panic("kernels: finite64 without assembly") }

func prefetchLines(n int, p unsafe.Pointer) { panic("kernels: prefetchLines without assembly") }

const havePrefetch = false
