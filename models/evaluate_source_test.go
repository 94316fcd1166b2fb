package models

import (
	"context"
	"math"
	"reflect"
	"testing"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/testutil"
)

// EvaluateSource over shards of a data set gives Evaluate's metrics over
// the data set in memory.
func TestEvaluateSourceMatchesEvaluate(t *testing.T) {
	ds, err := datasets.Blobs(230, 3, 4, 1, 3, tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	oh, err := ds.OneHot()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []*datasets.Dataset{ds, oh} {
		dir := t.TempDir()
		if _, err := datasets.WriteShards(context.Background(), dir, d, datasets.ShardWriteOptions{ExamplesPerShard: 50}); err != nil {
			t.Fatal(err)
		}
		sh, err := datasets.OpenShards(dir, datasets.StreamOptions{Prefetch: 20})
		if err != nil {
			t.Fatal(err)
		}
		m := MLP{Hidden: []int{5}, Outputs: 3}
		p := graph.NewParams(tensor.Float64, 1)
		if err := Init(m, p, d.XShape()); err != nil {
			t.Fatal(err)
		}
		ev := NewEvaluator(m, p, graph.SoftmaxCrossEntropy, 64)
		want, err := ev.Evaluate(d)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ev.EvaluateSource(context.Background(), sh)
		if err != nil {
			t.Fatal(err)
		}
		if got.N != want.N || math.Abs(got.Loss-want.Loss) > 1e-12*math.Abs(want.Loss) || got.Accuracy != want.Accuracy || !reflect.DeepEqual(got.Confusion, want.Confusion) || !got.Classify {
			t.Fatalf("EvaluateSource %+v, Evaluate %+v", got, want)
		}
		ev.Close()
	}
	// regression: MSE, MAE, R2 as in memory
	lr, _, _, err := datasets.LinearRegression(150, 3, 0.1, 2, tensor.Float32)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := datasets.WriteShards(context.Background(), dir, lr, datasets.ShardWriteOptions{ExamplesPerShard: 40}); err != nil {
		t.Fatal(err)
	}
	sh, err := datasets.OpenShards(dir, datasets.StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m := Linear{Outputs: 1}
	p := graph.NewParams(tensor.Float32, 1)
	if err := Init(m, p, lr.XShape()); err != nil {
		t.Fatal(err)
	}
	ev := NewEvaluator(m, p, graph.MSE, 32)
	want, _ := ev.Evaluate(lr)
	got, err := ev.EvaluateSource(context.Background(), sh)
	if err != nil || !got.Regress || math.Abs(got.MSE-want.MSE) > 1e-9*want.MSE || math.Abs(got.R2-want.R2) > 1e-9 {
		t.Fatalf("regression: EvaluateSource %+v (%v), Evaluate %+v", got, err, want)
	}
}

// TestEvaluateSourceStopsOnCancel: a cancelled context stops the pass
// between chunks, as Evaluate's (the shared chunk runner).
func TestEvaluateSourceStopsOnCancel(t *testing.T) {
	ds, err := datasets.Blobs(230, 3, 4, 1, 3, tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := datasets.WriteShards(context.Background(), dir, ds, datasets.ShardWriteOptions{ExamplesPerShard: 50}); err != nil {
		t.Fatal(err)
	}
	sh, err := datasets.OpenShards(dir, datasets.StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m := MLP{Hidden: []int{5}, Outputs: 3}
	p := graph.NewParams(tensor.Float64, 1)
	if err := Init(m, p, ds.XShape()); err != nil {
		t.Fatal(err)
	}
	// Done after three checks (opening the stream, the first chunk, its
	// read): the pass itself must stop
	// before the second chunk (example 64), not the stream's next Read.
	ctx := &doneAfter{Context: context.Background(), calls: 3}
	_, err = NewEvaluator(m, p, graph.SoftmaxCrossEntropy, 64).EvaluateSource(ctx, sh)
	testutil.ErrContains(t, err, "EvaluateSource", "stopped at example 64", "canceled")
}

// doneAfter is a context whose Err is nil for its first calls, then
// context.Canceled.
type doneAfter struct {
	context.Context
	calls int
}

func (c *doneAfter) Err() error {
	if c.calls > 0 {
		c.calls--
		return nil
	}
	return context.Canceled
}
