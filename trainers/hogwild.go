package trainers

import (
	"context"
	"math"
	"sync/atomic"

	"github.com/pkg/errors"

	"github.com/descent-go/descent/datasets"
)

// Hogwild! (Niu, Recht, Ré and Wright, 2011) puts several cores on online
// SGD, which cannot split its one-example batches: each replica runs online
// SGD on its part of the epoch's examples and updates the shared weights
// in place, with no lock and no reduction. A replica may read weights
// another is writing, so an update can use a gradient computed at slightly
// stale weights: one more source of noise, of the same order as the
// gradient noise when updates are sparse or small. The result depends on
// how the goroutines interleave: a Hogwild Fit is not reproducible bit for
// bit, unlike every other Fit.

// checkHogwild rejects what a lock-free run cannot do.
func checkHogwild(cfg Config, pol Policy, train datasets.Source) error {
	if !cfg.Parallel.Hogwild {
		return nil
	}
	why := ""
	switch {
	case pol.FullBatch || pol.BatchSize != 1:
		why = "it is for online SGD (batches of one example); mini-batches split over Replicas instead"
	case !isDataset(train):
		why = "it needs the training set in memory (*datasets.Dataset)"
	case cfg.Parallel.Cluster != nil:
		why = "it shares one process's memory; across processes use synchronous replicas"
	case cfg.LogEvery > 0, cfg.RecordSteps, cfg.NoiseEvery > 0:
		why = "steps happen on several goroutines at once, so per-step callbacks (LogEvery), RecordSteps and NoiseEvery are not available"
	}
	if why != "" {
		return errors.Errorf("trainers: Config.Parallel.Hogwild: %s", why)
	}
	return nil
}

// hogwild runs one epoch of lock-free asynchronous online SGD. It returns
// the sum of the examples' losses and the number of examples.
func (r *run) hogwild(ctx context.Context, epoch int) (lossSum float64, seen int64, err error) {
	// The iterator's one batch is the epoch's whole order.
	r.it.SetEpoch(epoch)
	if !r.it.Next() {
		return 0, 0, errors.Wrapf(r.it.Err(), "trainers: epoch %d", epoch+1)
	}
	perm := r.it.Indices()
	var step int64 = int64(r.sched.Step)
	var last uint64 // the last update's rate, as float64 bits
	r.each(func(rep *replica) {
		defer rep.recovered()
		rep.loss, rep.seen = 0, 0
		t := r.sched
		for j := rep.part; j < len(perm); j += rep.parts {
			if err := ctx.Err(); err != nil {
				rep.err = err
				return
			}
			c, err := rep.progs.Get(1)
			if err == nil {
				rep.idx = append(rep.idx[:0], perm[j])
				err = rep.mem.Gather(rep.idx, c.X, c.Y)
			}
			if err == nil {
				err = c.Run()
			}
			if err != nil {
				rep.err = err
				return
			}
			rep.c = c
			loss := c.Loss()
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				rep.err = errors.Wrapf(divergence(loss, badBatch(c.X, c.Y, rep.idx)), "example %d", perm[j])
				return
			}
			for i := range rep.grads {
				rep.grads[i] = c.Grad(i)
			}
			regularize(r.cfg, r.weights, rep.grads)
			t.Step = int(atomic.AddInt64(&step, 1)) - 1
			lr, err := r.learningRate(t)
			if err == nil {
				err = r.apply(lr, rep.grads)
			}
			if err != nil {
				rep.err = err
				return
			}
			atomic.StoreUint64(&last, math.Float64bits(lr))
			rep.loss += loss
			rep.seen++
		}
	})
	r.sched.Step = int(step)
	r.lr = math.Float64frombits(last)
	if err := r.repErr(epoch); err != nil {
		return 0, 0, err
	}
	// Buffers are committed once the replicas have stopped: part 0's last.
	if err := r.commitState(); err != nil {
		return 0, 0, errors.Wrapf(err, "trainers: epoch %d", epoch+1)
	}
	for _, rep := range r.reps {
		lossSum += rep.loss
		seen += int64(rep.seen)
	}
	r.examples += seen
	r.gradEvals += seen
	return lossSum, seen, nil
}
