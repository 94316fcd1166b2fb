package datasets

import (
	"math"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// Standardizer rescales every input feature to (x - Mean[j]) / Std[j]. Fit
// it on the training set only (Dataset.Standardizer) and apply the same
// Standardizer to the validation and test sets, so that no statistic of
// held-out data leaks into training.
//
// A feature is one element of an example: an example of shape (1, 28, 28)
// has 784 features.
type Standardizer struct {
	Mean, Std []float64
}

// Standardizer fits a Standardizer to X: the per-feature mean and
// population standard deviation (dividing by N), computed in float64. A
// feature with standard deviation 0 (a constant) gets Std 1, so it becomes 0
// instead of NaN.
func (d *Dataset) Standardizer() (*Standardizer, error) {
	if d == nil {
		return nil, errors.New("datasets: Standardizer: nil Dataset")
	}
	if err := d.Validate(); err != nil {
		return nil, errors.Wrap(err, "datasets: Standardizer")
	}
	f := d.xf
	mean := make([]float64, f)
	std := make([]float64, f)
	for i := 0; i < d.n; i++ {
		for j := 0; j < f; j++ {
			mean[j] += d.xAt(i*f + j)
		}
	}
	for j := range mean {
		mean[j] /= float64(d.n)
	}
	for i := 0; i < d.n; i++ {
		for j := 0; j < f; j++ {
			v := d.xAt(i*f+j) - mean[j]
			std[j] += v * v
		}
	}
	for j := range std {
		std[j] = math.Sqrt(std[j] / float64(d.n))
		if std[j] == 0 || math.IsNaN(std[j]) {
			std[j] = 1
		}
		if math.IsInf(std[j], 0) || math.IsInf(mean[j], 0) {
			return nil, errors.Errorf("datasets: Standardizer: feature %d overflows (mean %v, std %v)", j, mean[j], std[j])
		}
	}
	return &Standardizer{Mean: mean, Std: std}, nil
}

// Apply returns a new Dataset with standardized copies of d's inputs and a
// copy of its targets. d must have as many features per example as the data
// the Standardizer was fitted on.
func (s *Standardizer) Apply(d *Dataset) (*Dataset, error) {
	if s == nil {
		return nil, errors.New("datasets: Standardizer.Apply: nil Standardizer")
	}
	if d == nil {
		return nil, errors.New("datasets: Standardizer.Apply: nil Dataset")
	}
	if err := d.Validate(); err != nil {
		return nil, errors.Wrap(err, "datasets: Standardizer.Apply")
	}
	if len(s.Mean) != len(s.Std) {
		return nil, errors.Errorf("datasets: Standardizer.Apply: %d means but %d standard deviations", len(s.Mean), len(s.Std))
	}
	if len(s.Mean) != d.xf {
		return nil, errors.Errorf("datasets: Standardizer.Apply: fitted on %d features, but the Dataset's examples %v have %d", len(s.Mean), d.xshape, d.xf)
	}
	for j, v := range s.Std {
		if !(v > 0) || math.IsInf(v, 0) {
			return nil, errors.Errorf("datasets: Standardizer.Apply: Std[%d] = %v: want a positive finite value", j, v)
		}
		if m := s.Mean[j]; math.IsNaN(m) || math.IsInf(m, 0) {
			return nil, errors.Errorf("datasets: Standardizer.Apply: Mean[%d] = %v: want a finite value", j, m)
		}
	}
	f := d.xf
	x := newZeros(d.dt, d.x.Shape().Clone())
	if d.dt == tensor.Float64 {
		b := x.Float64s()
		for i := range b {
			j := i % f
			b[i] = (d.x64[i] - s.Mean[j]) / s.Std[j]
		}
	} else {
		b := x.Float32s()
		for i := range b {
			j := i % f
			b[i] = float32((float64(d.x32[i]) - s.Mean[j]) / s.Std[j])
		}
	}
	y := newZeros(d.dt, d.y.Shape().Clone())
	if d.dt == tensor.Float64 {
		copy(y.Float64s(), d.y64)
	} else {
		copy(y.Float32s(), d.y32)
	}
	return newDataset("Standardizer.Apply", x, y)
}

// SplitStandardized splits d as Split does — at random by seed, by class
// with stratify, into parts of the given fractions (e.g. 0.6, 0.2, 0.2 for
// train, validation, test) — and standardizes every part with the
// statistics of the first, the training part, so that no statistic of
// held-out data leaks into training. It returns the standardized parts and
// the Standardizer, to apply to new examples before predicting.
func (d *Dataset) SplitStandardized(seed int64, stratify bool, fractions ...float64) ([]*Dataset, *Standardizer, error) {
	parts, err := d.Split(seed, stratify, fractions...)
	if err != nil {
		return nil, nil, err
	}
	std, err := parts[0].Standardizer()
	if err != nil {
		return nil, nil, err
	}
	for i := range parts {
		if parts[i], err = std.Apply(parts[i]); err != nil {
			return nil, nil, err
		}
	}
	return parts, std, nil
}
