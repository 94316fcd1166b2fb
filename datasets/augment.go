package datasets

import (
	"context"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/rng"
)

// An AugmentFunc transforms rows [0, n) of a batch in place (x and y may
// hold more rows: leave them alone). seeds[i] is row i's seed, derived from
// (Pass.Seed, Pass.Epoch, the example's position in the epoch): draw row i's
// randomness from seeds[i] only, and the augmentation is reproducible and
// independent of how the epoch is cut into batches or split over replicas.
// An AugmentFunc may be called from several goroutines at once (one per
// replica), each with its own x and y.
type AugmentFunc func(x, y *tensor.Dense, n int, seeds []int64) error

// Augment returns src with fn applied to every batch read from it. Part r
// of P numbers its k-th example r + k*P, the position a *Dataset part has
// in the epoch, so with a *Dataset the example at epoch position j gets the
// same augmentation for every number of replicas.
func Augment(src Source, fn AugmentFunc) Source {
	return augmented{Source: src, fn: fn}
}

type augmented struct {
	Source
	fn AugmentFunc
}

func (a augmented) Open(ctx context.Context, p Pass) (Stream, error) {
	if a.Source == nil || a.fn == nil {
		return nil, errors.New("datasets: Augment: nil Source or AugmentFunc")
	}
	st, err := a.Source.Open(ctx, p)
	if err != nil {
		return nil, err
	}
	parts := p.Parts
	if parts == 0 {
		parts = 1
	}
	return &augStream{Stream: st, fn: a.fn, base: rng.Seed(p.Seed, "augment", uint64(p.Epoch)), part: p.Part, parts: parts, k: p.Skip}, nil
}

type augStream struct {
	Stream
	fn          AugmentFunc
	base        int64
	part, parts int
	k           int // examples of the part read so far
	seeds       []int64
}

func (s *augStream) Read(x, y *tensor.Dense, n int) (int, error) {
	got, err := s.Stream.Read(x, y, n)
	if got > 0 {
		if cap(s.seeds) < got {
			s.seeds = make([]int64, got)
		}
		seeds := s.seeds[:got]
		for i := range seeds {
			seeds[i] = rng.Mix(s.base, uint64(s.part+(s.k+i)*s.parts))
		}
		s.k += got
		if ferr := s.fn(x, y, got, seeds); ferr != nil {
			return 0, errors.Wrapf(ferr, "datasets: Augment: examples %d..%d of part %d", s.k-got, s.k-1, s.part)
		}
	}
	return got, err
}

// FlipCrop returns the augmentation of CIFAR and ImageNet training: each
// image of x, (channels, rows, cols) values per example in channel-major
// order (Flat or NCHW MNIST: channels 1, 28, 28), is shifted by dy, dx drawn
// uniformly from [-pad, pad] with zeros filling in (a random crop of the
// image padded by pad), then, with flip, mirrored left to right with
// probability 1/2. Targets are left as they are.
func FlipCrop(channels, rows, cols, pad int, flip bool) (AugmentFunc, error) {
	if channels <= 0 || rows <= 0 || cols <= 0 || pad < 0 || pad >= rows || pad >= cols {
		return nil, errors.Errorf("datasets: FlipCrop(%d, %d, %d, pad %d): want positive sizes and 0 <= pad < rows, cols", channels, rows, cols, pad)
	}
	f := channels * rows * cols
	return func(x, y *tensor.Dense, n int, seeds []int64) error {
		if x == nil || sizeOf(x.Shape()[1:]) != f || x.Shape()[0] < n || len(seeds) < n {
			return errors.Errorf("datasets: FlipCrop: x is %v with %d seeds for %d rows: want (>= %d, %d values)", shapeOf(x), len(seeds), n, n, f)
		}
		for i := 0; i < n; i++ {
			u := uint64(seeds[i])
			dy := int(u%uint64(2*pad+1)) - pad
			dx := int((u>>20)%uint64(2*pad+1)) - pad
			fl := flip && (u>>40)&1 == 1
			switch x.Dtype() {
			case tensor.Float32:
				flipCrop(x.Float32s()[i*f:(i+1)*f], channels, rows, cols, dy, dx, fl)
			case tensor.Float64:
				flipCrop(x.Float64s()[i*f:(i+1)*f], channels, rows, cols, dy, dx, fl)
			default:
				return errors.Errorf("datasets: FlipCrop: dtype %s", dtypeName(x.Dtype()))
			}
		}
		return nil
	}, nil
}

func shapeOf(t *tensor.Dense) tensor.Shape {
	if t == nil {
		return nil
	}
	return t.Shape()
}

// flipCrop shifts each channel of img by (dy, dx), out[r][c] = in[r-dy][c-dx]
// or 0 outside, in place (walking rows and columns away from the shift so
// every value is read before it is overwritten), then mirrors it.
func flipCrop[T float32 | float64](img []T, ch, h, w, dy, dx int, flip bool) {
	for c := 0; c < ch; c++ {
		p := img[c*h*w : (c+1)*h*w]
		for ri := 0; ri < h; ri++ {
			r := ri
			if dy > 0 {
				r = h - 1 - ri
			}
			for ci := 0; ci < w; ci++ {
				col := ci
				if dx > 0 {
					col = w - 1 - ci
				}
				sr, sc := r-dy, col-dx
				var v T
				if sr >= 0 && sr < h && sc >= 0 && sc < w {
					v = p[sr*w+sc]
				}
				p[r*w+col] = v
			}
		}
		if flip {
			for r := 0; r < h; r++ {
				row := p[r*w : (r+1)*w]
				for i, j := 0, w-1; i < j; i, j = i+1, j-1 {
					row[i], row[j] = row[j], row[i]
				}
			}
		}
	}
}
