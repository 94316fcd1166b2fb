package graph

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"gonum.org/v1/gonum/blas"
)

// sgemm against a float64 reference on every transposition and on shapes
// that exercise edge tiles, several depth blocks, the thin gonum path and
// the split over cores.
func TestSgemm(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	shapes := [][3]int{{1, 1, 1}, {1, 128, 784}, {3, 10, 5}, {4, 8, 1}, {6, 16, 1}, {7, 17, 3},
		{32, 128, 784}, {128, 10, 128}, {784, 128, 1}, {784, 128, 32}, {100, 33, 1100}, {13, 200, 64}}
	for _, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		for _, ta := range []blas.Transpose{blas.NoTrans, blas.Trans} {
			for _, tb := range []blas.Transpose{blas.NoTrans, blas.Trans} {
				a := randSlice(r, m*k)
				b := randSlice(r, k*n)
				lda, ldb := k, n
				if ta == blas.Trans {
					lda = m
				}
				if tb == blas.Trans {
					ldb = k
				}
				c := randSlice(r, m*n) // overwritten: beta is 0
				sgemm(ta, tb, m, n, k, a, lda, b, ldb, c, n)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						var want, mag float64
						for l := 0; l < k; l++ {
							var av, bv float32
							if ta == blas.Trans {
								av = a[l*lda+i]
							} else {
								av = a[i*lda+l]
							}
							if tb == blas.Trans {
								bv = b[j*ldb+l]
							} else {
								bv = b[l*ldb+j]
							}
							want += float64(av) * float64(bv)
							mag += math.Abs(float64(av) * float64(bv))
						}
						if got := float64(c[i*n+j]); math.Abs(got-want) > 1e-6*mag+1e-30 {
							t.Fatalf("%s: C[%d,%d] = %v, want %v", name(m, n, k, ta, tb), i, j, got, want)
						}
					}
				}
				// Each row alone (the few-rows path) gives the bits it has
				// in the whole product: outputs do not depend on the batch
				// size.
				for _, i := range []int{0, m - 1} {
					row := make([]float32, n)
					var ai []float32
					if ta == blas.Trans {
						ai = a[i:]
					} else {
						ai = a[i*lda:]
					}
					sgemm(ta, tb, 1, n, k, ai, lda, b, ldb, row, n)
					for j := range row {
						if math.Float32bits(row[j]) != math.Float32bits(c[i*n+j]) {
							t.Fatalf("%s: row %d alone: C[%d] = %v, in the product %v", name(m, n, k, ta, tb), i, j, row[j], c[i*n+j])
						}
					}
				}
				// The same call again gives the same bits.
				c2 := make([]float32, m*n)
				sgemm(ta, tb, m, n, k, a, lda, b, ldb, c2, n)
				for i := range c {
					if math.Float32bits(c[i]) != math.Float32bits(c2[i]) {
						t.Fatalf("%s: not deterministic at %d", name(m, n, k, ta, tb), i)
					}
				}
			}
		}
	}
}

func name(m, n, k int, ta, tb blas.Transpose) string {
	return fmt.Sprintf("m=%d n=%d k=%d %c%c", m, n, k, ta, tb)
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}
