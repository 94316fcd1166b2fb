package trainers

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/testutil"
	"github.com/descent-go/descent/models"
)

// shardsOf writes ds as shards of per examples and opens them with opt.
func shardsOf(t testing.TB, ds *datasets.Dataset, per int, opt datasets.StreamOptions) *datasets.Shards {
	t.Helper()
	dir := t.TempDir()
	if _, err := datasets.WriteShards(context.Background(), dir, ds, datasets.ShardWriteOptions{ExamplesPerShard: per}); err != nil {
		t.Fatal(err)
	}
	s, err := datasets.OpenShards(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The three trainers run from shards end to end, with a validation set:
// the same seed and the same shards give bit-identical params and history,
// training lowers the loss, and every example of the epoch is used.
func TestTrainersFromShards(t *testing.T) {
	ds := classes(t, 240, 5, 3, tensor.Float32)
	val := classes(t, 60, 5, 3, tensor.Float32)
	for _, tc := range parallelTrainers {
		for _, reps := range []int{1, 2} {
			run := func() (*graph.Params, *History) {
				sh := shardsOf(t, ds, 30, datasets.StreamOptions{ShuffleBuffer: 50, Prefetch: 16})
				c := Config{Epochs: 3, Loss: graph.SoftmaxCrossEntropy, Optimizer: SGD{LR: 0.1}, Seed: 9, Validation: val}
				if tc.name == "OnlineSGD" {
					c.Optimizer = SGD{LR: 0.01}
				}
				c.Parallel.Replicas = reps
				p := graph.NewParams(tensor.Float32, 3)
				h, err := tc.tr(c).Fit(context.Background(), models.MLP{Hidden: []int{8}, Outputs: 3}, p, sh)
				if err != nil {
					t.Fatalf("%s, %d replicas: %v", tc.name, reps, err)
				}
				return p, h
			}
			p1, h1 := run()
			p2, h2 := run()
			if d := testutil.ParamsDiff(p1, p2); d != "" {
				t.Fatalf("%s, %d replicas: two runs from the same shards differ: %s", tc.name, reps, d)
			}
			l1, l2 := lossesOf(h1), lossesOf(h2)
			if !reflect.DeepEqual(l1, l2) {
				t.Fatalf("%s, %d replicas: histories differ: %v vs %v", tc.name, reps, l1, l2)
			}
			first, last := h1.Epochs[0], h1.Last()
			if !(last.ValLoss < h1.Epochs[0].ValLoss) || !last.HasVal {
				t.Errorf("%s, %d replicas: validation loss %v -> %v: training from shards did not learn", tc.name, reps, first.ValLoss, last.ValLoss)
			}
			want := int64(3 * 240)
			if strings.Contains(tc.name, "droplast") {
				want = 3 * 234
			}
			if last.Examples != want {
				t.Errorf("%s, %d replicas: %d examples used, want %d", tc.name, reps, last.Examples, want)
			}
		}
	}
}

func lossesOf(h *History) []float64 {
	var out []float64
	for _, e := range h.Epochs {
		out = append(out, e.TrainLoss, e.ValLoss, e.ValMetric)
	}
	return out
}

// Unshuffled, whole shards in order give the in-memory data's order, so a
// GD epoch from shards is the in-memory GD epoch: the same params up to
// the order of the chunk sums (here, the same chunks: bit-identical).
func TestGDFromShardsIsGDInMemory(t *testing.T) {
	ds := classes(t, 90, 4, 3, tensor.Float64)
	sh := shardsOf(t, ds, 20, datasets.StreamOptions{Prefetch: 8})
	fit := func(src datasets.Source) *graph.Params {
		p := graph.NewParams(tensor.Float64, 3)
		c := Config{Epochs: 2, Loss: graph.SoftmaxCrossEntropy, Optimizer: SGD{LR: 0.5}, Seed: 1}
		if _, err := (GD{Config: c, Chunk: 10}).Fit(context.Background(), models.MLP{Hidden: []int{6}, Outputs: 3}, p, src); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b := fit(ds), fit(sh)
	if d := testutil.ParamsDiff(a, b); d != "" {
		t.Fatalf("GD in memory and GD from shards differ: %s", d)
	}
}

// A corrupt record stops training at the step that meets it, with an error
// naming the shard file and offset.
func TestTrainingStopsAtACorruptShard(t *testing.T) {
	ds := classes(t, 100, 4, 3, tensor.Float32)
	dir := t.TempDir()
	if _, err := datasets.WriteShards(context.Background(), dir, ds, datasets.ShardWriteOptions{ExamplesPerShard: 25}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "shard-00002.bin")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[32+3*(5*4+4)+1] ^= 4 // record 3
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	sh, err := datasets.OpenShards(dir, datasets.StreamOptions{Prefetch: 10})
	if err != nil {
		t.Fatal(err)
	}
	c := Config{Epochs: 1, Loss: graph.SoftmaxCrossEntropy, Optimizer: SGD{LR: 0.1}, Seed: 1}
	_, err = (MiniBatchSGD{Config: c, BatchSize: 10}).Fit(context.Background(), models.MLP{Hidden: []int{4}, Outputs: 3}, graph.NewParams(tensor.Float32, 1), sh)
	testutil.ErrContains(t, err, path, "offset 104", "CRC mismatch")
}

// TestTrainFromDataLargerThanItsMemory trains MiniBatchSGD for an epoch from
// 16.5 MB of shards whose stream may hold at most 3 MB (MaxBytes: Open
// refuses a larger shuffle buffer or prefetch), and measures the live Go
// heap (after a GC) every 5 steps: it grows by less than a quarter of the
// data set over the whole Fit (model, graphs and stream together).
func TestTrainFromDataLargerThanItsMemory(t *testing.T) {
	const n, f, budget = 16000, 256, 3 << 20
	ds := classes(t, n, f, 10, tensor.Float32)
	dir := t.TempDir()
	if _, err := datasets.WriteShards(context.Background(), dir, ds, datasets.ShardWriteOptions{ExamplesPerShard: 1000}); err != nil {
		t.Fatal(err)
	}
	ds = nil
	var disk int64
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if fi, err := e.Info(); err == nil {
			disk += fi.Size()
		}
	}
	if _, err := datasets.OpenShards(dir, datasets.StreamOptions{ShuffleBuffer: 4000, MaxBytes: budget}); err == nil {
		t.Fatal("a 4 MB shuffle buffer fits a 3 MB budget")
	}
	sh, err := datasets.OpenShards(dir, datasets.StreamOptions{ShuffleBuffer: 1000, Prefetch: 256, MaxBytes: budget})
	if err != nil {
		t.Fatal(err)
	}
	heap := func() int64 {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		metrics.Read(s)
		return int64(s[0].Value.Uint64())
	}
	runtime.GC()
	base, peak := heap(), int64(0)
	c := Config{Epochs: 1, Loss: graph.SoftmaxCrossEntropy, Optimizer: SGD{LR: 0.05}, Seed: 2, LogEvery: 5,
		Callbacks: []Callback{func(Event) error {
			runtime.GC()
			if h := heap() - base; h > peak {
				peak = h
			}
			return nil
		}}}
	h, err := (MiniBatchSGD{Config: c, BatchSize: 64}).Fit(context.Background(), models.MLP{Hidden: []int{16}, Outputs: 10}, graph.NewParams(tensor.Float32, 1), sh)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("trained on %d examples from %.1f MB of shards; heap grew by at most %.2f MB (stream budget %.1f MB)", h.Last().Examples, float64(disk)/1e6, float64(peak)/1e6, float64(budget)/1e6)
	if h.Last().Examples != n {
		t.Fatalf("trained on %d examples, want %d", h.Last().Examples, n)
	}
	if peak*4 > disk {
		t.Fatalf("the heap grew by %d bytes, more than a quarter of the %d-byte data set", peak, disk)
	}
}

// A run from shards resumed from its checkpoint after k epochs ends with
// the uninterrupted run's parameters and History: the shard order and the
// shuffle buffer are pure functions of (seed, epoch, part).
func TestResumeFromShards(t *testing.T) {
	train, val := resumeData(t)
	sh := shardsOf(t, train, 16, datasets.StreamOptions{ShuffleBuffer: 20, Prefetch: 8})
	dir := t.TempDir()
	const epochs = 4
	c := resumeConfig(dir, epochs, SGD{LR: 0.1, Momentum: 0.9}, nil, val)
	c.Callbacks = c.Callbacks[:1] // the checkpoints
	tr := MiniBatchSGD{Config: c, BatchSize: 10}
	p := graph.NewParams(tensor.Float32, 3)
	h, err := tr.Fit(bg, resumeModel, p, sh)
	if err != nil {
		t.Fatal(err)
	}
	rc := c
	rc.Resume = checkpointName(filepath.Join(dir, "run.ckpt"), 2)
	rc.Callbacks = []Callback{Checkpoint(filepath.Join(dir, "resumed.ckpt"), 1, epochs, "val_loss")}
	q := graph.NewParams(tensor.Float32, 99)
	h2, err := (MiniBatchSGD{Config: rc, BatchSize: 10}).Fit(bg, resumeModel, q, sh)
	if err != nil {
		t.Fatal(err)
	}
	if !testutil.SameParams(p, q) {
		t.Fatal("resumed from shards after 2 epochs: parameters differ from the uninterrupted run's")
	}
	if a, b := withoutTime(h), withoutTime(h2); !reflect.DeepEqual(a.Epochs, b.Epochs) {
		t.Fatalf("resumed History differs:\n%+v\nwant\n%+v", b.Epochs, a.Epochs)
	}
}
