package models_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/testutil"
	"github.com/descent-go/descent/models"
	"github.com/descent-go/descent/trainers"
)

// digitImages is the embedded digits as (N, 1, 8, 8) images, split into
// the first n for training and the next m for testing.
func digitImages(t *testing.T, n, m int) (train, test *datasets.Dataset) {
	t.Helper()
	d, err := datasets.Digits(tensor.Float64)
	must(t, err)
	x, y := graph.Float64s(d.X()), graph.Float64s(d.Y())
	all, err := datasets.FromFloat64(x, []int{d.Len(), 1, 8, 8}, y, []int{d.Len()}, tensor.Float64)
	must(t, err)
	idx := make([]int, d.Len())
	for i := range idx {
		idx[i] = i
	}
	train, err = all.Subset(idx[:n])
	must(t, err)
	test, err = all.Subset(idx[n : n+m])
	must(t, err)
	return train, test
}

func fitConvNet(t *testing.T, train *datasets.Dataset, seed int64, epochs int) *graph.Params {
	t.Helper()
	p := graph.NewParams(tensor.Float64, seed)
	_, err := trainers.MiniBatchSGD{BatchSize: 32, Config: trainers.Config{
		Epochs: epochs, Loss: graph.SoftmaxCrossEntropy, Optimizer: trainers.SGD{LR: 0.05, Momentum: 0.9}, Seed: seed,
	}}.Fit(context.Background(), models.ConvNet{}, p, train)
	must(t, err)
	return p
}

// Training a BatchNorm network on fresh Params adopts its buffers, updates
// the running statistics, and is deterministic; evaluation uses them; a
// checkpoint saves and restores them.
func TestConvNetBatchNormState(t *testing.T) {
	n, m, epochs, minAcc := 800, 997, 2, 0.85
	if testing.Short() { // -race: less, still far above chance (0.1)
		n, m, epochs, minAcc = 300, 200, 3, 0.5
	}
	train, test := digitImages(t, n, m)
	p := fitConvNet(t, train, 3, epochs)
	if p.NumBuffers() != 6 {
		t.Fatalf("%d buffers %q, want running mean and variance of 3 BatchNorm layers", p.NumBuffers(), p.BufferNames())
	}
	for _, name := range p.Names() {
		if len(name) > 12 && name[len(name)-12:] == "running_mean" {
			t.Errorf("buffer %q is among the trainable parameters", name)
		}
	}
	mean := p.CopyFloat64s("conv1/bn/running_mean")
	if mean[0] == 0 {
		t.Errorf("conv1/bn/running_mean %v: not updated by training", mean)
	}
	met, err := models.Evaluate(models.ConvNet{}, p, graph.SoftmaxCrossEntropy, test)
	must(t, err)
	t.Logf("ConvNet on %d digits, %d epochs: test accuracy %.4f", n, epochs, met.Accuracy)
	if met.Accuracy < minAcc {
		t.Errorf("test accuracy %.4f, want ≥ %v", met.Accuracy, minAcc)
	}

	// Same seed, same bits, buffers included.
	q := fitConvNet(t, train, 3, epochs)
	if d := testutil.ParamsDiff(p, q); d != "" {
		t.Fatalf("two runs of one seed differ: %s", d)
	}

	// The evaluation graph reads the buffers: changing them changes the
	// predictions.
	pred := func(p *graph.Params) []float64 {
		out, err := models.Predict(models.ConvNet{}, p, test.X())
		must(t, err)
		return graph.Float64s(out)
	}
	before := pred(p)
	path := filepath.Join(t.TempDir(), "convnet.ckpt")
	must(t, models.SaveFile(path, p))
	p.Buffer("conv1/bn/running_var").Float64s()[0] *= 4
	if changed := pred(p); changed[0] == before[0] {
		t.Error("predictions do not depend on the running variance")
	}

	// A checkpoint restores them: into fresh Params made by Init, and as
	// new Params.
	fresh := graph.NewParams(tensor.Float64, 99)
	must(t, models.Init(models.ConvNet{}, fresh, test.XShape()))
	if fresh.NumBuffers() != 6 {
		t.Fatalf("Init made %d buffers, want 6", fresh.NumBuffers())
	}
	var buf bytes.Buffer
	loaded, err := models.LoadFile(path)
	must(t, err)
	must(t, models.Save(&buf, loaded))
	must(t, models.LoadInto(fresh, &buf))
	for _, r := range []*graph.Params{loaded, fresh} {
		if got := pred(r); got[0] != before[0] || got[len(got)-1] != before[len(before)-1] {
			t.Errorf("restored predictions %v…, saved %v…", got[:2], before[:2])
		}
	}
}

// bufferCheckpoint is a version 2 checkpoint: a parameter and a buffer.
func bufferCheckpoint(t testing.TB) []byte {
	p := graph.NewParams(tensor.Float64, 7)
	must(t, p.Add("w", tensor.New(tensor.WithShape(2), tensor.WithBacking([]float64{1, 2}))))
	must(t, p.AddBuffer("s", tensor.New(tensor.WithShape(3), tensor.WithBacking([]float64{4, 5, 6}))))
	return saveBytes(t, p)
}

// Buffers are saved with the parameters and restored by Load and LoadInto;
// a checkpoint without them does not fit Params that have them; every
// flipped bit and every prefix of one with buffers is caught.
func TestCheckpointBuffers(t *testing.T) {
	p := graph.NewParams(tensor.Float64, 7)
	must(t, p.Add("w", tensor.New(tensor.WithShape(2), tensor.WithBacking([]float64{1, 2}))))
	v1 := saveBytes(t, p)
	must(t, p.AddBuffer("s", tensor.New(tensor.WithShape(3), tensor.WithBacking([]float64{4, 5, 6}))))
	v2 := saveBytes(t, p)
	if !bytes.Equal(v2, bufferCheckpoint(t)) {
		t.Error("bufferCheckpoint differs")
	}
	q, err := models.Load(bytes.NewReader(v2))
	must(t, err)
	if q.NumBuffers() != 1 || q.Len() != 1 || q.CopyFloat64s("s")[2] != 6 {
		t.Errorf("loaded %d parameters, buffers %q = %v", q.Len(), q.BufferNames(), q.CopyFloat64s("s"))
	}
	if again := saveBytes(t, q); !bytes.Equal(again, v2) {
		t.Error("a loaded checkpoint with buffers saves to other bytes")
	}
	// Loading a checkpoint without the buffer into Params with it fails.
	r := graph.NewParams(tensor.Float64, 7)
	must(t, r.Add("w", tensor.New(tensor.WithShape(2), tensor.WithBacking([]float64{0, 0}))))
	must(t, r.AddBuffer("s", tensor.New(tensor.WithShape(3), tensor.WithBacking([]float64{0, 0, 0}))))
	testutil.ErrContains(t, models.LoadInto(r, bytes.NewReader(v1)), `buffer "s" is missing`)
	must(t, models.LoadInto(r, bytes.NewReader(v2)))
	if r.CopyFloat64s("s")[1] != 5 {
		t.Errorf("LoadInto: buffer %v", r.CopyFloat64s("s"))
	}
	for i := range v2 {
		for bit := 0; bit < 8; bit++ {
			data := append([]byte(nil), v2...)
			data[i] ^= 1 << bit
			if _, err := models.Load(bytes.NewReader(data)); err == nil {
				t.Fatalf("byte %d bit %d flipped: loaded", i, bit)
			}
		}
	}
	for n := 0; n < len(v2); n++ {
		if _, err := models.Load(bytes.NewReader(v2[:n])); err == nil {
			t.Fatalf("prefix of %d bytes loaded", n)
		}
	}
}
