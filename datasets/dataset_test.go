package datasets

import (
	"math"
	"reflect"
	"testing"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/testutil"
)

func TestNewBadInputs(t *testing.T) {
	x32 := func() *tensor.Dense { return dense32([]float32{1, 2, 3, 4, 5, 6}, 3, 2) }
	x64 := func() *tensor.Dense { return dense64(seq(6), 3, 2) }
	y64 := func() *tensor.Dense { return dense64([]float64{0, 1, 0}, 3) }
	nan := seq(6)
	nan[2] = math.NaN()
	inf := seq(6)
	inf[5] = math.Inf(1)
	strided, err := dense64(seq(12), 3, 4).Slice(nil, tensor.S(0, 2))
	if err != nil {
		t.Fatal(err)
	}
	transposed := dense64(seq(6), 3, 2)
	if err := transposed.T(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		x, y *tensor.Dense
		want []string
	}{
		{"nil both", nil, nil, []string{"X and Y are nil"}},
		{"nil X", nil, y64(), []string{"X is nil"}},
		{"nil Y", x64(), nil, []string{"Y is nil"}},
		{"zero Dense", &tensor.Dense{}, y64(), []string{"X has dtype <none>"}},
		{"int dtype", tensor.New(tensor.WithShape(3, 2), tensor.WithBacking([]int{1, 2, 3, 4, 5, 6})), y64(), []string{"X has dtype int", "float32 or float64"}},
		{"dtypes differ", x32(), y64(), []string{"X is float32 but Y is float64"}},
		{"X 1-D", dense64(seq(3), 3), y64(), []string{"X is (3)", "at least 2 dimensions"}},
		{"Y 3-D", x64(), dense64(seq(3), 3, 1, 1), []string{"Y is (3, 1, 1)"}},
		{"N mismatch", x64(), dense64(seq(4), 4), []string{"X is (3, 2) but Y is (4)", "same number of examples"}},
		{"NaN in X", dense64(nan, 3, 2), y64(), []string{"X[1,0] is NaN"}},
		{"Inf in Y", x64(), dense64(inf, 3, 2), []string{"Y[2,1] is +Inf"}},
		{"negative class", x64(), dense64([]float64{0, -1, 0}, 3), []string{"Y[1] is -1", "class indices must be integers"}},
		{"fractional class", x64(), dense64([]float64{0.5, 1, 0}, 3), []string{"Y[0] is 0.5"}},
		{"huge class", x64(), dense64([]float64{0, 1e9, 0}, 3), []string{"Y[1] is 1e+09"}},
		{"strided view", strided.(*tensor.Dense), y64(), []string{"X (3, 2) is not a contiguous tensor"}},
		{"transposed", transposed, dense64(seq(2), 2), []string{"X (2, 3) is not a contiguous tensor"}},
	}
	for _, tc := range tests {
		tc := tc
		t.Run(tc.name, func(t *testing.T) {
			d, err := New(tc.x, tc.y)
			if d != nil {
				t.Errorf("got a Dataset %v with the error", d)
			}
			testutil.ErrPrefixed(t, err, "datasets: ", tc.want...)
		})
	}
}

func TestFromFloat64BadInputs(t *testing.T) {
	tests := []struct {
		name   string
		x      []float64
		xShape []int
		y      []float64
		yShape []int
		dt     tensor.Dtype
		want   []string
	}{
		{"dtype", seq(4), []int{2, 2}, seq(2), []int{2}, tensor.Int, []string{"dtype int"}},
		{"zero dtype", seq(4), []int{2, 2}, seq(2), []int{2}, tensor.Dtype{}, []string{"dtype <none>"}},
		{"size mismatch", seq(3), []int{2, 2}, seq(2), []int{2}, tensor.Float64, []string{"X shape (2, 2) needs 4 values, got 3"}},
		{"empty shape", seq(4), nil, seq(2), []int{2}, tensor.Float64, []string{"X shape is empty"}},
		{"zero dim", nil, []int{0, 2}, nil, []int{0}, tensor.Float64, []string{"X shape (0, 2): dimension 0 has size 0"}},
		{"negative dim", seq(4), []int{-2, -2}, seq(2), []int{2}, tensor.Float64, []string{"dimension 0 has size -2"}},
		{"overflow", seq(4), []int{1 << 40, 1 << 40}, seq(2), []int{2}, tensor.Float64, []string{"too many elements"}},
		{"Y mismatch", seq(4), []int{2, 2}, seq(3), []int{2}, tensor.Float32, []string{"Y shape (2) needs 2 values, got 3"}},
		{"N mismatch", seq(4), []int{2, 2}, seq(3), []int{3}, tensor.Float32, []string{"X is (2, 2) but Y is (3)"}},
		{"float32 overflow", []float64{1, 2, 1e300, 4}, []int{2, 2}, seq(2), []int{2}, tensor.Float32, []string{"X[1,0] is +Inf"}},
	}
	for _, tc := range tests {
		tc := tc
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromFloat64(tc.x, tc.xShape, tc.y, tc.yShape, tc.dt)
			testutil.ErrPrefixed(t, err, "datasets: ", tc.want...)
		})
	}
}

func TestAccessors(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		// images (N, 1, 2, 2) with class indices
		d, err := FromFloat64(seq(12), []int{3, 1, 2, 2}, []float64{2, 0, 2}, []int{3}, dt)
		if err != nil {
			t.Fatal(err)
		}
		if d.Len() != 3 || d.Dtype() != dt || !d.ClassIndices() || d.NumClasses() != 3 {
			t.Errorf("%v: Len %d Dtype %v ClassIndices %v NumClasses %d", dt, d.Len(), d.Dtype(), d.ClassIndices(), d.NumClasses())
		}
		if !d.XShape().Eq(tensor.Shape{1, 2, 2}) || len(d.YShape()) != 0 || d.YShape() == nil {
			t.Errorf("XShape %v YShape %#v", d.XShape(), d.YShape())
		}
		if got := d.Labels(); !reflect.DeepEqual(got, []int{2, 0, 2}) {
			t.Errorf("Labels %v", got)
		}
		if got := d.String(); got != "Dataset{N: 3, X: (3, 1, 2, 2), Y: (3), "+dt.String()+", 3 classes}" {
			t.Errorf("String %q", got)
		}
		// XShape is a copy
		d.XShape()[0] = 99
		if d.XShape()[0] != 1 {
			t.Error("XShape returned the Dataset's own slice")
		}

		// one-hot (N, K): argmax labels
		oh, err := FromFloat64(seq(4), []int{2, 2}, []float64{0, 0, 1, 0.1, 0.9, 0.9, 0}, []int{2, 3}, dt)
		if err == nil {
			t.Fatal("7 values for (2, 3) accepted")
		}
		oh, err = FromFloat64(seq(4), []int{2, 2}, []float64{0, 0, 1, 0.9, 0.9, 0}, []int{2, 3}, dt)
		if err != nil {
			t.Fatal(err)
		}
		if oh.ClassIndices() || oh.NumClasses() != 3 || !reflect.DeepEqual(oh.Labels(), []int{2, 0}) || !oh.YShape().Eq(tensor.Shape{3}) {
			t.Errorf("one-hot: ClassIndices %v NumClasses %d Labels %v YShape %v", oh.ClassIndices(), oh.NumClasses(), oh.Labels(), oh.YShape())
		}

		// regression (N, 1)
		reg, err := FromFloat64(seq(4), []int{2, 2}, []float64{-3.5, 7}, []int{2, 1}, dt)
		if err != nil {
			t.Fatal(err)
		}
		if reg.NumClasses() != 0 || reg.Labels() != nil || reg.ClassIndices() {
			t.Errorf("regression: NumClasses %d Labels %v", reg.NumClasses(), reg.Labels())
		}
	}
}

func TestNewDoesNotCopy(t *testing.T) {
	x := dense64(seq(6), 3, 2)
	y := dense64([]float64{0, 1, 0}, 3)
	d, err := New(x, y)
	if err != nil {
		t.Fatal(err)
	}
	if d.X() != x || d.Y() != y {
		t.Error("X() or Y() is not the tensor given to New")
	}
}

func TestNewContiguousView(t *testing.T) {
	x := dense64(seq(8), 4, 2)
	v, err := x.Slice(tensor.S(1, 3))
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(v.(*tensor.Dense), dense64([]float64{0, 1}, 2))
	if err != nil {
		t.Fatal(err)
	}
	gx, gy := newZeros(tensor.Float64, tensor.Shape{2, 2}), newZeros(tensor.Float64, tensor.Shape{2})
	if err := d.Gather([]int{1, 0}, gx, gy); err != nil {
		t.Fatal(err)
	}
	if got := floats(gx); !reflect.DeepEqual(got, []float64{4, 5, 2, 3}) {
		t.Errorf("rows of a view: %v, want [4 5 2 3]", got)
	}
}

func TestGather(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		d, err := FromFloat64(seq(12), []int{4, 3}, seq(8), []int{4, 2}, dt)
		if err != nil {
			t.Fatal(err)
		}
		x := newZeros(dt, tensor.Shape{3, 3})
		y := newZeros(dt, tensor.Shape{3, 2})
		if err := d.Gather([]int{3, 0}, x, y); err != nil {
			t.Fatal(err)
		}
		if got := floats(x); !reflect.DeepEqual(got, []float64{9, 10, 11, 0, 1, 2, 0, 0, 0}) {
			t.Errorf("%v: x %v", dt, got)
		}
		if got := floats(y); !reflect.DeepEqual(got, []float64{6, 7, 0, 1, 0, 0}) {
			t.Errorf("%v: y %v", dt, got)
		}
		idx := []int{1, 2, 3}
		allocs := testing.AllocsPerRun(100, func() {
			if err := d.Gather(idx, x, y); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%v: Gather allocates %v times per call", dt, allocs)
		}
	}
}

func TestGatherBadInputs(t *testing.T) {
	d := mustDS(t, 4, 3, 2) // X (4, 3), Y (4)
	x := newZeros(tensor.Float64, tensor.Shape{2, 3})
	y := newZeros(tensor.Float64, tensor.Shape{2})
	strided, err := newZeros(tensor.Float64, tensor.Shape{2, 6}).Slice(nil, tensor.S(0, 3))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		idx  []int
		x, y *tensor.Dense
		want []string
	}{
		{"nil x", []int{0}, nil, y, []string{"X is nil"}},
		{"nil y", []int{0}, x, nil, []string{"Y is nil"}},
		{"dtype", []int{0}, newZeros(tensor.Float32, tensor.Shape{2, 3}), y, []string{"X has dtype float32, want float64"}},
		{"too few rows", []int{0, 1, 2}, x, y, []string{"X is (2, 3), want (3, 3) (or more rows) for 3 examples"}},
		{"wrong features", []int{0}, newZeros(tensor.Float64, tensor.Shape{2, 4}), y, []string{"X is (2, 4), want (1, 3)"}},
		{"wrong y dims", []int{0}, x, newZeros(tensor.Float64, tensor.Shape{2, 1}), []string{"Y is (2, 1), want (1)"}},
		{"index high", []int{0, 4}, x, y, []string{"idx[1] = 4 is out of range [0, 4)"}},
		{"index negative", []int{-1}, x, y, []string{"idx[0] = -1 is out of range"}},
		{"strided", []int{0}, strided.(*tensor.Dense), y, []string{"X (2, 3) is not a contiguous tensor"}},
	}
	for _, tc := range tests {
		tc := tc
		t.Run(tc.name, func(t *testing.T) {
			testutil.ErrPrefixed(t, d.Gather(tc.idx, tc.x, tc.y), "datasets: ", tc.want...)
		})
	}
}

func TestSubset(t *testing.T) {
	d := mustDS(t, 5, 2, 3)
	s, err := d.Subset([]int{4, 4, 0})
	if err != nil {
		t.Fatal(err)
	}
	if got := floats(s.X()); !reflect.DeepEqual(got, []float64{40, 41, 40, 41, 0, 1}) {
		t.Errorf("X %v", got)
	}
	if got := s.Labels(); !reflect.DeepEqual(got, []int{1, 1, 0}) {
		t.Errorf("Labels %v", got)
	}
	// a copy: changing it leaves d alone
	s.X().Float64s()[0] = -1
	if d.X().Float64s()[8] != 40 {
		t.Error("Subset shares memory with the Dataset")
	}
	_, err = d.Subset(nil)
	testutil.ErrPrefixed(t, err, "datasets: ", "Subset: no indices")
	_, err = d.Subset([]int{0, 5})
	testutil.ErrPrefixed(t, err, "datasets: ", "idx[1] = 5 is out of range [0, 5)")
	var nilDS *Dataset
	_, err = nilDS.Split(1, false, 1)
	testutil.ErrPrefixed(t, err, "datasets: ", "nil Dataset")
}

func TestOneHot(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		oh, err := OneHot([]int{2, 0, 1}, 3, dt)
		if err != nil {
			t.Fatal(err)
		}
		if oh.Dtype() != dt || !oh.Shape().Eq(tensor.Shape{3, 3}) {
			t.Errorf("OneHot %v %v", oh.Dtype(), oh.Shape())
		}
		if got := floats(oh); !reflect.DeepEqual(got, []float64{0, 0, 1, 1, 0, 0, 0, 1, 0}) {
			t.Errorf("OneHot %v", got)
		}
	}
	bad := []struct {
		name   string
		labels []int
		k      int
		dt     tensor.Dtype
		want   string
	}{
		{"dtype", []int{0}, 2, tensor.Int, "dtype int"},
		{"empty", nil, 2, tensor.Float64, "no labels"},
		{"k zero", []int{0}, 0, tensor.Float64, "k = 0 classes"},
		{"k huge", []int{0}, 1 << 30, tensor.Float64, "k = 1073741824 classes"},
		{"label high", []int{0, 3}, 3, tensor.Float64, "labels[1] = 3 is out of range [0, 3)"},
		{"label negative", []int{-1}, 3, tensor.Float64, "labels[0] = -1"},
	}
	for _, tc := range bad {
		_, err := OneHot(tc.labels, tc.k, tc.dt)
		testutil.ErrPrefixed(t, err, "datasets: ", tc.want)
	}

	d := mustDS(t, 6, 2, 3)
	o, err := d.OneHot()
	if err != nil {
		t.Fatal(err)
	}
	if o.ClassIndices() || o.NumClasses() != 3 || !reflect.DeepEqual(o.Labels(), d.Labels()) || o.X() != d.X() {
		t.Errorf("Dataset.OneHot: %v labels %v", o, o.Labels())
	}
	_, err = o.OneHot()
	testutil.ErrPrefixed(t, err, "datasets: ", "Y is (6, 3): want class indices")
	one := mustDS(t, 3, 2, 1)
	_, err = one.OneHot()
	testutil.ErrPrefixed(t, err, "datasets: ", "only class 0")
}

func TestSplit(t *testing.T) {
	d := mustDS(t, 10, 1, 2)
	parts, err := d.Split(7, false, 0.7, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	if parts[0].Len() != 7 || parts[1].Len() != 3 {
		t.Errorf("sizes %d, %d; want 7, 3", parts[0].Len(), parts[1].Len())
	}
	// every example exactly once (X[i] = 10 i identifies it)
	seen := map[float64]int{}
	for _, p := range parts {
		for _, v := range floats(p.X()) {
			seen[v]++
		}
	}
	for i := 0; i < 10; i++ {
		if seen[float64(10*i)] != 1 {
			t.Errorf("example %d appears %d times", i, seen[float64(10*i)])
		}
	}
	again, _ := d.Split(7, false, 0.7, 0.3)
	if !reflect.DeepEqual(floats(again[0].X()), floats(parts[0].X())) {
		t.Error("same seed, different split")
	}
	other, _ := d.Split(8, false, 0.7, 0.3)
	if reflect.DeepEqual(floats(other[0].X()), floats(parts[0].X())) {
		t.Error("seeds 7 and 8 give the same split")
	}
	// largest remainder: 1/3 each of 10 -> 4, 3, 3
	thirds, err := d.Split(1, false, 1.0/3, 1.0/3, 1.0/3)
	if err != nil {
		t.Fatal(err)
	}
	if thirds[0].Len()+thirds[1].Len()+thirds[2].Len() != 10 || thirds[0].Len() != 4 {
		t.Errorf("thirds: %d %d %d", thirds[0].Len(), thirds[1].Len(), thirds[2].Len())
	}
}

func TestSplitStratified(t *testing.T) {
	// imbalanced: 60 of class 0, 30 of class 1, 10 of class 2
	y := make([]float64, 100)
	for i := range y {
		switch {
		case i%10 == 9:
			y[i] = 2
		case i%10 >= 6:
			y[i] = 1
		}
	}
	d, err := FromFloat64(seq(100), []int{100, 1}, y, []int{100}, tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	for seed := int64(0); seed < 20; seed++ {
		parts, err := d.Split(seed, true, 0.5, 0.3, 0.2)
		if err != nil {
			t.Fatal(err)
		}
		fr := []float64{0.5, 0.3, 0.2}
		total := map[int]int{}
		for j, p := range parts {
			if want := int(fr[j] * 100); p.Len() != want {
				t.Errorf("seed %d: part %d has %d examples, want %d", seed, j, p.Len(), want)
			}
			for c, n := range classCounts(p) {
				total[c] += n
				exact := fr[j] * float64(classCounts(d)[c])
				if math.Abs(float64(n)-exact) > 1 {
					t.Errorf("seed %d: part %d has %d of class %d, want %v ± 1", seed, j, n, c, exact)
				}
			}
		}
		if total[0] != 60 || total[1] != 30 || total[2] != 10 {
			t.Errorf("seed %d: classes over all parts %v", seed, total)
		}
	}
	// one-hot targets stratify by their argmax
	oh, _ := d.OneHot()
	if _, err := oh.Split(1, true, 0.5, 0.5); err != nil {
		t.Error(err)
	}
}

func TestSplitBadInputs(t *testing.T) {
	d := mustDS(t, 10, 1, 2)
	reg, err := FromFloat64(seq(4), []int{4, 1}, seq(4), []int{4, 1}, tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		d        *Dataset
		stratify bool
		fr       []float64
		want     string
	}{
		{"none", d, false, nil, "no fractions"},
		{"negative", d, false, []float64{1.5, -0.5}, "fractions[1] = -0.5: fractions must be positive"},
		{"zero", d, false, []float64{1, 0}, "fractions[1] = 0"},
		{"NaN", d, false, []float64{math.NaN(), 1}, "fractions[0] = NaN"},
		{"sum below 1", d, false, []float64{0.5, 0.4}, "sum to 0.9, want 1"},
		{"sum above 1", d, false, []float64{0.8, 0.3}, "want 1"},
		{"empty part", d, false, []float64{0.99, 0.01}, "part 1 (fraction 0.01 of 10 examples) would be empty"},
		{"stratify regression", reg, true, []float64{0.5, 0.5}, "stratify needs class labels"},
	}
	for _, tc := range tests {
		tc := tc
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.d.Split(1, tc.stratify, tc.fr...)
			testutil.ErrPrefixed(t, err, "datasets: ", tc.want)
		})
	}
}

func TestStandardizer(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		// feature 0 varies, feature 1 is constant
		x := []float64{1, 5, 2, 5, 3, 5, 10, 5}
		d, err := FromFloat64(x, []int{4, 2}, []float64{0, 1, 0, 1}, []int{4}, dt)
		if err != nil {
			t.Fatal(err)
		}
		s, err := d.Standardizer()
		if err != nil {
			t.Fatal(err)
		}
		if s.Mean[0] != 4 || s.Mean[1] != 5 || s.Std[1] != 1 || !near(s.Std[0], math.Sqrt(12.5), 1e-12) {
			t.Errorf("%v: Mean %v Std %v", dt, s.Mean, s.Std)
		}
		z, err := s.Apply(d)
		if err != nil {
			t.Fatal(err)
		}
		checkStandard(t, z, []bool{true, false})
		if !reflect.DeepEqual(floats(z.Y()), floats(d.Y())) {
			t.Error("Apply changed Y")
		}
		if floats(d.X())[0] != 1 {
			t.Error("Apply changed the input Dataset")
		}
	}
	// digits: fit on train, apply to both; train is standard
	digits, err := Digits(tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := digits.Split(3, true, 0.8, 0.2)
	if err != nil {
		t.Fatal(err)
	}
	s, err := parts[0].Standardizer()
	if err != nil {
		t.Fatal(err)
	}
	z, err := s.Apply(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	varies := make([]bool, 64)
	for j := range varies {
		varies[j] = s.Std[j] != 1
	}
	checkStandard(t, z, varies)
	if _, err := s.Apply(parts[1]); err != nil {
		t.Error(err)
	}
}

// checkStandard checks mean 0 and std 1 (or 0 for constant features).
func checkStandard(t *testing.T, d *Dataset, varies []bool) {
	t.Helper()
	x := floats(d.X())
	f := len(varies)
	for j := 0; j < f; j++ {
		m, v := 0.0, 0.0
		for i := 0; i < d.Len(); i++ {
			m += x[i*f+j]
		}
		m /= float64(d.Len())
		for i := 0; i < d.Len(); i++ {
			v += (x[i*f+j] - m) * (x[i*f+j] - m)
		}
		sd := math.Sqrt(v / float64(d.Len()))
		want := 0.0
		if varies[j] {
			want = 1
		}
		if !near(m, 0, 1e-6) || !near(sd, want, 1e-6) {
			t.Errorf("feature %d: mean %v std %v, want 0 and %v", j, m, sd, want)
		}
	}
}

func TestStandardizerBadInputs(t *testing.T) {
	d := mustDS(t, 4, 2, 2)
	three := mustDS(t, 4, 3, 2)
	s, err := d.Standardizer()
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Apply(three)
	testutil.ErrPrefixed(t, err, "datasets: ", "fitted on 2 features, but the Dataset's examples (3) have 3")
	_, err = (&Standardizer{Mean: []float64{0, 0}, Std: []float64{1}}).Apply(d)
	testutil.ErrPrefixed(t, err, "datasets: ", "2 means but 1 standard deviations")
	_, err = (&Standardizer{Mean: []float64{0, 0}, Std: []float64{1, 0}}).Apply(d)
	testutil.ErrPrefixed(t, err, "datasets: ", "Std[1] = 0")
	_, err = (&Standardizer{Mean: []float64{math.NaN(), 0}, Std: []float64{1, 1}}).Apply(d)
	testutil.ErrPrefixed(t, err, "datasets: ", "Mean[0] = NaN")
	_, err = (&Standardizer{Mean: []float64{0, 0}, Std: []float64{1e-320, 1}}).Apply(d)
	testutil.ErrPrefixed(t, err, "datasets: ", "X[1,0] is +Inf")
	var nilS *Standardizer
	_, err = nilS.Apply(d)
	testutil.ErrPrefixed(t, err, "datasets: ", "nil Standardizer")
	_, err = s.Apply(nil)
	testutil.ErrPrefixed(t, err, "datasets: ", "nil Dataset")
}
