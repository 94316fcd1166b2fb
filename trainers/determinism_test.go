package trainers

import (
	"reflect"
	"testing"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/testutil"
	"github.com/descent-go/descent/models"
)

// detRun trains an MLP with dropout by mini-batch SGD in float32, with
// validation, per-step records and gradient-noise estimates.
func detRun(t *testing.T, train, val *datasets.Dataset, seed int64, noiseEvery int) (*graph.Params, *History) {
	t.Helper()
	p := graph.NewParams(tensor.Float32, 7)
	c := Config{Epochs: 4, Loss: graph.SoftmaxCrossEntropy, Optimizer: NewAdam(0.01), Seed: seed,
		Validation: val, RecordSteps: true, NoiseEvery: noiseEvery, Schedule: Cosine(0.1)}
	m := models.MLP{Hidden: []int{16, 8}, Outputs: 3, Dropout: 0.3}
	h, err := MiniBatchSGD{BatchSize: 16, Config: c}.Fit(bg, m, p, train)
	if err != nil {
		t.Fatal(err)
	}
	return p, h
}

// withoutTimes is h with its wall times zeroed.
func withoutTimes(h *History) History {
	out := *h
	out.Epochs = append([]Epoch(nil), h.Epochs...)
	for i := range out.Epochs {
		out.Epochs[i].Seconds = 0
	}
	return out
}

func TestSameSeedSameBits(t *testing.T) {
	ds, err := datasets.Blobs(200, 3, 4, 2, 50, tensor.Float32)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := ds.Split(1, true, 0.75, 0.25)
	if err != nil {
		t.Fatal(err)
	}
	train, val := parts[0], parts[1]
	p1, h1 := detRun(t, train, val, 3, 5)
	p2, h2 := detRun(t, train, val, 3, 5)
	if !testutil.SameParams(p1, p2) {
		t.Error("same seed: params differ")
	}
	if !reflect.DeepEqual(withoutTimes(h1), withoutTimes(h2)) {
		t.Errorf("same seed: histories differ:\n%+v\n%+v", withoutTimes(h1), withoutTimes(h2))
	}
	if len(h1.Noise) == 0 || len(h1.Steps) != 4*10 {
		t.Errorf("%d noise estimates, %d step records", len(h1.Noise), len(h1.Steps))
	}
	p3, h3 := detRun(t, train, val, 4, 5)
	if testutil.SameParams(p1, p3) || reflect.DeepEqual(withoutTimes(h1).Epochs, withoutTimes(h3).Epochs) {
		t.Error("different seed: same params or History")
	}
	// Estimating the noise runs graphs of its own: it does not move the
	// training trajectory, dropout masks included.
	p4, h4 := detRun(t, train, val, 3, 0)
	if !testutil.SameParams(p1, p4) || !reflect.DeepEqual(withoutTimes(h1).Steps, withoutTimes(h4).Steps) {
		t.Error("NoiseEvery changed the trained params")
	}
	if h4.Last().GradEvals >= h1.Last().GradEvals {
		t.Errorf("GradEvals %d with noise estimates, %d without", h1.Last().GradEvals, h4.Last().GradEvals)
	}
}
