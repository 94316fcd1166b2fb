//go:build mpi

package cluster

/*
#cgo pkg-config: ompi-c
#include <stdlib.h>
#include <mpi.h>

// MPI_COMM_WORLD and the datatypes are macros over addresses in Open MPI: wrap them.
static int dc_init(int *provided) {
	int flag = 0;
	int rc = MPI_Initialized(&flag);
	if (rc != MPI_SUCCESS) return rc;
	if (flag) return MPI_Query_thread(provided);
	return MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, provided);
}
static int dc_finalized(int *flag) { return MPI_Finalized(flag); }
static int dc_errors_return(void) { return MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN); }
static int dc_rank(int *r) { return MPI_Comm_rank(MPI_COMM_WORLD, r); }
static int dc_size(int *s) { return MPI_Comm_size(MPI_COMM_WORLD, s); }
static int dc_finalize(void) { return MPI_Finalize(); }
static int dc_abort(int code) { return MPI_Abort(MPI_COMM_WORLD, code); }
static int dc_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }
// in == NULL with n > 0: every rank's block is in place in out (MPI_IN_PLACE).
static int dc_allgather_f64(const double *in, double *out, int n) {
	return MPI_Allgather(in || n == 0 ? (const void *)in : MPI_IN_PLACE, n, MPI_DOUBLE, out, n, MPI_DOUBLE, MPI_COMM_WORLD);
}
static int dc_allgather_f32(const float *in, float *out, int n) {
	return MPI_Allgather(in || n == 0 ? (const void *)in : MPI_IN_PLACE, n, MPI_FLOAT, out, n, MPI_FLOAT, MPI_COMM_WORLD);
}
static int dc_bcast(void *buf, int n, int root) { return MPI_Bcast(buf, n, MPI_BYTE, root, MPI_COMM_WORLD); }
static int dc_thread_serialized(void) { return MPI_THREAD_SERIALIZED; }
static void dc_error_string(int code, char *buf, int *len) { MPI_Error_string(code, buf, len); }
static int dc_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
*/
import "C"

import (
	"fmt"
	"os"
	"sync"
	"unsafe"

	"github.com/pkg/errors"
)

var joined struct {
	sync.Mutex
	job *Job
}

// Join initialises MPI (MPI_Init_thread, MPI_THREAD_SERIALIZED at least) and returns this process's
// job. Later calls return the same *Job; after its Close, Join fails (MPI cannot start twice). A
// process started without a launcher is a job of one rank (MPI's singleton).
func Join() (*Job, error) {
	joined.Lock()
	defer joined.Unlock()
	if j := joined.job; j != nil {
		j.mu.Lock()
		closed := j.closed
		j.mu.Unlock()
		if closed {
			return nil, errors.New("cluster: Join after Close: MPI cannot be initialised twice in one process")
		}
		return j, nil
	}
	var fin C.int
	if rc := C.dc_finalized(&fin); rc != C.MPI_SUCCESS || fin != 0 {
		return nil, errors.New("cluster: Join after MPI_Finalize: MPI cannot be initialised twice in one process")
	}
	var provided C.int
	if err := mpiErr(C.dc_init(&provided)); err != nil {
		return nil, errors.Wrap(err, "cluster: MPI_Init_thread")
	}
	if provided < C.dc_thread_serialized() {
		// Every rank gets the same answer: end them all, saying why.
		err := errors.Errorf("cluster: MPI grants thread level %d, below MPI_THREAD_SERIALIZED", int(provided))
		fmt.Fprintln(os.Stderr, err)
		C.dc_abort(1)
		return nil, err
	}
	// Errors come back as return codes, not as MPI's default "abort the job".
	if err := mpiErr(C.dc_errors_return()); err != nil {
		return nil, errors.Wrap(err, "cluster: MPI_Comm_set_errhandler")
	}
	var rank, size C.int
	if err := mpiErr(C.dc_rank(&rank)); err != nil {
		return nil, errors.Wrap(err, "cluster: MPI_Comm_rank")
	}
	if err := mpiErr(C.dc_size(&size)); err != nil {
		return nil, errors.Wrap(err, "cluster: MPI_Comm_size")
	}
	// A launcher of another MPI (MPICH's mpirun starting this Open MPI binary) gives N singletons.
	if n, name, err := launcherSize(); err == nil && n > 1 && int(size) != n {
		// Each process is a job of its own here, so finalizing waits for no one.
		C.dc_finalize()
		return nil, errors.Errorf("cluster: the launcher started %d ranks (%s) but MPI sees %d: "+
			"launcher and library differ (use Open MPI's mpirun with this binary)", n, name, int(size))
	}
	shareCores()
	joined.job = &Job{rank: int(rank), size: int(size), mpi: true}
	return joined.job, nil
}

func mpiErr(rc C.int) error {
	if rc == C.MPI_SUCCESS {
		return nil
	}
	buf := make([]byte, int(C.dc_max_error_string())+1)
	var n C.int
	C.dc_error_string(rc, (*C.char)(unsafe.Pointer(&buf[0])), &n)
	return errors.Errorf("MPI error %d: %s", int(rc), string(buf[:int(n)]))
}

func finalize() error { return errors.Wrap(mpiErr(C.dc_finalize()), "cluster: MPI_Finalize") }

func abort(code int) { C.dc_abort(C.int(code)) }

func barrier() error { return mpiErr(C.dc_barrier()) }

// The slices hold no Go pointers, so passing them to a blocking MPI call is a legal cgo call.

func allgatherFloat64(rank int, local, out []float64) error {
	if len(local) == 0 {
		return mpiErr(C.dc_allgather_f64(nil, nil, 0))
	}
	in := (*C.double)(&local[0])
	if &local[0] == &out[rank*len(local)] {
		in = nil
	}
	return mpiErr(C.dc_allgather_f64(in, (*C.double)(&out[0]), C.int(len(local))))
}

func allgatherFloat32(rank int, local, out []float32) error {
	if len(local) == 0 {
		return mpiErr(C.dc_allgather_f32(nil, nil, 0))
	}
	in := (*C.float)(&local[0])
	if &local[0] == &out[rank*len(local)] {
		in = nil
	}
	return mpiErr(C.dc_allgather_f32(in, (*C.float)(&out[0]), C.int(len(local))))
}

func broadcast(buf []byte, root int) error {
	if len(buf) == 0 {
		return mpiErr(C.dc_bcast(nil, 0, C.int(root)))
	}
	return mpiErr(C.dc_bcast(unsafe.Pointer(&buf[0]), C.int(len(buf)), C.int(root)))
}
