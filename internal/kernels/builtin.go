//go:build !openblas

package kernels

// OpenBLAS reports a build with -tags openblas (openblas.go): false, the
// products run on this package's kernels.
const OpenBLAS = false

// BLAS names the BLAS the products run on.
const BLAS = "pure Go (own AVX2/FMA kernels where the CPU has them, else gonum)"
