package cluster_test

import (
	"fmt"
	"log"

	"github.com/descent-go/descent/cluster"
)

// Every rank runs the same program; started alone (or built without -tags mpi) it is a job of one.
// Started as `mpirun -np 2 ./prog` after `go build -tags mpi`, each rank prints the values of both.
func Example() {
	job, err := cluster.Join()
	if err != nil {
		log.Fatal(err)
	}
	defer func() { // a panic on one rank ends the whole job instead of hanging the others
		if r := recover(); r != nil {
			job.Abort(fmt.Errorf("panic: %v", r))
		}
	}()
	local := []float64{float64(job.Rank()) + 0.5}
	all := make([]float64, job.Size()*len(local))
	if err := job.AllgatherFloat64(local, all); err != nil {
		job.Abort(err)
	}
	fmt.Printf("rank %d of %d sees %v\n", job.Rank(), job.Size(), all)
	if err := job.Close(); err != nil { // on the success path only
		log.Fatal(err)
	}
	// Output: rank 0 of 1 sees [0.5]
}
