package graph

import (
	"fmt"
	"math"
	"runtime"
	"testing"

	"github.com/descent-go/descent/internal/kernels"
	"github.com/descent-go/descent/internal/testutil"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// machineCases are graphs of every layer and loss, plus the MNIST-shaped MLP
// and softmax regression that bench/ trains.
func machineCases(t *testing.T) []struct {
	name  string
	build func(b *Builder) (*G.Node, error)
} {
	const n, in, hid, k = 5, 4, 6, 3
	mlp := func(a Activation, h head) func(b *Builder) (*G.Node, error) {
		return model(t, tensor.Shape{n, in}, h, dense("d1", hid), act(a), dense("d2", k))
	}
	img := tensor.Shape{2, 2, 6, 6}
	return []struct {
		name  string
		build func(b *Builder) (*G.Node, error)
	}{
		{"Dense+MSE", model(t, tensor.Shape{n, in}, mseHead, dense("d1", hid), dense("d2", k))},
		{"Tanh+MSE", mlp(Tanh, mseHead)},
		{"Sigmoid+BCE", mlp(Sigmoid, bceProbHead)},
		{"ReLU+SCE indices", mlp(ReLU, sceIndexHead)},
		{"LeakyReLU+SCE one-hot", mlp(LeakyReLU(0.1), sceOneHotHead)},
		{"Softmax+MSE", mlp(Softmax, mseHead)},
		{"Dropout", model(t, tensor.Shape{n, in}, mseHead, dense("d1", 8), act(ReLU), dropout("drop", 0.5), dense("d2", k))},
		{"Flatten", model(t, tensor.Shape{n, 2, 2, 3}, mseHead, conv("c", 2, 1, 1, 0), flatten(), dense("d", k))},
		{"Conv2D stride 2 pad 1", model(t, img, mseHead, conv("c", 3, 3, 2, 1), flatten())},
		{"LeNet", model(t, tensor.Shape{2, 1, 8, 8}, sceIndexHead,
			conv("c1", 3, 3, 1, 1), act(ReLU), pool(2, 2), conv("c2", 4, 3, 1, 1), act(ReLU), pool(2, 2),
			flatten(), dense("fc", k))},
		{"L2", withPenalty(mlp(Tanh, mseHead), func(b *Builder) (*G.Node, error) { return L2(b, 0.3) })},
		{"L1", withPenalty(mlp(ReLU, sceIndexHead), func(b *Builder) (*G.Node, error) { return L1(b, 0.1, "d1/w") })},
		{"MLP 784-128-10 batch 32", model(t, tensor.Shape{32, 784}, sceIndexHead, dense("h", 128), act(ReLU), dense("out", 10))},
		{"MLP 784-128-10 batch 1", model(t, tensor.Shape{1, 784}, sceIndexHead, dense("h", 128), act(ReLU), dense("out", 10))},
		{"Softmax regression batch 1", model(t, tensor.Shape{1, 784}, sceIndexHead, dense("out", 10))},
	}
}

// The machine computes what gorgonia's tape machine computes on the same
// graph: bit for bit with the same BLAS, and to float rounding with
// internal/kernels' products.
func TestMachineMatchesTapeMachine(t *testing.T) {
	for _, sameBLAS := range []bool{true, false} {
		for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
			for _, c := range machineCases(t) {
				name := c.name + " " + dt.String()
				restore := func() {}
				if sameBLAS {
					restore = kernels.UseTensorBLAS()
				} else {
					name += " (machine's BLAS)"
				}
				compareWithTape(t, name, dt, c.build, sameBLAS)
				restore()
			}
		}
	}
}

func compareWithTape(t *testing.T, name string, dt tensor.Dtype, build func(b *Builder) (*G.Node, error), exact bool) {
	t.Helper()
	p := NewParams(dt, 3)
	b := NewBuilder(p)
	b.SetTraining(true)
	loss, err := build(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	prog, err := b.Compile(loss, loss)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if prog.m == nil {
		t.Fatalf("%s: runs on the tape machine", name)
	}
	for run := 0; run < 2; run++ { // a second run reuses every buffer
		if err := prog.Run(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	// The dropout masks stay as the program's last run drew them.
	vm := G.NewTapeMachine(b.Graph())
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatalf("%s: tape machine: %v", name, err)
	}
	tol := 0.0
	if !exact {
		tol = 1e-6
		if dt == tensor.Float64 {
			tol = 1e-12
		}
	}
	want, _ := scalarOf(loss.Value())
	if !close(prog.Loss(), want, math.Abs(want), tol) {
		t.Errorf("%s: loss %v, tape machine %v", name, prog.Loss(), want)
	}
	for i := 0; i < prog.NumParams(); i++ {
		got, want := Float64s(prog.Grad(i)), Float64s(asDense(prog.grads[i].Value()))
		if len(got) != len(want) {
			t.Fatalf("%s: gradient of %s has %d values, tape machine %d", name, prog.ParamName(i), len(got), len(want))
		}
		scale := 0.0
		for _, v := range want {
			scale = math.Max(scale, math.Abs(v))
		}
		for j := range got {
			if !close(got[j], want[j], scale, tol) {
				t.Errorf("%s: gradient of %s[%d] = %v, tape machine %v", name, prog.ParamName(i), j, got[j], want[j])
				break
			}
		}
	}
}

// close is bit equality with tol 0, else |a−b| ≤ tol·scale.
func close(a, b, scale, tol float64) bool {
	if tol == 0 {
		return math.Float64bits(a) == math.Float64bits(b)
	}
	return math.Abs(a-b) <= tol*scale
}

// The machine runs only what the loss, outputs and gradients need: not the
// gradient with respect to the input batch that gorgonia.Grad also builds.
func TestMachinePrunesInputGradient(t *testing.T) {
	p := NewParams(tensor.Float32, 1)
	b := NewBuilder(p)
	b.SetTraining(true)
	loss, err := model(t, tensor.Shape{4, 784}, sceIndexHead, dense("h", 16), act(ReLU), dense("out", 10))(b)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := b.Compile(loss)
	if err != nil {
		t.Fatal(err)
	}
	var products int
	for _, s := range prog.m.steps {
		if s.kind == stepMatMul {
			products++
			if sh := s.node.Shape(); sh[1] == 784 && sh[0] == 4 {
				t.Errorf("the machine computes %v %v, the gradient of the input batch", s.node.Op(), sh)
			}
		}
	}
	if products != 5 { // two forward, two weight gradients, one into the hidden layer
		t.Errorf("%d matrix products, want 5", products)
	}
	if n := len(b.Graph().AllNodes()); len(prog.m.steps) >= n {
		t.Errorf("the machine runs %d of the graph's %d nodes", len(prog.m.steps), n)
	}
}

// A training step allocates nothing once the program is compiled and has run.
func TestRunAllocatesNothing(t *testing.T) {
	if testutil.Race {
		t.Skip("the race detector allocates on its own; this test runs in the plain build")
	}
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		for _, c := range []struct {
			n      int
			hidden []int
		}{{1, []int{128}}, {32, []int{128}}, {128, []int{128}}, {1, nil}, {512, []int{128}}} {
			prog := benchProgram(t, dt, c.n, c.hidden...)
			checkNoAllocs(t, fmt.Sprintf("%v batch %d hidden %v", dt, c.n, c.hidden), prog)
		}
		checkNoAllocs(t, fmt.Sprintf("%v LeNet batch 64", dt), benchLeNet(t, dt, 64))
		checkNoAllocs(t, fmt.Sprintf("%v LeNet batch 1", dt), benchLeNet(t, dt, 1))
		checkNoAllocs(t, fmt.Sprintf("%v BatchNorm network batch 64", dt), benchBatchNorm(t, dt, 64))
	}
}

// TestBatchNormSameBitsOnAnyCoreCount runs a BatchNorm network's training
// step on one core and on two, where its passes split by channel: the loss
// and every gradient must be the same bits.
func TestBatchNormSameBitsOnAnyCoreCount(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		var progs [2]*Program
		for i, procs := range []int{1, 2} {
			prev := runtime.GOMAXPROCS(procs)
			progs[i] = benchBatchNorm(t, dt, 64)
			err := progs[i].Run()
			runtime.GOMAXPROCS(prev)
			if err != nil {
				t.Fatal(err)
			}
			defer progs[i].Close()
		}
		one, two := progs[0], progs[1]
		if math.Float64bits(one.Loss()) != math.Float64bits(two.Loss()) {
			t.Errorf("%v: loss %v on one core, %v on two", dt, one.Loss(), two.Loss())
		}
		for k := 0; k < one.NumParams(); k++ {
			if !testutil.SameTensor(one.Grad(k), two.Grad(k)) {
				t.Errorf("%v: gradient of %s differs between one core and two", dt, one.ParamName(k))
			}
		}
	}
}

func checkNoAllocs(t *testing.T, name string, prog *Program) {
	t.Helper()
	defer prog.Close()
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	if a := testing.AllocsPerRun(10, func() {
		if err := prog.Run(); err != nil {
			t.Fatal(err)
		}
	}); a > 0 {
		t.Errorf("%s: %v allocations per run", name, a)
	}
}

// runBN refuses slices of the wrong lengths with an error, before any share
// of the pass runs on a worker (where an index out of range would end the
// process).
func TestBatchNormPassChecksLengths(t *testing.T) {
	f := func(n int) []float32 { return make([]float32, n) }
	const outer, c, inner = 2, 3, 4
	n := outer * c * inner
	for _, tc := range []struct {
		name string
		job  bnJob[float32]
		want string
	}{
		{"short input", bnJob[float32]{pass: bnStatsPass, x: f(n - 1), dst: f(2 * c)}, "input of 23 values"},
		{"stats output", bnJob[float32]{pass: bnStatsPass, x: f(n), dst: f(c)}, "want 24 and 6"},
		{"apply output", bnJob[float32]{pass: bnApplyPass, x: f(n), dst: f(n + 1), mean: f(c), variance: f(c), gamma: f(c), beta: f(c)}, "output of 25"},
		{"short beta", bnJob[float32]{pass: bnApplyPass, x: f(n), dst: f(n), mean: f(c), variance: f(c), gamma: f(c), beta: f(c - 1)}, "per-channel input of 2 values, want 3"},
		{"short variance", bnJob[float32]{pass: bnGradXPass, x: f(n), dst: f(n), mean: f(c), variance: f(1), gamma: f(c), g: f(n)}, "per-channel input of 1 values"},
		{"short gradient", bnJob[float32]{pass: bnGradXPass, x: f(n), dst: f(n), mean: f(c), variance: f(c), gamma: f(c), g: f(n - 2)}, "gradient of 22 values, want 24"},
		{"gamma gradient output", bnJob[float32]{pass: bnGradGammaPass, x: f(n), dst: f(n), mean: f(c), variance: f(c), g: f(n)}, "want 24 and 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.job.outer, tc.job.c, tc.job.inner = outer, c, inner
			testutil.ErrContains(t, runBN(tc.job), tc.want)
		})
	}
}
