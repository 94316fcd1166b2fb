package main

import (
	"context"
	"testing"

	"github.com/descent-go/descent/examples/internal/cli"
)

// mnistJSON runs the example with args and -json, skipping the test when the
// MNIST files are not in a shared/data/mnist of a parent directory (the
// test never downloads).
func mnistJSON(t *testing.T, args ...string) summary {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: reading the 70000 MNIST images is slow under -race")
	}
	if cli.SharedData("mnist") == "" {
		t.Skip("no shared/data/mnist in the working directory or a parent (../../../shared/data/mnist from here): skipping rather than downloading")
	}
	var s summary
	if err := cli.RunJSON(context.Background(), run, append([]string{"-json", "-png", ""}, args...), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMLP(t *testing.T) {
	s := mnistJSON(t, "-model", "mlp", "-n", "2000", "-val", "0", "-epochs", "2", "-test-n", "1000")
	t.Logf("MLP on %d examples, %d epochs (%.1fs): test accuracy %.4f", s.Train, s.Epochs, s.Seconds, s.TestAccuracy)
	if s.Train != 2000 || s.Test != 1000 {
		t.Errorf("trained on %d, tested on %d examples; want 2000 and 1000", s.Train, s.Test)
	}
	if s.TestAccuracy < 0.85 {
		t.Errorf("test accuracy %.4f, want ≥ 0.85", s.TestAccuracy)
	}
}

func TestCNNSmoke(t *testing.T) {
	s := mnistJSON(t, "-model", "cnn", "-n", "200", "-val", "0", "-epochs", "1", "-batch", "32", "-test-n", "200")
	t.Logf("CNN on %d examples, 1 epoch (%.1fs): test loss %.4f → %.4f, accuracy %.4f", s.Train, s.Seconds, s.InitialLoss, s.TestLoss, s.TestAccuracy)
	if !(s.TestLoss < s.InitialLoss) {
		t.Errorf("test loss %.4f after training, %.4f before: want it lower", s.TestLoss, s.InitialLoss)
	}
}

func TestBNCNNSmoke(t *testing.T) {
	s := mnistJSON(t, "-model", "bncnn", "-n", "200", "-val", "0", "-epochs", "1", "-batch", "32", "-test-n", "200")
	t.Logf("BatchNorm CNN on %d examples, 1 epoch (%.1fs): test loss %.4f → %.4f, accuracy %.4f", s.Train, s.Seconds, s.InitialLoss, s.TestLoss, s.TestAccuracy)
	if !(s.TestLoss < s.InitialLoss) {
		t.Errorf("test loss %.4f after training, %.4f before: want it lower", s.TestLoss, s.InitialLoss)
	}
}
