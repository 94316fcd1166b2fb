package datasets

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/testutil"
)

// The wrong calls a user can make to each exported function of the package:
// each is an error whose message names what is wrong, never a panic, and
// leaves its inputs as they were.
func TestMisuse(t *testing.T) {
	x := dense64([]float64{1, 2, 3, 4, 5, 6}, 3, 2)
	y := dense64([]float64{0, 1, 0}, 3)
	good, err := New(x, y)
	if err != nil {
		t.Fatal(err)
	}
	xBefore, yBefore := append([]float64(nil), x.Float64s()...), append([]float64(nil), y.Float64s()...)
	zero := &Dataset{}
	dir := t.TempDir()
	notIDX := filepath.Join(dir, "not.idx")
	os.WriteFile(notIDX, []byte("hello world"), 0o644)
	noDtype := tensor.Dtype{}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name  string
		call  func() error
		words []string
	}{
		{"New nil X", func() error { _, err := New(nil, y); return err }, []string{"New", "X is nil"}},
		{"New rows differ", func() error { _, err := New(x, dense64([]float64{0, 1}, 2)); return err }, []string{"same number of examples"}},
		{"New NaN", func() error {
			_, err := New(dense64([]float64{math.NaN(), 1}, 1, 2), dense64([]float64{0}, 1))
			return err
		}, []string{"X[0,0]", "NaN"}},
		{"FromFloat64 short data", func() error {
			_, err := FromFloat64([]float64{1}, []int{2, 2}, []float64{0, 0}, []int{2}, tensor.Float64)
			return err
		}, []string{"needs 4 values, got 1"}},
		{"FromFloat64 zero dtype", func() error {
			_, err := FromFloat64([]float64{1, 2}, []int{1, 2}, []float64{0}, []int{1}, noDtype)
			return err
		}, []string{"dtype", "want"}},
		{"OneHot label out of range", func() error { _, err := OneHot([]int{0, 3}, 3, tensor.Float64); return err }, []string{"labels[1] = 3", "[0, 3)"}},
		{"OneHot k 0", func() error { _, err := OneHot([]int{0}, 0, tensor.Float64); return err }, []string{"k = 0"}},
		{"ReadIDX nil reader", func() error { _, _, err := ReadIDX(nil, "f"); return err }, []string{"f", "nil reader"}},
		{"ReadIDX not IDX", func() error { _, _, err := ReadIDX(strings.NewReader("hello world"), "f"); return err }, []string{"f", "not an IDX file"}},
		{"LoadIDX missing file", func() error { _, _, err := LoadIDX(filepath.Join(dir, "missing")); return err }, []string{"LoadIDX", "missing"}},
		{"LoadIDX not IDX", func() error { _, _, err := LoadIDX(notIDX); return err }, []string{"not.idx", "magic"}},
		{"LoadMNIST empty dir", func() error { _, _, err := LoadMNIST(dir, tensor.Float64); return err }, []string{"LoadMNIST", "train-images"}},
		{"LoadMNISTWith bad layout", func() error {
			_, _, err := LoadMNISTWith(context.Background(), dir, MNISTOptions{Layout: 7})
			return err
		}, []string{"layout 7"}},
		{"LoadMNISTWith int dtype", func() error {
			_, _, err := LoadMNISTWith(context.Background(), dir, MNISTOptions{Dtype: tensor.Int})
			return err
		}, []string{"dtype int"}},
		{"LoadMNISTWith negative layout", func() error {
			_, _, err := LoadMNISTWith(context.Background(), dir, MNISTOptions{Layout: -1})
			return err
		}, []string{"layout -1"}},
		{"ReadCSV nil reader", func() error { _, err := ReadCSV(nil, "c.csv", CSVOptions{}); return err }, []string{"c.csv", "nil reader"}},
		{"ReadCSV target out of range", func() error {
			_, err := ReadCSV(strings.NewReader("1,2\n"), "c.csv", CSVOptions{Targets: []int{5}})
			return err
		}, []string{"c.csv:1", "target column 5"}},
		{"ReadCSV ragged", func() error { _, err := ReadCSV(strings.NewReader("1,2\n1\n"), "c.csv", CSVOptions{}); return err }, []string{"line 2 has 1 fields, want 2"}},
		{"LoadCSV missing", func() error { _, err := LoadCSV(filepath.Join(dir, "no.csv"), CSVOptions{}); return err }, []string{"no.csv"}},
		{"Blobs no classes", func() error { _, err := Blobs(10, 0, 2, 1, 1, tensor.Float64); return err }, []string{"Blobs", "classes"}},
		{"Spirals negative noise", func() error { _, err := Spirals(10, 2, -1, 1, tensor.Float64); return err }, []string{"Spirals", "noise"}},
		{"TwoMoons zero n", func() error { _, err := TwoMoons(0, 0.1, 1, tensor.Float64); return err }, []string{"TwoMoons"}},
		{"LinearRegression zero d", func() error { _, _, _, err := LinearRegression(10, 0, 0.1, 1, tensor.Float64); return err }, []string{"LinearRegression"}},
		{"Quadratic kappa below 1", func() error { _, _, err := Quadratic(10, 2, 0.5, 1, tensor.Float64); return err }, []string{"Quadratic", "kappa"}},
		{"Iris int dtype", func() error { _, err := Iris(tensor.Int); return err }, []string{"dtype int"}},
		{"Digits zero dtype", func() error { _, err := Digits(noDtype); return err }, []string{"dtype"}},
		{"NewIterator nil", func() error { _, err := NewIterator(nil, Batches{}); return err }, []string{"NewIterator", "nil Dataset"}},
		{"NewIterator zero Dataset", func() error { _, err := NewIterator(zero, Batches{}); return err }, []string{"NewIterator", "zero value"}},
		{"NewIterator negative size", func() error { _, err := NewIterator(good, Batches{Size: -1}); return err }, []string{"batch size -1"}},
		{"Gather index out of range", func() error {
			return good.Gather([]int{0, 3}, newZeros(tensor.Float64, tensor.Shape{2, 2}), newZeros(tensor.Float64, tensor.Shape{2}))
		}, []string{"idx[1] = 3"}},
		{"Gather wrong dtype", func() error {
			return good.Gather([]int{0}, newZeros(tensor.Float32, tensor.Shape{1, 2}), newZeros(tensor.Float64, tensor.Shape{1}))
		}, []string{"Gather", "X has dtype float32"}},
		{"Gather on a zero Dataset", func() error {
			return zero.Gather([]int{0}, newZeros(tensor.Float64, tensor.Shape{1, 2}), newZeros(tensor.Float64, tensor.Shape{1}))
		}, []string{"zero value"}},
		{"Subset out of range", func() error { _, err := good.Subset([]int{-1}); return err }, []string{"Subset", "idx[0] = -1"}},
		{"Subset of a zero Dataset", func() error { _, err := zero.Subset([]int{0}); return err }, []string{"zero value"}},
		{"OneHot of a zero Dataset", func() error { _, err := zero.OneHot(); return err }, []string{"zero value"}},
		{"Split zero Dataset", func() error { _, err := zero.Split(1, false, 0.5, 0.5); return err }, []string{"Split", "zero value"}},
		{"Split fractions over 1", func() error { _, err := good.Split(1, false, 0.9, 0.9); return err }, []string{"Split"}},
		{"Split no fractions", func() error { _, err := good.Split(1, false); return err }, []string{"Split", "no fractions"}},
		{"Standardizer zero Dataset", func() error { _, err := zero.Standardizer(); return err }, []string{"Standardizer", "zero value"}},
		{"Standardizer.Apply zero Dataset", func() error {
			s, err := good.Standardizer()
			if err != nil {
				return err
			}
			_, err = s.Apply(zero)
			return err
		}, []string{"Apply", "zero value"}},
		{"Standardizer.Apply other width", func() error {
			s, err := good.Standardizer()
			if err != nil {
				return err
			}
			other, _ := New(dense64([]float64{1, 2, 3}, 1, 3), dense64([]float64{0}, 1))
			_, err = s.Apply(other)
			return err
		}, []string{"Apply"}},
		{"CheckClasses below the labels", func() error { return good.CheckClasses(1) }, []string{"row 1", "1 outputs"}},
		{"CheckTargets empty range", func() error { return good.CheckTargets(1, 0) }, []string{"CheckTargets", "empty"}},
		{"CheckFinite zero", func() error { return zero.CheckFinite() }, []string{"zero value"}},
		{"BinaryTargets zero", func() error { _, err := zero.BinaryTargets(); return err }, []string{"BinaryTargets", "zero value"}},
		{"ClassIndexTargets zero", func() error { _, err := zero.ClassIndexTargets(); return err }, []string{"ClassIndexTargets", "zero value"}},
		{"BinaryTargets nil", func() error { _, err := (*Dataset)(nil).BinaryTargets(); return err }, []string{"BinaryTargets", "nil"}},
		{"ClassIndexTargets nil", func() error { _, err := (*Dataset)(nil).ClassIndexTargets(); return err }, []string{"ClassIndexTargets", "nil"}},
		{"Fetch nil Downloader", func() error { var d *Downloader; return d.Fetch(context.Background(), dir) }, []string{"nil Downloader"}},
		{"Fetch bad sum", func() error {
			return (&Downloader{BaseURLs: []string{"http://127.0.0.1:1/"}, Files: map[string]string{"a": "xyz"}}).Fetch(context.Background(), dir)
		}, []string{"a", "64 hex digits"}},
		{"Fetch path in a name", func() error {
			return (&Downloader{Files: map[string]string{"../a": strings.Repeat("0", 64)}}).Fetch(context.Background(), dir)
		}, []string{"../a", "plain file name"}},
		{"Fetch negative StallTimeout", func() error {
			return (&Downloader{BaseURLs: []string{"http://127.0.0.1:1/"}, Files: map[string]string{"a": strings.Repeat("0", 64)}, StallTimeout: -1}).Fetch(context.Background(), dir)
		}, []string{"StallTimeout = -1ns"}},
		{"DownloadMNIST canceled", func() error { _, err := DownloadMNIST(canceled, MNIST, filepath.Join(dir, "cache")); return err }, []string{"Fetch", "canceled"}},
		{"DownloadMNIST Fashion canceled", func() error { _, err := DownloadMNIST(canceled, FashionMNIST, filepath.Join(dir, "cache")); return err }, []string{"Fetch", "canceled"}},
		{"DownloadMNIST unknown set", func() error { _, err := DownloadMNIST(canceled, MNISTSet(2), filepath.Join(dir, "cache")); return err }, []string{"DownloadMNIST", "unknown set MNISTSet(2)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testutil.Misuse(t, "datasets: ", tc.call, tc.words...)
			if !testutil.SameBits(x.Float64s(), xBefore) || !testutil.SameBits(y.Float64s(), yBefore) {
				t.Errorf("the call changed the good dataset's tensors")
			}
		})
	}
	// Zero and nil Datasets print plainly.
	var buf bytes.Buffer
	for _, d := range []*Dataset{zero, nil} {
		buf.Reset()
		buf.WriteString(d.String())
		if strings.Contains(buf.String(), "PANIC") {
			t.Errorf("String: %q", buf.String())
		}
	}
}
