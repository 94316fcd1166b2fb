package cluster

import (
	"testing"

	"github.com/descent-go/descent/internal/testutil"
)

// A nil *Job is one process for every method the trainers use.
func TestNilJob(t *testing.T) {
	var j *Job
	if j.Rank() != 0 || j.Size() != 1 {
		t.Fatalf("nil job: rank %d size %d, want 0 1", j.Rank(), j.Size())
	}
	local64, out64 := []float64{1.5, -2, 3e300}, make([]float64, 3)
	if err := j.AllgatherFloat64(local64, out64); err != nil {
		t.Fatal(err)
	}
	local32, out32 := []float32{0.25, -7}, make([]float32, 2)
	if err := j.AllgatherFloat32(local32, out32); err != nil {
		t.Fatal(err)
	}
	for i := range local64 {
		if out64[i] != local64[i] {
			t.Errorf("AllgatherFloat64 out[%d] = %v, want %v", i, out64[i], local64[i])
		}
	}
	for i := range local32 {
		if out32[i] != local32[i] {
			t.Errorf("AllgatherFloat32 out[%d] = %v, want %v", i, out32[i], local32[i])
		}
	}
	buf := []byte("keep")
	if err := j.Broadcast(buf, 0); err != nil || string(buf) != "keep" {
		t.Errorf("Broadcast: %q, %v", buf, err)
	}
	if err := j.Barrier(); err != nil {
		t.Error(err)
	}
	if err := j.Close(); err != nil {
		t.Error(err)
	}
	if err := j.AllgatherFloat64(nil, nil); err != nil {
		t.Errorf("empty allgather: %v", err)
	}
}

// The collectives run every training step: they must not allocate.
func TestCollectivesDoNotAllocate(t *testing.T) {
	for _, j := range []*Job{nil, {rank: 0, size: 1}} {
		local, out := make([]float32, 100), make([]float32, 100)
		buf := make([]byte, 8)
		if a := testing.AllocsPerRun(100, func() {
			j.AllgatherFloat32(local, out)
			j.Broadcast(buf, 0)
			j.Barrier()
		}); a != 0 {
			t.Errorf("job %v: %v allocations per round of collectives", j, a)
		}
	}
}

func TestMisuse(t *testing.T) {
	for _, j := range []*Job{nil, {rank: 0, size: 1}} {
		for _, c := range []struct {
			name, want string
			err        error
		}{
			{"out too short", "out has 2 elements, want Size 1 × len(local) 3 = 3", j.AllgatherFloat64(make([]float64, 3), make([]float64, 2))},
			{"out too long", "out has 4 elements", j.AllgatherFloat32(make([]float32, 3), make([]float32, 4))},
			{"root negative", "root -1", j.Broadcast([]byte("x"), -1)},
			{"root too big", "root 1, want 0 ≤ root < Size 1", j.Broadcast([]byte("x"), 1)},
		} {
			testutil.ErrPrefixed(t, c.err, "cluster: ", c.want)
		}
	}
}

func TestClosedJob(t *testing.T) {
	j := &Job{rank: 0, size: 1}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	for name, err := range map[string]error{
		"AllgatherFloat64": j.AllgatherFloat64([]float64{1}, make([]float64, 1)),
		"AllgatherFloat32": j.AllgatherFloat32([]float32{1}, make([]float32, 1)),
		"Broadcast":        j.Broadcast([]byte{1}, 0),
		"Barrier":          j.Barrier(),
	} {
		testutil.ErrContains(t, err, name+" on rank 0 after Close")
	}
}
