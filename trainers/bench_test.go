package trainers

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/models"
)

// The benchmarks time the steady state of the loop — one update (or one GD
// epoch) per op, after the graphs are compiled — on synthetic MNIST-shaped
// data (784 features in [0, 1), 10 classes) with an MLP 784-128-10 in
// float32. allocs/op is what one step allocates: gathering, the tape
// machine's run, the optimizer and the loop's bookkeeping.

func mnistLike(b *testing.B, n int) *datasets.Dataset {
	b.Helper()
	r := rand.New(rand.NewSource(1))
	x, y := make([]float64, n*784), make([]float64, n)
	for i := range x {
		x[i] = r.Float64()
	}
	for i := range y {
		y[i] = float64(r.Intn(10))
	}
	ds, err := datasets.FromFloat64(x, []int{n, 784}, y, []int{n}, tensor.Float32)
	if err != nil {
		b.Fatal(err)
	}
	return ds
}

// benchSteps runs b.N updates of policy pol after one warm-up update and
// reports examples per second. n is a multiple of the batch size, so every
// update sees perStep examples.
func benchSteps(b *testing.B, n int, pol Policy, opt Optimizer, perStep int) {
	benchParallel(b, n, pol, opt, perStep, Parallel{})
}

// benchParallel is benchSteps with the batches split as par says.
func benchParallel(b *testing.B, n int, pol Policy, opt Optimizer, perStep int, par Parallel) {
	ds := mnistLike(b, n)
	perEpoch := n / pol.BatchSize
	if pol.FullBatch {
		perEpoch = 1
	}
	var start time.Time
	c := Config{Epochs: (b.N+1)/perEpoch + 2, Loss: graph.SoftmaxCrossEntropy, Optimizer: opt, Seed: 1, LogEvery: 1, Parallel: par}
	c.Callbacks = []Callback{func(e Event) error {
		if e.Kind != StepEnd {
			return nil
		}
		switch e.Step {
		case 1: // compiled and warmed up: start timing
			start = time.Now()
			b.ResetTimer()
		case b.N + 1:
			b.StopTimer()
			b.ReportMetric(float64(b.N*perStep)/time.Since(start).Seconds(), "samples/s")
			return ErrStop
		}
		return nil
	}}
	b.ReportAllocs()
	if _, err := (Loop{Policy: pol, Config: c}).Fit(bg, models.MLP{Hidden: []int{128}, Outputs: 10}, graph.NewParams(tensor.Float32, 1), ds); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkMiniBatchStep(b *testing.B) {
	benchSteps(b, 2048, Policy{Name: "MiniBatchSGD(B=64)", BatchSize: 64, Shuffle: true}, SGD{LR: 0.01, Momentum: 0.9}, 64)
}

func BenchmarkOnlineStep(b *testing.B) {
	benchSteps(b, 2048, Policy{Name: "OnlineSGD", BatchSize: 1, Shuffle: true}, SGD{LR: 0.01}, 1)
}

// BenchmarkGDEpoch is one GD update: a full pass over 1024 examples in
// chunks of 256.
func BenchmarkGDEpoch(b *testing.B) {
	benchSteps(b, 1024, Policy{Name: "GD", BatchSize: 256, FullBatch: true}, SGD{LR: 0.1}, 1024)
}

// BenchmarkReplicas is a step of the MLP at batch 128 and 32 on one and two
// in-process replicas: run it with -cpu 1,2 to compare with one core.
func BenchmarkReplicas(b *testing.B) {
	for _, batch := range []int{128, 32} {
		for _, reps := range []int{1, 2} {
			b.Run(fmt.Sprintf("B=%d/replicas=%d", batch, reps), func(b *testing.B) {
				benchParallel(b, 4096, Policy{Name: "MiniBatchSGD", BatchSize: batch, Shuffle: true}, SGD{LR: 0.01, Momentum: 0.9}, batch, Parallel{Replicas: reps})
			})
		}
	}
}

// BenchmarkReplicasControls takes apart what two replicas at batch 32 cost
// beyond their share of the work (docs/scaling.md, "Measured"): on one core,
// B=16/replicas=1 is one replica's share; frozen steps with an optimizer
// that leaves the weights as they are, so that no updated weight crosses
// from one core's cache to the other's (compare frozen replicas=2 on 2
// cores with frozen replicas=1 on 1 core).
func BenchmarkReplicasControls(b *testing.B) {
	pol := func(batch int) Policy { return Policy{Name: "MiniBatchSGD", BatchSize: batch, Shuffle: true} }
	b.Run("B=16/replicas=1", func(b *testing.B) {
		benchParallel(b, 4096, pol(16), SGD{LR: 0.01, Momentum: 0.9}, 16, Parallel{Replicas: 1})
	})
	for _, reps := range []int{1, 2} {
		b.Run(fmt.Sprintf("frozen/B=32/replicas=%d", reps), func(b *testing.B) {
			benchParallel(b, 4096, pol(32), frozen{}, 32, Parallel{Replicas: reps})
		})
	}
}

// frozen is an Optimizer whose updates leave the weights as they are.
type frozen struct{}

func (frozen) LearningRate() float64 { return 0.01 }

func (frozen) Start([]*tensor.Dense) (Update, error) {
	return func(float64, []*tensor.Dense) error { return nil }, nil
}

// BenchmarkHogwild is an epoch of online SGD on the MLP, serial and
// Hogwild on two replicas: compare updates/s with -cpu 2.
func BenchmarkHogwild(b *testing.B) {
	ds := mnistLike(b, 2048)
	for _, par := range []Parallel{{}, {Replicas: 2, Hogwild: true}} {
		b.Run(fmt.Sprintf("replicas=%d/hogwild=%v", par.Replicas, par.Hogwild), func(b *testing.B) {
			c := Config{Epochs: b.N, Loss: graph.SoftmaxCrossEntropy, Optimizer: SGD{LR: 0.01}, Seed: 1, Parallel: par}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			if _, err := (OnlineSGD{Config: c}).Fit(bg, models.MLP{Hidden: []int{128}, Outputs: 10}, graph.NewParams(tensor.Float32, 1), ds); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N*ds.Len())/time.Since(start).Seconds(), "updates/s")
		})
	}
}
