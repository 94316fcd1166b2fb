//go:build openblas

package graph

// tensorBLAS: with -tags openblas the machine already calls the BLAS that
// tensor.MatMul calls (OpenBLAS), as tensor.MatMul calls it.
func tensorBLAS() (restore func()) { return func() {} }
