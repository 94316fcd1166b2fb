// Command descent-bench trains the performance cases of bench/README.md end
// to end with descent's trainers on the synthetic MNIST-shaped data set of
// bench/internal/synth, and prints one RESULT line per case: samples per
// second over the steady state (after the first LogEvery updates, so that
// compiling the graphs is not timed) and allocations per update.
//
//	go run ./bench/cmd/descent-bench                 # every case, full size
//	go run ./bench/cmd/descent-bench -quick          # shortened cases
//	go run -tags openblas ./bench/cmd/descent-bench  # OpenBLAS
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/descent-go/descent/bench/internal/synth"
	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/kernels"
	"github.com/descent-go/descent/internal/testutil"
	"github.com/descent-go/descent/models"
	"github.com/descent-go/descent/trainers"
	"gorgonia.org/tensor"
)

type benchCase struct {
	name   string
	model  models.Model
	batch  int // 0: full-batch GD
	n      int // training examples
	epochs int
	dtype  tensor.Dtype // of the parameters and data
	shape  []int        // of one example: 784, or (1, 28, 28) for a CNN
}

func main() {
	dir := flag.String("data", synth.DefaultDir(), "directory of the synthetic data files (written on first use)")
	only := flag.String("cases", "", "comma-separated cases to run (default: all): mlp-b128, mlp-b32, mlp-b1, mlp-gd, softmax-b1, mlp-b128-f64, lenet-b64, bncnn-b64")
	n := flag.Int("n", synth.N, "training examples of the mini-batch cases")
	onlineN := flag.Int("online-n", synth.N, "training examples (= updates per epoch) of the online cases")
	onlineEpochs := flag.Int("online-epochs", 1, "epochs of the online cases (17 epochs of 60,000: over 10^6 updates, to see memory stay flat)")
	gdEpochs := flag.Int("gd-epochs", 3, "epochs (= updates) of full-batch GD; the first is not timed")
	cnnN := flag.Int("cnn-n", 20000, "training examples of the CNN case")
	quick := flag.Bool("quick", false, "shortened cases: -n 20000 -online-n 10000 -gd-epochs 2 -cnn-n 6400")
	chunk := flag.Int("gd-chunk", 0, "examples per gradient chunk in GD (0: descent's default)")
	lr := flag.Float64("lr", 0.01, "SGD learning rate")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the cases to this file")
	flag.Parse()
	if *quick {
		*n, *onlineN, *gdEpochs, *cnnN = 20000, 10000, 2, 6400
	}
	mlp := models.MLP{Hidden: []int{128}, Outputs: 10}
	f32, f64, flat, image := graph.Float32, graph.Float64, []int{synth.Features}, []int{1, 28, 28}
	cases := []benchCase{
		{"mlp-b128", mlp, 128, *n, 1, f32, flat},
		{"mlp-b32", mlp, 32, *n, 1, f32, flat},
		{"mlp-b1", mlp, 1, *onlineN, *onlineEpochs, f32, flat},
		{"mlp-gd", mlp, 0, *n, *gdEpochs, f32, flat},
		{"softmax-b1", models.Softmax{Classes: 10}, 1, *onlineN, *onlineEpochs, f32, flat},
		{"mlp-b128-f64", mlp, 128, *n, 1, f64, flat},
		{"lenet-b64", models.LeNet{Classes: 10}, 64, *cnnN, 1, f32, image},
		{"bncnn-b64", models.ConvNet{Classes: 10}, 64, *cnnN, 1, f32, image},
	}
	picked, sizes := synth.Pick(*only), map[string]int{}
	for _, c := range cases {
		sizes[c.name] = c.n
	}
	x, y, err := synth.LoadPicked(*dir, picked, sizes)
	if err != nil {
		fail(err)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fail(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fail(err)
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	for _, c := range cases {
		if !picked(c.name) {
			continue
		}
		if err := run(c, x, y, *chunk, *lr); err != nil {
			pprof.StopCPUProfile()
			fail(fmt.Errorf("%s: %w", c.name, err))
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "descent-bench:", err)
	os.Exit(1)
}

func run(c benchCase, x []float32, y []byte, chunk int, lr float64) error {
	xs := x[:c.n*synth.Features]
	ys := make([]float32, c.n)
	for i := range ys {
		ys[i] = float32(y[i])
	}
	ds, err := datasets.New(graph.NewTensor(c.dtype, append([]int{c.n}, c.shape...)...), graph.NewTensor(c.dtype, c.n))
	if err != nil {
		return err
	}
	if c.dtype == graph.Float64 {
		for i, v := range xs {
			ds.X().Float64s()[i] = float64(v)
		}
		for i, v := range ys {
			ds.Y().Float64s()[i] = float64(v)
		}
	} else {
		copy(ds.X().Float32s(), xs)
		copy(ds.Y().Float32s(), ys)
	}

	warm := 20 // updates before timing starts (compiling, first touches)
	if c.batch == 0 {
		warm = 1
	}
	var (
		t0, t1     time.Time
		cpu0, cpu1 time.Duration
		m0, m1     runtime.MemStats
		step0      int
		steps      int
		examples0  int64
		loss       float64
	)
	cfg := trainers.Config{
		Epochs: c.epochs, Loss: graph.SoftmaxCrossEntropy, Optimizer: trainers.SGD{LR: lr}, Seed: 1, LogEvery: warm,
		Callbacks: []trainers.Callback{func(e trainers.Event) error {
			switch {
			case e.Kind == trainers.StepEnd && t0.IsZero():
				step0 = e.Step
				examples0 = int64(e.Step) * int64(c.batch)
				if c.batch == 0 {
					examples0 = int64(c.n)
				}
				runtime.ReadMemStats(&m0)
				cpu0 = testutil.ProcessCPU()
				t0 = time.Now()
			case e.Kind == trainers.FitEnd:
				t1 = time.Now()
				cpu1 = testutil.ProcessCPU()
				runtime.ReadMemStats(&m1)
				steps = e.Step - step0
				if h := e.History; h != nil && len(h.Epochs) > 0 {
					loss = h.Epochs[len(h.Epochs)-1].TrainLoss
				}
			}
			return nil
		}},
	}
	var t trainers.Trainer
	switch c.batch {
	case 0:
		t = trainers.GD{Config: cfg, Chunk: chunk}
	case 1:
		t = trainers.OnlineSGD{Config: cfg}
	default:
		t = trainers.MiniBatchSGD{Config: cfg, BatchSize: c.batch}
	}
	hist, err := t.Fit(context.Background(), c.model, graph.NewParams(c.dtype, 1), ds)
	if err != nil {
		return err
	}
	if steps <= 0 || t0.IsZero() {
		return fmt.Errorf("too few updates to time (%d); use more examples or epochs", steps)
	}
	examples := hist.Epochs[len(hist.Epochs)-1].Examples - examples0
	wall := t1.Sub(t0).Seconds()
	implSuffix := ""
	if kernels.OpenBLAS {
		implSuffix = "-openblas"
	}
	fmt.Printf("RESULT impl=descent%s case=%s samples_per_sec=%.1f allocs_per_step=%.2f bytes_per_step=%.0f steps=%d examples=%d seconds=%.3f cpu_util=%.2f heap_mb=%.1f..%.1f loss=%.4f blas=%q\n",
		implSuffix, c.name, float64(examples)/wall,
		float64(m1.Mallocs-m0.Mallocs)/float64(steps), float64(m1.TotalAlloc-m0.TotalAlloc)/float64(steps),
		steps, examples, wall, (cpu1-cpu0).Seconds()/wall, float64(m0.HeapAlloc)/1e6, float64(m1.HeapAlloc)/1e6, loss, kernels.BLAS)
	return nil
}
