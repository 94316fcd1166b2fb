//go:build !amd64 || openblas

package graph

// sgemmKernel is never called off amd64 or with OpenBLAS: haveKernel stays
// false.
func sgemmKernel(d int, ap, bp, c *float32, ldc, add int) {
	panic("graph: sgemmKernel without assembly")
}

func sgemmRow(d int, a *float32, inca int, b *float32, ldb int, c *float32, add int) {
	panic("graph: sgemmRow without assembly")
}
