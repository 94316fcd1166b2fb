package main

import (
	"context"
	"testing"

	"github.com/descent-go/descent/examples/internal/cli"
)

func TestNoise(t *testing.T) {
	args := []string{"-json", "-runs", "6", "-batches", "1,4,16", "-lrs", "0.1", "-steps", "300", "-estimates", "5"}
	var s summary
	if err := cli.RunJSON(context.Background(), run, args, &s); err != nil {
		t.Fatal(err)
	}
	frac := map[int]float64{}
	for _, e := range s.Escapes {
		frac[e.Batch] = e.Fraction
	}
	t.Logf("escape fractions by batch size (0: GD): %v", frac)
	if f, ok := frac[0]; !ok || f != 0 {
		t.Errorf("GD escape fraction %v (present %v), want 0", f, ok)
	}
	if frac[1] <= frac[16] {
		t.Errorf("escape fraction at B = 1 is %v, at B = 16 %v: want the smallest batch to escape more often", frac[1], frac[16])
	}

	variance := map[int]float64{}
	for _, nr := range s.Noise {
		variance[nr.Batch] = nr.Variance
		t.Logf("B = %2d: variance %.4f (s²/B = %.4f), tr Σ %.3f", nr.Batch, nr.Variance, nr.Theory, nr.TraceSigma)
	}
	if variance[16] <= 0 {
		t.Fatalf("no variance at B = 16: %v", variance)
	}
	if r := variance[4] / variance[16]; r < 4/1.6 || r > 4*1.6 {
		t.Errorf("Variance(B=4)/Variance(B=16) = %.2f, want about 4 (within a factor 1.6)", r)
	}
}
