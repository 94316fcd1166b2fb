// Package trainers fits models by gradient descent: full-batch GD, online
// SGD and mini-batch SGD, which are one training loop run with three batch
// policies, plus the optimizers, learning-rate schedules, callbacks and the
// History that let their behaviour be compared.
//
//	hist, err := trainers.MiniBatchSGD{
//		BatchSize: 32,
//		Config: trainers.Config{
//			Epochs:    20,
//			Loss:      graph.SoftmaxCrossEntropy,
//			Optimizer: trainers.SGD{LR: 0.1},
//			Seed:      1,
//		},
//	}.Fit(ctx, models.MLP{Hidden: []int{64}, Outputs: 10}, params, train)
//
// GD computes the exact gradient of the mean loss over all N examples
// (accumulated over chunks so that memory stays bounded) and updates once per
// epoch. OnlineSGD updates after every single example, MiniBatchSGD after
// every B examples; both reshuffle the data every epoch from the seed. A
// mini-batch gradient is an unbiased estimate of the full gradient whose
// noise shrinks as 1/B: see docs/concepts.md.
package trainers

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/exec"
	"github.com/descent-go/descent/internal/rng"
	"github.com/descent-go/descent/models"
)

// A Trainer fits a model's parameters to a training set.
type Trainer interface {
	Fit(ctx context.Context, m models.Model, p *graph.Params, train *datasets.Dataset) (*History, error)
}

// Config is what every trainer shares. Epochs, Loss and Optimizer are
// required.
type Config struct {
	Epochs    int
	Loss      graph.Loss
	Optimizer Optimizer
	Schedule  Schedule // learning-rate factor over time; nil: constant
	Seed      int64    // seeds the shuffles and the random layers

	// WeightDecay adds WeightDecay·w to every gradient (L2 regularization
	// coupled to the optimizer; AdamW has a decoupled one of its own).
	WeightDecay float64
	// ClipNorm rescales the gradient, all parameters together, to at most
	// this Euclidean norm; 0 means no clipping.
	ClipNorm float64

	// Validation, if set, is evaluated after every epoch.
	Validation *datasets.Dataset
	// Metric names the validation metric recorded in History: "accuracy",
	// "mse", "mae" or "r2"; "" picks accuracy for classification and r2 for
	// regression.
	Metric string
	// EvalChunk is the number of examples per evaluation graph run, and per
	// accumulation chunk in GD (0: models.DefaultChunk).
	EvalChunk int

	// Callbacks are called after every epoch, every LogEvery updates (if
	// LogEvery > 0), and once at the end.
	Callbacks []Callback
	LogEvery  int
	// RecordSteps keeps every update's loss in History.Steps.
	RecordSteps bool
	// NoiseEvery, if > 0, estimates the gradient noise every NoiseEvery
	// updates (see NoiseEstimate) at batch size NoiseBatch (0: the
	// trainer's batch size, or 32 for GD). Each estimate costs a pass over
	// the training set.
	NoiseEvery int
	NoiseBatch int
}

// Policy is how the loop batches the data: the one thing the trainers
// differ in.
type Policy struct {
	Name      string // for History.Method
	BatchSize int    // examples per gradient evaluation; 0 means all N
	Shuffle   bool   // a new seeded permutation every epoch
	DropLast  bool   // drop the partial last batch of an epoch
	// FullBatch accumulates the gradients of every batch of an epoch,
	// weighted by batch size, and updates once per epoch with their mean:
	// the exact full gradient, in chunks of BatchSize.
	FullBatch bool
}

// Loop is the training loop with an explicit batch Policy: the general
// trainer that GD, OnlineSGD and MiniBatchSGD configure.
type Loop struct {
	Policy Policy
	Config Config
}

// GD is full-batch gradient descent: one update per epoch, from the exact
// mean gradient over all training examples.
type GD struct {
	Config
	// Chunk is how many examples are differentiated at once while the full
	// gradient accumulates (0: Config.EvalChunk or models.DefaultChunk). It
	// changes memory and speed, not the result.
	Chunk int
}

// OnlineSGD is online stochastic gradient descent: one update per example,
// in a new random order every epoch.
type OnlineSGD struct {
	Config
}

// MiniBatchSGD is mini-batch stochastic gradient descent: one update per
// BatchSize examples, in a new random order every epoch. The partial last
// batch is kept unless DropLast.
type MiniBatchSGD struct {
	Config
	BatchSize int
	DropLast  bool
}

// Fit implements Trainer.
func (t GD) Fit(ctx context.Context, m models.Model, p *graph.Params, train *datasets.Dataset) (*History, error) {
	chunk := t.Chunk
	if chunk == 0 {
		chunk = t.EvalChunk
	}
	if chunk == 0 {
		chunk = models.DefaultChunk
	}
	if chunk < 0 {
		return nil, errors.Errorf("trainers: GD: Chunk = %d, want ≥ 0", t.Chunk)
	}
	return Loop{Policy{Name: "GD", BatchSize: chunk, FullBatch: true}, t.Config}.Fit(ctx, m, p, train)
}

// Fit implements Trainer.
func (t OnlineSGD) Fit(ctx context.Context, m models.Model, p *graph.Params, train *datasets.Dataset) (*History, error) {
	return Loop{Policy{Name: "OnlineSGD", BatchSize: 1, Shuffle: true}, t.Config}.Fit(ctx, m, p, train)
}

// Fit implements Trainer.
func (t MiniBatchSGD) Fit(ctx context.Context, m models.Model, p *graph.Params, train *datasets.Dataset) (*History, error) {
	if t.BatchSize < 1 {
		return nil, errors.Errorf("trainers: MiniBatchSGD: BatchSize = %d, want ≥ 1", t.BatchSize)
	}
	name := fmt.Sprintf("MiniBatchSGD(B=%d)", t.BatchSize)
	return Loop{Policy{Name: name, BatchSize: t.BatchSize, Shuffle: true, DropLast: t.DropLast}, t.Config}.Fit(ctx, m, p, train)
}

// Fit implements Trainer: it runs the loop. On cancellation it stops between
// steps and returns the History so far, with consistent Params, and the
// context's error; on a non-finite loss or gradient it stops with an error
// naming the epoch, the step and the parameter.
func (l Loop) Fit(ctx context.Context, m models.Model, p *graph.Params, train *datasets.Dataset) (*History, error) {
	r, err := newRun(l, m, p, train)
	if err != nil {
		return nil, err
	}
	defer r.close()
	err = r.fit(ctx)
	return r.hist, err
}

// run is the state of one Fit.
type run struct {
	cfg    Config
	pol    Policy
	model  models.Model
	params *graph.Params
	train  *datasets.Dataset
	it     *datasets.Iterator
	progs  *exec.Cache
	eval   *models.Evaluator
	hist   *History

	names   []string        // parameter names, in gradient order
	weights []*tensor.Dense // their tensors
	acc     []*tensor.Dense // FullBatch gradient accumulators
	grads   []*tensor.Dense // gradients of the current update
	update  Update
	noise   *noiseState
	sched   Time
	start   time.Time
	seconds float64 // training time of finished epochs
	evalDur time.Duration

	examples, gradEvals int64
	lr                  float64 // the last update's learning rate
}

func newRun(l Loop, m models.Model, p *graph.Params, train *datasets.Dataset) (*run, error) {
	cfg, pol := l.Config, l.Policy
	switch {
	case m == nil:
		return nil, errors.New("trainers: no model")
	case p == nil:
		return nil, errors.New("trainers: no params")
	case train == nil:
		return nil, errors.New("trainers: no training set")
	case cfg.Epochs < 1:
		return nil, errors.Errorf("trainers: Epochs = %d, want ≥ 1", cfg.Epochs)
	case cfg.Loss == nil:
		return nil, errors.New("trainers: Config.Loss is required (e.g. graph.SoftmaxCrossEntropy)")
	case cfg.Optimizer == nil:
		return nil, errors.New("trainers: Config.Optimizer is required (e.g. trainers.SGD{LR: 0.1})")
	case pol.BatchSize < 0:
		return nil, errors.Errorf("trainers: batch size %d, want ≥ 0", pol.BatchSize)
	case cfg.WeightDecay < 0 || cfg.ClipNorm < 0 || cfg.LogEvery < 0 || cfg.NoiseEvery < 0 || cfg.NoiseBatch < 0 || cfg.EvalChunk < 0:
		return nil, errors.New("trainers: WeightDecay, ClipNorm, LogEvery, NoiseEvery, NoiseBatch and EvalChunk must be ≥ 0")
	case train.Dtype() != p.Dtype():
		return nil, errors.Errorf("trainers: training set dtype %v differs from params dtype %v", train.Dtype(), p.Dtype())
	}
	if v := cfg.Validation; v != nil {
		if v.Dtype() != train.Dtype() || !v.XShape().Eq(train.XShape()) || !v.YShape().Eq(train.YShape()) {
			return nil, errors.Errorf("trainers: validation examples %v→%v %v differ from training examples %v→%v %v",
				v.XShape(), v.YShape(), v.Dtype(), train.XShape(), train.YShape(), train.Dtype())
		}
	}
	it, err := datasets.NewIterator(train, datasets.Batches{
		Size: pol.BatchSize, Shuffle: pol.Shuffle, Seed: rng.Seed(cfg.Seed, "shuffle"), DropLast: pol.DropLast,
	})
	if err != nil {
		return nil, errors.Wrap(err, "trainers")
	}
	r := &run{cfg: cfg, pol: pol, model: m, params: p, train: train, it: it}
	r.progs = exec.New(exec.Spec{Forward: m.Forward, Params: p, X: train.XShape(), Y: train.YShape(),
		Loss: cfg.Loss, Training: true, Seed: rng.Seed(cfg.Seed, "layers")})
	// Compile the first graph now: a model/target shape mismatch is an
	// error before the first step, and the parameters exist from here on.
	first, err := r.progs.Get(it.BatchSize())
	if err != nil {
		r.close()
		return nil, errors.Wrapf(err, "trainers: model on batches of %d", it.BatchSize())
	}
	for i := 0; i < first.NumParams(); i++ {
		r.names = append(r.names, first.ParamName(i))
		r.weights = append(r.weights, p.Value(first.ParamName(i)))
	}
	if len(r.weights) == 0 {
		r.close()
		return nil, errors.New("trainers: the model has no parameters")
	}
	if r.update, err = cfg.Optimizer.Start(r.weights); err != nil {
		r.close()
		return nil, err
	}
	r.grads = make([]*tensor.Dense, len(r.weights))
	if pol.FullBatch {
		r.acc = zerosLike(r.weights)
	}
	steps := it.BatchesPerEpoch()
	if pol.FullBatch {
		steps = 1
	}
	r.sched = Time{StepsPerEpoch: steps, Epochs: cfg.Epochs}
	r.hist = &History{Method: pol.Name, BatchSize: it.BatchSize(), N: train.Len(), Planned: cfg.Epochs, StepsPerEpoch: steps}
	if cfg.Validation != nil {
		r.hist.Metric = cfg.Metric
		if r.hist.Metric == "" {
			r.hist.Metric = "r2"
			if train.Labels() != nil {
				r.hist.Metric = "accuracy"
			}
		}
		r.eval = models.NewEvaluator(m, p, cfg.Loss, cfg.EvalChunk)
	}
	if cfg.NoiseEvery > 0 {
		b := cfg.NoiseBatch
		if b == 0 {
			b = it.BatchSize()
			if pol.FullBatch {
				b = 32
			}
		}
		if r.noise, err = newNoiseState(b, train.Len(), r.weights, train, cfg.Seed); err != nil {
			r.close()
			return nil, err
		}
	}
	return r, nil
}

func (r *run) close() {
	r.progs.Close()
	if r.eval != nil {
		r.eval.Close()
	}
}

func (r *run) fit(ctx context.Context) error {
	r.start = time.Now()
	for epoch := 0; epoch < r.cfg.Epochs; epoch++ {
		r.sched.Epoch = epoch
		if epoch > 0 {
			r.it.Reset()
		}
		rec, err := r.epoch(ctx, epoch)
		if err == ErrStop {
			r.hist.Stopped = fmt.Sprintf("stopped by a callback in epoch %d at step %d", epoch, r.sched.Step)
			break
		}
		if err != nil {
			if ctx.Err() != nil {
				r.hist.Stopped = "canceled: " + ctx.Err().Error()
			}
			r.callbacks(Event{Kind: FitEnd, Epoch: epoch, Step: r.sched.Step}, nil)
			return err
		}
		stop := r.callbacks(Event{Kind: EpochEnd, Epoch: epoch, Step: r.sched.Step, Loss: rec.TrainLoss}, &rec)
		if stop != nil {
			if stop != ErrStop {
				return stop
			}
			r.hist.Stopped = fmt.Sprintf("stopped by a callback after epoch %d", epoch)
			break
		}
	}
	return r.callbacks(Event{Kind: FitEnd, Epoch: len(r.hist.Epochs) - 1, Step: r.sched.Step}, nil)
}

// epoch runs one epoch and appends its record to the History.
func (r *run) epoch(ctx context.Context, epoch int) (Epoch, error) {
	var lossSum float64
	var seen int64
	epochN := r.epochExamples()
	for r.it.Next() {
		if err := ctx.Err(); err != nil {
			return Epoch{}, errors.Wrapf(err, "trainers: epoch %d step %d", epoch, r.sched.Step)
		}
		idx := r.it.Indices()
		n := len(idx)
		c, err := r.progs.Get(n)
		if err != nil {
			return Epoch{}, errors.Wrapf(err, "trainers: epoch %d: batch of %d", epoch, n)
		}
		if err := r.train.Gather(idx, c.X, c.Y); err != nil {
			return Epoch{}, errors.Wrapf(err, "trainers: epoch %d step %d", epoch, r.sched.Step)
		}
		if err := c.Run(); err != nil {
			return Epoch{}, errors.Wrapf(err, "trainers: epoch %d step %d", epoch, r.sched.Step)
		}
		loss := c.Loss()
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return Epoch{}, errors.Errorf("trainers: epoch %d step %d: loss is %v (diverged: lower the learning rate?)", epoch, r.sched.Step, loss)
		}
		for i := range r.grads {
			r.grads[i] = c.Grad(i)
			if err := checkFinite(r.grads[i]); err != nil {
				return Epoch{}, errors.Errorf("trainers: epoch %d step %d: gradient of %q is not finite: %v", epoch, r.sched.Step, r.names[i], err)
			}
		}
		lossSum += loss * float64(n)
		seen += int64(n)
		r.examples += int64(n)
		r.gradEvals += int64(n)
		if r.pol.FullBatch {
			for i, g := range r.grads {
				axpy(float64(n)/float64(epochN), g, r.acc[i])
			}
			continue
		}
		if err := r.step(epoch, loss); err != nil {
			return Epoch{}, err
		}
		if err := r.diagnose(ctx, epoch); err != nil {
			return Epoch{}, err
		}
	}
	if err := r.it.Err(); err != nil {
		return Epoch{}, errors.Wrapf(err, "trainers: epoch %d", epoch)
	}
	if seen == 0 {
		return Epoch{}, errors.Errorf("trainers: epoch %d had no batch", epoch)
	}
	trainLoss := lossSum / float64(seen)
	if r.pol.FullBatch {
		copy(r.grads, r.acc)
		if err := r.step(epoch, trainLoss); err != nil {
			return Epoch{}, err
		}
		for _, a := range r.acc {
			zero(a)
		}
		if err := r.diagnose(ctx, epoch); err != nil {
			return Epoch{}, err
		}
	}
	r.seconds = time.Since(r.start).Seconds() - r.evalDur.Seconds()
	rec := Epoch{Epoch: epoch, TrainLoss: trainLoss, Updates: r.sched.Step, Examples: r.examples,
		GradEvals: r.gradEvals, LearningRate: r.lr, Seconds: r.seconds}
	monitored := trainLoss
	if r.eval != nil {
		t0 := time.Now()
		met, err := r.eval.Evaluate(r.cfg.Validation)
		r.evalDur += time.Since(t0)
		if err != nil {
			return Epoch{}, errors.Wrapf(err, "trainers: epoch %d: validation", epoch)
		}
		v, ok := met.Metric(r.hist.Metric)
		if !ok {
			return Epoch{}, errors.Errorf("trainers: metric %q is not available for this validation set", r.hist.Metric)
		}
		rec.HasVal, rec.ValLoss, rec.ValMetric = true, met.Loss, v
		monitored = met.Loss
	}
	r.sched.Monitored = append(r.sched.Monitored, monitored)
	r.hist.Epochs = append(r.hist.Epochs, rec)
	return rec, nil
}

func (r *run) epochExamples() int {
	n := r.train.Len()
	if r.pol.DropLast {
		return n - n%r.it.BatchSize()
	}
	return n
}

// step turns r.grads into one update.
func (r *run) step(epoch int, loss float64) error {
	if wd := r.cfg.WeightDecay; wd > 0 {
		for i, g := range r.grads {
			axpy(wd, r.weights[i], g)
		}
	}
	if c := r.cfg.ClipNorm; c > 0 {
		var sq float64
		for _, g := range r.grads {
			sq += sumSquares(g)
		}
		if norm := math.Sqrt(sq); norm > c {
			for _, g := range r.grads {
				scaleBy(c/norm, g)
			}
		}
	}
	factor := 1.0
	if r.cfg.Schedule != nil {
		factor = r.cfg.Schedule(r.sched)
	}
	lr := r.cfg.Optimizer.LearningRate() * factor
	if !(lr >= 0) || math.IsInf(lr, 0) {
		return errors.Errorf("trainers: epoch %d step %d: learning rate %v (schedule factor %v) is not a finite value ≥ 0", epoch, r.sched.Step, lr, factor)
	}
	if err := r.update(lr, r.grads); err != nil {
		return errors.Wrapf(err, "trainers: epoch %d step %d", epoch, r.sched.Step)
	}
	r.sched.Step++
	r.lr = lr
	if r.cfg.RecordSteps {
		r.hist.Steps = append(r.hist.Steps, Step{Epoch: epoch, Step: r.sched.Step, Loss: loss, Examples: r.examples})
	}
	if k := r.cfg.LogEvery; k > 0 && r.sched.Step%k == 0 {
		return r.callbacks(Event{Kind: StepEnd, Epoch: epoch, Step: r.sched.Step, Loss: loss}, nil)
	}
	return nil
}

// callbacks calls every callback with e; the first error wins, but every
// callback sees FitEnd.
func (r *run) callbacks(e Event, rec *Epoch) error {
	e.History, e.Params = r.hist, r.params
	if rec != nil {
		e.Record = *rec
	}
	var first error
	for _, cb := range r.cfg.Callbacks {
		if cb == nil {
			continue
		}
		if err := callSafely(cb, e); err != nil && first == nil {
			first = err
			if e.Kind != FitEnd {
				break
			}
		}
	}
	return first
}

func callSafely(cb Callback, e Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errors.Errorf("trainers: callback panicked at epoch %d step %d: %v", e.Epoch, e.Step, p)
		}
	}()
	return cb(e)
}
