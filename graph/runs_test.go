package graph

import (
	"testing"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/testutil"
)

// A random layer's masks at a run depend only on the run count: a program
// set to run k (SetRuns, how a training run resumes) draws the mask the
// uninterrupted program drew at run k, and the reseeding allocates nothing.
func TestRandomLayersFollowTheRunCount(t *testing.T) {
	shape := tensor.Shape{8, 16}
	a, _, _ := dropoutProgram(t, NewParams(tensor.Float32, 1), true, 7, shape, 0.5)
	var masks [][]float64
	for k := 0; k < 5; k++ {
		if a.Runs() != uint64(k) {
			t.Fatalf("Runs() = %d before run %d", a.Runs(), k)
		}
		run(t, a)
		masks = append(masks, Float64s(a.Output(0)))
	}
	if testutil.SameBits(masks[0], masks[1]) {
		t.Fatal("two runs drew the same mask")
	}
	for _, k := range []uint64{3, 0, 4} {
		b, _, _ := dropoutProgram(t, NewParams(tensor.Float32, 1), true, 7, shape, 0.5)
		b.SetRuns(k)
		run(t, b)
		if !testutil.SameBits(Float64s(b.Output(0)), masks[k]) || b.Runs() != k+1 {
			t.Errorf("a program set to run %d drew another mask (Runs %d after)", k, b.Runs())
		}
	}
	if testutil.Race {
		return // the race detector allocates on its own
	}
	// (Dropout's mask fill allocates on its own, as before run counts.)
	if n := testing.AllocsPerRun(20, func() { a.reseed() }); n > 0 {
		t.Errorf("reseeding the random layers allocates %v times", n)
	}
}
