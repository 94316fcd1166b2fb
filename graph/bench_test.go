package graph

import (
	"math/rand"
	"strconv"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/testutil"
)

// The benchmarks time one Program.Run — forward and backward — of the
// training graphs bench/ trains end to end: an MLP 784-128-10 (ReLU,
// softmax cross-entropy) and softmax regression 784-10, in float32, on
// MNIST-shaped random inputs. allocs/op is what one training step's graph
// run allocates; a regression shows there first.

// benchProgram compiles a training graph of batch n: MLP with hidden units
// (none: softmax regression), inputs filled with seeded random values.
func benchProgram(tb testing.TB, dt tensor.Dtype, n int, hidden ...int) *Program {
	tb.Helper()
	p := NewParams(dt, 1)
	b := NewBuilder(p)
	b.SetTraining(true)
	r := rand.New(rand.NewSource(1))
	x := fillBench(tb, b, "x", tensor.Shape{n, 784}, func(int) float64 { return r.Float64() })
	y := fillBench(tb, b, "y", tensor.Shape{n}, func(int) float64 { return float64(r.Intn(10)) })
	h := x
	var err error
	for i, units := range hidden {
		name := "hidden" + strconv.Itoa(i+1)
		if h, err = Dense(b, name, h, units, HeNormal); err != nil {
			tb.Fatal(err)
		}
		if h, err = ReLU(h); err != nil {
			tb.Fatal(err)
		}
	}
	out, err := Dense(b, "out", h, 10, nil)
	if err != nil {
		tb.Fatal(err)
	}
	loss, err := SoftmaxCrossEntropy(b, out, y)
	if err != nil {
		tb.Fatal(err)
	}
	prog, err := b.Compile(loss, out)
	if err != nil {
		tb.Fatal(err)
	}
	return prog
}

func fillBench(tb testing.TB, b *Builder, name string, shape tensor.Shape, f func(int) float64) *G.Node {
	tb.Helper()
	n, err := b.Input(name, shape)
	if err != nil {
		tb.Fatal(err)
	}
	vals := make([]float64, shape.TotalSize())
	for i := range vals {
		vals[i] = f(i)
	}
	setFloat64s(b.InputTensor(name), vals)
	return n
}

// benchLeNet compiles LeNet-5's training graph (models.LeNet's layers:
// conv 6@5×5 pad 2, ReLU, max-pool 2, conv 16@5×5, ReLU, max-pool 2, Dense
// 120, 84, 10) for a batch of n MNIST-shaped images.
func benchLeNet(tb testing.TB, dt tensor.Dtype, n int) *Program {
	return benchImages(tb, dt, n, func(b *Builder) []func(*G.Node) (*G.Node, error) {
		return []func(*G.Node) (*G.Node, error){
			func(x *G.Node) (*G.Node, error) { return Conv2D(b, "conv1", x, 6, 5, 1, 2, nil) }, ReLU,
			func(x *G.Node) (*G.Node, error) { return MaxPool2D(x, 2, 2) },
			func(x *G.Node) (*G.Node, error) { return Conv2D(b, "conv2", x, 16, 5, 1, 0, nil) }, ReLU,
			func(x *G.Node) (*G.Node, error) { return MaxPool2D(x, 2, 2) }, Flatten,
			func(x *G.Node) (*G.Node, error) { return Dense(b, "fc1", x, 120, HeNormal) }, ReLU,
			func(x *G.Node) (*G.Node, error) { return Dense(b, "fc2", x, 84, HeNormal) }, ReLU,
			func(x *G.Node) (*G.Node, error) { return Dense(b, "out", x, 10, nil) },
		}
	})
}

// benchBatchNorm is a training program of a convolution and a dense layer,
// each followed by BatchNorm (models.ConvNet's pattern), on n random 28×28
// images.
func benchBatchNorm(tb testing.TB, dt tensor.Dtype, n int) *Program {
	return benchImages(tb, dt, n, func(b *Builder) []func(*G.Node) (*G.Node, error) {
		return []func(*G.Node) (*G.Node, error){
			func(x *G.Node) (*G.Node, error) { return Conv2D(b, "conv1", x, 16, 3, 1, 1, nil) },
			func(x *G.Node) (*G.Node, error) { return BatchNorm(b, "conv1/bn", x) }, ReLU,
			func(x *G.Node) (*G.Node, error) { return MaxPool2D(x, 2, 2) }, Flatten,
			func(x *G.Node) (*G.Node, error) { return Dense(b, "fc1", x, 128, HeNormal) },
			func(x *G.Node) (*G.Node, error) { return BatchNorm(b, "fc1/bn", x) }, ReLU,
			func(x *G.Node) (*G.Node, error) { return Dense(b, "out", x, 10, nil) },
		}
	})
}

// benchImages is a training program of the stages made by build, on n
// random 1×28×28 images of 10 classes, with the softmax cross-entropy loss.
func benchImages(tb testing.TB, dt tensor.Dtype, n int, build func(*Builder) []func(*G.Node) (*G.Node, error)) *Program {
	tb.Helper()
	b := NewBuilder(NewParams(dt, 1))
	b.SetTraining(true)
	r := rand.New(rand.NewSource(1))
	h := fillBench(tb, b, "x", tensor.Shape{n, 1, 28, 28}, func(int) float64 { return r.Float64() })
	y := fillBench(tb, b, "y", tensor.Shape{n}, func(int) float64 { return float64(r.Intn(10)) })
	stages := build(b)
	var err error
	for _, f := range stages {
		if h, err = f(h); err != nil {
			tb.Fatal(err)
		}
	}
	loss, err := SoftmaxCrossEntropy(b, h, y)
	if err != nil {
		tb.Fatal(err)
	}
	prog, err := b.Compile(loss, h)
	if err != nil {
		tb.Fatal(err)
	}
	return prog
}

func benchRun(b *testing.B, n int, hidden ...int) {
	benchProg(b, benchProgram(b, tensor.Float32, n, hidden...), n)
}

func benchProg(b *testing.B, prog *Program, n int) {
	defer prog.Close()
	if err := prog.Run(); err != nil { // warm up
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := testutil.ProcessCPU()
	for i := 0; i < b.N; i++ {
		if err := prog.Run(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "samples/s")
	// The CPU time of all threads per run: on a loaded machine wall time
	// says more about the other processes than about this one.
	if cpu := testutil.ProcessCPU() - cpu; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

func BenchmarkRunMLPBatch1(b *testing.B)   { benchRun(b, 1, 128) }
func BenchmarkRunMLPBatch32(b *testing.B)  { benchRun(b, 32, 128) }
func BenchmarkRunMLPBatch128(b *testing.B) { benchRun(b, 128, 128) }

// BenchmarkRunMLPChunk1000 is one chunk of full-batch GD's accumulation.
func BenchmarkRunMLPChunk1000(b *testing.B) { benchRun(b, 1000, 128) }

func BenchmarkRunSoftmaxBatch1(b *testing.B) { benchRun(b, 1) }

func BenchmarkRunMLPBatch128Float64(b *testing.B) {
	benchProg(b, benchProgram(b, tensor.Float64, 128, 128), 128)
}

func BenchmarkRunLeNetBatch64(b *testing.B) { benchProg(b, benchLeNet(b, tensor.Float32, 64), 64) }

// BenchmarkRunLeNetBatch64Gorgonia is LeNet on gorgonia's own Conv2d and
// MaxPool2D ops, for comparison.
func BenchmarkRunLeNetBatch64Gorgonia(b *testing.B) {
	gorgoniaConv = true
	prog := benchLeNet(b, tensor.Float32, 64)
	gorgoniaConv = false
	benchProg(b, prog, 64)
}
