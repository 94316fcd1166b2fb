// Command gorgonia-bench is the "plain gorgonia" baseline of bench/: the
// cases descent-bench trains, written as gorgonia v0.9.18's own examples
// (examples/convnet, examples/mnist) train — one graph per batch size,
// gorgonia.Grad, a TapeMachine with BindDualValues, Let of a slice of the
// data, RunAll, a VanillaSolver step, Reset — on the same synthetic data. It
// imports nothing from descent but the data file reader, so gorgonia runs
// with its default BLAS (gonum's pure Go) unless built with -tags openblas.
// Like gorgonia's examples, it goes through the data in order and drops the
// partial last batch.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/bench/internal/synth"
	"github.com/descent-go/descent/internal/kernels"
	"github.com/descent-go/descent/internal/testutil"
)

type benchCase struct {
	name   string
	hidden int // 0: softmax regression
	batch  int // 0: full batch
	n      int
	epochs int
}

func main() {
	dir := flag.String("data", synth.DefaultDir(), "directory of the synthetic data files (written on first use)")
	only := flag.String("cases", "", "comma-separated cases to run (default: all): mlp-b128, mlp-b32, mlp-b1, mlp-gd, softmax-b1")
	n := flag.Int("n", synth.N, "training examples of the mini-batch cases")
	onlineN := flag.Int("online-n", synth.N, "training examples (= updates) of the online cases")
	gdEpochs := flag.Int("gd-epochs", 3, "epochs (= updates) of full-batch GD; the first is not timed")
	quick := flag.Bool("quick", false, "shortened cases: -n 20000 -online-n 10000 -gd-epochs 2")
	lr := flag.Float64("lr", 0.01, "learning rate")
	flag.Parse()
	if *quick {
		*n, *onlineN, *gdEpochs = 20000, 10000, 2
	}
	cases := []benchCase{
		{"mlp-b128", 128, 128, *n, 1},
		{"mlp-b32", 128, 32, *n, 1},
		{"mlp-b1", 128, 1, *onlineN, 1},
		{"mlp-gd", 128, 0, *n, *gdEpochs},
		{"softmax-b1", 0, 1, *onlineN, 1},
	}
	picked, sizes := synth.Pick(*only), map[string]int{}
	for _, c := range cases {
		sizes[c.name] = c.n
	}
	x, y, err := synth.LoadPicked(*dir, picked, sizes)
	if err != nil {
		fail(err)
	}
	for _, c := range cases {
		if !picked(c.name) {
			continue
		}
		if err := run(c, x, y, *lr); err != nil {
			fail(fmt.Errorf("%s: %w", c.name, err))
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gorgonia-bench:", err)
	os.Exit(1)
}

func run(c benchCase, xs []float32, ys []byte, lr float64) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	bs := c.batch
	if bs == 0 {
		bs = c.n
	}
	inputs := tensor.New(tensor.WithShape(c.n, synth.Features), tensor.WithBacking(append([]float32(nil), xs[:c.n*synth.Features]...)))
	oneHot := make([]float32, c.n*synth.Classes)
	for i := 0; i < c.n; i++ {
		oneHot[i*synth.Classes+int(ys[i])] = 1
	}
	targets := tensor.New(tensor.WithShape(c.n, synth.Classes), tensor.WithBacking(oneHot))

	g := G.NewGraph()
	x := G.NewMatrix(g, tensor.Float32, G.WithShape(bs, synth.Features), G.WithName("x"))
	y := G.NewMatrix(g, tensor.Float32, G.WithShape(bs, synth.Classes), G.WithName("y"))
	var learnables G.Nodes
	dense := func(in *G.Node, units int, name string) *G.Node {
		w := G.NewMatrix(g, tensor.Float32, G.WithShape(in.Shape()[1], units), G.WithName(name+"_w"), G.WithInit(G.GlorotU(1)))
		b := G.NewMatrix(g, tensor.Float32, G.WithShape(1, units), G.WithName(name+"_b"), G.WithInit(G.Zeroes()))
		learnables = append(learnables, w, b)
		return G.Must(G.BroadcastAdd(G.Must(G.Mul(in, w)), b, nil, []byte{0}))
	}
	h := x
	if c.hidden > 0 {
		h = G.Must(G.Rectify(dense(x, c.hidden, "hidden")))
	}
	out := dense(h, synth.Classes, "out")
	// Cross-entropy of the softmax, as gorgonia's examples write it.
	logp := G.Must(G.Log(G.Must(G.SoftMax(out))))
	cost := G.Must(G.Neg(G.Must(G.Mean(G.Must(G.Sum(G.Must(G.HadamardProd(logp, y)), 1))))))
	var costVal G.Value
	G.Read(cost, &costVal)
	if _, err := G.Grad(cost, learnables...); err != nil {
		return err
	}
	vm := G.NewTapeMachine(g, G.BindDualValues(learnables...))
	defer vm.Close()
	solver := G.NewVanillaSolver(G.WithLearnRate(lr))

	batches := c.n / bs
	warm := 20
	if c.batch == 0 {
		warm = 1
	}
	var (
		t0         time.Time
		cpu0       time.Duration
		m0, m1     runtime.MemStats
		steps, tot int
	)
	for epoch := 0; epoch < c.epochs; epoch++ {
		for b := 0; b < batches; b++ {
			if tot == warm {
				runtime.ReadMemStats(&m0)
				cpu0 = testutil.ProcessCPU()
				t0 = time.Now()
			}
			start := b * bs
			var xVal, yVal tensor.Tensor
			if bs == 1 {
				// Slicing one row drops the batch dimension: wrap the row.
				xVal = tensor.New(tensor.WithShape(1, synth.Features), tensor.WithBacking(inputs.Float32s()[start*synth.Features:(start+1)*synth.Features]))
				yVal = tensor.New(tensor.WithShape(1, synth.Classes), tensor.WithBacking(oneHot[start*synth.Classes:(start+1)*synth.Classes]))
			} else {
				if xVal, err = inputs.Slice(G.S(start, start+bs)); err != nil {
					return err
				}
				if yVal, err = targets.Slice(G.S(start, start+bs)); err != nil {
					return err
				}
			}
			if err := G.Let(x, xVal); err != nil {
				return err
			}
			if err := G.Let(y, yVal); err != nil {
				return err
			}
			if err := vm.RunAll(); err != nil {
				return err
			}
			if err := solver.Step(G.NodesToValueGrads(learnables)); err != nil {
				return err
			}
			vm.Reset()
			tot++
			if tot > warm {
				steps++
			}
		}
	}
	wall := time.Since(t0).Seconds()
	cpu := testutil.ProcessCPU() - cpu0
	runtime.ReadMemStats(&m1)
	if steps == 0 {
		return fmt.Errorf("too few updates to time")
	}
	examples := steps * bs
	implSuffix := "" // the build fact is kernels.OpenBLAS; blas_openblas.go routes gorgonia to it
	if kernels.OpenBLAS {
		implSuffix = "-openblas"
	}
	fmt.Printf("RESULT impl=gorgonia%s case=%s samples_per_sec=%.1f allocs_per_step=%.2f bytes_per_step=%.0f steps=%d examples=%d seconds=%.3f cpu_util=%.2f loss=%v\n",
		implSuffix, c.name, float64(examples)/wall,
		float64(m1.Mallocs-m0.Mallocs)/float64(steps), float64(m1.TotalAlloc-m0.TotalAlloc)/float64(steps),
		steps, examples, wall, cpu.Seconds()/wall, costVal)
	return nil
}
