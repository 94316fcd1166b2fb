package trainers

import (
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/testutil"
)

// bnReg is Dense → BatchNorm → Dense: a regression model with buffers, and
// a buffer "runs" that every training run increments: it counts commits.
type bnReg struct{}

func (bnReg) Forward(b *graph.Builder, x *G.Node) (*G.Node, error) {
	runs, err := b.Buffer("runs", tensor.Shape{1}, graph.Zeros)
	if err != nil {
		return nil, err
	}
	if b.Training() {
		next, err := G.Add(runs, G.NewConstant(1.0))
		if err != nil {
			return nil, err
		}
		if err := b.UpdateBuffer("runs", next); err != nil {
			return nil, err
		}
	}
	h, err := graph.Dense(b, "fc", x, 4, nil)
	if err != nil {
		return nil, err
	}
	if h, err = graph.BatchNorm(b, "bn", h); err != nil {
		return nil, err
	}
	return graph.Dense(b, "out", h, 1, nil)
}

// runningStats are the values of every buffer, in order.
func runningStats(p *graph.Params) [][]float64 {
	var out [][]float64
	for _, name := range p.BufferNames() {
		out = append(out, p.CopyFloat64s(name))
	}
	return out
}

// The trainers adopt a model's buffers into fresh Params and commit the
// running statistics after every training run: once per step for
// mini-batches, once per chunk for GD (with several replicas, replica 0's,
// once per step or GD epoch); the gradient-noise passes, which run training
// graphs of their own, commit nothing.
func TestTrainersCommitBuffers(t *testing.T) {
	lr := newLinReg(t, 64, 3, 0.1, 5, tensor.Float64)
	for _, c := range []struct {
		name    string
		trainer func(c Config) Trainer
		commits int // training runs: steps, or chunks for GD
	}{
		{"MiniBatchSGD", func(c Config) Trainer { return MiniBatchSGD{BatchSize: 16, Config: c} }, 2 * 4},
		{"GD in chunks", func(c Config) Trainer { return GD{Chunk: 16, Config: c} }, 2 * 4},
		{"GD whole", func(c Config) Trainer { return GD{Config: c} }, 2},
		// Two replicas: replica 0's statistics after every step, and once
		// per epoch for GD (committed while no replica runs).
		{"MiniBatchSGD, 2 replicas", func(c Config) Trainer {
			c.Parallel = Parallel{Replicas: 2}
			return MiniBatchSGD{BatchSize: 16, Config: c}
		}, 2 * 4},
		{"GD in chunks, 2 replicas", func(c Config) Trainer {
			c.Parallel = Parallel{Replicas: 2}
			return GD{Chunk: 8, Config: c}
		}, 2},
	} {
		var runs [2][][]float64
		for k, noise := range []int{0, 1} {
			p := graph.NewParams(tensor.Float64, 1)
			conf := cfg(2, SGD{LR: 0.01})
			conf.NoiseEvery = noise
			if _, err := c.trainer(conf).Fit(bg, bnReg{}, p, lr.ds); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if p.NumBuffers() != 3 || p.Len() != 6 {
				t.Fatalf("%s: %d parameters and buffers %q; want 6, and runs and bn's running mean and var", c.name, p.Len(), p.BufferNames())
			}
			if got := p.CopyFloat64s("runs")[0]; got != float64(c.commits) {
				t.Errorf("%s (noise every %d): %v commits, want %d", c.name, noise, got, c.commits)
			}
			runs[k] = runningStats(p)
		}
		mean, variance := runs[0][1], runs[0][2]
		if mean[0] == 0 || variance[0] == 1 {
			t.Errorf("%s: running stats %v %v not updated", c.name, mean, variance)
		}
		for i := range runs[0] {
			if !testutil.SameBits(runs[0][i], runs[1][i]) {
				t.Fatalf("%s: the gradient-noise passes changed the running statistics", c.name)
			}
		}
	}
}
