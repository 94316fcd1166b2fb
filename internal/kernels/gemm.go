package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/descent-go/descent/internal/spin"
)

// Sgemm and Dgemm compute every 2-D matrix product of graph's machine
// (gorgonia's A × B, Aᵀ × B, A × Bᵀ, Aᵀ × Bᵀ) and of its convolutions,
// C = op(A)·op(B) (alpha 1, beta 0), row-major, with the flags, sizes and
// strides tensor.MatMul would pass to the BLAS, on one of two BLAS:
//
//   - by default, on a CPU with AVX2 and FMA, through gemm below: packed
//     panels, a register-blocked micro-kernel in assembly (gemm_amd64.s:
//     6×16 for float32, 6×8 for float64), rows of C split over the cores;
//     on other CPUs through gonum's pure-Go BLAS, as gorgonia does;
//   - built with -tags openblas, through OpenBLAS (openblas.go).
//
// Every element of C is one sum over k in a fixed order, computed by one
// goroutine, whatever the number of cores: results are deterministic.
func Sgemm(tA, tB blas.Transpose, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	gemm32(tA, tB, m, n, k, a, lda, b, ldb, c, ldc)
}

// Dgemm is Sgemm for float64.
func Dgemm(tA, tB blas.Transpose, m, n, k int, a []float64, lda int, b []float64, ldb int, c []float64, ldc int) {
	gemm64(tA, tB, m, n, k, a, lda, b, ldb, c, ldc)
}

// UseTensorBLAS makes Sgemm and Dgemm call the BLAS that tensor.MatMul calls
// (gonum's, or OpenBLAS with the tag), as tensor.MatMul calls it, until
// restore is called; tests compare graph's machine with gorgonia's tape
// machine bit for bit this way. Not safe to call while products run.
func UseTensorBLAS() (restore func()) {
	if OpenBLAS {
		return func() {}
	}
	s32, s64 := gemm32, gemm64
	gemm32 = func(tA, tB blas.Transpose, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
		gonum.Implementation{}.Sgemm(tA, tB, m, n, k, 1, a, lda, b, ldb, 0, c, ldc)
	}
	gemm64 = func(tA, tB blas.Transpose, m, n, k int, a []float64, lda int, b []float64, ldb int, c []float64, ldc int) {
		gonum.Implementation{}.Dgemm(tA, tB, m, n, k, 1, a, lda, b, ldb, 0, c, ldc)
	}
	return func() { gemm32, gemm64 = s32, s64 }
}

var (
	gemm32 = sgemm
	gemm64 = dgemm
)

type float interface{ ~float32 | ~float64 }

// A kernel is one element type's micro-kernels and fallback.
type kernel[T float] struct {
	nr   int // columns of C per micro-kernel call (two AVX registers)
	tile func(d int, ap, bp *T, ldb int, c *T, ldc, add int)
	row  func(d int, a *T, inca int, b *T, ldb int, c *T, add int)
	// gonum is the product on a CPU without AVX2 and FMA.
	gonum func(tA, tB blas.Transpose, m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int)
	// free holds idle gemmWork buffers: unlike a sync.Pool's, they
	// survive garbage collections, so a step allocates nothing even when
	// something else made the collector run.
	free chan *gemmWork[T]
}

var (
	k32 = &kernel[float32]{nr: 16, tile: sgemmKernel, row: sgemmRow, gonum: gonumSgemm,
		free: make(chan *gemmWork[float32], maxCalls)}
	k64 = &kernel[float64]{nr: 8, tile: dgemmKernel, row: dgemmRow, gonum: gonumDgemm,
		free: make(chan *gemmWork[float64], maxCalls)}
)

func sgemm(tA, tB blas.Transpose, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	gemm(k32, tA, tB, m, n, k, a, lda, b, ldb, c, ldc)
}

func dgemm(tA, tB blas.Transpose, m, n, k int, a []float64, lda int, b []float64, ldb int, c []float64, ldc int) {
	gemm(k64, tA, tB, m, n, k, a, lda, b, ldb, c, ldc)
}

// gonumSgemm and gonumDgemm call gonum on column blocks of C narrow enough
// that gonum takes its serial path, which allocates nothing (its parallel
// path starts goroutines on every call), where C has few rows. Each element
// of C is computed as gonum computes it.
func gonumSgemm(tA, tB blas.Transpose, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	gonumBlocks(tA, tB, m, n, k, a, lda, b, ldb, c, ldc, gonum.Implementation{}.Sgemm)
}

func gonumDgemm(tA, tB blas.Transpose, m, n, k int, a []float64, lda int, b []float64, ldb int, c []float64, ldc int) {
	gonumBlocks(tA, tB, m, n, k, a, lda, b, ldb, c, ldc, gonum.Implementation{}.Dgemm)
}

func gonumBlocks[T float](tA, tB blas.Transpose, m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int,
	f func(tA, tB blas.Transpose, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int)) {
	if m > 64 || k == 0 {
		f(tA, tB, m, n, k, 1, a, lda, b, ldb, 0, c, ldc)
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
		f(tA, tB, m, w, k, 1, a, lda, bj, ldb, 0, c[j:], ldc)
	}
}

// Micro-kernel tile and blocking sizes (the tile's columns are kernel.nr).
const (
	mr    = 6   // rows of C per micro-kernel call
	maxNR = 16  // the widest tile (float32)
	kc    = 512 // depth of one packed block
)

// inFlight counts the kernel calls in progress.
var inFlight int32

// haveKernel reports an AVX2+FMA CPU (set in gemm_amd64.go).
var haveKernel bool

// gemm is C = op(A)·op(B).
//
// Every element of C is the same computation whatever the shape of the
// product it is part of — FMAs in depth order from zero, blocks of kc depths
// summed in order — so a model's outputs have the same bits whatever the
// batch size.
func gemm[T float](kn *kernel[T], tA, tB blas.Transpose, m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int) {
	if !haveKernel {
		kn.gonum(tA, tB, m, n, k, a, lda, b, ldb, c, ldc)
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
	ws := kn.get()
	defer kn.put(ws)
	nr := kn.nr
	if m < 4 {
		// Too few rows to pay for packing B: one row of C at a time,
		// reading B in place where it is stored row by row.
		gemmRows(kn, tA == blas.Trans, tB == blas.Trans, m, n, k, a, lda, b, ldb, c, ldc, ws)
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
		job := gemmJob[T]{kn: kn, transA: tA == blas.Trans, a: a, lda: lda, c: c, ldc: ldc,
			m: m, n: n, l0: l0, d: d, add: l0 > 0}
		if tB == blas.NoTrans && tiles <= 3 {
			// B's panels are read by few row tiles: the kernel reads
			// them in place, but for a narrow last panel, packed.
			job.b, job.ldb = b[l0*ldb:], ldb
			if w := n % nr; w != 0 {
				ws.bp = Grow(ws.bp, d*nr)
				packB(nr, false, b[n-w:], ldb, l0, d, w, ws.bp)
				job.bp = ws.bp
			}
		} else {
			ws.bp = Grow(ws.bp, panels*d*nr)
			packB(nr, tB == blas.Trans, b, ldb, l0, d, n, ws.bp)
			job.bp = ws.bp
		}
		if parts == 1 {
			job.tiles(0, tiles, 0, panels, &ws.local[0])
			continue
		}
		// Split the row tiles evenly, or, for a product of few rows (a
		// convolution's filters by its many output positions), the column
		// panels; the caller takes the first share.
		n, byCols := tiles, tiles < 2*parts && panels >= 4*parts
		if byCols {
			n = panels
		}
		wg := &ws.wg
		per := (n + parts - 1) / parts
		for p := 1; p < parts; p++ {
			lo, hi := p*per, (p+1)*per
			if hi > n {
				hi = n
			}
			if lo >= hi {
				continue
			}
			t := &ws.tasks[p-1]
			t.job, t.t0, t.t1, t.p0, t.p1, t.wg, t.s = job, lo, hi, 0, panels, wg, &ws.local[p]
			if byCols {
				t.t0, t.t1, t.p0, t.p1 = 0, tiles, lo, hi
			}
			wg.Add(1)
			gemmWorkers.work <- t
		}
		hi := per
		if hi > n {
			hi = n
		}
		if byCols {
			job.tiles(0, tiles, 0, hi, &ws.local[0])
		} else {
			job.tiles(0, hi, 0, panels, &ws.local[0])
		}
		wg.Wait()
	}
}

// gemmRows is gemm for a few rows of C.
func gemmRows[T float](kn *kernel[T], transA, transB bool, m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int, ws *gemmWork[T]) {
	nr := kn.nr
	inca := 1
	if transA {
		inca = lda
	}
	tile := ws.local[0].tile[:nr]
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
			ws.bp = Grow(ws.bp, panels*d*nr)
			packB(nr, transB, b, ldb, l0, d, n, ws.bp)
		}
		for i := 0; i < m; i++ {
			var ai *T
			if transA {
				ai = &a[l0*lda+i]
			} else {
				ai = &a[i*lda+l0]
			}
			for p, j0 := 0, 0; j0 < n; p, j0 = p+1, j0+nr {
				w := n - j0
				if w > nr {
					w = nr
				}
				ci := c[i*ldc+j0 : i*ldc+j0+w]
				switch {
				case !packed:
					kn.row(d, ai, inca, &b[l0*ldb+j0], ldb, &ci[0], add)
				case w == nr:
					kn.row(d, ai, inca, &ws.bp[p*d*nr], nr, &ci[0], add)
				default: // an edge panel: compute all nr columns aside
					kn.row(d, ai, inca, &ws.bp[p*d*nr], nr, &tile[0], 0)
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

// gemmJob is one block of depth d: C[rows] (+)= op(A)[rows, l0:l0+d]·B[l0:l0+d],
// B's panels packed in bp, or read in place from b (rows l0 on) if b is
// set, its narrow last panel then packed in bp.
type gemmJob[T float] struct {
	kn     *kernel[T]
	transA bool
	a      []T
	lda    int
	bp     []T
	b      []T
	ldb    int
	c      []T
	ldc    int
	m, n   int
	l0, d  int
	add    bool
}

// scratch is one share's packing buffers.
type scratch[T float] struct {
	ap   []T
	tile [mr * maxNR]T
}

// tiles computes the tiles of row tiles [lo, hi) and column panels
// [p0, p1).
func (j *gemmJob[T]) tiles(lo, hi, p0, p1 int, s *scratch[T]) {
	nr := j.kn.nr
	s.ap = Grow(s.ap, j.d*mr)
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
		for p := p0; p < p1; p++ {
			j0 := p * nr
			w := j.n - j0
			if w > nr {
				w = nr
			}
			var bp *T
			ldb := nr
			switch {
			case j.b == nil:
				bp = &j.bp[p*j.d*nr]
			case w == nr:
				bp, ldb = &j.b[j0], j.ldb
			default:
				bp = &j.bp[0]
			}
			if h == mr && w == nr {
				j.kn.tile(j.d, &s.ap[0], bp, ldb, &j.c[i0*j.ldc+j0], j.ldc, add)
				continue
			}
			// An edge tile: compute the full tile aside, keep its valid part.
			j.kn.tile(j.d, &s.ap[0], bp, ldb, &s.tile[0], nr, 0)
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
func packA[T float](trans bool, a []T, lda, i0, h, l0, d int, ap []T) {
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
func packB[T float](nr int, trans bool, b []T, ldb, l0, d, n int, bp []T) {
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

// Grow returns s with length n, reallocated only when its capacity is
// short: the scratch space of kernels and ops, kept between calls.
func Grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// maxCalls is how many idle gemmWork buffers a kernel keeps: more than
// products ever run at once (one per replica or caller goroutine).
const maxCalls = 16

func (kn *kernel[T]) get() *gemmWork[T] {
	select {
	case ws := <-kn.free:
		return ws
	default:
		return new(gemmWork[T])
	}
}

func (kn *kernel[T]) put(ws *gemmWork[T]) {
	select {
	case kn.free <- ws:
	default: // more at once than maxCalls: let this one go
	}
}

// gemmWork is one gemm call's buffers, kept so that steady-state calls
// allocate nothing: B's packed panels, and one scratch and task per share.
type gemmWork[T float] struct {
	wg    spin.Latch
	bp    []T
	local [maxWorkers]scratch[T]
	tasks [maxWorkers - 1]gemmTask[T]
}

// gemmTask is a share of tiles handed to a worker: row tiles [t0, t1) ×
// column panels [p0, p1).
type gemmTask[T float] struct {
	job            gemmJob[T]
	t0, t1, p0, p1 int
	s              *scratch[T]
	wg             *spin.Latch
}

func (t *gemmTask[T]) run() {
	t.job.tiles(t.t0, t.t1, t.p0, t.p1, t.s)
	t.wg.Done()
}

// The workers: GOMAXPROCS−1 goroutines (at most maxWorkers−1) that
// compute shares of products and passes; the caller computes a share too.
// They start when first needed and stay; a call splits into as many shares
// as GOMAXPROCS allows at that moment, so that lowering it (a benchmark's
// -cpu 1, an MPI rank given its share of the node) leaves the surplus
// workers idle rather than competing for the cores.
const maxWorkers = 8

var gemmWorkers = struct {
	mu      sync.Mutex
	started int32
	work    chan interface{ run() }
}{work: make(chan interface{ run() }, maxWorkers)}

// workers is the number of shares a call may split into now.
func workers() int {
	n := runtime.GOMAXPROCS(0)
	if n > maxWorkers {
		n = maxWorkers
	}
	if atomic.LoadInt32(&gemmWorkers.started) < int32(n-1) {
		gemmWorkers.mu.Lock()
		for k := atomic.LoadInt32(&gemmWorkers.started); k < int32(n-1); k++ {
			go worker()
			atomic.StoreInt32(&gemmWorkers.started, k+1)
		}
		gemmWorkers.mu.Unlock()
	}
	return n
}

func worker() {
	for {
		t, _ := spin.Recv(gemmWorkers.work) // never closed
		t.run()
	}
}
