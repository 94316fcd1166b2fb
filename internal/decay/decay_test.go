package decay

import (
	"math"
	"testing"

	"github.com/descent-go/descent/internal/testutil"
)

func TestCheck(t *testing.T) {
	for _, v := range []float64{0, 1e-300, 5e-4, 1, math.MaxFloat64} {
		if err := Check("x: wd", v); err != nil {
			t.Errorf("Check(%v) = %v, want nil", v, err)
		}
	}
	for _, tc := range []struct {
		v    float64
		want string
	}{{math.NaN(), "x: wd NaN"}, {math.Inf(1), "x: wd +Inf"}, {math.Inf(-1), "x: wd -Inf"}, {-1, "x: wd -1"}, {-1e-300, "x: wd -1e-300"}} {
		testutil.ErrContains(t, Check("x: wd", tc.v), tc.want, "want a finite value ≥ 0")
	}
}
