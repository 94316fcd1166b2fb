package graph

import (
	"fmt"
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/testutil"
)

// dropoutProgram builds ones of the given shape through Dropout(p) and
// compiles it with the output as output 0.
func dropoutProgram(t *testing.T, params *Params, training bool, seed int64, shape tensor.Shape, p float64) (*Program, *G.Node, *G.Node) {
	t.Helper()
	b := NewBuilder(params)
	b.SetTraining(training)
	if seed != 0 {
		b.SetSeed(seed)
	}
	x := fillInput(t, b, "x", shape, func(int) float64 { return 1 })
	y, err := Dropout(b, "drop", x, p)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := b.Compile(nil, y)
	if err != nil {
		t.Fatal(err)
	}
	return prog, x, y
}

func TestDropoutEvaluationIsIdentity(t *testing.T) {
	prog, x, y := dropoutProgram(t, NewParams(tensor.Float64, 1), false, 0, tensor.Shape{4, 5}, 0.5)
	if x != y {
		t.Errorf("evaluation Dropout made a new node %v", y)
	}
	run(t, prog)
	for i, v := range Float64s(prog.Output(0)) {
		if v != 1 {
			t.Fatalf("evaluation Dropout output[%d] = %v, want 1", i, v)
		}
	}
	// p = 0 is the identity in training too.
	_, x, y = dropoutProgram(t, NewParams(tensor.Float64, 1), true, 0, tensor.Shape{4, 5}, 0)
	if x != y {
		t.Errorf("Dropout(0) in training made a new node %v", y)
	}
}

func TestDropoutTraining(t *testing.T) {
	shape := tensor.Shape{100, 100}
	n := float64(shape.TotalSize())
	for _, p := range []float64{0.1, 0.5, 0.8} {
		for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
			params := NewParams(dt, 1)
			b := NewBuilder(params)
			b.SetTraining(true)
			x, err := b.Input("x", shape)
			if err != nil {
				t.Fatal(err)
			}
			setFloat64s(b.InputTensor("x"), ones(shape.TotalSize()))
			y, err := Dropout(b, "drop", x, p)
			if err != nil {
				t.Fatal(err)
			}
			prog, err := b.Compile(nil, y)
			if err != nil {
				t.Fatal(err)
			}
			var prev []float64
			for step := 0; step < 2; step++ {
				run(t, prog)
				out := Float64s(prog.Output(0))
				zeros := 0
				for i, v := range out {
					switch {
					case v == 0:
						zeros++
					case math.Abs(v-1/(1-p)) > 1e-6/(1-p):
						t.Fatalf("p=%v %v: survivor %d is %v, want 1/(1−p) = %v", p, dt, i, v, 1/(1-p))
					}
				}
				// Binomial(n, p) zeros: within 5 standard deviations.
				if sd := math.Sqrt(n * p * (1 - p)); math.Abs(float64(zeros)-n*p) > 5*sd {
					t.Errorf("p=%v %v: %d of %v zeroed, want %v ± %.0f", p, dt, zeros, n, n*p, 5*sd)
				}
				if prev != nil && testutil.SameBits(prev, out) {
					t.Errorf("p=%v %v: the second run reused the first run's mask", p, dt)
				}
				prev = out
			}
		}
	}
}

func ones(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = 1
	}
	return v
}

func TestDropoutSeeds(t *testing.T) {
	shape := tensor.Shape{8, 16}
	masks := func(paramsSeed, builderSeed int64) [][]float64 {
		prog, _, _ := dropoutProgram(t, NewParams(tensor.Float64, paramsSeed), true, builderSeed, shape, 0.5)
		var out [][]float64
		for i := 0; i < 3; i++ {
			run(t, prog)
			out = append(out, Float64s(prog.Output(0)))
		}
		return out
	}
	a, b := masks(7, 0), masks(7, 0)
	for i := range a {
		if !testutil.SameBits(a[i], b[i]) {
			t.Errorf("run %d: the same seed gave different masks", i)
		}
	}
	c, d := masks(7, 8), masks(8, 0)
	for i := range a {
		if testutil.SameBits(a[i], c[i]) {
			t.Errorf("run %d: SetSeed(8) gave the masks of seed 7", i)
		}
		if !testutil.SameBits(c[i], d[i]) {
			t.Errorf("run %d: SetSeed(8) and params seed 8 gave different masks", i)
		}
	}
}

func TestDropoutErrors(t *testing.T) {
	b := NewBuilder(NewParams(tensor.Float64, 1))
	b.SetTraining(true)
	x, err := b.Input("x", tensor.Shape{2, 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []float64{-0.1, 1, 1.5, math.NaN(), math.Inf(1)} {
		_, err := Dropout(b, "drop", x, p)
		testutil.ErrContains(t, err, "Dropout", `"drop"`, "probability", fmt.Sprint(p))
	}
	if _, err := Dropout(b, "drop", x, 0.5); err != nil {
		t.Fatal(err)
	}
	_, err = Dropout(b, "drop", x, 0.5)
	testutil.ErrContains(t, err, "Dropout", `"drop/mask"`, "already exists")
}

// badInputs are layer calls on inputs they cannot take: each must return an
// error naming the layer and what is wrong, and must not panic.
func TestLayerBadInputs(t *testing.T) {
	b := NewBuilder(NewParams(tensor.Float64, 1))
	in := func(name string, shape ...int) *G.Node {
		n, err := b.Input(name, tensor.Shape(shape))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	img, mat, vec := in("img", 2, 1, 4, 4), in("mat", 4, 3), in("vec", 4)
	intB := NewBuilder(NewParams(tensor.Int, 1))
	nilB := NewBuilder(nil)
	cases := []struct {
		name string
		f    func() (*G.Node, error)
		want []string
	}{
		{"Dense on 4-D", func() (*G.Node, error) { return Dense(b, "d", img, 3, nil) }, []string{"Dense", `"d"`, "(2, 1, 4, 4)", "Flatten"}},
		{"Dense on 1-D", func() (*G.Node, error) { return Dense(b, "d", vec, 3, nil) }, []string{"Dense", "(4)"}},
		{"Dense units -1", func() (*G.Node, error) { return Dense(b, "d", mat, -1, nil) }, []string{"Dense", `"d"`, "units = -1"}},
		{"Dense units 0", func() (*G.Node, error) { return Dense(b, "d", mat, 0, nil) }, []string{"units = 0"}},
		{"Dense nil input", func() (*G.Node, error) { return Dense(b, "d", nil, 3, nil) }, []string{"Dense", `"d"`, "nil input"}},
		{"Dense nil builder", func() (*G.Node, error) { return Dense(nil, "d", mat, 3, nil) }, []string{"Dense", "nil builder"}},
		{"Dense without params", func() (*G.Node, error) { return Dense(nilB, "d", mat, 3, nil) }, []string{"Dense", "without params"}},
		{"Dense int params", func() (*G.Node, error) { return Dense(intB, "d", mat, 3, nil) }, []string{"Dense", "int", "not supported"}},
		{"Conv2D on 2-D", func() (*G.Node, error) { return Conv2D(b, "c", mat, 2, 3, 1, 0, nil) }, []string{"Conv2D", `"c"`, "(4, 3)", "(batch, channels, height, width)"}},
		{"Conv2D kernel > input", func() (*G.Node, error) { return Conv2D(b, "c", img, 2, 5, 1, 0, nil) }, []string{"Conv2D", "(2, 1, 4, 4)", "kernel 5×5", "larger"}},
		{"Conv2D kernel > padded input", func() (*G.Node, error) { return Conv2D(b, "c", img, 2, 7, 1, 1, nil) }, []string{"kernel 7×7"}},
		{"Conv2D filters 0", func() (*G.Node, error) { return Conv2D(b, "c", img, 0, 3, 1, 0, nil) }, []string{"Conv2D", "filters 0"}},
		{"Conv2D stride 0", func() (*G.Node, error) { return Conv2D(b, "c", img, 2, 3, 0, 0, nil) }, []string{"stride 0"}},
		{"Conv2D pad -1", func() (*G.Node, error) { return Conv2D(b, "c", img, 2, 3, 1, -1, nil) }, []string{"pad -1"}},
		{"Conv2D nil input", func() (*G.Node, error) { return Conv2D(b, "c", nil, 2, 3, 1, 0, nil) }, []string{"Conv2D", "nil input"}},
		{"Conv2D nil builder", func() (*G.Node, error) { return Conv2D(nil, "c", img, 2, 3, 1, 0, nil) }, []string{"Conv2D", "nil builder"}},
		{"MaxPool2D on 2-D", func() (*G.Node, error) { return MaxPool2D(mat, 2, 2) }, []string{"MaxPool2D", "(4, 3)", "(batch, channels, height, width)"}},
		{"MaxPool2D window > input", func() (*G.Node, error) { return MaxPool2D(img, 5, 1) }, []string{"MaxPool2D", "(2, 1, 4, 4)", "window 5"}},
		{"MaxPool2D stride 0", func() (*G.Node, error) { return MaxPool2D(img, 2, 0) }, []string{"stride 0"}},
		{"MaxPool2D nil", func() (*G.Node, error) { return MaxPool2D(nil, 2, 2) }, []string{"MaxPool2D", "nil input"}},
		{"Flatten 1-D", func() (*G.Node, error) { return Flatten(vec) }, []string{"Flatten", "(4)", "2 dimensions"}},
		{"Flatten nil", func() (*G.Node, error) { return Flatten(nil) }, []string{"Flatten", "nil input"}},
		{"Dropout nil", func() (*G.Node, error) { return Dropout(b, "drop", nil, 0.5) }, []string{"Dropout", `"drop"`, "nil input"}},
		{"Dropout nil builder", func() (*G.Node, error) { return Dropout(nil, "drop", mat, 0.5) }, []string{"Dropout", "nil builder"}},
		{"ReLU nil", func() (*G.Node, error) { return ReLU(nil) }, []string{"ReLU", "nil input"}},
		{"LeakyReLU nil", func() (*G.Node, error) { return LeakyReLU(0.1)(nil) }, []string{"LeakyReLU", "nil input"}},
		{"Sigmoid nil", func() (*G.Node, error) { return Sigmoid(nil) }, []string{"Sigmoid", "nil input"}},
		{"Tanh nil", func() (*G.Node, error) { return Tanh(nil) }, []string{"Tanh", "nil input"}},
		{"Softmax nil", func() (*G.Node, error) { return Softmax(nil) }, []string{"Softmax", "nil input"}},
		{"Input int", func() (*G.Node, error) { return intB.Input("x", tensor.Shape{2}) }, []string{"int", "not supported"}},
		{"Param int", func() (*G.Node, error) { return intB.Param("w", tensor.Shape{2}, nil) }, []string{"int", "not supported"}},
		{"Input twice", func() (*G.Node, error) { return b.Input("mat", tensor.Shape{2}) }, []string{`"mat"`, "already exists"}},
		{"Input empty shape", func() (*G.Node, error) { return b.Input("e", tensor.Shape{}) }, []string{`"e"`, "empty"}},
		{"Input zero dim", func() (*G.Node, error) { return b.Input("z", tensor.Shape{3, 0}) }, []string{`"z"`, "(3, 0)"}},
		{"Input nil builder", func() (*G.Node, error) { return (*Builder)(nil).Input("x", tensor.Shape{2}) }, []string{"nil builder"}},
		{"Feed nil fill", func() (*G.Node, error) { return b.Feed("f", tensor.Shape{2}, nil) }, []string{`"f"`, "nil fill"}},
	}
	for _, c := range cases {
		var n *G.Node
		var err error
		func() {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("panic: %v", r)
					t.Errorf("%s panicked: %v", c.name, r)
				}
			}()
			n, err = c.f()
		}()
		testutil.ErrContains(t, err, c.want...)
		if n != nil {
			t.Errorf("%s: a node with the error", c.name)
		}
	}
	if got := b.Params().Names(); len(got) != 0 {
		t.Errorf("failed layers left parameters %v", got)
	}
}

// Flatten keeps the batch axis and the row-major order.
func TestFlattenValues(t *testing.T) {
	b := NewBuilder(NewParams(tensor.Float64, 1))
	x := fillInput(t, b, "x", tensor.Shape{2, 3, 2, 2}, func(i int) float64 { return float64(i) })
	f, err := Flatten(x)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Shape().Eq(tensor.Shape{2, 12}) {
		t.Fatalf("Flatten shape %v, want (2, 12)", f.Shape())
	}
	prog, err := b.Compile(nil, f)
	if err != nil {
		t.Fatal(err)
	}
	run(t, prog)
	for i, v := range Float64s(prog.Output(0)) {
		if v != float64(i) {
			t.Fatalf("Flatten output[%d] = %v", i, v)
		}
	}
	if same, err := Flatten(f); err != nil || same != f {
		t.Errorf("Flatten of a matrix: %v, %v; want the matrix itself", same, err)
	}
}

// Conv2D and MaxPool2D output shapes follow (size + 2·pad − kernel)/stride + 1.
func TestConvPoolShapes(t *testing.T) {
	cases := []struct {
		in                           tensor.Shape
		filters, kernel, stride, pad int
		want                         tensor.Shape
		poolSize, poolStride         int
		pooled                       tensor.Shape
	}{
		{tensor.Shape{2, 1, 8, 8}, 3, 3, 1, 1, tensor.Shape{2, 3, 8, 8}, 2, 2, tensor.Shape{2, 3, 4, 4}},
		{tensor.Shape{2, 3, 7, 5}, 4, 3, 2, 0, tensor.Shape{2, 4, 3, 2}, 2, 1, tensor.Shape{2, 4, 2, 1}},
		{tensor.Shape{1, 2, 6, 6}, 2, 3, 2, 1, tensor.Shape{1, 2, 3, 3}, 3, 2, tensor.Shape{1, 2, 1, 1}},
	}
	for _, c := range cases {
		b := NewBuilder(NewParams(tensor.Float64, 1))
		x, err := b.Input("x", c.in)
		if err != nil {
			t.Fatal(err)
		}
		y, err := Conv2D(b, "c", x, c.filters, c.kernel, c.stride, c.pad, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !y.Shape().Eq(c.want) {
			t.Errorf("Conv2D %v k%d s%d p%d: shape %v, want %v", c.in, c.kernel, c.stride, c.pad, y.Shape(), c.want)
		}
		z, err := MaxPool2D(y, c.poolSize, c.poolStride)
		if err != nil {
			t.Fatal(err)
		}
		if !z.Shape().Eq(c.pooled) {
			t.Errorf("MaxPool2D %v %d/%d: shape %v, want %v", y.Shape(), c.poolSize, c.poolStride, z.Shape(), c.pooled)
		}
		w := b.Params().Value("c/w")
		if want := (tensor.Shape{c.filters, c.in[1], c.kernel, c.kernel}); !w.Shape().Eq(want) {
			t.Errorf("Conv2D weight shape %v, want %v", w.Shape(), want)
		}
	}
}
