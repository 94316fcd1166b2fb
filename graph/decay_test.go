package graph

import (
	"fmt"
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/testutil"
)

// TestPenaltyCoefficientRule: L2 and L1 take the one weight-decay rule
// (internal/decay): NaN, ±Inf and negative coefficients are errors worded
// alike, naming the penalty and the value.
func TestPenaltyCoefficientRule(t *testing.T) {
	for _, pen := range []struct {
		name string
		f    func(*Builder, float64, ...string) (*G.Node, error)
	}{{"L2", L2}, {"L1", L1}} {
		for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), -0.5} {
			b := NewBuilder(NewParams(tensor.Float64, 1))
			b.Param("w", tensor.Shape{2, 2}, nil)
			_, err := pen.f(b, v)
			testutil.ErrContains(t, err, "graph: "+pen.name+": lambda", fmt.Sprint(v), "want a finite value ≥ 0")
		}
		b := NewBuilder(NewParams(tensor.Float64, 1))
		b.Param("w", tensor.Shape{2, 2}, nil)
		if _, err := pen.f(b, 0); err != nil {
			t.Errorf("%s(0): %v", pen.name, err)
		}
	}
}
