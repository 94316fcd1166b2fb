package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/descent-go/descent/examples/internal/cli"
)

func streamJSON(t *testing.T, args ...string) summary {
	t.Helper()
	var s summary
	if err := cli.RunJSON(context.Background(), run, args, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestReducedRead writes 3000 examples as 3 shards and streams 2 epochs.
func TestReducedRead(t *testing.T) {
	dir := t.TempDir()
	s := streamJSON(t, "-n", "3000", "-per", "1000", "-dir", dir, "-mode", "read", "-epochs", "2", "-buffer", "500", "-prefetch", "256")
	if s.Examples != 6000 || s.Shards != 3 || s.BytesOnDisk != 3*(32+1000*3144) || s.SamplesPerSec <= 0 || s.PeakRSSMB <= 0 {
		t.Fatalf("%+v", s)
	}
	// the shards are reused by a second run
	if s2 := streamJSON(t, "-n", "3000", "-per", "1000", "-dir", dir, "-mode", "read"); s2.WriteSeconds != 0 || s2.Examples != 3000 {
		t.Fatalf("second run: %+v", s2)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-n", "0"}, {"-mode", "disk"}, {"-batch", "0"}} {
		if err := run(context.Background(), args, &bytes.Buffer{}); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

// TestReducedTrain trains the MLP from 3 shards for 2 epochs, and from the
// same data in memory.
func TestReducedTrain(t *testing.T) {
	dir := t.TempDir()
	for _, mode := range []string{"shards", "memory"} {
		s := streamJSON(t, "-n", "3000", "-per", "1000", "-dir", dir, "-mode", mode, "-epochs", "2", "-buffer", "500", "-prefetch", "256")
		if s.Examples != 6000 || s.SamplesPerSec <= 0 || s.PeakRSSMB <= 0 {
			t.Fatalf("%s: %+v", mode, s)
		}
		if !(s.FinalLoss < s.FirstLoss) || !(s.FirstLoss < 2.31) {
			t.Errorf("%s: loss %v -> %v: want below ln 10 and decreasing", mode, s.FirstLoss, s.FinalLoss)
		}
	}
}
