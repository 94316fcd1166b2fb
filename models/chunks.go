package models

import (
	"context"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/progcache"
)

// chunkRunner is what a Predictor and an Evaluator share: a model over its
// Params, a chunk size, and the evaluation programs for the example shapes
// of the last call, one per chunk size, compiled anew when the shapes
// change.
type chunkRunner struct {
	m      Model
	p      *graph.Params
	loss   graph.Loss // nil: outputs only (Predictor)
	chunk  int
	cache  *progcache.Cache
	xs, ys tensor.Shape
}

func newChunkRunner(m Model, p *graph.Params, loss graph.Loss, chunk int) chunkRunner {
	if chunk <= 0 {
		chunk = DefaultChunk
	}
	return chunkRunner{m: m, p: p, loss: loss, chunk: chunk}
}

// close releases the compiled programs.
func (r *chunkRunner) close() {
	if r.cache != nil {
		r.cache.Close()
		r.cache = nil
	}
}

// programs returns the programs for examples of shapes xs and ys (ys nil
// without a loss), dropping those of other shapes.
func (r *chunkRunner) programs(xs, ys tensor.Shape) *progcache.Cache {
	if r.cache == nil || !graph.SameShape(xs, r.xs) || !graph.SameShape(ys, r.ys) {
		r.close()
		r.xs, r.ys = xs, ys
		r.cache = progcache.New(progcache.Spec{Forward: r.m.Forward, Params: r.p, X: xs, Y: ys, Loss: r.loss})
	}
	return r.cache
}

// chunkPass says what one pass over n examples does with each chunk
// [start, end): fill copies its examples into c's inputs before the run,
// take reads c's results after it. what ("predict", "evaluate") names the
// pass in errors; hint, if set, explains a failed compilation.
type chunkPass struct {
	what       string
	n          int
	fill, take func(c *progcache.Compiled, start, end int) error
	hint       func() string
}

// each runs the pass chunk by chunk, stopping with ctx's error between two
// chunks once ctx is done.
func (r *chunkRunner) each(ctx context.Context, cache *progcache.Cache, pass chunkPass) error {
	if ctx == nil {
		ctx = context.Background()
	}
	n := pass.n
	for start := 0; start < n; start += r.chunk {
		end := start + r.chunk
		if end > n {
			end = n
		}
		if err := ctx.Err(); err != nil {
			return errors.Wrapf(err, "models: %s: stopped at example %d of %d", pass.what, start, n)
		}
		c, err := cache.Get(end - start)
		if err != nil {
			if pass.hint != nil {
				if h := pass.hint(); h != "" {
					return errors.Errorf("models: %s: %v; %s", pass.what, err, h)
				}
			}
			return errors.Wrap(err, "models: "+pass.what)
		}
		if err := pass.fill(c, start, end); err != nil {
			return err
		}
		if err := c.Run(); err != nil {
			return errors.Wrapf(err, "models: %s examples %d..%d", pass.what, start, end-1)
		}
		if err := pass.take(c, start, end); err != nil {
			return err
		}
	}
	return nil
}
