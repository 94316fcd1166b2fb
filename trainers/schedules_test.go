package trainers

import (
	"math"
	"testing"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/testutil"
	"github.com/descent-go/descent/models"
)

func TestScheduleValues(t *testing.T) {
	at := func(epoch, step int) Time { return Time{Epoch: epoch, Step: step, StepsPerEpoch: 10, Epochs: 5} }
	for _, tc := range []struct {
		name string
		s    Schedule
		t    Time
		want float64
	}{
		{"StepDecay e0", StepDecay(3, 0.5), at(0, 0), 1},
		{"StepDecay e2", StepDecay(3, 0.5), at(2, 29), 1},
		{"StepDecay e3", StepDecay(3, 0.5), at(3, 30), 0.5},
		{"StepDecay e7", StepDecay(3, 0.5), at(7, 70), 0.25},
		{"StepDecay every 0 is every 1", StepDecay(0, 0.5), at(2, 0), 0.25},
		{"Exponential e0", Exponential(0.9), at(0, 0), 1},
		{"Exponential e2", Exponential(0.9), at(2, 25), 0.81},
		{"InverseScaling t0", InverseScaling(100, 0.5), at(0, 0), 1},
		{"InverseScaling t300", InverseScaling(100, 0.5), at(3, 300), 0.5},
		{"InverseScaling t100 p1", InverseScaling(100, 1), at(1, 100), 0.5},
		// 5 epochs × 10 steps: step 0 is the start, step 49 the last update.
		{"Cosine start", Cosine(0.1), at(0, 0), 1},
		{"Cosine end", Cosine(0.1), at(4, 49), 0.1},
		{"Cosine past the end", Cosine(0.1), at(5, 60), 0.1},
		{"Cosine middle", Cosine(0.1), Time{Step: 5, StepsPerEpoch: 11, Epochs: 1}, 0.55},
		{"Cosine quarter", Cosine(0), Time{Step: 1, StepsPerEpoch: 3, Epochs: 1}, 0.5},
		{"Cosine one step", Cosine(0.1), Time{Step: 0, StepsPerEpoch: 1, Epochs: 1}, 1},
		{"Warmup step 0", Warmup(4, nil), at(0, 0), 0.25},
		{"Warmup step 1", Warmup(4, nil), at(0, 1), 0.5},
		{"Warmup step 3", Warmup(4, nil), at(0, 3), 1},
		{"Warmup after", Warmup(4, nil), at(1, 10), 1},
		{"Warmup then Exponential", Warmup(4, Exponential(0.5)), at(1, 2), 0.5 * 0.75},
		{"Warmup then Exponential after", Warmup(4, Exponential(0.5)), at(2, 20), 0.25},
	} {
		if got := tc.s(tc.t); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestReduceOnPlateau(t *testing.T) {
	s := ReduceOnPlateau(0.5, 2, 0.01)
	// best 1, then 0.9; 0.895 and 0.89 do not beat 0.9 − 0.01 (wait 1, 2:
	// first cut); 0.889 and 0.5 do; 0.6, 0.7 do not (second cut).
	mon := []float64{1, 0.9, 0.895, 0.89, 0.889, 0.5, 0.6, 0.7}
	want := []float64{1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25}
	for k := 0; k <= len(mon); k++ {
		if got := s(Time{Epoch: k, Monitored: mon[:k]}); got != want[k] {
			t.Errorf("after %v: factor %v, want %v", mon[:k], got, want[k])
		}
	}
}

func TestHistoryLearningRateFollowsSchedule(t *testing.T) {
	lr := newLinReg(t, 100, 2, 0.1, 20, tensor.Float64)
	for _, tc := range []struct {
		name  string
		s     Schedule
		want  func(epoch int) float64 // factor of the epoch's last update (step 10·(e+1) − 1)
		steps int
	}{
		{"Exponential", Exponential(0.5), func(e int) float64 { return math.Pow(0.5, float64(e)) }, 10},
		{"StepDecay", StepDecay(2, 0.1), func(e int) float64 { return math.Pow(0.1, float64(e/2)) }, 10},
		{"InverseScaling", InverseScaling(10, 1), func(e int) float64 { return 1 / (1 + float64(10*(e+1)-1)/10) }, 10},
		{"Cosine", Cosine(0), func(e int) float64 { return (1 + math.Cos(math.Pi*float64(10*(e+1)-1)/39)) / 2 }, 10},
	} {
		c := cfg(4, SGD{LR: 0.1})
		c.Schedule = tc.s
		p := graph.NewParams(tensor.Float64, 1)
		h, err := MiniBatchSGD{BatchSize: 10, Config: c}.Fit(bg, models.Linear{}, p, lr.ds)
		if err != nil {
			t.Fatal(err)
		}
		for e, rec := range h.Epochs {
			if want := 0.1 * tc.want(e); math.Abs(rec.LearningRate-want) > 1e-15 {
				t.Errorf("%s epoch %d: learning rate %v, want %v", tc.name, e, rec.LearningRate, want)
			}
		}
	}
}

func TestReduceOnPlateauInFit(t *testing.T) {
	// GD converges within a few epochs; then the training loss (monitored
	// without a validation set) stops improving and the rate is cut.
	lr := newLinReg(t, 100, 2, 0.5, 21, tensor.Float64)
	s := ReduceOnPlateau(0.5, 2, 1e-4)
	c := cfg(30, SGD{LR: 0.2})
	c.Schedule = s
	p := graph.NewParams(tensor.Float64, 1)
	h, err := GD{Config: c}.Fit(bg, models.Linear{}, p, lr.ds)
	if err != nil {
		t.Fatal(err)
	}
	var losses []float64
	for e, rec := range h.Epochs {
		// GD's single update of epoch e sees the losses of epochs 0..e−1.
		if want := 0.2 * s(Time{Epoch: e, Monitored: losses}); rec.LearningRate != want {
			t.Errorf("epoch %d: rate %v, want %v", e, rec.LearningRate, want)
		}
		losses = append(losses, rec.TrainLoss)
	}
	if last := h.Last().LearningRate; last >= 0.2/4 {
		t.Errorf("rate never cut twice: last %v", last)
	}
}

func TestBadScheduleValueIsAnError(t *testing.T) {
	lr := newLinReg(t, 100, 2, 0.1, 22, tensor.Float64)
	for _, tc := range []struct {
		name  string
		s     Schedule
		want  []string
		steps int // updates made before the error
	}{
		{"NaN", func(t Time) float64 {
			if t.Step == 13 {
				return math.NaN()
			}
			return 1
		}, []string{"epoch 2 step 13", "NaN", "learning rate"}, 13},
		{"negative", func(t Time) float64 {
			if t.Step == 5 {
				return -1
			}
			return 1
		}, []string{"epoch 1 step 5", "-0.1", "learning rate"}, 5},
		// A factor that is bad from the start is an error before the Fit
		// starts: no History.
		{"Inf", func(t Time) float64 { return math.Inf(1) }, []string{"before the first step", "learning rate"}, 0},
		{"panic", func(t Time) float64 {
			if t.Step == 2 {
				panic("boom")
			}
			return 1
		}, []string{"epoch 1 step 2", "boom"}, 2},
	} {
		var updates int
		c := cfg(3, SGD{LR: 0.1})
		c.Schedule, c.LogEvery = tc.s, 1
		c.Callbacks = []Callback{func(e Event) error {
			if e.Kind == StepEnd {
				updates = e.Step
			}
			return nil
		}}
		p := graph.NewParams(tensor.Float64, 1)
		h, err := MiniBatchSGD{BatchSize: 10, Config: c}.Fit(bg, models.Linear{}, p, lr.ds)
		testutil.ErrContains(t, err, tc.want...)
		if updates != tc.steps || (h == nil) != (tc.steps == 0) || (h != nil && len(h.Epochs) != tc.steps/10) {
			t.Errorf("%s: %d updates before the error, want %d; History %v", tc.name, updates, tc.steps, h)
		}
	}
}
