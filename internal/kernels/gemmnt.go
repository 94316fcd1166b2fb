package kernels

import "gonum.org/v1/gonum/blas"

// sgemmNT is C (m×n) = A (m×k) · Bᵀ (B n×k), row-major, for a long k: a
// convolution's filter gradient, whose A (the output gradient) and B (the
// im2col matrix) both run along the batch's output positions. It reads A
// and B in place, where sgemm would pack the transposed B (as many
// copies as multiply-adds, with few filters). Each element of C sums
// blocks of ntBlock depths in order, each block as sdotKernel sums it, the
// last k mod 8 depths one by one: deterministic, and the same whatever m,
// n and the number of cores.
func sgemmNT(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if !haveKernel || k < 64 {
		gemm32(blas.NoTrans, blas.Trans, m, n, k, a, lda, b, ldb, c, ldc)
		return
	}
	for i := 0; i < m; i++ {
		clear(c[i*ldc : i*ldc+n])
	}
	k8 := k / 8 * 8
	var out [8]float32
	for l0 := 0; l0 < k8; l0 += ntBlock {
		d := k8 - l0
		if d > ntBlock {
			d = ntBlock
		}
		// Four rows of B (the long matrix) stay in L1 while A's rows,
		// fewer, pass by.
		for j := 0; j < n; j += 4 {
			b0 := &b[j*ldb+l0]
			b1, b2, b3 := &b[min(j+1, n-1)*ldb+l0], &b[min(j+2, n-1)*ldb+l0], &b[min(j+3, n-1)*ldb+l0]
			for i := 0; i < m; i += 2 {
				a0, a1 := &a[i*lda+l0], &a[min(i+1, m-1)*lda+l0]
				sdotKernel(d/8, a0, a1, b0, b1, b2, b3, &out)
				for r := 0; r < 2 && i+r < m; r++ {
					for q := 0; q < 4 && j+q < n; q++ {
						c[(i+r)*ldc+j+q] += out[r*4+q]
					}
				}
			}
		}
	}
	if k8 == k {
		return
	}
	for i := 0; i < m; i++ {
		ai := a[i*lda+k8 : i*lda+k]
		for j := 0; j < n; j++ {
			bj := b[j*ldb+k8 : j*ldb+k]
			s := c[i*ldc+j]
			for l, v := range ai {
				s += v * bj[l]
			}
			c[i*ldc+j] = s
		}
	}
}

// ntBlock is the depth of one sgemmNT block: 4 KB of a row, so that four
// rows of B stay in L1 while A's rows go by.
const ntBlock = 1024
