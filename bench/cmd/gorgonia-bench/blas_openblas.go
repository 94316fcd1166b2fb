//go:build openblas

package main

// With -tags openblas the baseline's BLAS is OpenBLAS too, set as gorgonia's
// documentation says: gorgonia.Use and tensor.Use.

// #cgo LDFLAGS: -lopenblas
import "C"

import (
	"gonum.org/v1/netlib/blas/netlib"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func init() {
	var impl netlib.Implementation
	tensor.Use(impl)
	G.Use(impl)
}
