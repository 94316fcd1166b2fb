package kernels

import (
	"fmt"
	"math"
	"math/rand"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/blas"

	"github.com/descent-go/descent/internal/testutil"
)

// gemm against a float64 reference on every transposition and on shapes
// that exercise edge tiles, several depth blocks, the few-rows path and the
// split over cores, in float32 and float64.
func TestSgemm(t *testing.T) { testGemm(t, sgemm, 1e-6, true) }

func TestDgemm(t *testing.T) { testGemm(t, dgemm, 1e-14, true) }

// sgemmNT is C = A·Bᵀ for float32: to rounding what sgemm gives, and the
// same bits for a row of A alone (but with -tags openblas, where it is
// OpenBLAS's product, whose kernels differ by shape).
func TestSgemmNT(t *testing.T) {
	nt := func(tA, tB blas.Transpose, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
		if tA != blas.NoTrans || tB != blas.Trans {
			sgemm(tA, tB, m, n, k, a, lda, b, ldb, c, ldc)
			return
		}
		sgemmNT(m, n, k, a, lda, b, ldb, c, ldc)
	}
	testGemm(t, nt, 1e-6, !OpenBLAS)
}

func testGemm[T float](t *testing.T, f func(tA, tB blas.Transpose, m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int), tol float64, rowBits bool) {
	r := rand.New(rand.NewSource(1))
	shapes := [][3]int{{1, 1, 1}, {2, 1, 1}, {2, 5, 3}, {1, 128, 784}, {3, 10, 5}, {4, 8, 1}, {6, 16, 1}, {6, 8, 2}, {7, 17, 3}, {7, 9, 3},
		{32, 128, 784}, {128, 10, 128}, {784, 128, 1}, {784, 128, 32}, {100, 33, 1100}, {13, 200, 64}, {6, 3000, 25}, {16, 700, 150}, {18, 20, 600}, {12, 70, 9}, {6, 25, 5000}, {5, 7, 4103}, {1, 3, 100}}
	for _, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		for _, ta := range []blas.Transpose{blas.NoTrans, blas.Trans} {
			for _, tb := range []blas.Transpose{blas.NoTrans, blas.Trans} {
				a := randSlice[T](r, m*k)
				b := randSlice[T](r, k*n)
				lda, ldb := k, n
				if ta == blas.Trans {
					lda = m
				}
				if tb == blas.Trans {
					ldb = k
				}
				c := randSlice[T](r, m*n) // overwritten: beta is 0
				f(ta, tb, m, n, k, a, lda, b, ldb, c, n)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						var want, mag float64
						for l := 0; l < k; l++ {
							var av, bv T
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
						if got := float64(c[i*n+j]); math.Abs(got-want) > tol*mag+1e-30 {
							t.Fatalf("%s: C[%d,%d] = %v, want %v", name(m, n, k, ta, tb), i, j, got, want)
						}
					}
				}
				// Each row alone (the few-rows path) gives the bits it has
				// in the whole product: outputs do not depend on the batch
				// size.
				for _, i := range []int{0, m - 1} {
					if !rowBits {
						break
					}
					row := make([]T, n)
					var ai []T
					if ta == blas.Trans {
						ai = a[i:]
					} else {
						ai = a[i*lda:]
					}
					f(ta, tb, 1, n, k, ai, lda, b, ldb, row, n)
					for j := range row {
						if row[j] != c[i*n+j] {
							t.Fatalf("%s: row %d alone: C[%d] = %v, in the product %v", name(m, n, k, ta, tb), i, j, row[j], c[i*n+j])
						}
					}
				}
				// The same call again gives the same bits.
				c2 := make([]T, m*n)
				f(ta, tb, m, n, k, a, lda, b, ldb, c2, n)
				for i := range c {
					if c[i] != c2[i] {
						t.Fatalf("%s: not deterministic at %d", name(m, n, k, ta, tb), i)
					}
				}
			}
		}
	}
}

// A product allocates nothing once its buffers exist, split over the
// workers or not, in float32 and float64, even when the garbage collector
// runs in between (it empties a sync.Pool).
func TestGemmAllocatesNothing(t *testing.T) {
	if testutil.Race {
		t.Skip("the race detector allocates")
	}
	r := rand.New(rand.NewSource(2))
	for _, s := range [][3]int{{1, 128, 784}, {32, 128, 784}, {128, 784, 128}} {
		m, n, k := s[0], s[1], s[2]
		a32, b32, c32 := randSlice[float32](r, m*k), randSlice[float32](r, k*n), make([]float32, m*n)
		a64, b64, c64 := randSlice[float64](r, m*k), randSlice[float64](r, k*n), make([]float64, m*n)
		run := func() {
			runtime.GC()
			Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, a32, k, b32, n, c32, n)
			Dgemm(blas.NoTrans, blas.NoTrans, m, n, k, a64, k, b64, n, c64, n)
			Dgemm(blas.Trans, blas.NoTrans, k, n, m, a64, k, c64, n, b64, n)
		}
		run()
		if got := testing.AllocsPerRun(20, run); got != 0 {
			t.Errorf("m=%d n=%d k=%d: %v allocations per product", m, n, k, got)
		}
	}
}

func name(m, n, k int, ta, tb blas.Transpose) string {
	return fmt.Sprintf("m=%d n=%d k=%d %c%c", m, n, k, ta, tb)
}

func randSlice[T float](r *rand.Rand, n int) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = T(r.NormFloat64())
	}
	return s
}
