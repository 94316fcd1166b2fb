package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/descent-go/descent/examples/internal/cli"
)

func runJSON(t *testing.T, args ...string) summary {
	t.Helper()
	var s summary
	if err := cli.RunJSON(context.Background(), run, append([]string{"-json"}, args...), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// A reduced run learns the order of A and B far above chance (50%).
func TestSequenceReduced(t *testing.T) {
	s := runJSON(t, "-n", "600", "-epochs", "3", "-hidden", "12")
	t.Logf("%d sequences, %d epochs (%.1fs): test accuracy %.4f", s.Train, s.Epochs, s.Seconds, s.TestAccuracy)
	if s.Train != 600 || s.Test != 150 || s.Epochs != 3 {
		t.Errorf("trained on %d for %d epochs, tested on %d; want 600, 3, 150", s.Train, s.Epochs, s.Test)
	}
	if s.TestAccuracy < 0.9 {
		t.Errorf("test accuracy %.4f, want ≥ 0.9", s.TestAccuracy)
	}
}

// Same seed, same run: the data, the initial weights and the result.
func TestSequenceDeterministic(t *testing.T) {
	a := runJSON(t, "-n", "64", "-epochs", "1", "-hidden", "4")
	b := runJSON(t, "-n", "64", "-epochs", "1", "-hidden", "4")
	if a.TrainLoss != b.TrainLoss || a.TestLoss != b.TestLoss {
		t.Errorf("two runs: train loss %v and %v, test loss %v and %v", a.TrainLoss, b.TrainLoss, a.TestLoss, b.TestLoss)
	}
}

func TestSequenceBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-n", "2"}, {"-steps", "1"}, {"-lr", "0"}, {"extra"}} {
		var out bytes.Buffer
		if err := run(context.Background(), append([]string{"-json"}, args...), &out); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}
