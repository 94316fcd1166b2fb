//go:build !mpi

package cluster

import "github.com/pkg/errors"

// Join returns a one-rank job: this binary was built without the tag mpi. If the environment says
// an MPI launcher started this process as one of several ranks, Join fails rather than letting each
// rank train alone.
func Join() (*Job, error) {
	n, name, err := launcherSize()
	if err != nil {
		return nil, err
	}
	if n > 1 {
		return nil, errors.Errorf("cluster: started as one of %d ranks (%s=%d) but built without MPI: "+
			"rebuild with `go build -tags mpi` (needs libopenmpi-dev), or run one process", n, name, n)
	}
	return &Job{rank: 0, size: 1}, nil
}

// Without MPI a job has one rank and the collectives never reach these.
var errNoMPI = errors.New("built without the tag mpi")

func finalize() error                                       { return nil }
func abort(code int)                                        {}
func allgatherFloat64(rank int, local, out []float64) error { return errNoMPI }
func allgatherFloat32(rank int, local, out []float32) error { return errNoMPI }
func broadcast(buf []byte, root int) error                  { return errNoMPI }
func barrier() error                                        { return errNoMPI }
