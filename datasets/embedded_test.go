package datasets

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/testutil"
)

func TestDigits(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		d, err := Digits(dt)
		if err != nil {
			t.Fatal(err)
		}
		if !d.X().Shape().Eq(tensor.Shape{1797, 64}) || !d.Y().Shape().Eq(tensor.Shape{1797}) || d.NumClasses() != 10 || d.Dtype() != dt {
			t.Fatalf("%v", d)
		}
		want := []int{178, 182, 177, 183, 181, 182, 181, 179, 174, 180}
		got := classCounts(d)
		for c, n := range want {
			if got[c] != n {
				t.Errorf("class %d: %d examples, want %d", c, got[c], n)
			}
		}
		lo, hi := 100.0, -1.0
		for _, v := range floats(d.X()) {
			if v < lo {
				lo = v
			}
			if v > hi {
				hi = v
			}
		}
		if lo != 0 || hi != 16 {
			t.Errorf("pixels in [%v, %v], want [0, 16]", lo, hi)
		}
		// first example, as in the file
		if got := floats(d.X())[:8]; got[2] != 5 || got[3] != 13 || got[4] != 9 {
			t.Errorf("first row starts %v", got)
		}
	}
	_, err := Digits(tensor.Int)
	testutil.ErrPrefixed(t, err, "datasets: ", "dtype int")
}

func TestIris(t *testing.T) {
	d, err := Iris(tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	if !d.X().Shape().Eq(tensor.Shape{150, 4}) || d.NumClasses() != 3 {
		t.Fatalf("%v", d)
	}
	for c, n := range classCounts(d) {
		if n != 50 {
			t.Errorf("class %d: %d examples, want 50", c, n)
		}
	}
	if got := floats(d.X())[:4]; got[0] != 5.1 || got[1] != 3.5 || got[2] != 1.4 || got[3] != 0.2 {
		t.Errorf("first example %v", got)
	}
	// the class names are those of the file's header
	b, err := data.ReadFile("data/iris.csv")
	if err != nil {
		t.Fatal(err)
	}
	header, _ := bufio.NewReader(bytes.NewReader(b)).ReadString('\n')
	if want := "150,4," + strings.Join(IrisClassNames(), ",") + "\n"; header != want {
		t.Errorf("header %q, want %q", header, want)
	}
	// stratified 80/20 split: exactly 40/10 per class
	parts, err := d.Split(5, true, 0.8, 0.2)
	if err != nil {
		t.Fatal(err)
	}
	for c := 0; c < 3; c++ {
		if classCounts(parts[0])[c] != 40 || classCounts(parts[1])[c] != 10 {
			t.Errorf("class %d: %d train, %d test", c, classCounts(parts[0])[c], classCounts(parts[1])[c])
		}
	}
}

func TestBreastCancer(t *testing.T) {
	d, err := BreastCancer(tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 569 || !d.XShape().Eq(tensor.Shape{30}) || d.Targets() != KindBinary {
		t.Fatalf("BreastCancer: %v, X %v, targets %v", d, d.XShape(), d.Targets())
	}
	benign := 0
	for _, c := range d.Labels() {
		benign += c
	}
	if benign != 357 {
		t.Errorf("%d benign, want 357 (and 212 malignant)", benign)
	}
	if x := d.X().Data().([]float64); x[0] != 17.99 || x[29] != 0.1189 {
		t.Errorf("first row starts %v, ends %v", x[0], x[29])
	}
}
