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
	"github.com/descent-go/descent/internal/decay"
	"github.com/descent-go/descent/internal/kernels"
	"github.com/descent-go/descent/internal/progcache"
	"github.com/descent-go/descent/internal/rng"
	"github.com/descent-go/descent/models"
)

// A Trainer fits a model's parameters to a training set, held in memory
// (*datasets.Dataset) or streamed (any datasets.Source). GD, OnlineSGD,
// MiniBatchSGD and Loop are Trainers; so is any type of yours with this Fit
// method (a schedule of trainers, a wrapper that logs), which can then be
// passed wherever a Trainer is expected.
type Trainer interface {
	Fit(ctx context.Context, m models.Model, p *graph.Params, train datasets.Source) (*History, error)
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
	// Metrics are more metrics to record every epoch in History.Metrics, by
	// Keras' names: a bare name ("accuracy", "auc") is measured on the
	// training data (an extra pass over it after each epoch) and, with a
	// Validation set, on it too ("val_accuracy"); "val_f1" is measured on
	// the validation set only, "train_mae" on the training data only.
	Metrics []string
	// Custom are user-defined metrics (each a models.Metric with a Func),
	// recorded like Metrics under their names.
	Custom []models.Metric
	// EvalChunk is the number of examples per evaluation graph run
	// (validation and training metrics; 0: models.DefaultChunk).
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

	// Parallel spreads each batch over replicas and processes; the zero
	// value trains on one replica in this process.
	Parallel Parallel

	// Resume, if not "", is a training checkpoint (written by the
	// Checkpoint callback) to continue from: the Fit restores the weights,
	// the optimizer's and callbacks' state, the History and the position in
	// the data and random streams, then runs the epochs left up to Epochs,
	// as the uninterrupted run would have. The model, data, trainer,
	// optimizer and parallel layout must be the ones the checkpoint was
	// written with (every process of a job reads the file).
	Resume string
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
	// gradient accumulates (0: models.DefaultChunk). It changes memory and
	// speed, not the result beyond rounding.
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
func (t GD) Fit(ctx context.Context, m models.Model, p *graph.Params, train datasets.Source) (*History, error) {
	chunk := t.Chunk
	if chunk == 0 {
		chunk = models.DefaultChunk
	}
	if chunk < 0 {
		return nil, errors.Errorf("trainers: GD: Chunk = %d, want ≥ 0", t.Chunk)
	}
	return Loop{Policy{Name: "GD", BatchSize: chunk, FullBatch: true}, t.Config}.Fit(ctx, m, p, train)
}

// Fit implements Trainer.
func (t OnlineSGD) Fit(ctx context.Context, m models.Model, p *graph.Params, train datasets.Source) (*History, error) {
	return Loop{Policy{Name: "OnlineSGD", BatchSize: 1, Shuffle: true}, t.Config}.Fit(ctx, m, p, train)
}

// Fit implements Trainer.
func (t MiniBatchSGD) Fit(ctx context.Context, m models.Model, p *graph.Params, train datasets.Source) (*History, error) {
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
//
// In a job of several processes (Config.Parallel.Cluster), an error on any
// process that the others cannot know of ends the whole job through
// Cluster.Abort, so that no process waits forever for the others; stops
// (ErrStop from a callback, a cancelled context) are agreed by all.
func (l Loop) Fit(ctx context.Context, m models.Model, p *graph.Params, train datasets.Source) (hist *History, err error) {
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
		if cl := l.Config.Parallel.Cluster; err != nil && cl != nil && cl.Size() > 1 && (r == nil || !r.agreed) {
			cl.Abort(errors.Wrapf(err, "trainers: rank %d of %d", cl.Rank(), cl.Size()))
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
	train  datasets.Source
	mem    *datasets.Dataset  // train, when it is held in memory
	it     *datasets.Iterator // the epoch's order of mem, batch by batch (not FullBatch)
	hist   *History

	cl          Cluster // nil: this process alone
	rank, parts int     // this process; parts of every batch, all processes together
	reps        []*replica
	pool        *pool
	red         reducer

	usable               int // examples of the source that every part can serve
	epochN, batch, steps int // examples per epoch, global batch size, updates per epoch

	names   []string        // parameter names, in gradient order
	weights []*tensor.Dense // their tensors
	grads   []*tensor.Dense // gradients of the current update
	update  Update
	serial  bool      // the passes of a step run unsplit
	guard   *guard    // keeps the params finite
	prep    *prepPass // sums and checks the gradients
	noise   *noiseState
	sched   Time
	start   time.Time
	seconds float64 // training time of finished epochs
	evalDur time.Duration

	examples, gradEvals int64
	lr                  float64 // the last update's learning rate
	metrics             *metricRun
	agreed              bool // the Fit ended by a stop all processes agreed on

	// Training state (state.go).
	optState *OptimizerState
	slots    []slot        // per callback
	saves    []saveRequest // checkpoints to write after this epoch's callbacks
	first    int           // the first epoch to run: > 0 when resumed
	resumed  time.Duration // training time before the resume
}

func newRun(l Loop, m models.Model, p *graph.Params, train datasets.Source) (r *run, err error) {
	cfg, pol := l.Config, l.Policy
	if pol.Name == "" {
		pol.Name = "Loop"
	}
	if err := checkInputs(p, train, cfg); err != nil {
		return nil, err
	}
	if err := checkSetup(cfg, pol, m, p, train); err != nil {
		return nil, err
	}
	if err := checkHogwild(cfg, pol, train); err != nil {
		return nil, err
	}
	built := &run{cfg: cfg, pol: pol, model: m, params: p, train: train, rank: 0, parts: 1}
	defer func() {
		if err != nil { // release what was built; r is nil by then
			built.close()
		}
	}()
	r = built
	if err := r.layout(); err != nil {
		return nil, err
	}
	metric, err := validationMetric(cfg)
	if err != nil {
		return nil, err
	}
	noiseB, err := r.noiseBatch()
	if err != nil {
		return nil, err
	}
	// Fresh Params are filled by the first build. Build against a scratch
	// Params and adopt its tensors only once nothing can fail any more, so
	// that a model/target mismatch or a bad hyperparameter leaves p empty
	// and a corrected model can be fitted to it at once.
	target, fresh := p, p.Len() == 0
	if fresh {
		target = graph.NewParams(p.Dtype(), p.Seed())
	}
	spec := progcache.Spec{Forward: m.Forward, Params: target, X: train.XShape(), Y: train.YShape(),
		Loss: cfg.Loss, Training: true, Create: fresh}
	r.makeReplicas(spec)
	if err := r.bindWeights(target); err != nil {
		return nil, err
	}
	if err := r.startUpdates(); err != nil {
		return nil, err
	}
	r.sched = Time{StepsPerEpoch: r.steps, Epochs: cfg.Epochs}
	r.hist = &History{Method: pol.Name, BatchSize: r.batch, N: r.usable, Planned: cfg.Epochs,
		StepsPerEpoch: r.steps, Replicas: r.parts, Unused: train.Len() - r.usable, Metric: metric}
	if err := r.setupMetrics(metric); err != nil {
		return nil, err
	}
	if noiseB > 0 {
		// The diagnostic passes run their own graphs, whose random layers
		// draw from their own seed: estimating the noise never changes the
		// training trajectory.
		nspec := spec
		nspec.Seed = rng.Seed(cfg.Seed, "noise-layers")
		if r.noise, err = newNoiseState(noiseB, r.weights, r.mem, cfg.Seed, progcache.New(nspec)); err != nil {
			return nil, err
		}
	}
	r.slots = make([]slot, len(cfg.Callbacks))
	if cfg.Resume != "" {
		if err := r.resume(cfg.Resume, target); err != nil {
			return nil, err
		}
	}
	if err := r.begin(); err != nil {
		return nil, err
	}
	if fresh {
		if err := adopt(p, target); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// noiseBatch is the batch size of the gradient-noise diagnostic, 0 if it
// is off. It is checked before anything is built, so that fresh Params
// stay empty.
func (r *run) noiseBatch() (int, error) {
	cfg := r.cfg
	if cfg.NoiseEvery == 0 {
		return 0, nil
	}
	if r.mem == nil {
		return 0, errors.New("trainers: Config.NoiseEvery needs a training set held in memory (*datasets.Dataset)")
	}
	b := cfg.NoiseBatch
	if b == 0 {
		b = r.batch
		if r.pol.FullBatch {
			b = 32
		}
	}
	if r.train.Len()/b < 2 {
		return 0, errors.Errorf("trainers: gradient noise at batch size %d needs at least %d training examples, have %d", b, 2*b, r.train.Len())
	}
	return b, nil
}

// makeReplicas gives every local replica its compiled programs for spec;
// part 0's random layers draw what a one-part run draws.
func (r *run) makeReplicas(spec progcache.Spec) {
	local := len(r.reps)
	rows := r.batch
	if r.pol.FullBatch {
		rows = r.chunk()
	}
	for i := range r.reps {
		q := r.rank*local + i
		s := spec
		s.Seed = rng.Seed(r.cfg.Seed, "layers")
		if q > 0 {
			s.Seed = rng.Seed(r.cfg.Seed, "layers", uint64(q))
		}
		r.reps[i] = &replica{part: q, parts: r.parts, mem: r.mem, progs: progcache.New(s),
			idx: make([]int, 0, rows/r.parts+1)}
	}
}

// bindWeights compiles replica 0's first graph — a model/target shape
// mismatch is an error before the first step — and takes from it the
// parameters' names and tensors, in gradient order; then it checks the
// data against the model's outputs.
func (r *run) bindWeights(target *graph.Params) error {
	firstN := partRows(0, r.batch, r.reps[0].part, r.parts)
	if r.pol.FullBatch {
		firstN = r.chunk()
		if pl := r.train.PartLen(r.reps[0].part, r.parts); pl < firstN {
			firstN = pl
		}
	}
	if firstN == 0 {
		firstN = 1
	}
	first, err := r.reps[0].progs.Get(firstN)
	if err != nil {
		err = errors.Wrapf(err, "trainers: model on batches of %d examples of shape %v with %s",
			firstN, r.train.XShape(), describeTargets(r.train.YShape()))
		if hint := models.TargetHint(r.mem, r.cfg.Loss); hint != "" {
			err = errors.Errorf("%v; %s", err, hint)
		}
		return err
	}
	for i := 0; i < first.NumParams(); i++ {
		r.names = append(r.names, first.ParamName(i))
		r.weights = append(r.weights, target.Value(first.ParamName(i)))
	}
	if len(r.weights) == 0 {
		return errors.New("trainers: the model has no parameters")
	}
	return checkData(r.cfg, target, r.mem, first.Out)
}

// startUpdates makes what an update needs: the optimizer's Update, the
// gradient buffers, the reduction across parts, the replicas' pool,
// and every process on rank 0's weights.
func (r *run) startUpdates() (err error) {
	r.guard = newGuard(r.weights)
	r.optState = newOptimizerState(r.names)
	if r.update, err = startOptimizer(r.cfg.Optimizer, r.weights, r.optState); err != nil {
		return err
	}
	r.grads = make([]*tensor.Dense, len(r.weights))
	for _, rep := range r.reps {
		rep.grads = make([]*tensor.Dense, len(r.weights))
		if r.pol.FullBatch {
			rep.acc = zerosLike(r.weights)
		}
	}
	var red *reducer
	if r.parts > 1 {
		r.red = newReducer(r.cl, r.weights, len(r.reps))
		copy(r.grads, r.red.sum)
		red = &r.red
	}
	r.prep = newPrepPass(red, r.grads)
	if len(r.reps) > 1 {
		r.pool = newPool(r.reps, r.weights)
	}
	// One replica stepping on fewer than 4 rows: its passes run unsplit
	// (kernels.Hold; measured on 2 cores, a split pays from 4 rows up).
	r.serial = len(r.reps) == 1 && !r.pol.FullBatch && (r.batch+r.parts-1)/r.parts < 4
	return r.broadcastWeights()
}

// adopt gives fresh Params the tensors the first build made in target.
func adopt(p, target *graph.Params) error {
	for _, name := range target.Names() {
		if err := p.Add(name, target.Value(name)); err != nil {
			return errors.Wrap(err, "trainers")
		}
	}
	for _, name := range target.BufferNames() {
		if err := p.AddBuffer(name, target.Buffer(name)); err != nil {
			return errors.Wrap(err, "trainers")
		}
	}
	return nil
}

// layout decides who computes what: the processes and replicas, the
// examples of an epoch, the batch size and the updates per epoch.
func (r *run) layout() error {
	par, pol := r.cfg.Parallel, r.pol
	local := par.Replicas
	if local < 0 {
		return errors.Errorf("trainers: Config.Parallel.Replicas = %d, want ≥ 0", local)
	}
	if local == 0 {
		local = 1
	}
	size := 1
	if cl := par.Cluster; cl != nil {
		size = cl.Size()
		if size < 1 || cl.Rank() < 0 || cl.Rank() >= size {
			return errors.Errorf("trainers: Config.Parallel.Cluster says rank %d of %d", cl.Rank(), size)
		}
		r.cl, r.rank = cl, cl.Rank()
	}
	if n := launchedRanks(); n > 1 && size == 1 {
		return errors.Errorf("trainers: this process was started as one of %d MPI ranks, but the Fit has no Config.Parallel.Cluster: "+
			"build with -tags mpi and pass cluster.Join's job, or every rank would train alone", n)
	}
	r.parts = size * local
	r.reps = make([]*replica, local)
	r.mem, _ = r.train.(*datasets.Dataset)

	if pol.FullBatch {
		// One update per epoch from all examples: parts need not be equal.
		r.epochN = r.train.Len()
		r.steps = 1
	} else {
		r.epochN = servable(r.train, r.parts)
	}
	if r.epochN < 1 {
		return errors.Errorf("trainers: the training set has no examples for %d parts", r.parts)
	}
	r.usable = r.epochN
	size2 := pol.BatchSize
	if size2 == 0 || size2 > r.epochN {
		if pol.DropLast && size2 > r.epochN {
			return errors.Errorf("trainers: %s: batch size %d with DropLast leaves no batch of %d examples", pol.Name, size2, r.epochN)
		}
		size2 = r.epochN
	}
	r.batch = size2
	if pol.FullBatch {
		r.batch = r.epochN // History.BatchSize: examples per update
		return nil
	}
	r.steps = (r.epochN + size2 - 1) / size2
	if pol.DropLast {
		r.steps = r.epochN / size2
		r.epochN = r.steps * size2
	}
	if r.mem != nil {
		if par.Hogwild {
			size2 = r.epochN // one batch: the epoch's order, shared out by the replicas
		}
		it, err := datasets.NewIterator(r.mem, datasets.Batches{
			Size: size2, Shuffle: pol.Shuffle, Seed: rng.Seed(r.cfg.Seed, "shuffle"), DropLast: pol.DropLast,
		})
		if err != nil {
			return errors.Wrap(err, "trainers")
		}
		r.it = it
	}
	return nil
}

// chunk is the number of examples a FullBatch replica differentiates at
// once.
func (r *run) chunk() int {
	if c := r.pol.BatchSize; c > 0 {
		return c
	}
	return r.epochN
}

// checkSetup validates what Fit is given before anything is built.
func checkSetup(cfg Config, pol Policy, m models.Model, p *graph.Params, train datasets.Source) error {
	switch {
	case m == nil:
		return errors.New("trainers: no model")
	case p == nil:
		return errors.New("trainers: no params (make them with graph.NewParams)")
	case train == nil || isNilDataset(train):
		return errors.New("trainers: no training set")
	case cfg.Epochs < 1:
		return errors.Errorf("trainers: Epochs = %d, want ≥ 1", cfg.Epochs)
	case cfg.Loss == nil:
		return errors.New("trainers: Config.Loss is required (e.g. graph.SoftmaxCrossEntropy)")
	case cfg.Optimizer == nil:
		return errors.New("trainers: Config.Optimizer is required (e.g. trainers.SGD{LR: 0.1})")
	case pol.BatchSize < 0:
		return errors.Errorf("trainers: %s: batch size %d, want ≥ 0", pol.Name, pol.BatchSize)
	case pol.FullBatch && pol.DropLast:
		return errors.Errorf("trainers: %s: FullBatch uses every example, DropLast drops some: choose one", pol.Name)
	case train.Dtype() != p.Dtype():
		return errors.Errorf("trainers: training set dtype %v differs from params dtype %v", train.Dtype(), p.Dtype())
	}
	if err := decay.Check("trainers: Config.WeightDecay", cfg.WeightDecay); err != nil {
		return err
	}
	if v := cfg.ClipNorm; !(v >= 0) || math.IsInf(v, 0) {
		return errors.Errorf("trainers: Config.ClipNorm = %v, want a finite value ≥ 0", v)
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

// isNilDataset reports a nil *datasets.Dataset passed as a Source.
func isNilDataset(s datasets.Source) bool {
	d, ok := s.(*datasets.Dataset)
	return ok && d == nil
}

// isDataset reports a training set held in memory.
func isDataset(s datasets.Source) bool {
	_, ok := s.(*datasets.Dataset)
	return ok
}

func (r *run) close() {
	r.pool = nil
	for _, rep := range r.reps {
		if rep == nil {
			continue
		}
		rep.closeStream()
		rep.progs.Close()
	}
	r.metrics.close()
	if r.noise != nil {
		r.noise.progs.Close()
	}
}

func (r *run) fit(ctx context.Context) error {
	r.start = time.Now().Add(-r.resumed)
	for epoch := r.first; epoch < r.cfg.Epochs && r.hist.Stopped == ""; epoch++ {
		r.sched.Epoch = epoch
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
		if r.hist.Stopped != "" { // another process stopped the job
			break
		}
		stop := r.callbacks(Event{Kind: EpochEnd, Epoch: epoch, Step: r.sched.Step, Loss: rec.TrainLoss}, &rec)
		if stop != nil && !isStop(stop) {
			// Every callback still sees the end of the Fit, once.
			r.callbacks(Event{Kind: FitEnd, Epoch: epoch, Step: r.sched.Step}, nil)
			return stop
		}
		stopped, by, err := r.agree(stop != nil || r.red.stopAsked)
		if err != nil {
			return errors.Wrapf(err, "trainers: epoch %d", epoch+1)
		}
		if stopped {
			r.hist.Stopped = fmt.Sprintf("stopped by a callback after epoch %d", epoch+1)
			if by != r.rank {
				r.hist.Stopped += fmt.Sprintf(" on rank %d", by)
			}
		}
		if err := r.flushSaves(epoch); err != nil {
			r.callbacks(Event{Kind: FitEnd, Epoch: epoch, Step: r.sched.Step}, nil)
			return err
		}
		if stopped {
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
	var (
		lossSum float64
		seen    int64
		err     error
	)
	switch {
	case r.pol.FullBatch:
		lossSum, seen, err = r.fullBatch(ctx, epoch)
	case r.cfg.Parallel.Hogwild:
		lossSum, seen, err = r.hogwild(ctx, epoch)
	default:
		lossSum, seen, err = r.stochastic(ctx, epoch)
	}
	if err != nil || r.hist.Stopped != "" {
		return Epoch{}, r.guard.explain(err, r.names, r.sched.Step, r.lr)
	}
	if seen == 0 {
		return Epoch{}, errors.Errorf("trainers: epoch %d had no batch", epoch+1)
	}
	trainLoss := lossSum / float64(seen)
	if r.pol.FullBatch {
		if err := r.step(epoch, trainLoss); err != nil {
			return Epoch{}, err
		}
		if err := r.diagnose(ctx, epoch); err != nil {
			return Epoch{}, err
		}
	}
	if err := r.guard.restore(r.names, r.sched.Step, r.lr); err != nil {
		return Epoch{}, errors.Wrapf(err, "trainers: end of epoch %d", epoch+1)
	}
	if err := r.checkInSync(epoch); err != nil {
		return Epoch{}, err
	}
	r.seconds = time.Since(r.start).Seconds() - r.evalDur.Seconds()
	rec := Epoch{Epoch: epoch, TrainLoss: trainLoss, Updates: r.sched.Step, Examples: r.examples,
		GradEvals: r.gradEvals, LearningRate: r.lr, Seconds: r.seconds}
	monitored, err := r.measure(ctx, epoch, &rec)
	if err != nil {
		return Epoch{}, err
	}
	r.sched.Monitored = append(r.sched.Monitored, monitored)
	r.hist.Epochs = append(r.hist.Epochs, rec)
	return rec, nil
}

// stochastic runs the updates of one epoch of (mini-batch) SGD, returning
// the sum of the batches' losses weighted by their examples, and the
// examples.
func (r *run) stochastic(ctx context.Context, epoch int) (lossSum float64, seen int64, err error) {
	if r.it != nil {
		r.it.SetEpoch(epoch)
	} else if err := r.openStreams(ctx, epoch, true); err != nil {
		return 0, 0, err
	}
	for k := 0; k < r.steps; k++ {
		start := k * r.batch
		n := r.batch
		if start+n > r.epochN {
			n = r.epochN - start
		}
		if r.cl == nil {
			if err := ctx.Err(); err != nil {
				return 0, 0, errors.Wrapf(err, "trainers: epoch %d step %d", epoch+1, r.sched.Step)
			}
		}
		var batch []int
		if r.it != nil {
			if !r.it.Next() {
				return 0, 0, errors.Wrapf(r.it.Err(), "trainers: epoch %d step %d: the data ended early", epoch+1, r.sched.Step)
			}
			batch = r.it.Indices()
		}
		for _, rep := range r.reps {
			rep.start, rep.batch = start, batch
			rep.rows = partRows(start, n, rep.part, r.parts)
		}
		r.each((*replica).gradient)
		if err := r.repErr(epoch); err != nil {
			return 0, 0, err
		}
		loss, stop, err := r.reduceStep(ctx, n)
		if err != nil {
			return 0, 0, errors.Wrapf(err, "trainers: epoch %d step %d", epoch+1, r.sched.Step)
		}
		if stop >= 0 {
			return 0, 0, r.stopAgreed(ctx, stop, epoch)
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return 0, 0, errors.Wrapf(divergence(loss, r.badData()), "trainers: epoch %d step %d", epoch+1, r.sched.Step)
		}
		if err := r.checkGrads(epoch); err != nil {
			return 0, 0, err
		}
		lossSum += loss * float64(n)
		seen += int64(n)
		r.examples += int64(n)
		r.gradEvals += int64(n)
		if err := r.step(epoch, loss); err != nil {
			return 0, 0, err
		}
		if err := r.commitState(); err != nil {
			return 0, 0, errors.Wrapf(err, "trainers: epoch %d step %d", epoch+1, r.sched.Step)
		}
		if err := r.diagnose(ctx, epoch); err != nil {
			return 0, 0, err
		}
	}
	return lossSum, seen, nil
}

// commitState stores the buffers (BatchNorm's running statistics) that
// replica 0's last training run computed, while no replica runs. With one
// replica that is every training run's; with several, part 0's statistics
// stand for the step's (graph.Program.CommitState).
func (r *run) commitState() error {
	if c := r.reps[0].c; c != nil {
		return c.CommitState()
	}
	return nil
}

// fullBatch accumulates the exact mean gradient of one epoch into r.grads:
// every replica differentiates its part in chunks, weighting each chunk's
// mean gradient by its share of the epoch's examples.
func (r *run) fullBatch(ctx context.Context, epoch int) (lossSum float64, seen int64, err error) {
	if r.mem == nil {
		if err := r.openStreams(ctx, epoch, false); err != nil {
			return 0, 0, err
		}
	}
	for _, rep := range r.reps {
		for _, a := range rep.acc {
			zero(a)
		}
		rep.seen, rep.loss = 0, 0
	}
	chunk, total := r.chunk(), r.epochN
	r.each(func(rep *replica) { rep.accumulate(ctx, r, chunk, total) })
	if err := r.repErr(epoch); err != nil {
		return 0, 0, err
	}
	loss, stop, err := r.reduceEpoch(ctx)
	if err != nil {
		return 0, 0, errors.Wrapf(err, "trainers: epoch %d", epoch+1)
	}
	if stop >= 0 {
		return 0, 0, r.stopAgreed(ctx, stop, epoch)
	}
	if err := r.checkGrads(epoch); err != nil {
		return 0, 0, err
	}
	if err := r.commitState(); err != nil { // several replicas: the last chunk of part 0
		return 0, 0, errors.Wrapf(err, "trainers: epoch %d", epoch+1)
	}
	r.examples += int64(total)
	r.gradEvals += int64(total)
	return loss, int64(total), nil
}

// each runs f on every local replica, at once when there are several.
func (r *run) each(f func(*replica)) {
	if r.pool != nil {
		r.pool.each(f)
		return
	}
	f(r.reps[0])
}

// repErr is the first replica error, named with the epoch and step.
func (r *run) repErr(epoch int) error {
	for _, rep := range r.reps {
		if err := rep.err; err != nil {
			rep.err = nil
			return errors.Wrapf(err, "trainers: epoch %d step %d", epoch+1, r.sched.Step)
		}
	}
	return nil
}

// checkGrads makes the update's gradients (with several parts, their sum)
// and checks that they are finite, in one pass.
func (r *run) checkGrads(epoch int) error {
	defer r.unsplit()()
	if r.prep.run() {
		return nil
	}
	for i, g := range r.grads {
		if err := checkFinite(g); err != nil {
			return errors.Errorf("trainers: epoch %d step %d: gradient of %q is not finite: %v", epoch+1, r.sched.Step, r.names[i], err)
		}
	}
	return nil
}

// stopAgreed ends an epoch that some process stopped (a cancelled
// context): the process whose context it was returns its error, the
// others record who stopped them.
func (r *run) stopAgreed(ctx context.Context, by, epoch int) error {
	r.agreed = true
	if err := ctx.Err(); err != nil {
		return errors.Wrapf(err, "trainers: epoch %d step %d", epoch+1, r.sched.Step)
	}
	if r.red.stopAsked && by == r.rank {
		r.hist.Stopped = fmt.Sprintf("stopped by a callback in epoch %d at step %d", epoch+1, r.sched.Step)
		return nil
	}
	r.hist.Stopped = fmt.Sprintf("stopped on rank %d (canceled or by a callback) in epoch %d at step %d", by, epoch+1, r.sched.Step)
	return nil
}

// openStreams opens every local replica's part of epoch's pass.
func (r *run) openStreams(ctx context.Context, epoch int, shuffle bool) error {
	for _, rep := range r.reps {
		rep.closeStream()
		s, err := r.train.Open(ctx, datasets.Pass{Epoch: epoch, Seed: rng.Seed(r.cfg.Seed, "shuffle"),
			Shuffle: shuffle && r.pol.Shuffle, Part: rep.part, Parts: r.parts})
		if err != nil {
			return errors.Wrapf(err, "trainers: epoch %d: opening part %d of %d of the training data", epoch+1, rep.part, r.parts)
		}
		rep.strm = s
	}
	return nil
}

// step turns r.grads into one update.
func (r *run) step(epoch int, loss float64) error {
	regularize(r.cfg, r.weights, r.grads)
	lr, err := r.learningRate(r.sched)
	if err != nil {
		return errors.Wrapf(err, "trainers: epoch %d step %d", epoch+1, r.sched.Step)
	}
	r.guardWeights()
	if err := r.apply(lr, r.grads); err != nil {
		return errors.Wrapf(err, "trainers: epoch %d step %d", epoch+1, r.sched.Step)
	}
	r.sched.Step++
	r.lr = lr
	if r.cfg.RecordSteps {
		r.hist.Steps = append(r.hist.Steps, Step{Epoch: epoch, Step: r.sched.Step, Loss: loss, Examples: r.examples})
	}
	if k := r.cfg.LogEvery; k > 0 && r.sched.Step%k == 0 {
		err := r.callbacks(Event{Kind: StepEnd, Epoch: epoch, Step: r.sched.Step, Loss: loss}, nil)
		if isStop(err) && r.cl != nil && r.cl.Size() > 1 {
			// The other processes cannot know yet: stop when the next reduction (or the
			// epoch's end) has told them, so that every process ends after this step.
			r.red.stopAsked = true
			return nil
		}
		return err
	}
	return nil
}

// regularize adds the weight decay to the gradients and clips their norm,
// as the Config says.
func regularize(cfg Config, weights, grads []*tensor.Dense) {
	if wd := cfg.WeightDecay; wd > 0 {
		for i, g := range grads {
			axpy(wd, weights[i], g)
		}
	}
	if c := cfg.ClipNorm; c > 0 {
		var sq float64
		for _, g := range grads {
			sq += sumSquares(g)
		}
		if norm := math.Sqrt(sq); norm > c {
			for _, g := range grads {
				scaleBy(c/norm, g)
			}
		}
	}
}

// learningRate is the optimizer's base rate times the schedule's factor at
// time t; a panic in either, or a rate that is not a finite value ≥ 0, is
// an error.
func (r *run) learningRate(t Time) (lr float64, err error) {
	defer caught(&err, "learning rate", nil)
	factor := 1.0
	if r.cfg.Schedule != nil {
		factor = r.cfg.Schedule(t)
	}
	base := r.cfg.Optimizer.LearningRate()
	if lr = base * factor; !(lr >= 0) || math.IsInf(lr, 0) {
		return 0, errors.Errorf("learning rate %v (base %v × schedule factor %v) is not a finite value ≥ 0", lr, base, factor)
	}
	return lr, nil
}

// unsplit keeps the passes that follow on this core when the step is too
// small for splitting to pay (r.serial: kernels.Hold); defer its result.
func (r *run) unsplit() (release func()) {
	if !r.serial {
		return func() {}
	}
	kernels.Hold()
	return kernels.Release
}

// guardWeights makes the guard's copy of the weights, right before an
// update (not in checkGrads' pass: see guard).
func (r *run) guardWeights() {
	defer r.unsplit()()
	r.guard.save()
}

// apply runs the optimizer's update; a panic in it is an error. Hogwild's
// replicas call it at once.
func (r *run) apply(lr float64, grads []*tensor.Dense) (err error) {
	defer caught(&err, "update of optimizer", r.cfg.Optimizer)
	defer r.unsplit()()
	return r.update(lr, grads)
}

// callbacks calls every callback with e; the first error wins, but every
// callback sees FitEnd.
func (r *run) callbacks(e Event, rec *Epoch) error {
	e.History, e.Params, e.Rank = r.hist, r.params, r.rank
	e.Examples, e.GradEvals = r.examples, r.gradEvals
	if rec != nil {
		e.Record = *rec
	}
	e.run = r
	var first error
	for i, cb := range r.cfg.Callbacks {
		if cb == nil {
			continue
		}
		e.slot = i
		if err := callSafely(cb, e); err != nil && first == nil {
			first = err
			if e.Kind != FitEnd {
				break
			}
		}
	}
	return first
}

// caught, deferred directly, turns a panic into *err: "<what> [<type of
// of>] panicked: <value>". Fit recovers every panic; the calls of user
// code that it guards say which piece panicked.
func caught(err *error, what string, of interface{}) {
	if p := recover(); p != nil {
		if of != nil {
			what = fmt.Sprintf("%s %T", what, of)
		}
		*err = errors.Errorf("%s panicked: %v", what, p)
	}
}

func callSafely(cb Callback, e Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errors.Errorf("trainers: callback panicked at epoch %d step %d: %v", e.Epoch+1, e.Step, p)
		}
	}()
	return cb(e)
}
