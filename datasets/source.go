package datasets

import (
	"context"
	"io"
	"math/rand"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// A Source is a training set that trainers read one pass per epoch: held in
// memory (*Dataset, the fast path) or streamed from disk (Shards, IDXStream,
// CSVStream).
type Source interface {
	// Len is the number of examples in one epoch, all parts together.
	Len() int
	// XShape is one example's input shape.
	XShape() tensor.Shape
	// YShape is one example's target shape; () for class indices.
	YShape() tensor.Shape
	// Dtype is tensor.Float32 or tensor.Float64.
	Dtype() tensor.Dtype
	// PartLen is how many examples part `part` of `parts` yields per pass
	// (known without reading data, e.g. from a manifest), so that every
	// replica or rank can agree on the step count up front.
	PartLen(part, parts int) int
	// Open starts one pass over part Pass.Part of Pass.Parts.
	Open(ctx context.Context, pass Pass) (Stream, error)
}

// Pass says which pass a Source opens.
type Pass struct {
	// Epoch numbers the pass from 0; with Shuffle it selects the order.
	Epoch int
	// Seed is the shuffle seed (the trainer passes rng.Seed(cfg.Seed,
	// "shuffle")). A *Dataset uses it as Batches.Seed: its pass for epoch
	// k is an Iterator's epoch k.
	Seed int64
	// Shuffle visits the examples in an order drawn from Seed and Epoch;
	// without it, in storage order.
	Shuffle bool
	// Part and Parts: the pass reads part Part of Parts (replicas or
	// ranks), 0 <= Part < Parts; Parts 0 means 1.
	Part, Parts int
	// Skip is the number of examples of this part's pass to skip first
	// (to resume in mid-epoch).
	Skip int
}

// A Stream yields one pass's examples in order.
type Stream interface {
	// Read copies the next n examples into rows [0, n) of x and y (x:
	// (>=n, XShape...), y likewise, same dtype) and returns how many it
	// copied: n, fewer only at the end of the pass, 0 and io.EOF after it.
	// A bad record is an error naming the file and byte offset, returned
	// by the Read that meets it (with the count of the good examples
	// copied before it); the pass cannot go on after an error.
	Read(x, y *tensor.Dense, n int) (int, error)
	// Close stops the pass and releases its files and goroutines.
	Close() error
}

// checkPass validates a Pass against a Source of partLen examples per part
// and returns Parts with 0 read as 1.
func checkPass(op string, p Pass, partLen func(part, parts int) int) (int, error) {
	parts := p.Parts
	if parts == 0 {
		parts = 1
	}
	if parts < 0 || p.Part < 0 || p.Part >= parts {
		return 0, errors.Errorf("datasets: %s: part %d of %d: want 0 <= part < parts", op, p.Part, p.Parts)
	}
	if p.Epoch < 0 {
		return 0, errors.Errorf("datasets: %s: epoch %d: epochs count from 0", op, p.Epoch)
	}
	if n := partLen(p.Part, parts); p.Skip < 0 || p.Skip > n {
		return 0, errors.Errorf("datasets: %s: skip %d: part %d of %d holds %d examples", op, p.Skip, p.Part, parts, n)
	}
	return parts, nil
}

// StridedLen is #{j < n : j mod parts = part}: how many of n positions
// fall to part `part` when positions are dealt out in turn.
func StridedLen(n, part, parts int) int {
	if parts <= 1 {
		return n
	}
	if part < 0 || part >= parts || n <= part {
		return 0
	}
	return (n-part-1)/parts + 1
}

// PartLen is the number of examples part of parts holds: the epoch
// positions j = part, part+parts, part+2*parts, ... below Len().
func (d *Dataset) PartLen(part, parts int) int { return StridedLen(d.n, part, parts) }

// Open starts a pass over part Pass.Part of Pass.Parts: the positions
// j ≡ Part (mod Parts) of the epoch's order, which is the order an Iterator
// with Batches{Shuffle: Pass.Shuffle, Seed: Pass.Seed} visits in epoch
// Pass.Epoch. For Parts = 1 a pass is exactly that order. Open allocates the
// permutation (N ints); reads allocate nothing.
func (d *Dataset) Open(ctx context.Context, p Pass) (Stream, error) {
	parts, err := checkPass("Dataset.Open", p, d.PartLen)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, errors.Wrap(err, "datasets: Dataset.Open")
	}
	s := &datasetStream{d: d, ctx: ctx, perm: make([]int, d.n), step: parts}
	var r *rand.Rand
	if p.Shuffle {
		r = rand.New(rand.NewSource(0))
	}
	fillEpochOrder(s.perm, r, p.Shuffle, p.Seed, p.Epoch)
	s.pos = p.Part + p.Skip*parts
	return s, nil
}

// datasetStream reads positions pos, pos+step, ... of perm.
type datasetStream struct {
	d      *Dataset
	ctx    context.Context
	perm   []int
	pos    int
	step   int
	idx    []int // scratch for Gather
	closed bool
}

func (s *datasetStream) Read(x, y *tensor.Dense, n int) (int, error) {
	if s.closed {
		return 0, errors.New("datasets: Stream.Read: stream is closed")
	}
	if n < 0 {
		return 0, errors.Errorf("datasets: Stream.Read: n = %d is negative", n)
	}
	if err := s.ctx.Err(); err != nil {
		return 0, errors.Wrap(err, "datasets: Stream.Read")
	}
	if s.pos >= s.d.n {
		return 0, io.EOF
	}
	k := (s.d.n - s.pos + s.step - 1) / s.step
	if k > n {
		k = n
	}
	if err := checkDest("Stream.Read", "X", x, s.d.dt, s.d.xshape, k); err != nil {
		return 0, err
	}
	if err := checkDest("Stream.Read", "Y", y, s.d.dt, s.d.yshape, k); err != nil {
		return 0, err
	}
	s.idx = s.idx[:0]
	for ; len(s.idx) < k; s.pos += s.step {
		s.idx = append(s.idx, s.perm[s.pos])
	}
	s.d.gather(s.idx, x, y)
	return len(s.idx), nil
}

func (s *datasetStream) Close() error {
	s.closed = true
	return nil
}
