// Package decay is the one home of the weight-decay coefficient's rule.
//
// descent has three spellings of weight decay — graph.L2 (and L1), a
// penalty added to the loss; trainers.Config.WeightDecay, wd·w added to the
// gradients (the same thing for plain SGD, applied outside the graph); and
// trainers.AdamW.WeightDecay, the decoupled shrink of the weights — and one
// rule for their coefficient: a finite value ≥ 0, zero meaning none. Check
// is that rule, with the one error wording all three report.
package decay

import (
	"math"

	"github.com/pkg/errors"
)

// Check returns nil if v is a valid weight-decay coefficient (finite, ≥ 0),
// else an error "<where> <v>, want a finite value ≥ 0". where names the
// setting with its package prefix, e.g. "trainers: Config.WeightDecay".
func Check(where string, v float64) error {
	if !(v >= 0) || math.IsInf(v, 1) {
		return errors.Errorf("%s %v, want a finite value ≥ 0", where, v)
	}
	return nil
}
