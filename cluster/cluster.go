// Package cluster runs one training across several processes, on one machine or many, through MPI.
//
// A job is a set of processes (ranks 0 … Size()-1) started together by an MPI launcher (mpirun,
// Slurm's srun, the Kubeflow MPI Operator). Each process calls Join once, trains its part of the
// data, exchanges gradients through the collectives of its *Job and, on success, calls Close:
//
//	job, err := cluster.Join()
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer func() { // a panic on one rank must end every rank, not hang them
//		if r := recover(); r != nil {
//			job.Abort(fmt.Errorf("panic: %v", r))
//		}
//	}()
//	cfg.Parallel.Job = job
//	if _, err := trainer.Fit(ctx, data); err != nil {
//		job.Abort(err) // the other ranks wait in a collective: end them all, status 1
//	}
//	if err := job.Close(); err != nil { // success path only
//		log.Fatal(err)
//	}
//
// The real implementation is a thin cgo wrapper of Open MPI and builds only with the tag `mpi`
// (`go build -tags mpi`, needs Debian's libopenmpi-dev: `pkg-config ompi-c`). Without the tag the
// package is pure Go and Join returns a one-rank job, so the default build stays free of cgo; such a
// binary started by mpirun with more than one rank fails in Join instead of running N separate
// trainings.
//
// A nil *Job is one process: Rank 0, Size 1, the collectives copy their input, Close does nothing.
//
// The collectives are blocking and, like MPI's, must be called by every rank in the same order with
// the same lengths. A *Job serialises its own calls (MPI is initialised with
// MPI_THREAD_SERIALIZED), so goroutines may share it.
//
// Never defer Close: a rank that panics would block in MPI_Finalize while the others wait in a
// collective, and the job would hang. Call Abort on any error or panic instead; it prints the error
// and ends every rank of the job with status 1.
package cluster

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"sync"

	"github.com/pkg/errors"
)

// A Job is this process's membership of an MPI job. The zero value is not usable; get one from
// Join. A nil *Job stands for one process.
type Job struct {
	rank, size int
	mpi        bool // MPI was initialised for this job (built with the tag mpi)

	mu     sync.Mutex // serialises MPI calls (MPI_THREAD_SERIALIZED)
	closed bool
}

// launcherSize reports how many ranks the environment says the launcher started, and which
// variable said so (0, "" if none does). Open MPI's mpirun sets OMPI_COMM_WORLD_SIZE; MPICH's
// Hydra, Intel MPI and Slurm's PMI-2 set PMI_SIZE; PMIx launchers may set PMIX_SIZE.
func launcherSize() (int, string, error) {
	for _, name := range []string{"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"} {
		s, ok := os.LookupEnv(name)
		if !ok || s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return 0, name, errors.Errorf("cluster: environment variable %s=%q is not a positive rank count", name, s)
		}
		return n, name, nil
	}
	return 0, "", nil
}

// Rank is this process's rank, 0 ≤ Rank < Size; 0 for a nil Job.
func (j *Job) Rank() int {
	if j == nil {
		return 0
	}
	return j.rank
}

// Size is the number of processes in the job; 1 for a nil Job.
func (j *Job) Size() int {
	if j == nil {
		return 1
	}
	return j.size
}

// Close ends this process's part of the job (MPI_Finalize). Every rank must call it, on the success
// path only (see the package doc). After Close the collectives fail and Join cannot start MPI
// again. Closing twice is not an error.
func (j *Job) Close() error {
	if j == nil {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return nil
	}
	j.closed = true
	if !j.mpi {
		return nil
	}
	return finalize()
}

// Abort prints err (naming this rank) to standard error and ends the whole job: every rank exits
// with status 1 (MPI_Abort). It does not return. For a nil or one-rank Job it exits this process.
func (j *Job) Abort(err error) {
	if err == nil {
		err = errors.New("no error given")
	}
	fmt.Fprintf(os.Stderr, "cluster: rank %d of %d aborts the job: %v\n", j.Rank(), j.Size(), err)
	if j != nil && j.mpi && !j.closed {
		// No lock: the failing goroutine may be another one blocked in a collective holding it, and
		// MPI_Abort may be called from any thread.
		abort(1)
	}
	os.Exit(1)
}

// collective runs one collective: it validates the arguments (the job is open; out holds
// Size()*len(local) elements, addressable by MPI's int counts), runs alone for a job of one rank
// (copying local to out), else calls MPI under the job's lock.
func (j *Job) collective(op string, nlocal, nout int, alone func(), call func() error) error {
	size := j.Size()
	if nlocal > math.MaxInt32/size {
		return errors.Errorf("cluster: %s of %d elements per rank × %d ranks exceeds MPI's int count", op, nlocal, size)
	}
	if nout != size*nlocal {
		return errors.Errorf("cluster: %s: out has %d elements, want Size %d × len(local) %d = %d",
			op, nout, size, nlocal, size*nlocal)
	}
	if j == nil {
		alone()
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return errors.Errorf("cluster: %s on rank %d after Close", op, j.rank)
	}
	if size == 1 {
		alone()
		return nil
	}
	if err := call(); err != nil {
		return errors.Wrapf(err, "cluster: %s on rank %d", op, j.rank)
	}
	return nil
}

// AllgatherFloat64 gathers every rank's local into out, in rank order: out[r*len(local):] is rank
// r's local. Every rank must pass the same len(local); out must hold Size()*len(local) values.
// local may be this rank's block of out itself: nothing is then copied within the rank
// (MPI_IN_PLACE).
func (j *Job) AllgatherFloat64(local, out []float64) error {
	return j.collective("AllgatherFloat64", len(local), len(out),
		func() { copy(out, local) }, func() error { return allgatherFloat64(j.rank, local, out) })
}

// AllgatherFloat32 is AllgatherFloat64 for float32 values.
func (j *Job) AllgatherFloat32(local, out []float32) error {
	return j.collective("AllgatherFloat32", len(local), len(out),
		func() { copy(out, local) }, func() error { return allgatherFloat32(j.rank, local, out) })
}

// Broadcast copies root's buf into every other rank's buf. Every rank must pass the same len(buf).
func (j *Job) Broadcast(buf []byte, root int) error {
	if root < 0 || root >= j.Size() {
		return errors.Errorf("cluster: Broadcast from root %d, want 0 ≤ root < Size %d", root, j.Size())
	}
	return j.collective("Broadcast", len(buf), len(buf)*j.Size(),
		func() {}, func() error { return broadcast(buf, root) })
}

// Barrier returns once every rank has called it.
func (j *Job) Barrier() error {
	return j.collective("Barrier", 0, 0, func() {}, barrier)
}

// shareCores sets GOMAXPROCS to this node's cores divided among the ranks
// started on it, unless the user set GOMAXPROCS: ranks that each take every
// core oversubscribe the node, and descent's workers poll for work between
// the parallel parts of a step (internal/spin), which pays only on a core
// of their own (measured on 2 cores, 2 ranks: 34 % of a step in MPI, mostly
// waiting for the other rank, without it).
func shareCores() {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	if n := coresPerRank(runtime.NumCPU(), os.Getenv); n < runtime.GOMAXPROCS(0) {
		runtime.GOMAXPROCS(n)
	}
}

// coresPerRank is ncpu divided by the ranks on this node as the launcher
// says (Open MPI's OMPI_COMM_WORLD_LOCAL_SIZE, PMIx's PMIX_LOCAL_SIZE), at
// least 1; ncpu if the launcher does not say.
func coresPerRank(ncpu int, getenv func(string) string) int {
	for _, name := range []string{"OMPI_COMM_WORLD_LOCAL_SIZE", "PMIX_LOCAL_SIZE"} {
		if n, err := strconv.Atoi(getenv(name)); err == nil && n > 0 {
			if c := ncpu / n; c > 1 {
				return c
			}
			return 1
		}
	}
	return ncpu
}
