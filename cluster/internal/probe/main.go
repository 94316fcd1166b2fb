// Command probe is the program the cluster tests start under mpirun: it joins the job, runs the
// collectives and prints what each rank received, or fails in the way the test asks for.
//
//	probe -mode collectives   print every collective's result, one line per rank
//	probe -mode panic         rank 1 panics (no recovery) while rank 0 waits in a collective
//	probe -mode abort         rank 1 recovers its panic and calls Abort while rank 0 waits
//	probe -mode error         rank 1 calls Abort with an error while rank 0 waits
//	probe -mode fit...        train with trainers (see fit.go)
//	probe -mode allgather     time -iters allgathers of -n float32 per rank and their rank-order sum
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/descent-go/descent/cluster"
)

func main() {
	mode := flag.String("mode", "collectives", "collectives, panic, abort or error")
	n := flag.Int("n", 3, "values per rank in the allgathers")
	iters := flag.Int("iters", 200, "allgather: timed repetitions")
	replicas := flag.Int("replicas", 1, "fit: replicas per rank")
	dir := flag.String("dir", os.TempDir(), "fit: directory of the checkpoints and logs")
	trainer := flag.String("trainer", "minibatch", "fit: minibatch, gd or online")
	flag.Parse()

	job, err := cluster.Join()
	if err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(1)
	}
	switch *mode {
	case "collectives":
		if err := collectives(job, *n); err != nil {
			job.Abort(err)
		}
	case "panic":
		fail(job, func() { panic("probe: rank 1 panics on purpose") })
	case "abort":
		defer func() {
			if r := recover(); r != nil {
				job.Abort(fmt.Errorf("panic: %v", r))
			}
		}()
		fail(job, func() { panic("probe: rank 1 panics on purpose") })
	case "error":
		fail(job, func() { job.Abort(fmt.Errorf("probe: rank 1 fails on purpose")) })
	case "allgather":
		if err := timeAllgather(job, *n, *iters); err != nil {
			job.Abort(err)
		}
	case "fit", "fit-stop", "fit-cancel", "fit-error", "fit-panic":
		if err := fit(job, *mode, *replicas, *dir, *trainer); err != nil {
			job.Abort(err)
		}
	default:
		job.Abort(fmt.Errorf("probe: unknown -mode %q", *mode))
	}
	if err := job.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(1)
	}
}

// fail runs f on rank 1 after a first barrier while every other rank waits in a second one, which
// only a job-wide abort can end.
func fail(job *cluster.Job, f func()) {
	if err := job.Barrier(); err != nil {
		job.Abort(err)
	}
	if job.Rank() == 1 {
		f()
	}
	if err := job.Barrier(); err != nil {
		job.Abort(err)
	}
	fmt.Printf("rank %d passed the barrier\n", job.Rank())
}

// Value v of rank r is 1000r + v + 1/3 (float64) and r + v/8 (float32): exact, distinct, and
// checkable by the test without knowing anything but the rank order.
func collectives(job *cluster.Job, n int) error {
	r, p := job.Rank(), job.Size()
	l64 := make([]float64, n)
	l32 := make([]float32, n)
	for v := range l64 {
		l64[v] = 1000*float64(r) + float64(v) + 1.0/3
		l32[v] = float32(r) + float32(v)/8
	}
	g64 := make([]float64, p*n)
	g32 := make([]float32, p*n)
	if err := job.AllgatherFloat64(l64, g64); err != nil {
		return err
	}
	if err := job.AllgatherFloat32(l32, g32); err != nil {
		return err
	}
	// The same gathers with each rank's values already in its block of out (MPI_IN_PLACE), the
	// other blocks holding garbage.
	i64, i32 := make([]float64, p*n), make([]float32, p*n)
	for v := range i64 {
		i64[v], i32[v] = -1, -1
	}
	copy(i64[r*n:], l64)
	copy(i32[r*n:], l32)
	if err := job.AllgatherFloat64(i64[r*n:(r+1)*n], i64); err != nil {
		return err
	}
	if err := job.AllgatherFloat32(i32[r*n:(r+1)*n], i32); err != nil {
		return err
	}
	// Broadcast from the last rank, then from rank 0 into a buffer that already differs.
	b := []byte(fmt.Sprintf("from rank %d of %d", r, p))
	last := make([]byte, len("from rank 0 of 0")+len(fmt.Sprint(p))*2) // same length on every rank
	copy(last, b)
	if err := job.Broadcast(last, p-1); err != nil {
		return err
	}
	first := []byte(strings.Repeat("x", 8))
	copy(first, fmt.Sprintf("r%d", r))
	if err := job.Broadcast(first, 0); err != nil {
		return err
	}
	if err := job.Barrier(); err != nil {
		return err
	}
	netns, _ := os.Readlink("/proc/self/ns/net") // which host (network namespace) this rank ran on
	fmt.Printf("rank=%d size=%d f64=%v f32=%v in-place f64=%v f32=%v bcast_last=%q bcast_first=%q netns=%s\n",
		r, p, g64, g32, i64, i32, strings.TrimRight(string(last), "\x00"), string(first), netns)
	return nil
}
