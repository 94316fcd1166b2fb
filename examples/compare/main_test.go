package main

import (
	"context"
	"testing"

	"github.com/descent-go/descent/examples/internal/cli"
)

// TestCompare runs the comparison briefly and checks the accounting that is
// its point: GD makes one update per epoch, online SGD one per example,
// mini-batch SGD ⌈N/B⌉; every method sees N examples per epoch; and the
// stochastic methods reach a lower training loss than GD in the same epochs.
func TestCompare(t *testing.T) {
	const epochs = 3
	var s summary
	if err := cli.RunJSON(context.Background(), run, []string{"-json", "-epochs", "3", "-batches", "32", "-plots", t.TempDir()}, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Results) != 3 || len(s.Plots) != 3 {
		t.Fatalf("%d results, %d plots; want 3 and 3", len(s.Results), len(s.Plots))
	}
	n := s.N
	want := []int{epochs, epochs * n, epochs * ((n + 31) / 32)}
	for i, r := range s.Results {
		if r.Updates != want[i] {
			t.Errorf("%s: %d updates, want %d", r.Method, r.Updates, want[i])
		}
		if r.Examples != int64(epochs*n) {
			t.Errorf("%s: %d examples, want %d", r.Method, r.Examples, epochs*n)
		}
	}
	gd, online, mb := s.Results[0], s.Results[1], s.Results[2]
	if !(online.TrainLoss < gd.TrainLoss && mb.TrainLoss < gd.TrainLoss) {
		t.Errorf("after %d epochs: GD %.4f, online %.4f, mini-batch %.4f: SGD should be ahead", epochs, gd.TrainLoss, online.TrainLoss, mb.TrainLoss)
	}
	if mb.TestAccuracy < 0.9 {
		t.Errorf("mini-batch test accuracy %.3f < 0.9", mb.TestAccuracy)
	}
}
