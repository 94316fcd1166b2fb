package trainers

import (
	"fmt"
	"math"
	"testing"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/testutil"
	"github.com/descent-go/descent/models"
)

// TestWeightDecayRule: Config.WeightDecay, AdamW.WeightDecay and NewAdamW
// take the one weight-decay rule (internal/decay): NaN, ±Inf and negative
// values fail before the first step, worded alike and naming the setting.
func TestWeightDecayRule(t *testing.T) {
	lr := newLinReg(t, 12, 2, 0.1, 13, tensor.Float64)
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), -1e-3} {
		for _, tc := range []struct {
			entry string
			opt   Optimizer
			wd    float64 // Config.WeightDecay
		}{
			{"trainers: Config.WeightDecay", SGD{LR: 0.1}, v},
			{"trainers: AdamW: WeightDecay", AdamW{LR: 0.1, Eps: 1e-8, WeightDecay: v}, 0},
			{"trainers: AdamW: WeightDecay", NewAdamW(0.1, v), 0},
		} {
			c := cfg(1, tc.opt)
			c.WeightDecay = tc.wd
			p := graph.NewParams(tensor.Float64, 1)
			_, err := MiniBatchSGD{BatchSize: 4, Config: c}.Fit(bg, models.Linear{}, p, lr.ds)
			testutil.ErrContains(t, err, tc.entry, fmt.Sprint(v), "want a finite value ≥ 0")
		}
	}
}
