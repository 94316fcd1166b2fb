//go:build openblas

package kernels

// Built with -tags openblas, every matrix product — Sgemm and Dgemm, and
// gorgonia's and tensor's own (the tape machine) — goes to OpenBLAS through
// gonum.org/v1/netlib (cgo). Debian: apt-get install libopenblas-dev.
// OPENBLAS_NUM_THREADS limits its threads (default: one per core).

// #cgo LDFLAGS: -lopenblas
import "C"

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/netlib/blas/netlib"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// OpenBLAS reports a build with -tags openblas: true.
const OpenBLAS = true

// BLAS names the BLAS the products run on.
const BLAS = "OpenBLAS"

func init() {
	var impl netlib.Implementation
	tensor.Use(impl)
	G.Use(impl)
	gemm32 = func(tA, tB blas.Transpose, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
		impl.Sgemm(tA, tB, m, n, k, 1, a, lda, b, ldb, 0, c, ldc)
	}
	gemm64 = func(tA, tB blas.Transpose, m, n, k int, a []float64, lda int, b []float64, ldb int, c []float64, ldc int) {
		impl.Dgemm(tA, tB, m, n, k, 1, a, lda, b, ldb, 0, c, ldc)
	}
}
