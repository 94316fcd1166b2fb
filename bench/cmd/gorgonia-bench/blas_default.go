//go:build !openblas

package main

const implSuffix = ""
