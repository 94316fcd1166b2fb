package models_test

import (
	"context"
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/testutil"
	"github.com/descent-go/descent/models"
)

// compileOutput builds m on x in a graph of its own, for training or
// evaluation, and returns the program computing the output.
func compileOutput(t *testing.T, m models.Model, p *graph.Params, x *tensor.Dense, training bool, seed int64) (*graph.Program, *graph.Builder) {
	t.Helper()
	b := graph.NewBuilder(p)
	b.SetTraining(training)
	b.SetSeed(seed)
	in, err := b.Input("x", x.Shape())
	must(t, err)
	copy(b.InputTensor("x").Data().([]float64), x.Data().([]float64))
	out, err := m.Forward(b, in)
	must(t, err)
	prog, err := b.Compile(nil, out)
	must(t, err)
	return prog, b
}

// matmul returns a·w + bias for a (n, in), w (in, out) and bias (out).
func matmul(a []float64, n int, w, bias []float64) []float64 {
	in, out := len(a)/n, len(bias)
	r := make([]float64, n*out)
	for i := 0; i < n; i++ {
		for j := 0; j < out; j++ {
			s := bias[j]
			for k := 0; k < in; k++ {
				s += a[i*in+k] * w[k*out+j]
			}
			r[i*out+j] = s
		}
	}
	return r
}

// Dropout is active in training graphs only: they get a mask input, drawn
// afresh at every run, and their output is the network's with the hidden
// units masked; evaluation graphs and Predict are deterministic and equal to
// the network without dropout.
func TestMLPDropout(t *testing.T) {
	const n, hidden, rate = 20, 64, 0.5
	m := models.MLP{Hidden: []int{hidden}, Outputs: 3, Dropout: rate}
	p := graph.NewParams(tensor.Float64, 1)
	x := randInput(2, tensor.Float64, n, 5)

	ev, eb := compileOutput(t, m, p, x, false, 3)
	defer ev.Close()
	if eb.InputTensor("hidden1/dropout/mask") != nil {
		t.Error("the evaluation graph has a dropout mask")
	}
	must(t, ev.Run())
	evalOut := graph.Float64s(ev.Output(0))
	pred, err := models.Predict(m, p, x)
	must(t, err)
	plain, err := models.Predict(models.MLP{Hidden: []int{hidden}, Outputs: 3}, p, x)
	must(t, err)
	for i, v := range evalOut {
		if graph.Float64s(pred)[i] != v || graph.Float64s(plain)[i] != v {
			t.Fatalf("output %d: evaluation graph %v, Predict %v, Predict without dropout %v", i, v, graph.Float64s(pred)[i], graph.Float64s(plain)[i])
		}
	}

	tr, tb := compileOutput(t, m, p, x, true, 3)
	defer tr.Close()
	mask := tb.InputTensor("hidden1/dropout/mask")
	if mask == nil || !mask.Shape().Eq(tensor.Shape{n, hidden}) {
		t.Fatalf("training graph mask %v, want shape (%d, %d)", mask, n, hidden)
	}
	w1, b1 := p.CopyFloat64s("hidden1/w"), p.CopyFloat64s("hidden1/b")
	w2, b2 := p.CopyFloat64s("out/w"), p.CopyFloat64s("out/b")
	var prev []float64
	for run := 0; run < 2; run++ {
		must(t, tr.Run())
		md := graph.Float64s(mask)
		zeros := 0
		h := matmul(graph.Float64s(x), n, w1, b1)
		for i := range h {
			switch md[i] {
			case 0:
				zeros++
			case 1 / (1 - rate):
			default:
				t.Fatalf("mask value %v, want 0 or %v", md[i], 1/(1-rate))
			}
			h[i] = math.Max(h[i], 0) * md[i]
		}
		if f := float64(zeros) / float64(len(md)); math.Abs(f-rate) > 0.05 {
			t.Errorf("run %d: %.3f of the units dropped, want about %.2f", run, f, rate)
		}
		want := matmul(h, n, w2, b2)
		got := graph.Float64s(tr.Output(0))
		differs := false
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-12 {
				t.Fatalf("run %d: output %d is %v, want %v for the masked network", run, i, got[i], want[i])
			}
			differs = differs || got[i] != evalOut[i]
		}
		if !differs {
			t.Errorf("run %d: the training output equals the evaluation output", run)
		}
		if run == 1 && prev[0] == md[0] && prev[1] == md[1] && prev[2] == md[2] && prev[3] == md[3] && prev[5] == md[5] && prev[8] == md[8] {
			t.Errorf("the mask was not drawn again for the second run")
		}
		prev = md
	}
}

// Activation replaces ReLU in every hidden layer, and its layers start from
// GlorotUniform instead of HeNormal.
func TestMLPActivation(t *testing.T) {
	x := randInput(4, tensor.Float64, 6, 3)
	for _, c := range []struct {
		name string
		act  graph.Activation
		f    func(float64) float64
		init graph.Initializer
	}{
		{"default ReLU", nil, func(v float64) float64 { return math.Max(v, 0) }, graph.HeNormal},
		{"Tanh", graph.Tanh, math.Tanh, graph.GlorotUniform},
		{"Sigmoid", graph.Sigmoid, func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }, graph.GlorotUniform},
	} {
		calls := 0
		act := c.act
		if act != nil {
			inner := c.act
			act = func(x *G.Node) (*G.Node, error) { calls++; return inner(x) }
		}
		m := models.MLP{Hidden: []int{4, 5}, Outputs: 2, Activation: act}
		p := graph.NewParams(tensor.Float64, 8)
		must(t, models.Init(m, p, x.Shape()[1:]))
		calls = 0
		got, err := models.Predict(m, p, x)
		must(t, err)
		if c.act != nil && calls != 2 {
			t.Errorf("%s: activation called %d times for 2 hidden layers", c.name, calls)
		}
		h := graph.Float64s(x)
		for _, l := range []string{"hidden1", "hidden2"} {
			h = matmul(h, 6, p.CopyFloat64s(l+"/w"), p.CopyFloat64s(l+"/b"))
			for i := range h {
				h[i] = c.f(h[i])
			}
		}
		want := matmul(h, 6, p.CopyFloat64s("out/w"), p.CopyFloat64s("out/b"))
		for i, v := range graph.Float64s(got) {
			if math.Abs(v-want[i]) > 1e-12 {
				t.Fatalf("%s: output %d is %v, want %v", c.name, i, v, want[i])
			}
		}
		// The hidden weights come from the initializer the doc names.
		q := graph.NewParams(tensor.Float64, 8)
		_, err = graph.NewBuilder(q).Param("hidden1/w", tensor.Shape{3, 4}, c.init)
		must(t, err)
		if !testutil.SameTensor(q.Value("hidden1/w"), p.Value("hidden1/w")) {
			t.Errorf("%s: hidden1/w is not drawn from the documented initializer", c.name)
		}
	}
}

func TestModelConfigErrors(t *testing.T) {
	x := randInput(1, tensor.Float64, 4, 3)
	for _, c := range []struct {
		m    models.Model
		want []string
	}{
		{models.MLP{Hidden: []int{4}}, []string{"MLP Outputs = 0"}},
		{models.MLP{Hidden: []int{4}, Outputs: -2}, []string{"MLP Outputs = -2"}},
		{models.MLP{Hidden: []int{4, 0}, Outputs: 2}, []string{"hidden2", "units = 0"}},
		{models.MLP{Hidden: []int{4}, Outputs: 2, Dropout: -0.1}, []string{"Dropout = -0.1"}},
		{models.MLP{Hidden: []int{4}, Outputs: 2, Dropout: 1}, []string{"Dropout = 1"}},
		{models.MLP{Hidden: []int{4}, Outputs: 2, Dropout: math.NaN()}, []string{"Dropout = NaN"}},
		{models.Softmax{Classes: 1}, []string{"Softmax", "at least 2 classes", "got 1"}},
		{models.Softmax{}, []string{"Softmax", "got 0"}},
		{models.Linear{Outputs: -1}, []string{"Linear Outputs = -1"}},
		{models.LeNet{}, []string{"LeNet", "(4, 3)"}},
	} {
		p := graph.NewParams(tensor.Float64, 1)
		_, err := models.Predict(c.m, p, x)
		testutil.ErrContains(t, err, c.want...)
	}
	// A failed build in a training run says so too.
	train, _ := digits(t, tensor.Float64)
	_, err := quickSGD(1, graph.SoftmaxCrossEntropy).Fit(context.Background(), models.Softmax{Classes: 1}, graph.NewParams(tensor.Float64, 1), train)
	testutil.ErrContains(t, err, "at least 2 classes")
}
