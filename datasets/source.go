package datasets

import (
	"context"
	"io"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// A Source is a training set that trainers read one pass per epoch: held in
// memory (*Dataset, the fast path) or streamed from disk. A pass can be split
// into parts, one per replica or process of a data-parallel run, each read
// on its own.
type Source interface {
	Len() int             // examples in one epoch, all parts together
	XShape() tensor.Shape // one example's input shape
	YShape() tensor.Shape // one example's target shape; () for class indices
	Dtype() tensor.Dtype
	// PartLen is how many examples part `part` of `parts` yields per pass,
	// known without reading data, so that every replica can agree on the
	// number of steps before the first one.
	PartLen(part, parts int) int
	// Open starts one pass over part pass.Part of pass.Parts.
	Open(ctx context.Context, pass Pass) (Stream, error)
}

// Pass says which pass over a Source to read.
type Pass struct {
	Epoch   int   // from 0
	Seed    int64 // shuffle seed
	Shuffle bool  // a seeded permutation per epoch; false: the stored order
	// Part and Parts split the pass: 0 ≤ Part < Parts; Parts 0 means 1.
	Part, Parts int
	// Skip is how many examples of this part's pass to skip first (to
	// resume in the middle of an epoch).
	Skip int
}

// A Stream yields one pass's examples in order.
type Stream interface {
	// Read copies the next n examples into rows [0, n) of x and y (of the
	// Source's dtype and shapes, with at least n rows) and returns how
	// many it copied: n, fewer only at the end of the pass, and 0 with
	// io.EOF after it.
	Read(x, y *tensor.Dense, n int) (int, error)
	Close() error
}

// checkPass validates a Pass against a source of n examples, returning the
// effective number of parts.
func checkPass(p Pass) (int, error) {
	parts := p.Parts
	if parts == 0 {
		parts = 1
	}
	switch {
	case parts < 0:
		return 0, errors.Errorf("datasets: Pass.Parts = %d, want ≥ 0", p.Parts)
	case p.Part < 0 || p.Part >= parts:
		return 0, errors.Errorf("datasets: Pass.Part = %d, want 0 ≤ Part < %d", p.Part, parts)
	case p.Epoch < 0:
		return 0, errors.Errorf("datasets: Pass.Epoch = %d, epochs count from 0", p.Epoch)
	case p.Skip < 0:
		return 0, errors.Errorf("datasets: Pass.Skip = %d, want ≥ 0", p.Skip)
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

// PartLen implements Source: part r of P holds the positions j ≡ r (mod P)
// of each epoch's order.
func (d *Dataset) PartLen(part, parts int) int { return StridedLen(d.n, part, parts) }

// Open implements Source. A pass is the epoch's order as an Iterator with
// Batches{Shuffle: pass.Shuffle, Seed: pass.Seed} gives it, restricted to
// the positions of the part.
func (d *Dataset) Open(ctx context.Context, pass Pass) (Stream, error) {
	parts, err := checkPass(pass)
	if err != nil {
		return nil, err
	}
	it, err := NewIterator(d, Batches{Size: d.n, Shuffle: pass.Shuffle, Seed: pass.Seed})
	if err != nil {
		return nil, err
	}
	it.SetEpoch(pass.Epoch)
	if !it.Next() {
		return nil, errors.Wrap(it.Err(), "datasets: Open")
	}
	perm := it.Indices()
	s := &datasetStream{ctx: ctx, d: d}
	for j := pass.Part; j < len(perm); j += parts {
		s.idx = append(s.idx, perm[j])
	}
	if pass.Skip > len(s.idx) {
		return nil, errors.Errorf("datasets: Open: Skip = %d, but part %d of %d has %d examples", pass.Skip, pass.Part, parts, len(s.idx))
	}
	s.next = pass.Skip
	return s, nil
}

type datasetStream struct {
	ctx  context.Context
	d    *Dataset
	idx  []int
	next int
}

func (s *datasetStream) Read(x, y *tensor.Dense, n int) (int, error) {
	if s.ctx != nil {
		if err := s.ctx.Err(); err != nil {
			return 0, err
		}
	}
	if n < 0 {
		return 0, errors.Errorf("datasets: Stream.Read: n = %d", n)
	}
	if s.next >= len(s.idx) {
		return 0, io.EOF
	}
	end := s.next + n
	if end > len(s.idx) {
		end = len(s.idx)
	}
	if err := s.d.Gather(s.idx[s.next:end], x, y); err != nil {
		return 0, err
	}
	k := end - s.next
	s.next = end
	return k, nil
}

func (s *datasetStream) Close() error { return nil }
