package main

import (
	"context"
	"testing"

	"github.com/descent-go/descent/examples/internal/cli"
)

func sweepJSON(t *testing.T, args ...string) summary {
	t.Helper()
	var s summary
	if err := cli.RunJSON(context.Background(), run, append([]string{"-json", "-png", ""}, args...), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBatchSize(t *testing.T) {
	budget := "8"
	if testing.Short() { // for -race
		budget = "3"
	}
	s := sweepJSON(t, "-batches", "1,32,N", "-budget", budget)
	if len(s.Rows) != 3 {
		t.Fatalf("got %d rows, want 3", len(s.Rows))
	}
	for _, r := range s.Rows {
		t.Logf("B = %4d: %8.0f examples/s, loss %.4f after the budget, test accuracy %.4f", r.Batch, r.ExamplesPerSec, r.Loss, r.TestAccuracy)
	}
	one, mid, full := s.Rows[0], s.Rows[1], s.Rows[2]
	if full.Batch != s.N {
		t.Errorf("last batch size %d, want N = %d", full.Batch, s.N)
	}
	if !(mid.Loss < full.Loss) {
		t.Errorf("loss after the budget %.4f at B = 32, %.4f at B = N: want B = 32 lower", mid.Loss, full.Loss)
	}
	if !(one.ExamplesPerSec < mid.ExamplesPerSec) {
		t.Errorf("examples/s %.0f at B = 1, %.0f at B = 32: want increasing", one.ExamplesPerSec, mid.ExamplesPerSec)
	}
	// B = 32 and B = N differ in speed by less than 2×, so a busy machine
	// can swap them: time them again before calling it a failure.
	for attempt := 1; !(mid.ExamplesPerSec < full.ExamplesPerSec); attempt++ {
		if attempt == 3 {
			t.Errorf("examples/s %.0f at B = 32, %.0f at B = N: want increasing", mid.ExamplesPerSec, full.ExamplesPerSec)
			break
		}
		t.Logf("examples/s %.0f at B = 32, %.0f at B = N: timing again", mid.ExamplesPerSec, full.ExamplesPerSec)
		again := sweepJSON(t, "-batches", "32,N", "-budget", budget)
		mid, full = again.Rows[0], again.Rows[1]
	}
}
