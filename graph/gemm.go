package graph

import (
	"runtime"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// The machine computes every 2-D matrix product of a graph (gorgonia's
// A × B, Aᵀ × B, A × Bᵀ, Aᵀ × Bᵀ) itself, with the BLAS call tensor.MatMul
// would make (same transposition flags, sizes and strides, row-major), on
// one of two BLAS:
//
//   - by default, float32 products on a CPU with AVX2 and FMA go through
//     sgemm below: packed panels, a 6×16 register-blocked micro-kernel in
//     assembly (gemm_amd64.s), rows of C split over the cores; everything
//     else through gonum's pure-Go BLAS, as gorgonia does;
//   - built with -tags openblas, every product goes to OpenBLAS through
//     gonum.org/v1/netlib (blas_openblas.go).
//
// Every element of C is one sum over k in a fixed order, computed by one
// goroutine, whatever the number of cores: results are deterministic.

// gemm32 and gemm64 compute C = op(A)·op(B) (alpha 1, beta 0), row-major.
var (
	gemm32 = sgemm
	gemm64 = gonumDgemm
)

func gonumDgemm(tA, tB blas.Transpose, m, n, k int, a []float64, lda int, b []float64, ldb int, c []float64, ldc int) {
	gonum.Implementation{}.Dgemm(tA, tB, m, n, k, 1, a, lda, b, ldb, 0, c, ldc)
}

// gonumSgemm calls gonum's Sgemm on column blocks of C narrow enough that
// gonum takes its serial path, which allocates nothing (its parallel path
// starts goroutines on every call). Each element of C is computed as gonum
// computes it.
func gonumSgemm(tA, tB blas.Transpose, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	var impl gonum.Implementation
	if m > 64 || k == 0 {
		impl.Sgemm(tA, tB, m, n, k, 1, a, lda, b, ldb, 0, c, ldc)
		return
	}
	const cols = 128 // gonum goes parallel from 4 blocks of 64×64 in C
	for j := 0; j < n; j += cols {
		w := n - j
		if w > cols {
			w = cols
		}
		bj := b[j:]
		if tB == blas.Trans {
			bj = b[j*ldb:]
		}
		impl.Sgemm(tA, tB, m, w, k, 1, a, lda, bj, ldb, 0, c[j:], ldc)
	}
}

// Micro-kernel tile and blocking sizes.
const (
	mr = 6   // rows of C per micro-kernel call
	nr = 16  // columns of C per micro-kernel call (two 8-float registers)
	kc = 512 // depth of one packed block
)

// inFlight counts the sgemm calls in progress.
var inFlight int32

// haveKernel reports an AVX2+FMA CPU (set in gemm_amd64.go).
var haveKernel bool

// sgemm is C = op(A)·op(B) for float32.
//
// Every element of C is the same computation whatever the shape of the
// product it is part of — FMAs in depth order from zero, blocks of kc depths
// summed in order — so a model's outputs have the same bits whatever the
// batch size.
func sgemm(tA, tB blas.Transpose, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if !haveKernel {
		gonumSgemm(tA, tB, m, n, k, a, lda, b, ldb, c, ldc)
		return
	}
	if k == 0 {
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			for j := range row {
				row[j] = 0
			}
		}
		return
	}
	ws := gemmPool.Get().(*gemmWork)
	defer gemmPool.Put(ws)
	if m < 4 {
		// Too few rows to pay for packing B: one row of C at a time,
		// reading B in place where it is stored row by row.
		sgemmRows(tA == blas.Trans, tB == blas.Trans, m, n, k, a, lda, b, ldb, c, ldc, ws)
		return
	}
	tiles := (m + mr - 1) / mr
	panels := (n + nr - 1) / nr
	parts := workers()
	if parts > tiles {
		parts = tiles
	}
	// When another product runs at the same time (data-parallel replicas
	// on the other cores), the cores are busy already: splitting rows would
	// only make each product wait for the other's share.
	if atomic.AddInt32(&inFlight, 1) > 1 || m*n*k < 1<<18 {
		parts = 1
	}
	defer atomic.AddInt32(&inFlight, -1)
	for l0 := 0; l0 < k; l0 += kc {
		d := k - l0
		if d > kc {
			d = kc
		}
		ws.bp = grow(ws.bp, panels*d*nr)
		packB(tB == blas.Trans, b, ldb, l0, d, n, ws.bp)
		job := gemmJob{transA: tA == blas.Trans, a: a, lda: lda, bp: ws.bp, c: c, ldc: ldc,
			m: m, n: n, l0: l0, d: d, add: l0 > 0}
		if parts == 1 {
			job.rows(0, tiles, &ws.local)
			continue
		}
		// Split the row tiles evenly; the caller takes the first share.
		wg := &ws.wg
		per := (tiles + parts - 1) / parts
		for p := 1; p < parts; p++ {
			lo, hi := p*per, (p+1)*per
			if hi > tiles {
				hi = tiles
			}
			if lo >= hi {
				continue
			}
			t := &ws.tasks[p-1]
			t.job, t.lo, t.hi, t.wg = job, lo, hi, wg
			wg.Add(1)
			gemmWorkers.work <- t
		}
		hi := per
		if hi > tiles {
			hi = tiles
		}
		job.rows(0, hi, &ws.local)
		wg.Wait()
	}
}

// sgemmRows is sgemm for a few rows of C.
func sgemmRows(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, ws *gemmWork) {
	inca := 1
	if transA {
		inca = lda
	}
	tile := ws.local.tile[:nr]
	for l0 := 0; l0 < k; l0 += kc {
		d := k - l0
		if d > kc {
			d = kc
		}
		add := 0
		if l0 > 0 {
			add = 1
		}
		panels := (n + nr - 1) / nr
		packed := transB || n%nr != 0
		if packed {
			ws.bp = grow(ws.bp, panels*d*nr)
			packB(transB, b, ldb, l0, d, n, ws.bp)
		}
		for i := 0; i < m; i++ {
			ai := &a[i*lda+l0]
			if transA {
				ai = &a[l0*lda+i]
			}
			for p, j0 := 0, 0; j0 < n; p, j0 = p+1, j0+nr {
				w := n - j0
				if w > nr {
					w = nr
				}
				ci := c[i*ldc+j0 : i*ldc+j0+w]
				switch {
				case !packed:
					sgemmRow(d, ai, inca, &b[l0*ldb+j0], ldb, &ci[0], add)
				case w == nr:
					sgemmRow(d, ai, inca, &ws.bp[p*d*nr], nr, &ci[0], add)
				default: // an edge panel: compute all 16 columns aside
					sgemmRow(d, ai, inca, &ws.bp[p*d*nr], nr, &tile[0], 0)
					if add == 1 {
						for x, v := range tile[:w] {
							ci[x] += v
						}
					} else {
						copy(ci, tile[:w])
					}
				}
			}
		}
	}
}

// gemmJob is one packed block of depth d: C[rows] (+)= op(A)[rows, l0:l0+d]·Bp.
type gemmJob struct {
	transA bool
	a      []float32
	lda    int
	bp     []float32
	c      []float32
	ldc    int
	m, n   int
	l0, d  int
	add    bool
}

// scratch is one goroutine's packing buffers.
type scratch struct {
	ap   []float32
	tile [mr * nr]float32
}

// rows computes row tiles [lo, hi).
func (j *gemmJob) rows(lo, hi int, s *scratch) {
	s.ap = grow(s.ap, j.d*mr)
	add := 0
	if j.add {
		add = 1
	}
	for t := lo; t < hi; t++ {
		i0 := t * mr
		h := j.m - i0
		if h > mr {
			h = mr
		}
		packA(j.transA, j.a, j.lda, i0, h, j.l0, j.d, s.ap)
		for p, j0 := 0, 0; j0 < j.n; p, j0 = p+1, j0+nr {
			w := j.n - j0
			if w > nr {
				w = nr
			}
			bp := j.bp[p*j.d*nr:]
			if h == mr && w == nr {
				sgemmKernel(j.d, &s.ap[0], &bp[0], &j.c[i0*j.ldc+j0], j.ldc, add)
				continue
			}
			// An edge tile: compute the full tile aside, keep its valid part.
			sgemmKernel(j.d, &s.ap[0], &bp[0], &s.tile[0], nr, 0)
			for r := 0; r < h; r++ {
				row := j.c[(i0+r)*j.ldc+j0 : (i0+r)*j.ldc+j0+w]
				src := s.tile[r*nr : r*nr+w]
				if j.add {
					for x, v := range src {
						row[x] += v
					}
				} else {
					copy(row, src)
				}
			}
		}
	}
}

// packA copies rows [i0, i0+h) × depth [l0, l0+d) of op(A) into ap, depth
// major, mr values per depth, zero past h.
func packA(trans bool, a []float32, lda, i0, h, l0, d int, ap []float32) {
	ap = ap[:d*mr]
	if h < mr {
		for i := range ap {
			ap[i] = 0
		}
	}
	if trans { // op(A)[i, l] = a[l*lda+i]
		for l := 0; l < d; l++ {
			copy(ap[l*mr:l*mr+h], a[(l0+l)*lda+i0:(l0+l)*lda+i0+h])
		}
		return
	}
	for r := 0; r < h; r++ {
		row := a[(i0+r)*lda+l0 : (i0+r)*lda+l0+d]
		for l, v := range row {
			ap[l*mr+r] = v
		}
	}
}

// packB copies depth [l0, l0+d) × all n columns of op(B) into panels of nr
// columns, each depth major, zero past n.
func packB(trans bool, b []float32, ldb, l0, d, n int, bp []float32) {
	for p, j0 := 0, 0; j0 < n; p, j0 = p+1, j0+nr {
		w := n - j0
		if w > nr {
			w = nr
		}
		panel := bp[p*d*nr : (p+1)*d*nr]
		if w < nr {
			for i := range panel {
				panel[i] = 0
			}
		}
		if trans { // op(B)[l, j] = b[j*ldb+l]
			for x := 0; x < w; x++ {
				col := b[(j0+x)*ldb+l0 : (j0+x)*ldb+l0+d]
				for l, v := range col {
					panel[l*nr+x] = v
				}
			}
			continue
		}
		for l := 0; l < d; l++ {
			copy(panel[l*nr:l*nr+w], b[(l0+l)*ldb+j0:(l0+l)*ldb+j0+w])
		}
	}
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// gemmWork is one sgemm call's buffers, pooled so that steady-state calls
// allocate nothing.
type gemmWork struct {
	wg    sync.WaitGroup
	bp    []float32
	local scratch
	tasks []gemmTask
}

var gemmPool = sync.Pool{New: func() interface{} {
	return &gemmWork{tasks: make([]gemmTask, maxWorkers)}
}}

// gemmTask is a share of row tiles handed to a worker.
type gemmTask struct {
	job    gemmJob
	lo, hi int
	wg     *sync.WaitGroup
}

// The workers: GOMAXPROCS−1 goroutines (at most maxWorkers−1), started on
// first use, that compute shares of products. The caller computes a share
// too.
const maxWorkers = 8

var gemmWorkers struct {
	once sync.Once
	n    int
	work chan *gemmTask
}

func workers() int {
	gemmWorkers.once.Do(func() {
		gemmWorkers.n = runtime.GOMAXPROCS(0)
		if gemmWorkers.n > maxWorkers {
			gemmWorkers.n = maxWorkers
		}
		gemmWorkers.work = make(chan *gemmTask, maxWorkers)
		for i := 1; i < gemmWorkers.n; i++ {
			go worker()
		}
	})
	return gemmWorkers.n
}

func worker() {
	var s scratch
	for t := range gemmWorkers.work {
		t.job.rows(t.lo, t.hi, &s)
		t.wg.Done()
	}
}
