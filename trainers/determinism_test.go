package trainers

import (
	"crypto/sha256"
	enc "encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"reflect"
	"strings"
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

// TestSameBitsOnAnyCoreCount trains, in child processes with GOMAXPROCS 1
// and 2, models whose serial step work (the optimizer update, the sum of
// the replicas' gradients) is split over the cores, and compares the
// parameters' bits: the split must not change them.
func TestSameBitsOnAnyCoreCount(t *testing.T) {
	if os.Getenv("DESCENT_CORES_CHILD") != "" {
		coresChild(t)
		return
	}
	var sums []string
	for _, procs := range []string{"1", "2"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSameBitsOnAnyCoreCount$", "-test.count=1")
		cmd.Env = append(os.Environ(), "DESCENT_CORES_CHILD=1", "GOMAXPROCS="+procs)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("GOMAXPROCS=%s: %v\n%s", procs, err, out)
		}
		var got []string
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, "params ") {
				got = append(got, line)
			}
		}
		if len(got) != 4 {
			t.Fatalf("GOMAXPROCS=%s: %d hashes in\n%s", procs, len(got), out)
		}
		sums = append(sums, strings.Join(got, "\n"))
	}
	if sums[0] != sums[1] {
		t.Errorf("parameters differ between 1 and 2 cores:\n%s\nvs\n%s", sums[0], sums[1])
	}
}

// coresChild trains and prints one hash of the parameters per case.
func coresChild(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		for _, reps := range []int{1, 2} {
			ds := classes(t, 320, 256, 4, dt)
			opt := Optimizer(SGD{LR: 0.01, Momentum: 0.9})
			if dt == tensor.Float64 {
				opt = NewAdam(0.001)
			}
			p := graph.NewParams(dt, 1)
			c := Config{Epochs: 2, Loss: graph.SoftmaxCrossEntropy, Optimizer: opt, Seed: 1, Parallel: Parallel{Replicas: reps}}
			if _, err := (MiniBatchSGD{Config: c, BatchSize: 32}).Fit(bg, models.MLP{Hidden: []int{256}, Outputs: 4}, p, ds); err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			for _, v := range allParams(p) {
				for _, x := range v {
					_ = enc.Write(h, enc.LittleEndian, math.Float64bits(x))
				}
			}
			fmt.Printf("params %v replicas=%d %x\n", dt, reps, h.Sum(nil))
		}
	}
}
