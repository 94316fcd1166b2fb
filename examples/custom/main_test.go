package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/descent-go/descent/examples/internal/cli"
)

func TestCustom(t *testing.T) {
	epochs := []string{"-gd-epochs", "30", "-online-epochs", "2", "-batch-epochs", "6"}
	if testing.Short() { // about a third of the work, for -race
		epochs = []string{"-gd-epochs", "15", "-online-epochs", "1", "-batch-epochs", "3"}
	}
	args := append([]string{"-json", "-checkpoint", filepath.Join(t.TempDir(), "resmlp.ckpt"), "-png", ""}, epochs...)
	var s summary
	if err := cli.RunJSON(context.Background(), run, args, &s); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"GD": 0.85, "OnlineSGD": 0.85, "MiniBatchSGD(B=32)": 0.9}
	if len(s.Results) != len(want) {
		t.Fatalf("got %d results, want %d", len(s.Results), len(want))
	}
	for _, r := range s.Results {
		t.Logf("%-20s %4d updates in %.2fs: test accuracy %.4f", r.Method, r.Updates, r.Seconds, r.TestAccuracy)
		bound, ok := want[r.Method]
		if !ok {
			t.Errorf("unexpected method %q", r.Method)
			continue
		}
		if r.TestAccuracy < bound {
			t.Errorf("%s: test accuracy %.4f, want ≥ %.2f", r.Method, r.TestAccuracy, bound)
		}
	}
	if !s.ReloadEqual {
		t.Errorf("reloaded model: loss %v accuracy %v; trained: %+v", s.ReloadLoss, s.ReloadAccuracy, s.Results[len(s.Results)-1])
	}
}
