//go:build mpi

package cluster_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The training loop over a real MPI job, end to end: the probe's fit modes (internal/probe/fit.go)
// train a small float64 MLP on both ranks.

var fitLine = regexp.MustCompile(`(?m)^fit rank=(\d) err="(.*)" steps=(\d+) epochs=(\d+) stopped="(.*)" sha=([0-9a-f]{64})$`)

type fitResult struct {
	err, stopped, sha string
	steps, epochs     string
}

func parseFit(t *testing.T, out string, ranks int) []fitResult {
	t.Helper()
	res := make([]fitResult, ranks)
	seen := 0
	for _, m := range fitLine.FindAllStringSubmatch(out, -1) {
		r := int(m[1][0] - '0')
		if r >= ranks {
			t.Fatalf("rank %d in\n%s", r, out)
		}
		res[r] = fitResult{err: m[2], steps: m[3], epochs: m[4], stopped: m[5], sha: m[6]}
		seen |= 1 << r
	}
	if seen != 1<<ranks-1 {
		t.Fatalf("want a fit line from each of %d ranks, got:\n%s", ranks, out)
	}
	return res
}

// inProcess runs the probe alone (MPI's singleton: one rank) with the given replicas.
func inProcess(t *testing.T, bin string, args ...string) fitResult {
	t.Helper()
	out, err := exec2(t, bin, args...)
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", bin, args, err, out)
	}
	return parseFit(t, out, 1)[0]
}

// Every trainer gives, over 2 ranks, the bits of 2 in-process replicas, and only rank 0 writes
// the checkpoint and the log.
func TestMPIFitMatchesReplicas(t *testing.T) {
	bin := buildProbe(t, true)
	for _, tr := range []string{"minibatch", "gd", "online"} {
		t.Run(tr, func(t *testing.T) {
			dir := t.TempDir()
			out, err, _ := run(t, nil, 2*time.Minute, bin, "-mode", "fit", "-trainer", tr, "-dir", dir)
			if err != nil {
				t.Fatalf("mpirun: %v\n%s", err, out)
			}
			res := parseFit(t, out, 2)
			want := inProcess(t, bin, "-mode", "fit", "-trainer", tr, "-replicas", "2", "-dir", t.TempDir())
			for r, got := range res {
				if got.err != "<nil>" || got.epochs != "3" {
					t.Errorf("rank %d: err %s after %s epochs, want <nil> after 3", r, got.err, got.epochs)
				}
				if got.sha != want.sha || got.steps != want.steps {
					t.Errorf("rank %d: params %.12s after %s steps, 2 in-process replicas: %.12s after %s", r, got.sha, got.steps, want.sha, want.steps)
				}
			}
			for _, f := range []struct {
				pattern string
				wrote   bool
			}{{"rank0*.ckpt", true}, {"rank0.csv", true}, {"rank1*.ckpt", false}, {"rank1.csv", false}} {
				files, _ := filepath.Glob(filepath.Join(dir, f.pattern))
				wrote := false
				for _, name := range files {
					if fi, err := os.Stat(name); err == nil && fi.Size() > 0 {
						wrote = true
					}
				}
				if wrote != f.wrote {
					t.Errorf("%s written: %v (%v), want %v (only rank 0 writes files)", f.pattern, wrote, files, f.wrote)
				}
			}
		})
	}
}

// A stop on rank 1 alone — a callback's ErrStop or a cancelled context — ends both ranks cleanly at
// the same step with the same weights.
func TestMPIFitStopAgreed(t *testing.T) {
	bin := buildProbe(t, true)
	for _, c := range []struct{ mode, err1 string }{
		{"fit-stop", "<nil>"},
		{"fit-cancel", "context canceled"},
	} {
		t.Run(c.mode, func(t *testing.T) {
			out, err, d := run(t, nil, 2*time.Minute, bin, "-mode", c.mode, "-dir", t.TempDir())
			if err != nil {
				t.Fatalf("mpirun: %v after %v\n%s", err, d, out)
			}
			res := parseFit(t, out, 2)
			if res[0].err != "<nil>" {
				t.Errorf("rank 0: Fit returned %s, want no error", res[0].err)
			}
			if !strings.Contains(res[1].err, c.err1) {
				t.Errorf("rank 1: Fit returned %s, want %s", res[1].err, c.err1)
			}
			for r, got := range res {
				if got.steps != "5" || got.stopped == "" {
					t.Errorf("rank %d: ended after step %s, stopped %q; want step 5 and a reason", r, got.steps, got.stopped)
				}
			}
			if res[0].sha != res[1].sha {
				t.Errorf("params differ: rank 0 %.12s, rank 1 %.12s", res[0].sha, res[1].sha)
			}
		})
	}
}

// An error or a panic in rank 1's callback aborts the whole job, non-zero, within seconds.
func TestMPIFitFailureAborts(t *testing.T) {
	bin := buildProbe(t, true)
	for _, c := range []struct{ mode, msg string }{
		{"fit-error", "cluster: rank 1 of 2 aborts the job: trainers: rank 1 of 2: probe: rank 1's callback fails on purpose"},
		{"fit-panic", "probe: rank 1's callback panics on purpose"},
	} {
		t.Run(c.mode, func(t *testing.T) {
			out, err, d := run(t, nil, 2*time.Minute, bin, "-mode", c.mode, "-dir", t.TempDir())
			if err == nil {
				t.Fatalf("job exited 0\n%s", out)
			}
			if !strings.Contains(out, c.msg) {
				t.Errorf("output lacks %q:\n%s", c.msg, out)
			}
			if fitLine.MatchString(out) {
				t.Errorf("a rank finished its Fit:\n%s", out)
			}
			if d > 30*time.Second { // a hang is the bug; it takes about 1 s
				t.Errorf("the job took %v to end", d)
			}
		})
	}
}
