package kernels

import (
	"sync/atomic"

	"github.com/descent-go/descent/internal/spin"
)

// The passes around a convolution's products (im2col, col2im, the N↔F
// transposes, max-pooling and its gradient) split over the gemm workers as
// the products do: by rows of im2col's matrix, or by image, or by plane, so
// that every value is still computed by one goroutine in one order —
// results are the same bits whatever the number of cores or the split.

// A pass says which of them a parJob runs.
type pass int

const (
	passIm2col  pass = iota // rows [lo, hi) of col (d) from x (a)
	passCol2im              // images [lo, hi) of dx (d) from col (a)
	passSwapToT             // images [lo, hi): t (d) from y (a)
	passSwapToY             // images [lo, hi): y (d) from t (a)
	passMax                 // planes [lo, hi): maxima of x (a) into y (d), arg
	passScatter             // planes [lo, hi): dx (d) from dy (a) at arg
	passMaxGrad             // planes [lo, hi): dx (d) from x (a) and dy (b)
	passRanger              // r.Range(lo, hi)
	passSpread              // r.Range(lo, hi): units of Spread
)

// minSplit is the fewest values a pass must touch to be split: below it,
// handing shares to the workers costs more than it saves.
const minSplit = 1 << 15

// parJob is one pass's arguments and its shares, kept in a free list so
// that a split pass allocates nothing.
type parJob[T float] struct {
	pass    pass
	c       Conv
	p       Pool
	a, b, d []T
	arg     []int32
	r       Ranger
	wg      spin.Latch
	tasks   [maxWorkers - 1]parTask[T]
}

type parTask[T float] struct {
	j      *parJob[T]
	lo, hi int
}

func (t *parTask[T]) run() {
	t.j.runRange(t.lo, t.hi)
	t.j.wg.Done()
}

var (
	parFree32 = make(chan *parJob[float32], maxCalls)
	parFree64 = make(chan *parJob[float64], maxCalls)
)

func parFree[T float]() chan *parJob[T] {
	var z T
	if _, ok := any(z).(float32); ok {
		return any(parFree32).(chan *parJob[T])
	}
	return any(parFree64).(chan *parJob[T])
}

func (j *parJob[T]) runRange(lo, hi int) {
	switch j.pass {
	case passIm2col:
		im2colRows(j.c, j.a, j.d, lo, hi)
	case passCol2im:
		col2imImages(j.c, j.a, j.d, lo, hi)
	case passSwapToT:
		swapImages(j.c, j.d, j.a, true, lo, hi)
	case passSwapToY:
		swapImages(j.c, j.a, j.d, false, lo, hi)
	case passMax:
		maxPoolPlanes(j.p, j.a, j.d, nil, nil, j.arg, lo, hi)
	case passScatter:
		scatterPlanes(j.p, j.arg, j.a, j.d, lo, hi)
	case passMaxGrad:
		maxPoolPlanes(j.p, j.a, nil, j.b, j.d, nil, lo, hi)
	case passRanger, passSpread:
		j.r.Range(lo, hi)
	}
}

// run computes the job's n units, split over the caller and the workers:
// always for Spread; for a pass when it touches size values or more and no
// other kernel call is in progress (data-parallel replicas keep the cores
// busy already); else on the caller alone.
func (j *parJob[T]) run(n, size int) {
	busy := atomic.AddInt32(&inFlight, 1) > 1
	defer atomic.AddInt32(&inFlight, -1)
	parts := 1
	if j.pass == passSpread || size >= minSplit && !busy {
		parts = min(workers(), n)
	}
	per := (n + parts - 1) / parts
	for p := 1; p < parts; p++ {
		lo, hi := p*per, (p+1)*per
		if hi > n {
			hi = n
		}
		if lo >= hi {
			continue
		}
		t := &j.tasks[p-1]
		t.j, t.lo, t.hi = j, lo, hi
		j.wg.Add(1)
		gemmWorkers.work <- t
	}
	if per > n {
		per = n
	}
	j.runRange(0, per)
	j.wg.Wait()
}

// runPass runs one pass on a job from the free list.
func runPass[T float](ps pass, c Conv, p Pool, a, b, d []T, arg []int32, n, size int) {
	runJob(ps, c, p, a, b, d, arg, nil, n, size)
}

func runJob[T float](ps pass, c Conv, p Pool, a, b, d []T, arg []int32, r Ranger, n, size int) {
	free := parFree[T]()
	var j *parJob[T]
	select {
	case j = <-free:
	default:
		j = new(parJob[T])
	}
	j.pass, j.c, j.p, j.a, j.b, j.d, j.arg, j.r = ps, c, p, a, b, d, arg, r
	j.run(n, size)
	j.a, j.b, j.d, j.arg, j.r = nil, nil, nil, nil, nil
	select {
	case free <- j:
	default:
	}
}

// A Ranger computes elements [lo, hi) of an elementwise pass (an optimizer
// step, a sum of gradients), or units [lo, hi) of a pass split by units
// (SplitBy: a BatchNorm's channels).
type Ranger interface{ Range(lo, hi int) }

// Split runs r over [0, n) in disjoint ranges, split over the gemm workers
// under the rule of the passes above (n ≥ minSplit, no other kernel call in
// progress), else in one call on the caller. Every element is computed by
// one goroutine, so an elementwise r gives the same bits whatever the split.
// Pass a pointer that lives across calls: Split then allocates nothing.
func Split(n int, r Ranger) { SplitBy(n, n, r) }

// SplitBy is Split for a pass of n units of equal work that touches size
// values in all: it splits when size ≥ minSplit, into contiguous ranges of
// units. Every unit is computed by one goroutine.
func SplitBy(n, size int, r Ranger) {
	if n <= 0 {
		return
	}
	runJob[float32](passRanger, Conv{}, Pool{}, nil, nil, nil, nil, r, n, size)
}

// Spread runs r over [0, n) at once, in contiguous ranges of units split
// over the caller and the workers whatever n is: the data-parallel replicas
// of a training step, a unit each. Kernel calls made by r do not split (the
// cores are busy with Spread's shares already). The replicas run on the
// workers rather than on goroutines of their own because the Go scheduler
// puts a woken goroutine in the waking processor's queue, where a worker
// polling on the other processor never takes it: with their own
// goroutines, a step's replicas ran one after the other on one core for
// as long as a worker polled. r must not panic.
func Spread(n int, r Ranger) {
	if n > 0 {
		runJob[float32](passSpread, Conv{}, Pool{}, nil, nil, nil, nil, r, n, 0)
	}
}

// Hold makes the passes (Split) and products that start before the
// matching Release run on their callers alone, as when another kernel call
// is in flight: for a training step too small — one or two examples — for
// a split pass's hand-offs and the weights' trips between the cores'
// caches to pay (online SGD on 2 cores: 10,400 updates/s with its passes
// split, 16,100 without). It holds for the whole process.
func Hold() { atomic.AddInt32(&inFlight, 1) }

// Release ends a Hold.
func Release() { atomic.AddInt32(&inFlight, -1) }
