//go:build mpi

package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/descent-go/descent/internal/mpirun"
)

// `mpirun -np 2 ./scaling -json` prints the keys and the params_sha256 of `-replicas 2` in one
// process: over shared memory and over TCP between two network namespaces.
func TestScalingMPIMatchesReplicas(t *testing.T) {
	mpirun.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin, err := mpirun.Build(ctx, t.TempDir(), "github.com/descent-go/descent/examples/scaling")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
	}{
		{"mlp", short},
		{"lenet", []string{"-model", "lenet", "-steps", "8", "-warm", "2", "-n", "512", "-batch", "64"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			want := runJSON(t, append(c.args, "-replicas", "2")...)
			for _, tr := range []string{"shm", "tcp"} {
				t.Run(tr, func(t *testing.T) {
					var hosts *mpirun.Hosts
					if tr == "tcp" {
						hosts = mpirun.RequireHosts(t)
					}
					ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
					defer cancel()
					out, err := mpirun.Command(ctx, hosts, 2, bin, append([]string{"-json"}, c.args...)...).Output()
					if ctx.Err() != nil || err != nil {
						t.Fatalf("mpirun: %v (%v)\n%s", err, ctx.Err(), out)
					}
					lines := strings.Split(strings.TrimSpace(string(out)), "\n")
					if len(lines) != 1 {
						t.Fatalf("want one JSON line (from rank 0 alone), got:\n%s", out)
					}
					var got summary
					if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
						t.Fatalf("%v in %s", err, out)
					}
					t.Logf("%s: %.0f samples/s, %.3f ms per step of which %.3f ms in MPI, params %.12s",
						tr, got.SamplesPerSec, got.StepMS, got.CommMS, got.ParamsSHA256)
					if got.Replicas != 2 || got.Ranks != 2 || got.Steps != want.Steps {
						t.Errorf("replicas %d ranks %d steps %d, want 2 2 %d", got.Replicas, got.Ranks, got.Steps, want.Steps)
					}
					if got.ParamsSHA256 != want.ParamsSHA256 || got.FinalLoss != want.FinalLoss {
						t.Errorf("mpirun -np 2: params %s loss %v; -replicas 2: %s %v",
							got.ParamsSHA256, got.FinalLoss, want.ParamsSHA256, want.FinalLoss)
					}
				})
			}
		})
	}
}
