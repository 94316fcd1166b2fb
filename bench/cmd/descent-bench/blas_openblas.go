//go:build openblas

package main

const (
	implSuffix = "-openblas"
	blasName   = "OpenBLAS"
)
