package graph

import (
	"math"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/testutil"
)

// paramInput is an input x that is also a parameter (standard normal ·
// scale), so that GradCheck checks the gradient with respect to it too.
func paramInput(shape tensor.Shape, scale float64) func(b *Builder) (*G.Node, error) {
	return func(b *Builder) (*G.Node, error) { return b.Param("x", shape, Normal(0.3, scale)) }
}

// ids is an input of n whole numbers in [0, vocab) with repeats.
func idsInput(t *testing.T, b *Builder, shape tensor.Shape, vocab int) *G.Node {
	return fillInput(t, b, "ids", shape, func(i int) float64 { return float64((i*5 + i/3) % vocab) })
}

// sumHead is Σ out ⊙ R for a fixed random R: gradients of order 1, which
// finite differences resolve well.
func sumHead(t *testing.T, b *Builder, out *G.Node) (*G.Node, error) {
	p, err := G.HadamardProd(out, fillInput(t, b, "R", out.Shape(), randn(5)))
	if err != nil {
		return nil, err
	}
	return G.Sum(p)
}

func chain(t *testing.T, x func(b *Builder) (*G.Node, error), h head, stages ...stage) func(b *Builder) (*G.Node, error) {
	return func(b *Builder) (*G.Node, error) {
		n, err := x(b)
		if err != nil {
			return nil, err
		}
		for _, s := range stages {
			if n, err = s(b, n); err != nil {
				return nil, err
			}
		}
		return h(t, b, n)
	}
}

func bn(name string) stage {
	return func(b *Builder, x *G.Node) (*G.Node, error) { return BatchNorm(b, name, x) }
}

func ln(name string) stage {
	return func(b *Builder, x *G.Node) (*G.Node, error) { return LayerNorm(b, name, x) }
}

func lstm(name string, hidden int, seq bool) stage {
	return func(b *Builder, x *G.Node) (*G.Node, error) { return LSTM(b, name, x, hidden, seq, nil) }
}

func avgPoolStage(size, stride int) stage {
	return func(_ *Builder, x *G.Node) (*G.Node, error) { return AvgPool2D(x, size, stride) }
}

// TestGradCheckNewLayers checks the closed-form gradients of every layer of
// norm.go, activation.go, pool.go, embedding.go and recurrent.go, with
// respect to their inputs and parameters, against finite differences.
func TestGradCheckNewLayers(t *testing.T) {
	x2 := paramInput(tensor.Shape{5, 4}, 1.5)
	x4 := paramInput(tensor.Shape{3, 2, 5, 6}, 1.5)
	cases := []struct {
		name  string
		build func(b *Builder) (*G.Node, error)
		tol   float64 // 0: gradTol
	}{
		{"Tanh", chain(t, x2, sumHead, act(Tanh)), 0},
		{"Sigmoid", chain(t, x2, sumHead, act(Sigmoid)), 0},
		{"LeakyReLU", chain(t, x2, sumHead, act(LeakyReLU(0.2))), 0},
		{"ELU", chain(t, x2, sumHead, act(ELU(0.7))), 0},
		{"GELU", chain(t, x2, sumHead, act(GELU)), 0},
		{"SiLU", chain(t, x2, sumHead, act(SiLU)), 0},
		{"Softplus", chain(t, x2, sumHead, act(Softplus)), 0},
		{"BatchNorm dense", chain(t, x2, sumHead, bn("bn"), act(Tanh)), 0},
		{"BatchNorm conv", chain(t, x4, sumHead, bn("bn"), act(Tanh)), 0},
		{"BatchNorm → Dense → SCE", chain(t, x2, sceIndexHead, bn("bn"), dense("fc", 3)), 0},
		{"LayerNorm", chain(t, paramInput(tensor.Shape{3, 4, 5}, 1.5), sumHead, ln("ln"), act(Tanh)), 0},
		{"LayerNorm dense", chain(t, x2, sceIndexHead, ln("ln"), dense("fc", 3)), 0},
		{"AvgPool2D 2/2", chain(t, x4, sumHead, avgPoolStage(2, 2)), 0},
		{"AvgPool2D 3/2", chain(t, x4, sumHead, avgPoolStage(3, 2)), 0},
		{"GlobalAvgPool2D", chain(t, x4, sumHead, act(GlobalAvgPool2D)), 0},
		{"Embedding", chain(t, func(b *Builder) (*G.Node, error) {
			return Embedding(b, "emb", idsInput(t, b, tensor.Shape{3, 4}, 6), 6, 3, nil)
		}, sumHead, act(Tanh)), 0},
		// The recurrent weights have gradients down to 1e-5 here, which central
		// differences of a loss of order 1 resolve to ~1e-10 absolute, 1e-6
		// relative (the PyTorch fixtures match them to 1e-10).
		{"LSTM last", chain(t, paramInput(tensor.Shape{3, 4, 2}, 1), sceIndexHead, lstm("lstm", 3, false)), 1e-5},
		{"LSTM sequences", chain(t, paramInput(tensor.Shape{2, 5, 3}, 1), sumHead, lstm("lstm", 4, true)), 1e-5},
		{"Embedding → LSTM → Dense", chain(t, func(b *Builder) (*G.Node, error) {
			return Embedding(b, "emb", idsInput(t, b, tensor.Shape{3, 4}, 5), 5, 2, nil)
		}, sceIndexHead, lstm("lstm", 3, false), dense("fc", 2)), 1e-5},
	}
	for _, c := range cases {
		if c.tol == 0 {
			checkGrad(t, c.name, c.build)
			continue
		}
		p := NewParams(tensor.Float64, 42)
		res, err := GradCheck(p, c.build, 1e-6)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if res.Checked != p.NumScalars() || !(res.MaxRelErr <= c.tol) {
			t.Errorf("%s: %d of %d scalars checked, max relative error %.3g at %s[%d]: analytic %.10g, numeric %.10g",
				c.name, res.Checked, p.NumScalars(), res.MaxRelErr, res.Param, res.Index, res.Analytic, res.Numeric)
		}
		t.Logf("%-32s %4d scalars, max rel err %.2g", c.name, res.Checked, res.MaxRelErr)
	}
}

// Every layer computes in float32 what it computes in float64, to float32
// precision: the float32 code paths of the fused ops.
func TestNewLayersFloat32(t *testing.T) {
	cases := []struct {
		name  string
		shape tensor.Shape
		layer stage
	}{
		{"Tanh", tensor.Shape{5, 4}, act(Tanh)},
		{"Sigmoid", tensor.Shape{5, 4}, act(Sigmoid)},
		{"LeakyReLU", tensor.Shape{5, 4}, act(LeakyReLU(0.2))},
		{"ELU", tensor.Shape{5, 4}, act(ELU(1))},
		{"GELU", tensor.Shape{5, 4}, act(GELU)},
		{"SiLU", tensor.Shape{5, 4}, act(SiLU)},
		{"Softplus", tensor.Shape{5, 4}, act(Softplus)},
		{"BatchNorm", tensor.Shape{3, 2, 4, 4}, bn("bn")},
		{"LayerNorm", tensor.Shape{3, 4, 5}, ln("ln")},
		{"AvgPool2D", tensor.Shape{2, 2, 5, 6}, avgPoolStage(2, 1)},
		{"GlobalAvgPool2D", tensor.Shape{2, 2, 5, 6}, act(GlobalAvgPool2D)},
		{"LSTM", tensor.Shape{3, 4, 2}, lstm("lstm", 3, true)},
	}
	for _, c := range cases {
		var outs, grads [2][][]float64
		for d, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
			p := NewParams(dt, 3)
			b := NewBuilder(p)
			b.SetTraining(true)
			x, err := paramInput(c.shape, 1.5)(b)
			if err != nil {
				t.Fatal(err)
			}
			y, err := c.layer(b, x)
			if err != nil {
				t.Fatalf("%s %v: %v", c.name, dt, err)
			}
			loss, err := mseHead(t, b, y)
			if err != nil {
				t.Fatal(err)
			}
			prog, err := b.Compile(loss, y)
			if err != nil {
				t.Fatalf("%s %v: %v", c.name, dt, err)
			}
			if err := prog.Run(); err != nil {
				t.Fatalf("%s %v: %v", c.name, dt, err)
			}
			outs[d] = append(outs[d], Float64s(prog.Output(0)))
			for i := 0; i < prog.NumParams(); i++ {
				grads[d] = append(grads[d], Float64s(prog.Grad(i)))
			}
			prog.Close()
		}
		for _, pair := range [][2][][]float64{outs, grads} {
			if len(pair[0]) != len(pair[1]) {
				t.Fatalf("%s: %d float64 values, %d float32", c.name, len(pair[0]), len(pair[1]))
			}
			for i := range pair[0] {
				for j, v := range pair[0][i] {
					if w := pair[1][i][j]; math.Abs(v-w) > 1e-4*math.Max(1, math.Abs(v)) {
						t.Errorf("%s: value %d/%d: float64 %v, float32 %v", c.name, i, j, v, w)
						break
					}
				}
			}
		}
	}
}

// bnProgram is a training graph of BatchNorm over x (5, 3) filled by fill.
func bnProgram(t *testing.T, p *Params, training bool, fill func(int) float64) *Program {
	t.Helper()
	b := NewBuilder(p)
	b.SetTraining(training)
	x := fillInput(t, b, "x", tensor.Shape{5, 3}, fill)
	y, err := BatchNorm(b, "bn", x)
	if err != nil {
		t.Fatal(err)
	}
	var loss *G.Node
	if training {
		if loss, err = MSE(b, y, fillInput(t, b, "y", tensor.Shape{5, 3}, randn(9))); err != nil {
			t.Fatal(err)
		}
	}
	prog, err := b.Compile(loss, y)
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

// Buffers are state apart from the parameters: not differentiated, changed
// only by CommitState after a successful run, read by evaluation graphs.
func TestBatchNormState(t *testing.T) {
	p := NewParams(tensor.Float64, 1)
	train := bnProgram(t, p, true, randn(4))
	defer train.Close()
	if got := p.Names(); strings.Join(got, ",") != "bn/gamma,bn/beta" {
		t.Errorf("parameters %q, want bn/gamma and bn/beta", got)
	}
	if got := p.BufferNames(); strings.Join(got, ",") != "bn/running_mean,bn/running_var" {
		t.Errorf("buffers %q, want bn/running_mean and bn/running_var", got)
	}
	if train.NumParams() != 2 || train.NumState() != 2 || train.StateName(1) != "bn/running_var" {
		t.Errorf("program: %d gradients, %d buffers; want 2 and 2", train.NumParams(), train.NumState())
	}
	if p.NumScalars() != 6 {
		t.Errorf("NumScalars %d, want 6 (buffers excluded)", p.NumScalars())
	}
	// Committing before any run changes nothing.
	if err := train.CommitState(); err != nil {
		t.Fatal(err)
	}
	if m := p.CopyFloat64s("bn/running_mean"); m[0] != 0 || p.CopyFloat64s("bn/running_var")[0] != 1 {
		t.Fatalf("initial running stats %v %v, want zeros and ones", m, p.CopyFloat64s("bn/running_var"))
	}
	if err := train.Run(); err != nil {
		t.Fatal(err)
	}
	if m := p.CopyFloat64s("bn/running_mean"); m[0] != 0 {
		t.Fatalf("a run wrote the buffer: running mean %v", m)
	}
	x := Float64s(train.Input("x"))
	if err := train.CommitState(); err != nil {
		t.Fatal(err)
	}
	for c := 0; c < 3; c++ {
		var mean, ss float64
		for i := 0; i < 5; i++ {
			mean += x[i*3+c] / 5
		}
		for i := 0; i < 5; i++ {
			ss += (x[i*3+c] - mean) * (x[i*3+c] - mean)
		}
		wantM, wantV := 0.1*mean, 0.9+0.1*ss/4
		if m, v := p.CopyFloat64s("bn/running_mean")[c], p.CopyFloat64s("bn/running_var")[c]; math.Abs(m-wantM) > 1e-15 || math.Abs(v-wantV) > 1e-15 {
			t.Errorf("channel %d: running mean, var %v %v; want %v %v", c, m, v, wantM, wantV)
		}
	}
	// A second commit of the same run is a no-op.
	before := p.CopyFloat64s("bn/running_var")
	if err := train.CommitState(); err != nil {
		t.Fatal(err)
	}
	if got := p.CopyFloat64s("bn/running_var"); got[0] != before[0] {
		t.Errorf("second commit changed the buffer: %v → %v", before, got)
	}
	// Evaluation graphs use the running statistics and update nothing.
	eval := bnProgram(t, p, false, randn(4))
	defer eval.Close()
	if eval.NumState() != 0 || eval.NumParams() != 0 {
		t.Errorf("evaluation program updates %d buffers, %d gradients", eval.NumState(), eval.NumParams())
	}
	if err := eval.Run(); err != nil {
		t.Fatal(err)
	}
	y := Float64s(eval.Output(0))
	m, v := p.CopyFloat64s("bn/running_mean"), p.CopyFloat64s("bn/running_var")
	for i, xi := range x {
		c := i % 3
		if want := (xi - m[c]) / math.Sqrt(v[c]+1e-5); math.Abs(y[i]-want) > 1e-14 {
			t.Fatalf("eval output %d = %v, want %v", i, y[i], want)
		}
	}
	// The state is saved with Clone and restored with CopyFrom.
	q := p.Clone()
	if got := q.CopyFloat64s("bn/running_var"); got[1] != v[1] {
		t.Errorf("clone's running var %v, want %v", got, v)
	}
	q.Buffer("bn/running_var").Float64s()[1] = 7
	if err := p.CopyFrom(q); err != nil {
		t.Fatal(err)
	}
	if got := p.CopyFloat64s("bn/running_var")[1]; got != 7 {
		t.Errorf("CopyFrom: running var %v, want 7", got)
	}
}

// A Program that updates buffers allocates nothing per step, CommitState
// included.
func TestStatefulLayersAllocateNothing(t *testing.T) {
	if testutil.Race {
		t.Skip("the race detector allocates")
	}
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		p := NewParams(dt, 1)
		b := NewBuilder(p)
		b.SetTraining(true)
		// (No Conv2D: gorgonia's im2col allocates.)
		h, err := paramInput(tensor.Shape{4, 2, 6, 6}, 1)(b)
		for _, s := range []stage{bn("bn"), act(GELU), avgPoolStage(2, 2), act(SiLU), act(GlobalAvgPool2D), ln("ln"), act(ELU(1)), act(Softplus), bn("bn2")} {
			if err == nil {
				h, err = s(b, h)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		loss, err := sceIndexHead(t, b, h)
		if err != nil {
			t.Fatal(err)
		}
		prog, err := b.Compile(loss)
		if err != nil {
			t.Fatal(err)
		}
		step := func() {
			if err := prog.Run(); err != nil {
				t.Fatal(err)
			}
			if err := prog.CommitState(); err != nil {
				t.Fatal(err)
			}
		}
		step()
		if a := testing.AllocsPerRun(10, step); a > 0 {
			t.Errorf("%v: %v allocations per step", dt, a)
		}
		prog.Close()
	}
}

func TestLSTMAndEmbeddingAllocateNothing(t *testing.T) {
	if testutil.Race {
		t.Skip("the race detector allocates")
	}
	p := NewParams(tensor.Float64, 1)
	b := NewBuilder(p)
	b.SetTraining(true)
	e, err := Embedding(b, "emb", idsInput(t, b, tensor.Shape{4, 5}, 7), 7, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := LSTM(b, "lstm", e, 4, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := sceIndexHead(t, b, h)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := b.Compile(loss)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	if a := testing.AllocsPerRun(10, func() {
		if err := prog.Run(); err != nil {
			t.Fatal(err)
		}
	}); a > 0 {
		t.Errorf("%v allocations per step", a)
	}
}

func TestBufferMisuse(t *testing.T) {
	p := NewParams(tensor.Float64, 1)
	b := NewBuilder(p)
	other := NewBuilder(p)
	on, _ := other.Input("o", tensor.Shape{2})
	if _, err := b.Param("w", tensor.Shape{2}, nil); err != nil {
		t.Fatal(err)
	}
	buf, err := b.Buffer("s", tensor.Shape{2}, Zeros)
	if err != nil {
		t.Fatal(err)
	}
	vec3, _ := b.Input("v3", tensor.Shape{3})
	cases := []struct {
		name string
		err  error
		want []string
	}{
		{"buffer named as a parameter", func() error { _, err := b.Buffer("w", tensor.Shape{2}, Zeros); return err }(), []string{`buffer "w"`, "parameter"}},
		{"parameter named as a buffer", func() error { _, err := b.Param("s", tensor.Shape{2}, nil); return err }(), []string{`parameter "s"`, "buffer"}},
		{"other shape", func() error { _, err := b.Buffer("s", tensor.Shape{3}, Zeros); return err }(), []string{`buffer "s"`, "(2)", "(3)"}},
		{"nil init", func() error { _, err := b.Buffer("t", tensor.Shape{2}, nil); return err }(), []string{`buffer "t"`, "nil initializer"}},
		{"empty shape", func() error { _, err := b.Buffer("u", tensor.Shape{}, Zeros); return err }(), []string{`buffer "u"`, "empty"}},
		{"update unknown", b.UpdateBuffer("nope", buf), []string{`"nope"`, "no buffer"}},
		{"update shape", b.UpdateBuffer("s", vec3), []string{`"s"`, "(3)", "(2)"}},
		{"update nil", b.UpdateBuffer("s", nil), []string{`"s"`, "nil"}},
		{"update from another graph", b.UpdateBuffer("s", on), []string{`"s"`, "another graph"}},
		{"add buffer twice", p.AddBuffer("s", NewTensor(tensor.Float64, 2)), []string{`buffer "s" already exists`}},
		{"add buffer named as parameter", p.AddBuffer("w", NewTensor(tensor.Float64, 2)), []string{`buffer "w"`, "parameter of that name"}},
		{"add buffer of other dtype", p.AddBuffer("f", NewTensor(tensor.Float32, 2)), []string{`buffer "f"`, "float32"}},
	}
	for _, c := range cases {
		testutil.ErrContains(t, c.err, c.want...)
	}
	if err := b.UpdateBuffer("s", buf); err != nil {
		t.Fatal(err)
	}
	testutil.ErrContains(t, b.UpdateBuffer("s", buf), `"s"`, "already has an update")
	q := NewParams(tensor.Float64, 1)
	if err := q.Add("w", NewTensor(tensor.Float64, 2)); err != nil {
		t.Fatal(err)
	}
	testutil.ErrContains(t, p.Compatible(q), `buffer "s" is missing`)
	testutil.ErrContains(t, p.CopyFrom(q), `buffer "s" is missing`)
	if err := q.AddBuffer("s", NewTensor(tensor.Float64, 2)); err != nil {
		t.Fatal(err)
	}
	if err := q.AddBuffer("extra", NewTensor(tensor.Float64, 2)); err != nil {
		t.Fatal(err)
	}
	testutil.ErrContains(t, p.Compatible(q), "unexpected buffers", `"extra"`)
}

func TestNewLayerMisuse(t *testing.T) {
	p := NewParams(tensor.Float64, 1)
	b := NewBuilder(p)
	b.SetTraining(true)
	m2, _ := b.Input("m2", tensor.Shape{1, 3})
	v1, _ := b.Input("v1", tensor.Shape{4})
	t4, _ := b.Input("t4", tensor.Shape{2, 3, 4, 4})
	t3, _ := b.Input("t3", tensor.Shape{2, 3, 4})
	cases := []struct {
		name string
		f    func() (*G.Node, error)
		want []string
	}{
		{"BatchNorm nil", func() (*G.Node, error) { return BatchNorm(b, "bn", nil) }, []string{"BatchNorm", "nil input"}},
		{"BatchNorm vector", func() (*G.Node, error) { return BatchNorm(b, "bn", v1) }, []string{"BatchNorm", "(batch, channels"}},
		{"BatchNorm one value per channel", func() (*G.Node, error) { return BatchNorm(b, "bn1", m2) }, []string{"BatchNorm", "more than 1 value per channel"}},
		{"BatchNorm momentum", func() (*G.Node, error) { return BatchNormWith(b, "bn2", t4, 1.5, 1e-5) }, []string{"momentum 1.5"}},
		{"BatchNorm eps", func() (*G.Node, error) { return BatchNormWith(b, "bn2", t4, 0.1, 0) }, []string{"eps 0"}},
		{"BatchNorm nil builder", func() (*G.Node, error) { return BatchNorm(nil, "bn", t4) }, []string{"nil builder"}},
		{"LayerNorm nil", func() (*G.Node, error) { return LayerNorm(b, "ln", nil) }, []string{"LayerNorm", "nil input"}},
		{"AvgPool2D 3-D", func() (*G.Node, error) { return AvgPool2D(t3, 2, 2) }, []string{"AvgPool2D", "(batch, channels, height, width)"}},
		{"AvgPool2D window", func() (*G.Node, error) { return AvgPool2D(t4, 5, 1) }, []string{"AvgPool2D", "window 5"}},
		{"AvgPool2D stride", func() (*G.Node, error) { return AvgPool2D(t4, 2, 0) }, []string{"stride 0"}},
		{"GlobalAvgPool2D 2-D", func() (*G.Node, error) { return GlobalAvgPool2D(m2) }, []string{"GlobalAvgPool2D"}},
		{"Embedding vocab", func() (*G.Node, error) { return Embedding(b, "e", v1, 0, 3, nil) }, []string{"Embedding", "vocab 0"}},
		{"Embedding nil", func() (*G.Node, error) { return Embedding(b, "e", nil, 3, 3, nil) }, []string{"Embedding", "nil input"}},
		{"LSTM 2-D", func() (*G.Node, error) { return LSTM(b, "l", m2, 3, false, nil) }, []string{"LSTM", "(batch, steps, features)"}},
		{"LSTM hidden", func() (*G.Node, error) { return LSTM(b, "l", t3, 0, false, nil) }, []string{"LSTM", "hidden = 0"}},
		{"GELU nil", func() (*G.Node, error) { return GELU(nil) }, []string{"GELU", "nil input"}},
		{"ELU scalar", func() (*G.Node, error) { return ELU(1)(G.NewConstant(1.0)) }, []string{"ELU", "want a float32 or float64 tensor"}},
	}
	for _, c := range cases {
		n, err := c.f()
		if n != nil {
			t.Errorf("%s: got a node", c.name)
		}
		testutil.ErrContains(t, err, c.want...)
	}
}

// An id out of range or not a whole number fails the run, naming it.
func TestEmbeddingBadIDs(t *testing.T) {
	for _, bad := range []float64{7, -1, 2.5, math.NaN()} {
		p := NewParams(tensor.Float64, 1)
		b := NewBuilder(p)
		ids := fillInput(t, b, "ids", tensor.Shape{2, 3}, func(i int) float64 { return float64(i) })
		y, err := Embedding(b, "emb", ids, 7, 2, nil)
		if err != nil {
			t.Fatal(err)
		}
		prog, err := b.Compile(nil, y)
		if err != nil {
			t.Fatal(err)
		}
		prog.Input("ids").Float64s()[4] = bad
		testutil.ErrContains(t, prog.Run(), "flat position 4", "[0, 7)")
		prog.Close()
	}
}

// Integer ids (a tensor.Int node) give what the same ids as floats give.
func TestEmbeddingIntIDs(t *testing.T) {
	p := NewParams(tensor.Float64, 1)
	var outs [2][]float64
	for k := 0; k < 2; k++ {
		b := NewBuilder(p)
		var ids *G.Node
		if k == 0 {
			ids = fillInput(t, b, "ids", tensor.Shape{2, 3}, func(i int) float64 { return float64(5 - i) })
		} else {
			ids = G.NewTensor(b.Graph(), tensor.Int, 2, G.WithShape(2, 3), G.WithName("ids"),
				G.WithValue(tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]int{5, 4, 3, 2, 1, 0}))))
		}
		y, err := Embedding(b, "emb", ids, 6, 3, nil)
		if err != nil {
			t.Fatal(err)
		}
		prog, err := b.Compile(nil, y)
		if err != nil {
			t.Fatal(err)
		}
		if err := prog.Run(); err != nil {
			t.Fatal(err)
		}
		outs[k] = Float64s(prog.Output(0))
		prog.Close()
	}
	w := p.CopyFloat64s("emb/w")
	for i, v := range outs[1] {
		if v != outs[0][i] || v != w[(5-i/3)*3+i%3] {
			t.Fatalf("output %d: int ids %v, float ids %v, table %v", i, v, outs[0][i], w[(5-i/3)*3+i%3])
		}
	}
}
