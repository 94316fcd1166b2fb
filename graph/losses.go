package graph

import (
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"

	"github.com/descent-go/descent/internal/decay"
)

// A Loss maps a model's output and the targets of a batch to a scalar node:
// the mean loss over the batch.
type Loss func(b *Builder, out, target *G.Node) (*G.Node, error)

// MSE is the mean squared error over all elements, for regression: out and
// target have the same shape.
func MSE(b *Builder, out, target *G.Node) (*G.Node, error) {
	return lossNode(lossMSE, out, target)
}

// BinaryCrossEntropy is the mean logistic loss of logits out against targets
// in [0, 1] of the same shape, computed from logits as
// max(z,0) − z·y + log(1+e^−|z|), which never overflows. A target outside
// [0, 1] (the loss would be unbounded below) is an error when the graph runs.
func BinaryCrossEntropy(b *Builder, out, target *G.Node) (*G.Node, error) {
	return lossNode(lossBCE, out, target)
}

// SoftmaxCrossEntropy is the mean over the batch of −log softmax(z)[y] for
// logits out of shape (batch, classes), classes ≥ 2, computed with log-sum-exp so that
// large logits do not overflow. target is either class indices (batch) or
// one-hot or soft target rows (batch, classes).
func SoftmaxCrossEntropy(b *Builder, out, target *G.Node) (*G.Node, error) {
	return lossNode(lossSCE, out, target)
}

func lossNode(kind lossKind, out, target *G.Node) (*G.Node, error) {
	what := "graph: " + kind.String()
	if out == nil || target == nil {
		return nil, errors.Errorf("%s: nil output or target", what)
	}
	os, ts := out.Shape(), target.Shape()
	switch {
	case out.Dims() == 0:
		return nil, errors.Errorf("%s: output is a scalar; want (batch, ...)", what)
	case kind == lossSCE && out.Dims() != 2:
		return nil, errors.Errorf("%s: output shape %v; want (batch, classes)", what, os)
	case kind == lossSCE && os[1] < 2:
		return nil, errors.Errorf("%s: output shape %v has one class: its softmax is 1 and the loss 0 whatever the weights; give the model one output per class (at least 2), or use BinaryCrossEntropy for a single logit", what, os)
	case kind == lossSCE && target.Dims() == 1:
		if ts[0] != os[0] {
			return nil, errors.Errorf("%s: output shape %v and class-index target shape %v differ in batch size", what, os, ts)
		}
	case !SameShape(os, ts):
		return nil, errors.Errorf("%s: output shape %v and target shape %v differ", what, os, ts)
	}
	if out.Dtype() != target.Dtype() {
		return nil, errors.Errorf("%s: output dtype %v, target dtype %v", what, out.Dtype(), target.Dtype())
	}
	return guard(what, func() (*G.Node, error) {
		return G.ApplyOp(lossOp{kind: kind, outDims: out.Dims(), tgtDims: target.Dims()}, out, target)
	})
}

// L2 is the penalty (lambda/2)·Σ w² over the named parameters of the graph
// (all of them if names is empty), to add to a loss.
func L2(b *Builder, lambda float64, names ...string) (*G.Node, error) {
	return penalty(b, "L2", lambda, names, func(w *G.Node) (*G.Node, error) {
		sq, err := G.Square(w)
		if err != nil {
			return nil, err
		}
		s, err := G.Sum(sq)
		if err != nil {
			return nil, err
		}
		return G.Mul(s, scalar(b, lambda/2))
	})
}

// L1 is the penalty lambda·Σ |w| over the named parameters of the graph (all
// of them if names is empty).
func L1(b *Builder, lambda float64, names ...string) (*G.Node, error) {
	return penalty(b, "L1", lambda, names, func(w *G.Node) (*G.Node, error) {
		a, err := G.Abs(w)
		if err != nil {
			return nil, err
		}
		s, err := G.Sum(a)
		if err != nil {
			return nil, err
		}
		return G.Mul(s, scalar(b, lambda))
	})
}

func penalty(b *Builder, kind string, lambda float64, names []string, term func(*G.Node) (*G.Node, error)) (*G.Node, error) {
	what := "graph: " + kind
	if err := b.check(); err != nil {
		return nil, errors.Wrap(err, what)
	}
	if err := decay.Check(what+": lambda", lambda); err != nil {
		return nil, err
	}
	ws := b.Learnables()
	if len(names) > 0 {
		ws = ws[:0:0]
		for _, name := range names {
			n, ok := b.params[name]
			if !ok {
				return nil, errors.Errorf("%s: the graph has no parameter %q", what, name)
			}
			ws = append(ws, n)
		}
	}
	if len(ws) == 0 {
		return nil, errors.Errorf("%s: the graph has no parameters", what)
	}
	return guard(what, func() (*G.Node, error) {
		var total *G.Node
		for _, w := range ws {
			t, err := term(w)
			if err != nil {
				return nil, errors.Wrapf(err, "parameter %q", w.Name())
			}
			if total == nil {
				total = t
			} else if total, err = G.Add(total, t); err != nil {
				return nil, err
			}
		}
		return total, nil
	})
}

func scalar(b *Builder, v float64) *G.Node {
	if b.Dtype() == G.Float32 {
		return G.NewConstant(float32(v))
	}
	return G.NewConstant(v)
}
