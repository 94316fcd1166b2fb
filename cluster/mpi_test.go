//go:build mpi

package cluster_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/descent-go/descent/internal/mpirun"
)

// These tests start real MPI jobs of the probe program (internal/probe) with Open MPI's mpirun.
// Without mpirun they skip, unless CI is set.

func buildProbe(t *testing.T, tags bool) string {
	t.Helper()
	mpirun.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if !tags {
		bin := t.TempDir() + "/probe-notag"
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./internal/probe").CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		return bin
	}
	bin, err := mpirun.Build(ctx, t.TempDir(), "github.com/descent-go/descent/cluster/internal/probe")
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// run starts np ranks of bin and returns the combined output, the error and the wall time. A job
// that outlives timeout is killed and fails the test.
func run(t *testing.T, hosts *mpirun.Hosts, timeout time.Duration, bin string, args ...string) (string, error, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := mpirun.Command(ctx, hosts, 2, bin, args...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(start)
	if ctx.Err() != nil {
		t.Fatalf("%s: still running after %v, killed\n%s", strings.Join(cmd.Args, " "), timeout, out)
	}
	return string(out), err, d
}

// exec2 runs bin alone (no launcher) under a 2-minute limit.
func exec2(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	return string(out), err
}

// A process the environment calls one of several ranks but that MPI sees alone (another MPI's
// launcher, here imitated by PMI_SIZE without a launcher) fails in Join instead of training alone.
func TestMPILauncherMismatchFails(t *testing.T) {
	bin := buildProbe(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), "PMI_SIZE=2")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("probe exited 0:\n%s", out)
	}
	if want := "the launcher started 2 ranks (PMI_SIZE) but MPI sees 1"; !strings.Contains(string(out), want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
}

var line = regexp.MustCompile(`(?m)^rank=(\d) size=(\d) (f64=.*) netns=(\S+)$`)

// checkCollectives checks each rank's line against the values computed here: allgather in rank
// order (from separate buffers and in place), broadcast from the last rank and from rank 0. It
// returns each rank's network namespace.
func checkCollectives(t *testing.T, out string) [2]string {
	t.Helper()
	var want64, want32 []string
	for r := 0; r < 2; r++ {
		for v := 0; v < 3; v++ {
			want64 = append(want64, fmt.Sprint(1000*float64(r)+float64(v)+1.0/3))
			want32 = append(want32, fmt.Sprint(float32(r)+float32(v)/8))
		}
	}
	gathered := fmt.Sprintf("f64=[%s] f32=[%s]", strings.Join(want64, " "), strings.Join(want32, " "))
	want := fmt.Sprintf("%s in-place %s bcast_last=%q bcast_first=%q",
		gathered, gathered, "from rank 1 of 2", "r0xxxxxx")
	var netns [2]string
	seen := 0
	for _, m := range line.FindAllStringSubmatch(out, -1) {
		r := int(m[1][0] - '0')
		if m[2] != "2" {
			t.Errorf("rank %s says size %s, want 2", m[1], m[2])
		}
		if m[3] != want {
			t.Errorf("rank %d received\n  %s\nwant\n  %s", r, m[3], want)
		}
		netns[r] = m[4]
		seen |= 1 << r
	}
	if seen != 3 {
		t.Fatalf("want one line from each of ranks 0 and 1, got:\n%s", out)
	}
	return netns
}

func TestMPISharedMemory(t *testing.T) {
	bin := buildProbe(t, true)
	out, err, _ := run(t, nil, 2*time.Minute, bin)
	if err != nil {
		t.Fatalf("mpirun: %v\n%s", err, out)
	}
	if ns := checkCollectives(t, out); ns[0] != ns[1] {
		t.Errorf("shared memory ranks in different network namespaces %v", ns)
	}
	// The collectives run every training step: through cgo and MPI they must not allocate.
	out, err, _ = run(t, nil, 2*time.Minute, bin, "-mode", "allgather", "-n", "1000", "-iters", "100")
	if err != nil {
		t.Fatalf("mpirun: %v\n%s", err, out)
	}
	if !strings.Contains(out, "allocs_per_iter=0.00") {
		t.Errorf("allgather allocates:\n%s", out)
	}
}

// Two hosts: two network namespaces joined by a veth pair, TCP between them.
func TestMPITwoHosts(t *testing.T) {
	bin := buildProbe(t, true)
	hosts := mpirun.RequireHosts(t)
	out, err, _ := run(t, hosts, 2*time.Minute, bin)
	if err != nil {
		t.Fatalf("mpirun: %v\n%s", err, out)
	}
	if ns := checkCollectives(t, out); ns[0] == ns[1] {
		t.Errorf("both ranks ran in network namespace %s, want one per host", ns[0])
	}
}

// A rank that panics or fails ends the whole job, with a non-zero status and a message, within
// seconds, while the other rank waits in a collective that only an abort can end.
func TestMPIFailingRankEndsJob(t *testing.T) {
	bin := buildProbe(t, true)
	for _, c := range []struct{ mode, msg string }{
		{"panic", "panic: probe: rank 1 panics on purpose"},
		{"abort", "cluster: rank 1 of 2 aborts the job: panic: probe: rank 1 panics on purpose"},
		{"error", "cluster: rank 1 of 2 aborts the job: probe: rank 1 fails on purpose"},
	} {
		t.Run(c.mode, func(t *testing.T) {
			out, err, d := run(t, nil, 2*time.Minute, bin, "-mode", c.mode)
			if err == nil {
				t.Fatalf("job exited 0\n%s", out)
			}
			if _, ok := err.(*exec.ExitError); !ok {
				t.Fatalf("mpirun: %v", err)
			}
			if !strings.Contains(out, c.msg) {
				t.Errorf("output lacks %q:\n%s", c.msg, out)
			}
			if strings.Contains(out, "passed the barrier") {
				t.Errorf("a rank went on past the failure:\n%s", out)
			}
			// Not a speed goal: a hang is the bug, and 30 s is far from the ~1 s it takes.
			if d > 30*time.Second {
				t.Errorf("the job took %v to end", d)
			}
			t.Logf("%s: %v in %v", c.mode, err, d.Round(time.Millisecond))
		})
	}
}

// A binary built without the tag but started by mpirun fails in Join on every rank, instead of
// running two separate trainings.
func TestMPINoTagBinaryFails(t *testing.T) {
	bin := buildProbe(t, false)
	out, err, _ := run(t, nil, 2*time.Minute, bin)
	if err == nil {
		t.Fatalf("job exited 0\n%s", out)
	}
	if !strings.Contains(out, "started as one of 2 ranks (OMPI_COMM_WORLD_SIZE=2) but built without MPI") {
		t.Errorf("output lacks the error:\n%s", out)
	}
	if line.MatchString(out) {
		t.Errorf("a rank ran anyway:\n%s", out)
	}
}
