package trainers

import (
	"fmt"
	"math"
	"reflect"
	"sync/atomic"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/kernels"
)

// Checks made before the first step, once the first graph is compiled and
// the model's output shape is known, so that bad data is an error naming the
// dataset row before any update, and the guard that keeps the Params finite.

// checkInputs validates what Fit is given that does not need a graph: the
// Params and datasets are usable (not zero values).
// nil ones are checkSetup's to report.
func checkInputs(p *graph.Params, src datasets.Source, cfg Config) error {
	if p != nil {
		if err := p.Validate(); err != nil {
			return errors.Wrap(err, "trainers")
		}
	}
	if train, ok := src.(*datasets.Dataset); ok && train != nil {
		if err := train.Validate(); err != nil {
			return errors.Wrap(err, "trainers: training set")
		}
	}
	if cfg.Validation != nil {
		if err := cfg.Validation.Validate(); err != nil {
			return errors.Wrap(err, "trainers: validation set")
		}
	}
	return nil
}

// checkData checks the training and validation sets against the model's
// output shape out (for one batch) and the loss: values finite, class
// labels indices into the model's outputs, binary cross-entropy targets in
// [0, 1]; and the Params finite. train is nil for a training set that is
// not held in memory (a stream): its batches are checked as they come.
func checkData(cfg Config, p *graph.Params, train *datasets.Dataset, out tensor.Shape) error {
	for _, s := range []struct {
		name string
		ds   *datasets.Dataset
	}{{"training set", train}, {"validation set", cfg.Validation}} {
		if s.ds == nil {
			continue
		}
		if err := s.ds.CheckFinite(); err != nil {
			return errors.Wrapf(err, "trainers: %s", s.name)
		}
		if s.ds.ClassIndices() && len(out) == 2 {
			if err := s.ds.CheckClasses(out[1]); err != nil {
				return errors.Wrapf(err, "trainers: %s", s.name)
			}
		}
		if sameLoss(cfg.Loss, graph.BinaryCrossEntropy) {
			if err := s.ds.CheckTargets(0, 1); err != nil {
				return errors.Wrapf(err, "trainers: %s (BinaryCrossEntropy wants targets in [0, 1])", s.name)
			}
		}
	}
	for _, name := range p.Names() {
		if err := checkFinite(p.Value(name)); err != nil {
			return errors.Errorf("trainers: parameter %q is not finite before training: %v", name, err)
		}
	}
	return nil
}

// sameLoss reports whether a and b are the same function.
func sameLoss(a, b graph.Loss) bool {
	return a != nil && reflect.ValueOf(a).Pointer() == reflect.ValueOf(b).Pointer()
}

// guard keeps the Params at their last finite values: it copies them
// right before each update (a copy, not a scan: cheap next to a step) and,
// when a loss or gradient turns non-finite or an epoch ends, checks them
// and puts the copy back if the last update made one NaN or ±Inf. The
// copy is not part of the pass that checks the gradients (prepPass): made
// there, a step whose gradients turn out non-finite because the last
// update made the weights so would overwrite the good copy with them.
type guard struct {
	weights, saved []*tensor.Dense
	savedAny       bool
	copy           *splitter // weights into saved
}

func newGuard(weights []*tensor.Dense) *guard {
	g := &guard{weights: weights, saved: zerosLike(weights)}
	g.copy = newSplitter(func(i, lo, hi int) {
		if w := g.weights[i]; isF64(w) {
			copy(g.saved[i].Float64s()[lo:hi], w.Float64s()[lo:hi])
		} else {
			copy(g.saved[i].Float32s()[lo:hi], w.Float32s()[lo:hi])
		}
	})
	return g
}

// save copies the weights.
func (g *guard) save() {
	g.copy.run(g.weights)
	g.savedAny = true
}

// prepPass is the pass over the elements before an update, split over the
// cores by element range (splitter): with several parts, the sum of their
// gradients (reducer.add), and the check that the update's gradients are
// finite, in one pass: on a 100,000-weight model each pass costs a
// hand-off to the other cores and a trip through memory, as long as a
// small batch's gradient.
type prepPass struct {
	red   *reducer // nil: one part, whose gradients are the update's
	grads []*tensor.Dense
	bad   int32 // some range was not finite
	sp    *splitter
}

func newPrepPass(red *reducer, grads []*tensor.Dense) *prepPass {
	p := &prepPass{red: red, grads: grads}
	p.sp = newSplitter(func(i, lo, hi int) {
		var ok, checked bool
		if p.red != nil {
			ok, checked = p.red.add(i, lo, hi)
		}
		if !checked {
			ok = finiteRange(p.grads[i], lo, hi)
		}
		if !ok {
			atomic.StoreInt32(&p.bad, 1)
		}
	})
	return p
}

// finiteRange reports whether elements [lo, hi) of t are all finite.
func finiteRange(t *tensor.Dense, lo, hi int) bool {
	if isF64(t) {
		return kernels.Finite(t.Float64s()[lo:hi])
	}
	return kernels.Finite(t.Float32s()[lo:hi])
}

// run makes the pass and reports whether every gradient is finite.
func (p *prepPass) run() bool {
	atomic.StoreInt32(&p.bad, 0)
	p.sp.run(p.grads)
	return atomic.LoadInt32(&p.bad) == 0
}

// restore checks the weights; if one is not finite it puts the saved ones
// back and returns an error saying so, naming the parameter, the update
// (step, counted from 1) and its learning rate.
func (g *guard) restore(names []string, step int, lr float64) error {
	for i, w := range g.weights {
		if err := checkFinite(w); err != nil {
			if !g.savedAny {
				return errors.Errorf("parameter %q is not finite (%v)", names[i], err)
			}
			for j, s := range g.saved {
				copyValues(g.weights[j], s)
			}
			return errors.Errorf("update %d at learning rate %v made parameter %q not finite (%v): diverged (lower the learning rate?); the params are left at their values before that update", step, lr, names[i], err)
		}
	}
	return nil
}

func copyValues(dst, src *tensor.Dense) {
	if isF64(dst) {
		copy(dst.Float64s(), src.Float64s())
		return
	}
	copy(dst.Float32s(), src.Float32s())
}

// divergence is the error of a non-finite loss: the data's fault when why
// (from badBatch) names a non-finite row, else the optimization diverged.
func divergence(loss float64, why string) error {
	if why != "" {
		return errors.Errorf("loss is %v: %s", loss, why)
	}
	return errors.Errorf("loss is %v (diverged: lower the learning rate?)", loss)
}

// badBatch names the cause of a non-finite loss when it is the data: the
// first row of the batch idx (dataset rows) whose inputs or targets, as
// gathered into x and y, are not finite; "" if they are.
func badBatch(x, y *tensor.Dense, idx []int) string {
	for _, t := range []struct {
		name string
		v    *tensor.Dense
	}{{"X", x}, {"Y", y}} {
		if t.v == nil || t.v.Dims() == 0 || len(idx) == 0 {
			continue
		}
		var k int
		var v float64
		if isF64(t.v) {
			k, v = firstNonFinite(t.v.Float64s())
		} else {
			k, v = firstNonFinite(t.v.Float32s())
		}
		per := t.v.Shape().TotalSize() / t.v.Shape()[0]
		if k >= 0 && per > 0 && k/per < len(idx) {
			return fmt.Sprintf("dataset row %d has a non-finite %s value (%v): the data changed after loading, not the learning rate", idx[k/per], t.name, v)
		}
	}
	return ""
}

// begin makes the checks that need the whole run set up, before the first
// step: the schedule gives a usable factor, and every callback accepts its
// settings (FitBegin).
func (r *run) begin() error {
	if _, err := r.learningRate(r.sched); err != nil {
		return errors.Wrap(err, "trainers: before the first step (a schedule made with arguments it cannot use gives NaN: StepDecay or Warmup with every or steps < 1, a gamma or factor ≤ 0, Cosine's minFactor outside [0, 1], ReduceOnPlateau's patience < 1)")
	}
	return r.callbacks(Event{Kind: FitBegin}, nil)
}

// explain adds to an epoch's error that the params were put back, when the
// last update made them non-finite.
func (g *guard) explain(err error, names []string, step int, lr float64) error {
	if err == nil {
		return nil
	}
	if gerr := g.restore(names, step, lr); gerr != nil {
		return errors.Errorf("%v: %v", err, gerr)
	}
	return err
}

// badData names the first non-finite value of the batch the replicas just
// ran, by dataset row when the data is in memory; "" if there is none.
func (r *run) badData() string {
	for _, rep := range r.reps {
		if rep.c == nil {
			continue
		}
		if why := badBatch(rep.c.X, rep.c.Y, rep.idx); why != "" {
			return why
		}
	}
	return ""
}

// checkMonitor reports a monitored quantity EarlyStopping or Checkpoint
// cannot read in this Fit.
func checkMonitor(who, name string, h *History) error {
	if name == "" { // the validation loss, else the training loss
		return nil
	}
	return checkMonitored(who, name, h) // by the table of metrics (metrics.go)
}

func checkEarlyStopping(monitored string, patience int, minDelta float64, h *History) error {
	if patience < 0 {
		return errors.Errorf("trainers: EarlyStopping: patience = %d, want ≥ 0", patience)
	}
	if !(minDelta >= 0) || math.IsInf(minDelta, 0) {
		return errors.Errorf("trainers: EarlyStopping: minDelta = %v, want a finite value ≥ 0", minDelta)
	}
	return checkMonitor("EarlyStopping", monitored, h)
}

func checkCheckpoint(path string, every, keep int, monitored string, h *History) error {
	switch {
	case path == "":
		return errors.New("trainers: Checkpoint: empty path")
	case every < 0 || (every == 0 && monitored == ""):
		return errors.Errorf("trainers: Checkpoint %s: every = %d, want ≥ 1 (or a monitored quantity for the best)", path, every)
	case every > 0 && keep < 1:
		return errors.Errorf("trainers: Checkpoint %s: keep = %d, want ≥ 1", path, keep)
	}
	if monitored != "" {
		return checkMonitor("Checkpoint "+path, monitored, h)
	}
	return nil
}
