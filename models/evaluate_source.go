package models

import (
	"context"
	"io"

	"github.com/pkg/errors"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/progcache"
)

// EvaluateSource computes the loss and metrics of the model over one
// unshuffled pass of src — a data set streamed from disk (datasets.Shards,
// IDXStream, CSVStream) — holding one chunk at a time. Over the same
// examples in the same order it gives what Evaluate gives in memory:
// classification metrics for class-index or one-hot (K > 1) targets, and
// for (1) targets of BinaryCrossEntropy that are all 0 or 1; regression
// metrics when outputs and targets have one shape.
func (e *Evaluator) EvaluateSource(ctx context.Context, src datasets.Source) (Metrics, error) {
	var met Metrics
	if src == nil {
		return met, errors.New("models: EvaluateSource: nil Source")
	}
	cache, err := e.programsFor(src.Dtype(), src.XShape(), src.YShape())
	if err != nil {
		return met, err
	}
	st, err := src.Open(ctx, datasets.Pass{Parts: 1})
	if err != nil {
		return met, errors.Wrap(err, "models: EvaluateSource")
	}
	defer st.Close()
	ys := src.YShape()
	cls := len(ys) == 0
	onehot := len(ys) == 1 && ys[0] > 1
	binary := IsBinaryCrossEntropy(e.r.loss) && graph.SameShape(ys, []int{1})
	acc := newAccumulator(nil, 0)
	var labels []int
	n := src.Len()
	err = e.r.each(ctx, cache, chunkPass{what: "EvaluateSource", n: n,
		fill: func(c *progcache.Compiled, start, end int) error {
			if start == 0 {
				acc.regress = !cls && graph.SameShape(c.Out, c.Y.Shape())
				if !cls && !onehot && !binary && !acc.regress {
					return errors.Errorf("models: EvaluateSource: model output shape %v differs from target shape %v and the targets are not classes", c.Out, c.Y.Shape())
				}
			}
			got, err := st.Read(c.X, c.Y, end-start)
			if err == nil && got < end-start || err == io.EOF {
				err = errors.Errorf("the source ended after %d of its %d examples", start+got, n)
			}
			return errors.Wrapf(err, "models: EvaluateSource: examples %d..%d", start, end-1)
		},
		take: func(c *progcache.Compiled, start, end int) error {
			y := graph.Float64s(c.Y)
			labels = labels[:0]
			switch {
			case cls:
				for _, v := range y {
					labels = append(labels, int(v))
				}
			case onehot:
				k := ys[0]
				for r := 0; r < end-start; r++ {
					labels = append(labels, argmax(y[r*k:(r+1)*k]))
				}
			case binary:
				for _, v := range y {
					if v != 0 && v != 1 {
						binary = false // not classes: regression metrics only, as Evaluate
						break
					}
					labels = append(labels, int(v))
				}
			}
			acc.labels = nil
			if cls || onehot || binary {
				acc.labels = labels
				top := 0
				for _, l := range labels {
					if l > top {
						top = l
					}
				}
				acc.grow(top + 1)
			}
			return errors.Wrapf(acc.add(0, c.Loss(), c.Output(0), c.Y), "models: EvaluateSource: examples %d..%d", start, end-1)
		}})
	if err != nil {
		return met, err
	}
	if IsBinaryCrossEntropy(e.r.loss) && graph.SameShape(ys, []int{1}) && !binary {
		acc.labels = nil // a target that is not 0 or 1 was met: no classes
	}
	return acc.metrics(), nil
}
