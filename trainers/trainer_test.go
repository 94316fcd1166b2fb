package trainers

import (
	"context"
	"math"
	"testing"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/testutil"
	"github.com/descent-go/descent/models"
)

// The linear-regression problem of the convergence tests: N(0, I) features,
// so the MSE's Hessian is ≈ 2I (eigenvalues 2(1 ± 2√(d/N))) and
// per-example gradients at the solution have covariance ≈ 4σ²I, σ² being
// the residual variance. SGD with step η then fluctuates around the
// least-squares solution θ* with E|θ − θ*|² ≈ η·σ²·(d+1)/B (the Lyapunov
// equation 2ηHC = η²Σ/B), which sets the tolerances below.
const (
	convN     = 200
	convD     = 3
	convNoise = 0.5
)

func TestGDConvergesToLeastSquares(t *testing.T) {
	lr := newLinReg(t, convN, convD, convNoise, 1, tensor.Float64)
	want := lr.leastSquares(t)
	p := graph.NewParams(tensor.Float64, 1)
	// Step 0.2 on a Hessian with eigenvalues in ≈ [1.5, 2.5]: the error
	// contracts by ≤ 0.7 per epoch, 1e-15 after 100.
	h, err := GD{Config: cfg(100, SGD{LR: 0.2})}.Fit(bg, models.Linear{}, p, lr.ds)
	if err != nil {
		t.Fatal(err)
	}
	d := dist(theta(p), want)
	t.Logf("GD: |θ − θ*| = %.3g after %d updates", d, h.Last().Updates)
	if d > 1e-6 {
		t.Errorf("GD: |θ − θ*| = %g, want ≤ 1e-6", d)
	}
	if got := h.Last().TrainLoss; math.Abs(got-lr.residualVar(want)) > 1e-6 {
		t.Errorf("GD: final training loss %v, least-squares MSE %v", got, lr.residualVar(want))
	}
}

func TestOnlineSGDConvergesToLeastSquares(t *testing.T) {
	lr := newLinReg(t, convN, convD, convNoise, 2, tensor.Float64)
	want := lr.leastSquares(t)
	sigma2 := lr.residualVar(want)
	p := graph.NewParams(tensor.Float64, 1)
	c := cfg(30, SGD{LR: 0.05})
	// η_t = 0.05/(1 + t/N): Robbins–Monro decay, 0.05/31 at the end.
	c.Schedule = InverseScaling(convN, 1)
	h, err := OnlineSGD{Config: c}.Fit(bg, models.Linear{}, p, lr.ds)
	if err != nil {
		t.Fatal(err)
	}
	etaT := h.Last().LearningRate
	rms := math.Sqrt(etaT * sigma2 * (convD + 1))
	d := dist(theta(p), want)
	t.Logf("OnlineSGD: |θ − θ*| = %.3g, final η = %.3g, predicted RMS %.3g, %d updates", d, etaT, rms, h.Last().Updates)
	if d > 4*rms {
		t.Errorf("OnlineSGD: |θ − θ*| = %g, want ≤ 4·√(η_T σ² (d+1)) = %g", d, 4*rms)
	}
}

func TestMiniBatchSGDConvergesToLeastSquares(t *testing.T) {
	lr := newLinReg(t, convN, convD, convNoise, 3, tensor.Float64)
	want := lr.leastSquares(t)
	sigma2 := lr.residualVar(want)
	const eta, b, epochs, avgFrom = 0.05, 10, 40, 20
	// Average the iterates of the last 20 epochs (Polyak–Ruppert): the
	// average is much closer to θ* than any one iterate.
	avg := make([]float64, convD+1)
	count := 0
	record := func(e Event) error {
		if e.Kind == StepEnd && e.Epoch >= avgFrom {
			for i, v := range theta(e.Params) {
				avg[i] += v
			}
			count++
		}
		return nil
	}
	c := cfg(epochs, SGD{LR: eta})
	c.LogEvery, c.Callbacks = 1, []Callback{record}
	p := graph.NewParams(tensor.Float64, 1)
	h, err := MiniBatchSGD{BatchSize: b, Config: c}.Fit(bg, models.Linear{}, p, lr.ds)
	if err != nil {
		t.Fatal(err)
	}
	for i := range avg {
		avg[i] /= float64(count)
	}
	rms := math.Sqrt(eta * sigma2 * (convD + 1) / b)
	d, da := dist(theta(p), want), dist(avg, want)
	t.Logf("MiniBatchSGD(B=%d): |θ − θ*| = %.3g, averaged %.3g, predicted RMS %.3g, %d updates", b, d, da, rms, h.Last().Updates)
	if d > 4*rms {
		t.Errorf("final |θ − θ*| = %g, want ≤ 4·√(η σ² (d+1)/B) = %g", d, 4*rms)
	}
	if da > rms/2 {
		t.Errorf("averaged |θ̄ − θ*| = %g, want ≤ RMS/2 = %g", da, rms/2)
	}
}

func TestGDStepIsFullGradientStep(t *testing.T) {
	for _, chunk := range []int{0, 7} {
		lr := newLinReg(t, 50, 3, 0.3, 4, tensor.Float64)
		th0 := []float64{0.3, -0.7, 1.1, 0.25}
		p := graph.NewParams(tensor.Float64, 1)
		setTheta(t, p, 3, th0)
		const eta = 0.1
		if _, err := (GD{Chunk: chunk, Config: cfg(1, SGD{LR: eta})}).Fit(bg, models.Linear{}, p, lr.ds); err != nil {
			t.Fatal(err)
		}
		g := lr.grad(th0, lr.all()) // (2/N)·X̃ᵀ(X̃θ₀ − y), by hand
		want := make([]float64, len(th0))
		for i := range want {
			want[i] = th0[i] - eta*g[i]
		}
		if got := theta(p); !relClose(got, want, 1e-12) {
			t.Errorf("Chunk %d: θ₁ = %v, want θ₀ − η∇ = %v", chunk, got, want)
		}
	}
}

func TestGDGradientIndependentOfChunk(t *testing.T) {
	lr := newLinReg(t, 50, 3, 0.3, 5, tensor.Float64)
	var ref []float64
	for _, chunk := range []int{50, 7, 1, 13} {
		p := graph.NewParams(tensor.Float64, 1)
		setTheta(t, p, 3, []float64{0.3, -0.7, 1.1, 0.25})
		h, err := GD{Chunk: chunk, Config: cfg(5, SGD{LR: 0.1, Momentum: 0.5})}.Fit(bg, models.Linear{}, p, lr.ds)
		if err != nil {
			t.Fatal(err)
		}
		if h.Last().Updates != 5 || h.BatchSize != 50 {
			t.Errorf("Chunk %d: %d updates, BatchSize %d; want 5 and N = 50", chunk, h.Last().Updates, h.BatchSize)
		}
		if ref == nil {
			ref = theta(p)
			continue
		}
		if got := theta(p); !relClose(got, ref, 1e-12) {
			t.Errorf("Chunk %d: θ = %v, Chunk 50: %v", chunk, got, ref)
		}
	}
}

func TestUpdateAndExampleCounts(t *testing.T) {
	const n, epochs = 103, 3
	lr := newLinReg(t, n, 2, 0.1, 6, tensor.Float64)
	for _, tc := range []struct {
		tr                 Trainer
		method             string
		perEpoch, examples int // updates and examples per epoch
		batch              int
	}{
		{GD{Config: cfg(epochs, SGD{LR: 0.01})}, "GD", 1, n, n},
		{GD{Chunk: 10, Config: cfg(epochs, SGD{LR: 0.01})}, "GD", 1, n, n},
		{OnlineSGD{Config: cfg(epochs, SGD{LR: 0.01})}, "OnlineSGD", n, n, 1},
		{MiniBatchSGD{BatchSize: 10, Config: cfg(epochs, SGD{LR: 0.01})}, "MiniBatchSGD(B=10)", 11, n, 10},
		{MiniBatchSGD{BatchSize: 10, DropLast: true, Config: cfg(epochs, SGD{LR: 0.01})}, "MiniBatchSGD(B=10)", 10, 100, 10},
		{MiniBatchSGD{BatchSize: 500, Config: cfg(epochs, SGD{LR: 0.01})}, "MiniBatchSGD(B=500)", 1, n, n},
	} {
		var steps int
		count := func(e Event) error {
			if e.Kind == StepEnd {
				steps++
			}
			return nil
		}
		c := tc.tr
		switch v := c.(type) {
		case GD:
			v.RecordSteps, v.LogEvery, v.Callbacks = true, 1, []Callback{count}
			c = v
		case OnlineSGD:
			v.RecordSteps, v.LogEvery, v.Callbacks = true, 1, []Callback{count}
			c = v
		case MiniBatchSGD:
			v.RecordSteps, v.LogEvery, v.Callbacks = true, 1, []Callback{count}
			c = v
		}
		p := graph.NewParams(tensor.Float64, 1)
		h, err := c.Fit(bg, models.Linear{}, p, lr.ds)
		if err != nil {
			t.Fatal(err)
		}
		if h.Method != tc.method || h.StepsPerEpoch != tc.perEpoch || h.BatchSize != tc.batch || h.N != n || h.Planned != epochs {
			t.Errorf("%s: History header %q, %d steps/epoch, batch %d, N %d, planned %d; want %q, %d, %d, %d, %d",
				tc.method, h.Method, h.StepsPerEpoch, h.BatchSize, h.N, h.Planned, tc.method, tc.perEpoch, tc.batch, n, epochs)
		}
		if len(h.Epochs) != epochs {
			t.Fatalf("%s: %d epochs recorded, want %d", tc.method, len(h.Epochs), epochs)
		}
		for e, rec := range h.Epochs {
			k := e + 1
			if rec.Epoch != e || rec.Updates != k*tc.perEpoch || rec.Examples != int64(k*tc.examples) || rec.GradEvals != int64(k*tc.examples) {
				t.Errorf("%s epoch %d: updates %d, examples %d, grad evals %d; want %d, %d, %d",
					tc.method, e, rec.Updates, rec.Examples, rec.GradEvals, k*tc.perEpoch, k*tc.examples, k*tc.examples)
			}
		}
		if len(h.Steps) != epochs*tc.perEpoch || steps != epochs*tc.perEpoch {
			t.Errorf("%s: %d step records and %d StepEnd events, want %d", tc.method, len(h.Steps), steps, epochs*tc.perEpoch)
		}
		for i, s := range h.Steps {
			if s.Step != i+1 || s.Epoch != i/tc.perEpoch {
				t.Errorf("%s: step record %d is %+v", tc.method, i, s)
				break
			}
		}
		t.Logf("%-20s %4d updates/epoch, %d examples/epoch", tc.method, tc.perEpoch, tc.examples)
	}
}

func TestLoopWithCustomPolicy(t *testing.T) {
	lr := newLinReg(t, 35, 2, 0.2, 7, tensor.Float64)
	th0 := []float64{0.5, -0.5, 0.1}
	p := graph.NewParams(tensor.Float64, 1)
	setTheta(t, p, 2, th0)
	const eta = 0.05
	var after [][]float64 // θ after each update
	c := cfg(2, SGD{LR: eta})
	c.LogEvery = 1
	c.Callbacks = []Callback{func(e Event) error {
		if e.Kind == StepEnd {
			after = append(after, theta(e.Params))
		}
		return nil
	}}
	var tr Trainer = Loop{Policy: Policy{Name: "InOrder(B=10)", BatchSize: 10, Shuffle: false}, Config: c}
	h, err := tr.Fit(bg, models.Linear{}, p, lr.ds)
	if err != nil {
		t.Fatal(err)
	}
	if h.Method != "InOrder(B=10)" || h.StepsPerEpoch != 4 || len(after) != 8 {
		t.Fatalf("method %q, %d steps/epoch, %d updates; want InOrder(B=10), 4, 8", h.Method, h.StepsPerEpoch, len(after))
	}
	// Without shuffling, batches are examples 0-9, 10-19, 20-29, 30-34 in
	// every epoch: replay them by hand.
	th := append([]float64(nil), th0...)
	for step := 0; step < 8; step++ {
		lo := (step % 4) * 10
		hi := lo + 10
		if hi > 35 {
			hi = 35
		}
		idx := make([]int, 0, 10)
		for i := lo; i < hi; i++ {
			idx = append(idx, i)
		}
		g := lr.grad(th, idx)
		for i := range th {
			th[i] -= eta * g[i]
		}
		if !relClose(after[step], th, 1e-12) {
			t.Fatalf("update %d: θ = %v, want %v", step+1, after[step], th)
		}
	}
}

// chained is a user-defined Trainer: a few epochs of GD, then mini-batch SGD.
type chained struct{ first, then Trainer }

func (c chained) Fit(ctx context.Context, m models.Model, p *graph.Params, train datasets.Source) (*History, error) {
	if _, err := c.first.Fit(ctx, m, p, train); err != nil {
		return nil, err
	}
	return c.then.Fit(ctx, m, p, train)
}

func TestUserDefinedTrainer(t *testing.T) {
	lr := newLinReg(t, 100, 2, 0.1, 8, tensor.Float64)
	trainers := []Trainer{
		GD{Config: cfg(50, SGD{LR: 0.2})},
		chained{GD{Config: cfg(5, SGD{LR: 0.2})}, MiniBatchSGD{BatchSize: 20, Config: cfg(10, SGD{LR: 0.05})}},
	}
	for _, tr := range trainers {
		p := graph.NewParams(tensor.Float64, 1)
		h, err := tr.Fit(bg, models.Linear{}, p, lr.ds)
		if err != nil {
			t.Fatal(err)
		}
		if d := dist(theta(p), lr.leastSquares(t)); d > 0.05 {
			t.Errorf("%T (%s): |θ − θ*| = %g", tr, h.Method, d)
		}
	}
}

// signSGD is a user-defined optimizer with value receivers, as a notebook
// would write it: w ← w − η·sign(g).
type signSGD struct {
	LR    float64
	calls *int
}

func (o signSGD) LearningRate() float64 { return o.LR }

func (o signSGD) Start(params []*tensor.Dense) (Update, error) {
	return func(lr float64, grads []*tensor.Dense) error {
		*o.calls++
		for i, w := range params {
			wd, gd := w.Data().([]float64), grads[i].Data().([]float64)
			for j, g := range gd {
				switch {
				case g > 0:
					wd[j] -= lr
				case g < 0:
					wd[j] += lr
				}
			}
		}
		return nil
	}, nil
}

func TestUserDefinedOptimizer(t *testing.T) {
	lr := newLinReg(t, 100, 2, 0.1, 9, tensor.Float64)
	var calls int
	c := cfg(200, signSGD{LR: 0.1, calls: &calls})
	c.Schedule = Exponential(0.97) // sign steps must shrink to converge
	p := graph.NewParams(tensor.Float64, 1)
	h, err := GD{Config: c}.Fit(bg, models.Linear{}, p, lr.ds)
	if err != nil {
		t.Fatal(err)
	}
	d := dist(theta(p), lr.leastSquares(t))
	t.Logf("sign GD: |θ − θ*| = %.3g, final rate %.3g", d, h.Last().LearningRate)
	if calls != 200 || d > 1e-2 {
		t.Errorf("%d updates (want 200), |θ − θ*| = %g (want ≤ 1e-2)", calls, d)
	}
}

func TestWeightDecayAddsToGradient(t *testing.T) {
	lr := newLinReg(t, 40, 3, 0.3, 10, tensor.Float64)
	th0 := []float64{0.4, -1.2, 0.8, 0.6}
	const eta, wd = 0.1, 0.3
	p := graph.NewParams(tensor.Float64, 1)
	setTheta(t, p, 3, th0)
	c := cfg(1, SGD{LR: eta})
	c.WeightDecay = wd
	if _, err := (GD{Config: c}).Fit(bg, models.Linear{}, p, lr.ds); err != nil {
		t.Fatal(err)
	}
	g := lr.grad(th0, lr.all())
	want := make([]float64, 4)
	for i := range want {
		want[i] = th0[i] - eta*(g[i]+wd*th0[i]) // every parameter, bias included
	}
	if got := theta(p); !relClose(got, want, 1e-12) {
		t.Errorf("θ₁ = %v, want θ₀ − η(∇ + wd·θ₀) = %v", got, want)
	}
}

func TestClipNormBoundsTheStep(t *testing.T) {
	lr := newLinReg(t, 40, 3, 0.3, 11, tensor.Float64)
	th0 := []float64{0.4, -1.2, 0.8, 0.6}
	g := lr.grad(th0, lr.all())
	const eta = 0.1
	for _, clip := range []float64{0.01, 0.5, 10 * norm(g)} {
		p := graph.NewParams(tensor.Float64, 1)
		setTheta(t, p, 3, th0)
		c := cfg(1, SGD{LR: eta})
		c.ClipNorm = clip
		if _, err := (GD{Config: c}).Fit(bg, models.Linear{}, p, lr.ds); err != nil {
			t.Fatal(err)
		}
		scale := math.Min(1, clip/norm(g))
		want := make([]float64, 4)
		for i := range want {
			want[i] = th0[i] - eta*scale*g[i]
		}
		got := theta(p)
		if !relClose(got, want, 1e-12) {
			t.Errorf("ClipNorm %g: θ₁ = %v, want %v", clip, got, want)
		}
		step := dist(got, th0)
		if clip < norm(g) && math.Abs(step-clip*eta) > 1e-12*clip*eta {
			t.Errorf("ClipNorm %g: step size %v, want ClipNorm·η = %v", clip, step, clip*eta)
		}
	}
}

func TestFitArgumentErrors(t *testing.T) {
	lr := newLinReg(t, 20, 2, 0.1, 12, tensor.Float64)
	m := models.Linear{}
	ok := cfg(1, SGD{LR: 0.1})
	for _, tc := range []struct {
		name string
		tr   Trainer
		want []string
	}{
		{"epochs", GD{Config: cfg(0, SGD{LR: 0.1})}, []string{"Epochs"}},
		{"loss", GD{Config: Config{Epochs: 1, Optimizer: SGD{LR: 0.1}}}, []string{"Loss"}},
		{"optimizer", GD{Config: Config{Epochs: 1, Loss: graph.MSE}}, []string{"Optimizer"}},
		{"batch", MiniBatchSGD{Config: ok}, []string{"BatchSize"}},
		{"chunk", GD{Chunk: -1, Config: ok}, []string{"Chunk"}},
		{"log every", GD{Config: func() Config { c := ok; c.LogEvery = -1; return c }()}, []string{"LogEvery"}},
		{"noise batch", GD{Config: func() Config { c := ok; c.NoiseEvery, c.NoiseBatch = 1, 15; return c }()}, []string{"gradient noise", "15"}},
		{"metric", GD{Config: func() Config { c := ok; c.Validation, c.Metric = lr.ds, "accuracy"; return c }()}, []string{"Metric", "accuracy"}},
		{"droplast", MiniBatchSGD{BatchSize: 50, DropLast: true, Config: ok}, []string{"DropLast"}},
	} {
		p := graph.NewParams(tensor.Float64, 1)
		_, err := tc.tr.Fit(bg, m, p, lr.ds)
		testutil.ErrContains(t, err, tc.want...)
		if p.Len() != 0 {
			t.Errorf("%s: the failed Fit created parameters %v", tc.name, p.Names())
		}
	}
	if _, err := (GD{Config: ok}).Fit(bg, nil, graph.NewParams(tensor.Float64, 1), lr.ds); err == nil {
		t.Error("nil model: no error")
	}
	if _, err := (GD{Config: ok}).Fit(bg, m, nil, lr.ds); err == nil {
		t.Error("nil params: no error")
	}
	if _, err := (GD{Config: ok}).Fit(bg, m, graph.NewParams(tensor.Float64, 1), nil); err == nil {
		t.Error("nil dataset: no error")
	}
}
