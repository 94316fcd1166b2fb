package datasets

import (
	"math"
	"testing"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/testutil"
)

// TestSplitStandardized: the one call gives, bit for bit, what Split, the
// first part's Standardizer and Apply on every part give by hand; the
// training part comes out with mean 0 and variance 1 per feature; errors
// are Split's and Standardizer's.
func TestSplitStandardized(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		ds, err := BreastCancer(dt)
		if err != nil {
			t.Fatal(err)
		}
		got, std, err := ds.SplitStandardized(3, true, 0.6, 0.2, 0.2)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := ds.Split(3, true, 0.6, 0.2, 0.2)
		if err != nil {
			t.Fatal(err)
		}
		want, err := raw[0].Standardizer()
		if err != nil {
			t.Fatal(err)
		}
		if !testutil.SameBits(std.Mean, want.Mean) || !testutil.SameBits(std.Std, want.Std) {
			t.Errorf("%v: the statistics are not the training part's", dt)
		}
		if len(got) != 3 {
			t.Fatalf("%v: %d parts, want 3", dt, len(got))
		}
		for i, p := range raw {
			w, err := want.Apply(p)
			if err != nil {
				t.Fatal(err)
			}
			if !testutil.SameTensor(got[i].X(), w.X()) || !testutil.SameTensor(got[i].Y(), w.Y()) {
				t.Errorf("%v: part %d differs from Split + Standardizer + Apply", dt, i)
			}
		}
		again, err := got[0].Standardizer()
		if err != nil {
			t.Fatal(err)
		}
		for j := range again.Mean {
			if math.Abs(again.Mean[j]) > 1e-5 || math.Abs(again.Std[j]-1) > 1e-5 {
				t.Fatalf("%v: feature %d of the training part: mean %v, std %v; want 0, 1", dt, j, again.Mean[j], again.Std[j])
			}
		}
	}
	ds, err := Iris(tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		fractions []float64
		want      string
	}{
		{nil, "no fractions"},
		{[]float64{0.5, 0.6}, "sum to"},
		{[]float64{math.NaN(), 1}, "fractions[0]"},
	} {
		_, _, err := ds.SplitStandardized(1, true, tc.fractions...)
		testutil.ErrPrefixed(t, err, "datasets: Split", tc.want)
	}
	var nilDS *Dataset
	_, _, err = nilDS.SplitStandardized(1, false, 1)
	testutil.ErrPrefixed(t, err, "datasets: Split", "nil Dataset")
}
