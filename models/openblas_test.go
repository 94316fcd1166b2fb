//go:build openblas

package models_test

// exactBLAS says whether matrix products give the same bits whatever the
// batch size: true of the pure-Go build, not of OpenBLAS, whose kernels
// depend on the shape.
const exactBLAS = false
