//go:build !openblas

package graph

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// tensorBLAS makes the machine call the BLAS tensor.MatMul calls (gonum's),
// as tensor.MatMul calls it, until restore is called.
func tensorBLAS() (restore func()) {
	s32, s64 := gemm32, gemm64
	gemm32 = func(tA, tB blas.Transpose, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
		gonum.Implementation{}.Sgemm(tA, tB, m, n, k, 1, a, lda, b, ldb, 0, c, ldc)
	}
	gemm64 = gonumDgemm
	return func() { gemm32, gemm64 = s32, s64 }
}
