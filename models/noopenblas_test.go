//go:build !openblas

package models_test

const exactBLAS = true
