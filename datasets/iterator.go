package datasets

import (
	"math/rand"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/rng"
)

// Batches says how an Iterator cuts an epoch into batches.
type Batches struct {
	// Size is the number of examples per batch: 1 for online (stochastic)
	// gradient descent, B for mini-batches of B, and 0 or any value >= N
	// for the full batch (plain gradient descent).
	Size int
	// Shuffle visits the examples in a new random order every epoch.
	// Without it every epoch visits them in order 0, 1, ..., N-1.
	Shuffle bool
	// Seed selects the orders: epoch k's order is a Fisher–Yates shuffle
	// of 0..N-1 drawn from rng.New(Seed, "shuffle", uint64(k)).
	Seed int64
	// DropLast drops the last batch of an epoch when it is smaller than
	// Size. By default it is kept.
	DropLast bool
}

// Iterator walks a Dataset in batches, one epoch at a time, in the style of
// bufio.Scanner:
//
//	for it.Next() {
//		x, y := it.Batch()
//		...
//	}
//	if err := it.Err(); err != nil { ... }
//	it.Reset() // the next epoch
//
// Next returns false at the end of each epoch; Reset (or SetEpoch) starts
// another. An Iterator allocates nothing per batch once every batch shape
// has been seen, and it is not safe for concurrent use.
type Iterator struct {
	d     *Dataset
	cfg   Batches
	size  int // effective batch size
	nb    int // batches per epoch
	epoch int
	perm  []int
	r     *rand.Rand
	next  int   // number of the next batch
	cur   []int // the current batch: a window into perm
	fresh bool  // cur has not been copied into the buffers yet
	err   error

	// buffers that Batch fills: full batches use xFull/yFull, a partial
	// last batch uses xLast/yLast, which share xFull/yFull's memory.
	xFull, yFull, xLast, yLast *tensor.Dense
}

// NewIterator returns an Iterator over d positioned before the first batch
// of epoch 0. It fails if d is nil, Size is negative, or DropLast would drop
// the only batch (Size > N).
func NewIterator(d *Dataset, b Batches) (*Iterator, error) {
	if d == nil {
		return nil, errors.New("datasets: NewIterator: nil Dataset")
	}
	if err := d.Validate(); err != nil {
		return nil, errors.Wrap(err, "datasets: NewIterator")
	}
	if b.Size < 0 {
		return nil, errors.Errorf("datasets: NewIterator: batch size %d is negative (use 0 for the full batch)", b.Size)
	}
	if b.DropLast && b.Size > d.n {
		return nil, errors.Errorf("datasets: NewIterator: batch size %d with DropLast leaves no batch of %d examples", b.Size, d.n)
	}
	size := b.Size
	if size == 0 || size > d.n {
		size = d.n
	}
	nb := (d.n + size - 1) / size
	if b.DropLast {
		nb = d.n / size
	}
	it := &Iterator{
		d:    d,
		cfg:  b,
		size: size,
		nb:   nb,
		perm: make([]int, d.n),
	}
	if b.Shuffle {
		it.r = rand.New(rand.NewSource(0))
	}
	it.start(0)
	return it, nil
}

// start positions the iterator before the first batch of epoch k.
func (it *Iterator) start(k int) {
	it.epoch = k
	it.err = nil
	fillEpochOrder(it.perm, it.r, it.cfg.Shuffle, it.cfg.Seed, k)
	it.next = 0
	it.cur = nil
}

// fillEpochOrder fills perm with epoch k's order of 0..len(perm)-1: the
// identity, or with shuffle a Fisher–Yates shuffle drawn from r reseeded
// with rng.Seed(seed, "shuffle", k). It is the one definition of an epoch's
// order, shared by Iterator and Dataset.Open.
func fillEpochOrder(perm []int, r *rand.Rand, shuf bool, seed int64, k int) {
	for i := range perm {
		perm[i] = i
	}
	if shuf {
		// Reseeding one generator gives the same stream as
		// rng.New(seed, "shuffle", k), without allocating a new one.
		r.Seed(rng.Seed(seed, "shuffle", uint64(k)))
		shuffle(perm, r)
	}
}

// Next advances to the next batch of the current epoch and reports whether
// there is one. At the end of the epoch it returns false until Reset or
// SetEpoch.
func (it *Iterator) Next() bool {
	if it.err != nil || it.next >= it.nb {
		it.cur = nil
		return false
	}
	lo := it.next * it.size
	hi := lo + it.size
	if hi > it.d.n {
		hi = it.d.n
	}
	it.cur = it.perm[lo:hi]
	it.next++
	it.fresh = true
	return true
}

// Batch returns the current batch: x of shape (b, XShape...) and y of shape
// (b, YShape...), where b is BatchSize, or less for a partial last batch.
// The tensors belong to the Iterator, which refills them for later batches:
// use (or copy) them before the next call of Next. The copy is made on the
// first call of Batch for a batch, so a caller that uses Indices and
// Dataset.Gather instead pays for no copy here. Batch returns nil, nil when
// there is no current batch.
func (it *Iterator) Batch() (x, y *tensor.Dense) {
	if it.cur == nil {
		return nil, nil
	}
	d := it.d
	if it.xFull == nil {
		it.xFull = newZeros(d.dt, append(tensor.Shape{it.size}, d.xshape...))
		it.yFull = newZeros(d.dt, append(tensor.Shape{it.size}, d.yshape...))
	}
	x, y = it.xFull, it.yFull
	if b := len(it.cur); b < it.size {
		if it.xLast == nil {
			it.xLast = viewRows(it.xFull, b, d.xshape, d.xf)
			it.yLast = viewRows(it.yFull, b, d.yshape, d.yf)
		}
		x, y = it.xLast, it.yLast
	}
	if it.fresh {
		d.gather(it.cur, x, y)
		it.fresh = false
	}
	return x, y
}

// viewRows returns a tensor of shape (rows, row...) sharing the first
// rows*f values of t's memory.
func viewRows(t *tensor.Dense, rows int, row tensor.Shape, f int) *tensor.Dense {
	shape := append(tensor.Shape{rows}, row...)
	if t.Dtype() == tensor.Float32 {
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(t.Float32s()[:rows*f]))
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(t.Float64s()[:rows*f]))
}

// Indices returns the indices of the current batch's examples in the
// Dataset, or nil when there is no current batch. The slice belongs to the
// Iterator and is valid until the next call of Next, Reset or SetEpoch; pass
// it to Dataset.Gather to copy the batch into tensors of your own.
func (it *Iterator) Indices() []int { return it.cur }

// Epoch returns the number of the epoch being iterated, from 0.
func (it *Iterator) Epoch() int { return it.epoch }

// Reset starts the next epoch (Epoch()+1), in a new order when shuffling,
// whether or not the current epoch was finished.
func (it *Iterator) Reset() { it.start(it.epoch + 1) }

// SetEpoch starts epoch k, in the same order as reaching it from epoch 0
// by k Resets: a training run can resume at epoch k. A negative k is an
// error reported by Err, and Next returns false until Reset or a valid
// SetEpoch.
func (it *Iterator) SetEpoch(k int) {
	if k < 0 {
		it.err = errors.Errorf("datasets: Iterator.SetEpoch(%d): epochs count from 0", k)
		it.cur = nil
		return
	}
	it.start(k)
}

// BatchesPerEpoch returns the number of batches in an epoch: ceil(N/B), or
// floor(N/B) with DropLast.
func (it *Iterator) BatchesPerEpoch() int { return it.nb }

// BatchSize returns the effective batch size B: Size, or N for the full
// batch.
func (it *Iterator) BatchSize() int { return it.size }

// Err returns the error that stopped the iteration, if any.
func (it *Iterator) Err() error { return it.err }
