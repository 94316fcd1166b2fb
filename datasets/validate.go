package datasets

import (
	"math"

	"github.com/pkg/errors"
)

// Validate reports a Dataset that cannot be used: nil, or the zero value
// (not made by New or a loader).
func (d *Dataset) Validate() error {
	if d == nil {
		return errors.New("datasets: the dataset is nil")
	}
	if d.x == nil || d.y == nil || d.n == 0 {
		return errors.New("datasets: the dataset is a zero value (make one with datasets.New or a loader)")
	}
	return nil
}

// CheckFinite re-checks, now, that no value of X or Y is NaN or infinite,
// naming the first bad one by row: New checked it, but the tensors that X
// and Y return can have been written since. Trainers call it before the
// first step.
func (d *Dataset) CheckFinite() error {
	if err := d.Validate(); err != nil {
		return err
	}
	if i, v, bad := d.firstNonFinite(true); bad {
		return errors.Errorf("datasets: row %d: X%s is %v (the data changed after loading?)", i/d.xf, indexString(i, d.x.Shape()), v)
	}
	if i, v, bad := d.firstNonFinite(false); bad {
		return errors.Errorf("datasets: row %d: Y%s is %v (the data changed after loading?)", i/d.yf, indexString(i, d.y.Shape()), v)
	}
	return nil
}

// CheckClasses reports, naming the first bad row, a class label that is not
// an index into k outputs: for class-index targets (N), a value that is not
// an integer in 0..k-1; for one-hot targets (N, K), a K other than k. It
// does nothing for a single regression target (N, 1).
func (d *Dataset) CheckClasses(k int) error {
	if err := d.Validate(); err != nil {
		return err
	}
	if k < 1 {
		return errors.Errorf("datasets: CheckClasses: k = %d, want ≥ 1", k)
	}
	if !d.cls {
		if d.yf > 1 && d.yf != k {
			return errors.Errorf("datasets: targets have %d columns, the model %d outputs", d.yf, k)
		}
		return nil
	}
	for i := 0; i < d.n; i++ {
		if v := d.yAt(i); !(v >= 0 && v < float64(k)) || v != math.Trunc(v) {
			return errors.Errorf("datasets: row %d: class index Y[%d] = %v is not a class of a model with %d outputs (want 0..%d)", i, i, v, k, k-1)
		}
	}
	return nil
}

// CheckTargets reports, naming the first bad row, a target value outside
// [lo, hi] (for example [0, 1] for binary cross-entropy).
func (d *Dataset) CheckTargets(lo, hi float64) error {
	if err := d.Validate(); err != nil {
		return err
	}
	if !(lo <= hi) {
		return errors.Errorf("datasets: CheckTargets: range [%v, %v] is empty", lo, hi)
	}
	for i := 0; i < d.n*d.yf; i++ {
		if v := d.yAt(i); !(v >= lo && v <= hi) {
			return errors.Errorf("datasets: row %d: target Y%s = %v is outside [%v, %v]", i/d.yf, indexString(i, d.y.Shape()), v, lo, hi)
		}
	}
	return nil
}
