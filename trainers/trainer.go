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

// A Trainer fits a model's parameters to a training set. GD, OnlineSGD,
// MiniBatchSGD and Loop are Trainers; so is any type of yours with this Fit
// method (a schedule of trainers, a wrapper that logs), which can then be
// passed wherever a Trainer is expected.
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
	// Metric names the validation metric recorded in History.Metric and
	// Epoch.ValMetric, a name of the table of metrics (models.MetricTable:
	// "accuracy", "auc", "f1", "mse", "r2", ...), with or without its
	// "val_" prefix, or a Custom metric's; "" picks accuracy for
	// classification and r2 for regression (see models.Classifies). A
	// metric the validation set cannot have is an error before the first
	// step, and so is a Metric without Validation.
	Metric string
	// Metrics are more metrics to record every epoch in Epoch.Values, by
	// Keras' names: a bare name ("accuracy", "auc") is measured on the
	// training data (an extra pass over it after each epoch) and, with a
	// Validation set, on it too ("val_accuracy"); "val_f1" is measured on
	// the validation set only, "train_mae" on the training data only.
	Metrics []string
	// Custom are user-defined metrics (each a models.Metric with a Func),
	// recorded like Metrics under their names.
	Custom []models.Metric
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
	Name      string // for History.Method; "" is "Loop"
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
// naming the epoch, the step and the parameter. Every check that does not
// need a step (hyperparameters, shapes, dtypes) is made before the first
// one, and an error then leaves p as it was: fresh Params stay empty.
func (l Loop) Fit(ctx context.Context, m models.Model, p *graph.Params, train *datasets.Dataset) (hist *History, err error) {
	if ctx == nil {
		ctx = context.Background()
	}
	var r *run
	defer func() {
		// The last line of defence: user code (a model, loss, schedule,
		// optimizer or callback) that panics ends the Fit with an error.
		if e := recover(); e != nil {
			err = errors.Errorf("trainers: panic during Fit: %v", e)
			if r != nil {
				hist = r.hist
			}
		}
		if r != nil {
			r.close()
		}
	}()
	r, err = newRun(l, m, p, train)
	if err != nil {
		return nil, err
	}
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
	metrics             *metricRun
}

func newRun(l Loop, m models.Model, p *graph.Params, train *datasets.Dataset) (r *run, err error) {
	cfg, pol := l.Config, l.Policy
	if pol.Name == "" {
		pol.Name = "Loop"
	}
	if err := checkSetup(cfg, pol, m, p, train); err != nil {
		return nil, err
	}
	it, err := datasets.NewIterator(train, datasets.Batches{
		Size: pol.BatchSize, Shuffle: pol.Shuffle, Seed: rng.Seed(cfg.Seed, "shuffle"), DropLast: pol.DropLast,
	})
	if err != nil {
		return nil, errors.Wrap(err, "trainers")
	}
	metric, err := validationMetric(cfg)
	if err != nil {
		return nil, err
	}
	noiseB := 0
	if cfg.NoiseEvery > 0 {
		if noiseB = cfg.NoiseBatch; noiseB == 0 {
			noiseB = it.BatchSize()
			if pol.FullBatch {
				noiseB = 32
			}
		}
		if train.Len()/noiseB < 2 {
			return nil, errors.Errorf("trainers: gradient noise at batch size %d needs at least %d training examples, have %d", noiseB, 2*noiseB, train.Len())
		}
	}

	// Fresh Params are filled by the first build. Build against a scratch
	// Params and adopt its tensors only once nothing can fail any more, so
	// that a model/target mismatch or a bad hyperparameter leaves p empty
	// and a corrected model can be fitted to it at once.
	target := p
	fresh := p.Len() == 0
	if fresh {
		target = graph.NewParams(p.Dtype(), p.Seed())
	}
	built := &run{cfg: cfg, pol: pol, model: m, params: p, train: train, it: it}
	defer func() {
		if err != nil { // release what was built; r is nil by then
			built.close()
		}
	}()
	r = built
	spec := exec.Spec{Forward: m.Forward, Params: target, X: train.XShape(), Y: train.YShape(),
		Loss: cfg.Loss, Training: true, Seed: rng.Seed(cfg.Seed, "layers")}
	r.progs = exec.New(spec)
	// Compile the first graph now: a model/target shape mismatch is an
	// error before the first step.
	first, err := r.progs.Get(it.BatchSize())
	if err != nil {
		err = errors.Wrapf(err, "trainers: model on batches of %d examples of shape %v with %s",
			it.BatchSize(), train.XShape(), describeTargets(train.YShape()))
		if hint := models.TargetHint(train, cfg.Loss); hint != "" {
			err = errors.Errorf("%v; %s", err, hint)
		}
		return nil, err
	}
	for i := 0; i < first.NumParams(); i++ {
		r.names = append(r.names, first.ParamName(i))
		r.weights = append(r.weights, target.Value(first.ParamName(i)))
	}
	if len(r.weights) == 0 {
		return nil, errors.New("trainers: the model has no parameters")
	}
	if r.update, err = startOptimizer(cfg.Optimizer, r.weights); err != nil {
		return nil, err
	}
	if fresh {
		for _, name := range target.Names() {
			if err := p.Add(name, target.Value(name)); err != nil {
				return nil, errors.Wrap(err, "trainers")
			}
		}
	}

	r.grads = make([]*tensor.Dense, len(r.weights))
	if pol.FullBatch {
		r.acc = zerosLike(r.weights)
	}
	steps := it.BatchesPerEpoch()
	batch := it.BatchSize()
	if pol.FullBatch {
		steps, batch = 1, r.epochExamples()
	}
	r.sched = Time{StepsPerEpoch: steps, Epochs: cfg.Epochs}
	r.hist = &History{Method: pol.Name, BatchSize: batch, N: train.Len(), Planned: cfg.Epochs, StepsPerEpoch: steps}
	r.hist.Metric = metric
	if err := r.setupMetrics(metric); err != nil {
		return nil, err
	}
	if cfg.NoiseEvery > 0 {
		// The diagnostic passes run their own graphs, whose random layers
		// draw from their own seed: estimating the noise never changes the
		// training trajectory.
		nspec := spec
		nspec.Seed = rng.Seed(cfg.Seed, "noise-layers")
		if r.noise, err = newNoiseState(noiseB, r.weights, train, cfg.Seed, exec.New(nspec)); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// checkSetup validates what Fit is given before anything is built.
func checkSetup(cfg Config, pol Policy, m models.Model, p *graph.Params, train *datasets.Dataset) error {
	switch {
	case m == nil:
		return errors.New("trainers: no model")
	case p == nil:
		return errors.New("trainers: no params (make them with graph.NewParams)")
	case train == nil:
		return errors.New("trainers: no training set")
	case cfg.Epochs < 1:
		return errors.Errorf("trainers: Epochs = %d, want ≥ 1", cfg.Epochs)
	case cfg.Loss == nil:
		return errors.New("trainers: Config.Loss is required (e.g. graph.SoftmaxCrossEntropy)")
	case cfg.Optimizer == nil:
		return errors.New("trainers: Config.Optimizer is required (e.g. trainers.SGD{LR: 0.1})")
	case pol.BatchSize < 0:
		return errors.Errorf("trainers: %s: batch size %d, want ≥ 0", pol.Name, pol.BatchSize)
	case train.Dtype() != p.Dtype():
		return errors.Errorf("trainers: training set dtype %v differs from params dtype %v", train.Dtype(), p.Dtype())
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"WeightDecay", cfg.WeightDecay}, {"ClipNorm", cfg.ClipNorm}} {
		if !(f.v >= 0) || math.IsInf(f.v, 0) {
			return errors.Errorf("trainers: Config.%s = %v, want a finite value ≥ 0", f.name, f.v)
		}
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"LogEvery", cfg.LogEvery}, {"NoiseEvery", cfg.NoiseEvery}, {"NoiseBatch", cfg.NoiseBatch}, {"EvalChunk", cfg.EvalChunk}} {
		if f.v < 0 {
			return errors.Errorf("trainers: Config.%s = %d, want ≥ 0", f.name, f.v)
		}
	}
	if v := cfg.Validation; v != nil {
		if v.Dtype() != train.Dtype() || !graph.SameShape(v.XShape(), train.XShape()) || !graph.SameShape(v.YShape(), train.YShape()) {
			return errors.Errorf("trainers: validation examples %v→%v %v differ from training examples %v→%v %v",
				v.XShape(), v.YShape(), v.Dtype(), train.XShape(), train.YShape(), train.Dtype())
		}
	}
	return nil
}

// describeTargets names one example's target shape for error messages.
func describeTargets(s tensor.Shape) string {
	if len(s) == 0 {
		return "class-index targets"
	}
	return fmt.Sprintf("targets of shape %v", s)
}

// startOptimizer calls o.Start, turning a panic or a missing Update into an
// error.
func startOptimizer(o Optimizer, weights []*tensor.Dense) (u Update, err error) {
	defer func() {
		if e := recover(); e != nil {
			u, err = nil, errors.Errorf("trainers: optimizer %T: Start panicked: %v", o, e)
		}
	}()
	if u, err = o.Start(weights); err == nil && u == nil {
		err = errors.Errorf("trainers: optimizer %T: Start returned no Update", o)
	}
	return u, err
}

func (r *run) close() {
	if r.progs != nil {
		r.progs.Close()
	}
	r.metrics.close()
	if r.noise != nil {
		r.noise.progs.Close()
	}
}

func (r *run) fit(ctx context.Context) error {
	r.start = time.Now()
	if err := r.callbacks(Event{Kind: FitStart}, nil); err != nil {
		return err
	}
	for epoch := 0; epoch < r.cfg.Epochs; epoch++ {
		r.sched.Epoch = epoch
		if epoch > 0 {
			r.it.Reset()
		}
		rec, err := r.epoch(ctx, epoch)
		if isStop(err) {
			r.hist.Stopped = fmt.Sprintf("stopped by a callback in epoch %d at step %d", epoch+1, r.sched.Step)
			break
		}
		if err != nil {
			if ctx.Err() != nil {
				r.hist.Stopped = "canceled: " + ctx.Err().Error()
			}
			r.callbacks(Event{Kind: FitEnd, Epoch: epoch, Step: r.sched.Step}, nil)
			return err
		}
		if stop := r.callbacks(Event{Kind: EpochEnd, Epoch: epoch, Step: r.sched.Step, Loss: rec.TrainLoss}, &rec); stop != nil {
			if !isStop(stop) {
				// Every callback still sees the end of the Fit, once.
				r.callbacks(Event{Kind: FitEnd, Epoch: epoch, Step: r.sched.Step}, nil)
				return stop
			}
			r.hist.Stopped = fmt.Sprintf("stopped by a callback after epoch %d", epoch+1)
			break
		}
	}
	if err := r.callbacks(Event{Kind: FitEnd, Epoch: len(r.hist.Epochs) - 1, Step: r.sched.Step}, nil); err != nil && !isStop(err) {
		return err
	}
	return nil
}

// isStop reports whether err is ErrStop, possibly wrapped.
func isStop(err error) bool { return err != nil && errors.Is(err, ErrStop) }

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
	monitored, err := r.measure(epoch, &rec)
	if err != nil {
		return Epoch{}, err
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
	factor, base, err := r.rate()
	if err != nil {
		return errors.Wrapf(err, "trainers: epoch %d step %d", epoch, r.sched.Step)
	}
	lr := base * factor
	if !(lr >= 0) || math.IsInf(lr, 0) {
		return errors.Errorf("trainers: epoch %d step %d: learning rate %v (base %v × schedule factor %v) is not a finite value ≥ 0", epoch, r.sched.Step, lr, base, factor)
	}
	if err := r.apply(lr); err != nil {
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

// rate returns the schedule's factor and the optimizer's base rate now; a
// panic in either is an error.
func (r *run) rate() (factor, base float64, err error) {
	defer func() {
		if e := recover(); e != nil {
			err = errors.Errorf("learning rate: panic: %v", e)
		}
	}()
	factor = 1
	if r.cfg.Schedule != nil {
		factor = r.cfg.Schedule(r.sched)
	}
	return factor, r.cfg.Optimizer.LearningRate(), nil
}

// apply runs the optimizer's update; a panic in it is an error.
func (r *run) apply(lr float64) (err error) {
	defer func() {
		if e := recover(); e != nil {
			err = errors.Errorf("optimizer %T: update panicked: %v", r.cfg.Optimizer, e)
		}
	}()
	return r.update(lr, r.grads)
}

// callbacks calls every callback with e; the first error wins, but every
// callback sees FitEnd.
func (r *run) callbacks(e Event, rec *Epoch) error {
	e.History, e.Params = r.hist, r.params
	e.Examples, e.GradEvals = r.examples, r.gradEvals
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
