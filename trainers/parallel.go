package trainers

import (
	"context"
	"hash/fnv"
	"io"
	"math"
	"os"
	"strconv"
	"unsafe"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/internal/kernels"
	"github.com/descent-go/descent/internal/progcache"
)

// Parallel says how a Fit spreads its work: synchronous data parallelism.
// Every global batch is split over P parts — Replicas goroutines in each
// of the Cluster's processes — each part computes the mean gradient of its
// rows with a compiled program of its own, and the parts' gradients are
// summed, weighted by their rows, in part order. The batch size stays the
// global batch, and the result is the one-part gradient up to rounding;
// the fixed order makes reruns bit-identical and gives a multi-process run
// the bits of an in-process run with as many replicas.
type Parallel struct {
	// Replicas is the number of replicas in this process, each with
	// programs of its own over the same parameter tensors, run at once on
	// the process's cores; 0 or 1 means one.
	Replicas int
	// Cluster joins the Fit to a job of several processes (a
	// *cluster.Job, one per MPI rank); nil means this process alone.
	Cluster Cluster
	// Hogwild makes online SGD (OnlineSGD) asynchronous: each of the
	// Replicas runs online SGD on its share of the examples, updating the
	// shared weights without locks (see the Hogwild! note in hogwild.go).
	// Faster per core, but not reproducible bit for bit.
	Hogwild bool
}

// A Cluster is the communication between the processes of one
// data-parallel job; *cluster.Job implements it over MPI. Collectives are
// blocking, and every process calls them in the same order.
type Cluster interface {
	Rank() int // this process, from 0
	Size() int // processes in the job
	// AllgatherFloat64 gives every process every process's local values:
	// out holds Size()·len(local) values, in rank order.
	AllgatherFloat64(local, out []float64) error
	AllgatherFloat32(local, out []float32) error
	// Broadcast copies root's buf into every process's buf.
	Broadcast(buf []byte, root int) error
	// Abort ends every process of the job with a non-zero status after
	// reporting err; it does not return.
	Abort(err error)
}

// launchedRanks is the number of ranks the environment says this process
// was started among by an MPI launcher (Open MPI, or PMI-based ones such as
// MPICH and Slurm); 0 when it says nothing.
func launchedRanks() int {
	for _, v := range []string{"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"} {
		if n, err := strconv.Atoi(os.Getenv(v)); err == nil && n > 0 {
			return n
		}
	}
	return 0
}

// partRows returns how many rows of the global batch [start, start+n) fall
// to part q of P when positions are dealt out in turn: #{j in the batch : j
// mod P = q}. For a *datasets.Dataset, whose part q holds the epoch's
// positions j ≡ q (mod P), these are exactly the part's next rows, so the
// parts together hold the one-part batch.
func partRows(start, n, q, parts int) int {
	return datasets.StridedLen(start+n, q, parts) - datasets.StridedLen(start, q, parts)
}

// servable is how many examples of each epoch every part can serve when
// batches are dealt out as partRows says: the longest prefix of the
// epoch's positions that no part runs out of.
func servable(src datasets.Source, parts int) int {
	n := src.Len()
	if parts <= 1 {
		return n
	}
	for q := 0; q < parts; q++ {
		// The first position part q cannot serve is its (L+1)-th: q + L·P.
		if x := src.PartLen(q, parts)*parts + q; x < n {
			n = x
		}
	}
	return n
}

// A replica computes the gradient of its part of every batch with programs
// of its own.
type replica struct {
	part  int // global part index: rank·Replicas + local index
	parts int // parts of every batch, all processes together
	mem   *datasets.Dataset
	progs *progcache.Cache
	idx   []int           // its rows of the batch (in-memory data)
	strm  datasets.Stream // its part of the pass (streamed data)

	// The current step, set by the loop before run and read after.
	start, rows int // the global batch starts at position start; rows are this part's
	batch       []int
	c           *progcache.Compiled
	loss        float64
	err         error
	grads       []*tensor.Dense // c's gradients
	acc         []*tensor.Dense // full-batch accumulators
	seen        int             // full-batch: examples of this epoch so far
}

func (rep *replica) closeStream() {
	if rep.strm != nil {
		rep.strm.Close()
		rep.strm = nil
	}
}

// gradient computes the mean loss and gradient of this replica's rows of
// the current batch.
func (rep *replica) gradient() {
	defer rep.recovered()
	rep.c, rep.loss = nil, 0
	if rep.rows == 0 {
		return
	}
	c, err := rep.progs.Get(rep.rows)
	if err != nil {
		rep.err = errors.Wrapf(err, "batch of %d", rep.rows)
		return
	}
	if rep.err = rep.fill(c, rep.rows); rep.err != nil {
		return
	}
	if rep.err = c.Run(); rep.err != nil {
		return
	}
	rep.c, rep.loss = c, c.Loss()
	for i := range rep.grads {
		rep.grads[i] = c.Grad(i)
	}
}

// fill copies this replica's rows of the batch into c's inputs: from the
// in-memory batch (its positions start+i ≡ part mod parts), or from its
// stream.
func (rep *replica) fill(c *progcache.Compiled, rows int) error {
	if rep.batch != nil {
		p := rep.parts
		rep.idx = rep.idx[:0]
		for i := ((rep.part-rep.start)%p + p) % p; i < len(rep.batch); i += p {
			rep.idx = append(rep.idx, rep.batch[i])
		}
		return rep.mem.Gather(rep.idx, c.X, c.Y)
	}
	got, err := rep.strm.Read(c.X, c.Y, rows)
	if err == nil && got < rows {
		err = errors.Errorf("part %d of the training data ended %d examples early", rep.part, rows-got)
	}
	return err
}

// accumulate differentiates the replica's whole part of the epoch in chunks
// into its accumulators, each chunk's mean gradient weighted by its share of
// the epoch's total examples.
func (rep *replica) accumulate(ctx context.Context, r *run, chunk, total int) {
	defer rep.recovered()
	want := r.train.PartLen(rep.part, rep.parts)
	for {
		if r.cl == nil {
			if rep.err = ctx.Err(); rep.err != nil {
				return
			}
		}
		n := chunk
		if left := want - rep.seen; left < n {
			n = left
		}
		if n == 0 {
			return
		}
		c, err := rep.progs.Get(n)
		if err != nil {
			rep.err = errors.Wrapf(err, "batch of %d", n)
			return
		}
		if rep.mem != nil {
			// Part q holds positions q, q+P, q+2P, ... of the stored order.
			rep.idx = rep.idx[:0]
			for t := 0; t < n; t++ {
				rep.idx = append(rep.idx, rep.part+rep.parts*(rep.seen+t))
			}
			err = rep.mem.Gather(rep.idx, c.X, c.Y)
		} else {
			var got int
			if got, err = rep.strm.Read(c.X, c.Y, n); err == nil && got < n || err == io.EOF {
				err = errors.Errorf("part %d of the training data ended after %d examples, its source promised %d", rep.part, rep.seen+got, want)
			}
		}
		if err == nil {
			err = c.Run()
		}
		if err == nil && r.pool == nil {
			// One replica: nothing else runs, so every chunk's buffers
			// (BatchNorm statistics) are committed, as steps' are.
			err = c.CommitState()
		}
		if err != nil {
			rep.err = err
			return
		}
		rep.c = c
		loss := c.Loss()
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			rep.err = divergence(loss, badBatch(c.X, c.Y, rep.idx))
			return
		}
		for i, a := range rep.acc {
			axpy(float64(n)/float64(total), c.Grad(i), a)
		}
		rep.loss += loss * float64(n)
		rep.seen += n
	}
}

// pool runs the replicas' work at once on the kernels' workers
// (kernels.Spread), which poll for a while before blocking: a step's
// parallel parts are too short to wake a thread for each.
type pool struct {
	reps    []*replica
	weights []*tensor.Dense
	f       func(*replica)
}

func newPool(reps []*replica, weights []*tensor.Dense) *pool {
	return &pool{reps: reps, weights: weights}
}

// each runs f on every replica at once and waits for all of them.
func (p *pool) each(f func(*replica)) {
	p.f = f
	kernels.Spread(len(p.reps), p)
	p.f = nil
}

// Range runs f on replicas [lo, hi), Spread's share of them, after asking
// for the weights in this core's caches: the update split over the cores
// wrote each core's share, and a product reading them in place would wait
// for the other cores' lines one by one; prefetched, they arrive while the
// replica gathers its rows (2 replicas on 2 cores, interleaved medians of
// 6: batch 32 132,751 → 143,109 samples/s, batch 128 196,743 → 205,452).
func (p *pool) Range(lo, hi int) {
	for _, w := range p.weights {
		if isF64(w) {
			kernels.Prefetch(w.Float64s())
		} else {
			kernels.Prefetch(w.Float32s())
		}
	}
	for _, r := range p.reps[lo:hi] {
		p.f(r)
	}
}

// recovered turns a panic in a replica's work into its error.
func (r *replica) recovered() {
	if e := recover(); e != nil {
		r.err = errors.Errorf("panic in replica %d: %v", r.part, e)
	}
}

// reducer sums the parts' gradients, losses and example counts in part
// order into sum, across the processes of a Cluster through one allgather
// of the raw gradients (so that every process adds the same numbers in the
// same order as an in-process run does).
type reducer struct {
	cl    Cluster
	local int             // replicas in this process
	sum   []*tensor.Dense // the reduced gradients
	size  int             // gradient values of one replica

	flat32, all32 []float32
	flat64, all64 []float64
	meta, all     []float64 // per replica (rows, loss), then the stop flag, per process
	// stopAsked: a callback of this process returned ErrStop at a step; in a job of several
	// processes the stop waits for the next reduction (or the epoch's end) to be agreed.
	stopAsked bool

	// The parts of the reduction in progress, in order: part q's weight
	// (0: no rows, skipped) and, in one process, its gradients; across
	// processes they are at q·size+off[i] of all32/all64.
	w    []float64
	srcs [][]*tensor.Dense
	off  []int
}

func newReducer(cl Cluster, weights []*tensor.Dense, local int) reducer {
	red := reducer{cl: cl, local: local, sum: zerosLike(weights), w: make([]float64, local), srcs: make([][]*tensor.Dense, local)}
	if cl == nil {
		return red
	}
	for _, w := range weights {
		red.off = append(red.off, red.size)
		red.size += w.Shape().TotalSize()
	}
	n := cl.Size()
	red.w = make([]float64, n*local)
	// This process's block of the gathered gradients is where it packs its
	// own: the allgather then copies nothing within the process.
	block := local * red.size
	lo, hi := cl.Rank()*block, (cl.Rank()+1)*block
	if isF64(weights[0]) {
		red.all64 = make([]float64, n*block)
		red.flat64 = red.all64[lo:hi:hi]
	} else {
		red.all32 = make([]float32, n*block)
		red.flat32 = red.all32[lo:hi:hi]
	}
	red.meta, red.all = make([]float64, 2*local+1), make([]float64, n*(2*local+1))
	return red
}

// reduceStep turns the replicas' results for a batch of n examples into
// r.grads and the batch's mean loss. stop ≥ 0 names the first process
// whose context was cancelled; the update must then not be made.
func (r *run) reduceStep(ctx context.Context, n int) (loss float64, stop int, err error) {
	if r.parts == 1 {
		c := r.reps[0].c
		for i := range r.grads {
			r.grads[i] = c.Grad(i)
		}
		return r.reps[0].loss, -1, nil
	}
	lossSum, stop, err := r.red.reduce(ctx, r.reps, func(rep *replica) (float64, float64, []*tensor.Dense) {
		if rep.c == nil {
			return 0, 0, nil
		}
		return float64(rep.rows), rep.loss * float64(rep.rows), rep.grads
	}, float64(n))
	return lossSum / float64(n), stop, err
}

// reduceEpoch sums the replicas' full-batch accumulators into r.grads and
// returns the sum of the chunks' losses weighted by their examples.
func (r *run) reduceEpoch(ctx context.Context) (lossSum float64, stop int, err error) {
	if r.parts == 1 {
		copy(r.grads, r.reps[0].acc)
		return r.reps[0].loss, -1, nil
	}
	return r.red.reduce(ctx, r.reps, func(rep *replica) (float64, float64, []*tensor.Dense) {
		return float64(rep.seen), rep.loss, rep.acc
	}, 0)
}

// reduce gathers what sum = Σ_q w_q·g_q over every part q in order needs,
// where each replica reports (rows, loss sum, gradients) and w_q = rows/n,
// or 1 when n is 0 (gradients already weighted); parts with no rows are
// skipped. The sum itself is made by the pass before the update (prepPass,
// through add), element range by element range.
func (red *reducer) reduce(ctx context.Context, reps []*replica, part func(*replica) (rows, loss float64, g []*tensor.Dense), n float64) (lossSum float64, stop int, err error) {
	weight := func(rows float64) float64 {
		if rows == 0 {
			return 0
		}
		if n == 0 {
			return 1
		}
		return rows / n
	}
	if red.cl == nil {
		for j, rep := range reps {
			rows, loss, g := part(rep)
			red.w[j], red.srcs[j] = weight(rows), g
			lossSum += loss
		}
		return lossSum, -1, nil
	}
	// Pack this process's replicas, gather every process's, add in order.
	for j, rep := range reps {
		rows, loss, g := part(rep)
		red.meta[2*j], red.meta[2*j+1] = rows, loss
		if rows == 0 {
			continue
		}
		off := j * red.size
		for _, t := range g {
			if red.flat64 != nil {
				off += copy(red.flat64[off:], t.Float64s())
			} else {
				off += copy(red.flat32[off:], t.Float32s())
			}
		}
	}
	red.meta[2*red.local] = 0
	if ctx.Err() != nil || red.stopAsked {
		red.meta[2*red.local] = 1
	}
	if err := red.cl.AllgatherFloat64(red.meta, red.all); err != nil {
		return 0, -1, errors.Wrap(err, "allgather of losses")
	}
	if red.flat64 != nil {
		err = red.cl.AllgatherFloat64(red.flat64, red.all64)
	} else {
		err = red.cl.AllgatherFloat32(red.flat32, red.all32)
	}
	if err != nil {
		return 0, -1, errors.Wrap(err, "allgather of gradients")
	}
	stride := 2*red.local + 1
	stop = -1
	for rank := 0; rank < red.cl.Size(); rank++ {
		if red.all[rank*stride+2*red.local] != 0 && stop < 0 {
			stop = rank
		}
		for j := 0; j < red.local; j++ {
			rows, loss := red.all[rank*stride+2*j], red.all[rank*stride+2*j+1]
			red.w[rank*red.local+j] = weight(rows)
			lossSum += loss
		}
	}
	return lossSum, stop, nil
}

// add sets elements [lo, hi) of sum[i] to Σ_q w_q·g_q over the parts in
// order. checked says whether it also found out if they are all finite
// (its sum of two parts does, in the same pass), and finite is the answer.
func (red *reducer) add(i, lo, hi int) (finite, checked bool) {
	s := red.sum[i]
	if isF64(s) {
		return addParts(red, i, s.Float64s()[lo:hi], lo, red.all64, (*tensor.Dense).Float64s)
	}
	return addParts(red, i, s.Float32s()[lo:hi], lo, red.all32, (*tensor.Dense).Float32s)
}

// addParts is add over d = sum[i][lo:lo+len(d)], reading the parts from
// all (across processes) or through data (in one process): the first two
// parts in one pass (a·x + b·y), each further one added to it.
func addParts[T float](red *reducer, i int, d []T, lo int, all []T, data func(*tensor.Dense) []T) (finite, checked bool) {
	var first []T
	var a T
	n := 0
	for q, w := range red.w {
		if w == 0 {
			continue
		}
		var g []T
		if all != nil {
			b := q*red.size + red.off[i] + lo
			g = all[b : b+len(d)]
		} else {
			g = data(red.srcs[q][i])[lo : lo+len(d)]
		}
		switch n {
		case 0:
			first, a = g, T(w)
		case 1:
			finite, checked = kernels.Axpby(a, first, T(w), g, d), true
		default:
			kernels.Axpy(T(w), g, d)
			checked = false
		}
		n++
	}
	switch n {
	case 0:
		clear(d)
	case 1:
		for j, v := range first {
			d[j] = a * v
		}
	}
	return finite, checked
}

// broadcastWeights gives every process rank 0's initial weights.
func (r *run) broadcastWeights() error {
	if r.cl == nil || r.cl.Size() == 1 {
		return nil
	}
	for i, w := range r.weights {
		if err := r.cl.Broadcast(tensorBytes(w), 0); err != nil {
			return errors.Wrapf(err, "trainers: broadcasting parameter %q from rank 0", r.names[i])
		}
	}
	return nil
}

// checkInSync gives every process rank 0's buffers and compares a checksum
// of the weights across processes after every epoch: replicas that drifted apart are an error, not a silent
// average of different models.
func (r *run) checkInSync(epoch int) error {
	if r.cl == nil || r.cl.Size() == 1 {
		return nil
	}
	// Non-trainable buffers (BatchNorm's running statistics) follow each
	// process's part 0; rank 0's, part 0 of the whole job, are what an
	// in-process run keeps, so every rank takes them.
	for i := 0; i < r.params.NumBuffers(); i++ {
		if err := r.cl.Broadcast(tensorBytes(r.params.BufferAt(i)), 0); err != nil {
			return errors.Wrapf(err, "trainers: epoch %d: broadcasting buffer %q from rank 0", epoch+1, r.params.BufferName(i))
		}
	}
	h := fnv.New64a()
	for _, w := range r.weights {
		h.Write(tensorBytes(w))
	}
	sum := h.Sum64()
	local := []float64{float64(sum >> 32), float64(sum & 0xffffffff)}
	all := make([]float64, 2*r.cl.Size())
	if err := r.cl.AllgatherFloat64(local, all); err != nil {
		return errors.Wrapf(err, "trainers: epoch %d: weight checksum", epoch+1)
	}
	for rank := 1; rank < r.cl.Size(); rank++ {
		if all[2*rank] != all[0] || all[2*rank+1] != all[1] {
			return errors.Errorf("trainers: epoch %d: the weights of rank %d differ from rank 0's", epoch+1, rank)
		}
	}
	return nil
}

// agree tells every process whether any of them wants to stop, and which
// was first; without a Cluster it is the local answer.
func (r *run) agree(stop bool) (bool, int, error) {
	if r.cl == nil || r.cl.Size() == 1 {
		return stop, r.rank, nil
	}
	local := []float64{0}
	if stop {
		local[0] = 1
	}
	all := make([]float64, r.cl.Size())
	if err := r.cl.AllgatherFloat64(local, all); err != nil {
		return false, 0, errors.Wrap(err, "agreeing to stop")
	}
	for rank, v := range all {
		if v != 0 {
			r.agreed = true
			return true, rank, nil
		}
	}
	return false, 0, nil
}

// tensorBytes is the memory of a dense tensor's values.
func tensorBytes(t *tensor.Dense) []byte {
	if isF64(t) {
		d := t.Float64s()
		if len(d) == 0 {
			return nil
		}
		return unsafe.Slice((*byte)(unsafe.Pointer(&d[0])), len(d)*8)
	}
	d := t.Float32s()
	if len(d) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&d[0])), len(d)*4)
}
