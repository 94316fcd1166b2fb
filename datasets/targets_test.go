package datasets

import (
	"testing"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/testutil"
)

func TestTargetKinds(t *testing.T) {
	x := []float64{1, 2, 3, 4}
	for _, tc := range []struct {
		y       []float64
		shape   []int
		kind    TargetKind
		classes int
		labels  []int
	}{
		{[]float64{0, 2, 1, 0}, []int{4}, KindClassIndex, 3, []int{0, 2, 1, 0}},
		{[]float64{0, 1, 1, 0, 0.2, 0.8, 1, 0}, []int{4, 2}, KindOneHot, 2, []int{1, 0, 1, 0}},
		{[]float64{0, 1, 1, 0}, []int{4, 1}, KindBinary, 2, []int{0, 1, 1, 0}},
		{[]float64{0, 1, 1, 1}, []int{4, 1}, KindBinary, 2, []int{0, 1, 1, 1}},
		{[]float64{0, 1, 0.5, 0}, []int{4, 1}, KindRegression, 0, nil},
		{[]float64{0, 1, 2, 0}, []int{4, 1}, KindRegression, 0, nil},
	} {
		for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
			d, err := FromFloat64(x, []int{4, 1}, tc.y, tc.shape, dt)
			if err != nil {
				t.Fatal(err)
			}
			if d.Targets() != tc.kind || d.NumClasses() != tc.classes {
				t.Errorf("%v %v: Targets %v, %d classes; want %v, %d", tc.y, tc.shape, d.Targets(), d.NumClasses(), tc.kind, tc.classes)
			}
			got := d.Labels()
			if len(got) != len(tc.labels) || (tc.labels == nil) != (got == nil) {
				t.Errorf("%v %v: Labels %v, want %v", tc.y, tc.shape, got, tc.labels)
				continue
			}
			for i := range got {
				if got[i] != tc.labels[i] {
					t.Errorf("%v %v: Labels %v, want %v", tc.y, tc.shape, got, tc.labels)
					break
				}
			}
		}
	}
}

func TestBinaryAndClassIndexTargets(t *testing.T) {
	x := []float64{1, 2, 3, 4, 5}
	idx, err := FromFloat64(x, []int{5, 1}, []float64{1, 0, 0, 1, 1}, []int{5}, tensor.Float32)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := idx.BinaryTargets()
	if err != nil {
		t.Fatal(err)
	}
	if bin.Targets() != KindBinary || !bin.YShape().Eq(tensor.Shape{1}) || bin.X() != idx.X() {
		t.Fatalf("BinaryTargets: %v, Y %v", bin.Targets(), bin.YShape())
	}
	if got := bin.Y().Data().([]float32); got[0] != 1 || got[1] != 0 || got[4] != 1 {
		t.Errorf("BinaryTargets Y = %v", got)
	}
	back, err := bin.ClassIndexTargets()
	if err != nil {
		t.Fatal(err)
	}
	if back.Targets() != KindClassIndex || back.NumClasses() != 2 {
		t.Fatalf("ClassIndexTargets: %v", back)
	}
	for i, v := range back.Y().Data().([]float32) {
		if v != idx.Y().Data().([]float32)[i] {
			t.Fatalf("round trip: %v, want %v", back.Y().Data(), idx.Y().Data())
		}
	}
	if same, _ := bin.BinaryTargets(); same != bin {
		t.Error("BinaryTargets of binary targets is not the Dataset itself")
	}
	if same, _ := idx.ClassIndexTargets(); same != idx {
		t.Error("ClassIndexTargets of class indices is not the Dataset itself")
	}
	three, _ := FromFloat64(x, []int{5, 1}, []float64{0, 1, 2, 1, 0}, []int{5}, tensor.Float64)
	reg, _ := FromFloat64(x, []int{5, 1}, []float64{0.5, 1, 2, 1, 0}, []int{5, 1}, tensor.Float64)
	for _, tc := range []struct {
		name string
		f    func() (*Dataset, error)
		want string
	}{
		{"three classes", three.BinaryTargets, "3 classes"},
		{"regression", reg.BinaryTargets, "regression"},
		{"regression", reg.ClassIndexTargets, "regression"},
	} {
		_, err := tc.f()
		testutil.ErrContains(t, err, tc.want)
	}
}

// TestSplitStratifiesBinaryTargets: (N, 1) 0/1 targets are classes to a
// stratified Split, which keeps their proportions in every part.
func TestSplitStratifiesBinaryTargets(t *testing.T) {
	const n = 200
	x, y := make([]float64, n), make([]float64, n)
	for i := range x {
		x[i] = float64(i)
		if i%10 == 0 { // 10% positives
			y[i] = 1
		}
	}
	d, err := FromFloat64(x, []int{n, 1}, y, []int{n, 1}, tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := d.Split(3, true, 0.75, 0.25)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range parts {
		pos := 0
		for _, c := range p.Labels() {
			pos += c
		}
		if want := p.Len() / 10; pos != want {
			t.Errorf("part %d: %d positives of %d, want %d", i, pos, p.Len(), want)
		}
		if p.Targets() != KindBinary {
			t.Errorf("part %d: targets %v", i, p.Targets())
		}
	}
}
