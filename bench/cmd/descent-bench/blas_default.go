//go:build !openblas

package main

const (
	implSuffix = ""
	blasName   = "pure Go (own AVX2 float32 kernel where the CPU has it, else gonum)"
)
