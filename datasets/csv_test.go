package datasets

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/testutil"
)

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadCSV(t *testing.T) {
	text := "a,b,c,label\n1,2,3,0\n 4 , 5,6,2\n\n7,8,9.5,1\n"
	d, err := ReadCSV(strings.NewReader(text), "t.csv", CSVOptions{Header: true, ClassIndex: true})
	if err != nil {
		t.Fatal(err)
	}
	if d.Dtype() != tensor.Float64 || !d.X().Shape().Eq(tensor.Shape{3, 3}) || !d.Y().Shape().Eq(tensor.Shape{3}) {
		t.Fatalf("%v", d)
	}
	if got := floats(d.X()); !reflect.DeepEqual(got, []float64{1, 2, 3, 4, 5, 6, 7, 8, 9.5}) {
		t.Errorf("X %v", got)
	}
	if got := d.Labels(); !reflect.DeepEqual(got, []int{0, 2, 1}) || d.NumClasses() != 3 {
		t.Errorf("Labels %v NumClasses %d", got, d.NumClasses())
	}

	// several regression targets, negative and positive indices, float32, gzip, ';'
	text2 := "1;10;2;20\n3;30;4;40\n"
	d2, err := ReadCSV(bytes.NewReader(gz(t, []byte(text2))), "t.csv.gz", CSVOptions{Targets: []int{-1, 1}, Dtype: tensor.Float32, Comma: ';'})
	if err != nil {
		t.Fatal(err)
	}
	if d2.Dtype() != tensor.Float32 || !d2.Y().Shape().Eq(tensor.Shape{2, 2}) {
		t.Fatalf("%v", d2)
	}
	if got := floats(d2.X()); !reflect.DeepEqual(got, []float64{1, 2, 3, 4}) {
		t.Errorf("X %v", got)
	}
	if got := floats(d2.Y()); !reflect.DeepEqual(got, []float64{20, 10, 40, 30}) {
		t.Errorf("Y %v (targets in the order given)", got)
	}

	// default: last column, (N, 1) regression target; a byte order mark
	d3, err := ReadCSV(strings.NewReader("\ufeff1,2\r\n3,4\r\n"), "t.csv", CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !d3.Y().Shape().Eq(tensor.Shape{2, 1}) || d3.NumClasses() != 0 || !reflect.DeepEqual(floats(d3.X()), []float64{1, 3}) {
		t.Errorf("%v", d3)
	}
}

func TestReadCSVBadInputs(t *testing.T) {
	ci := CSVOptions{ClassIndex: true}
	tests := []struct {
		name string
		text string
		opt  CSVOptions
		want []string
	}{
		{"empty", "", CSVOptions{}, []string{"bad.csv: empty file"}},
		{"only blank lines", "\n\n", CSVOptions{}, []string{"bad.csv: empty file"}},
		{"header only", "a,b\n", CSVOptions{Header: true}, []string{"bad.csv: no data lines after the header"}},
		{"not a number", "1,2,3\n4,x,6\n", CSVOptions{}, []string{`bad.csv:2:2: cannot parse "x" as a number`}},
		{"quoted comma", "1,2,3,4,5\n" + strings.Repeat("1,2,3,4,5\n", 15) + `1,2,3,"1,2",5` + "\n", CSVOptions{}, []string{`bad.csv:17:4: cannot parse "1,2" as a number`}},
		{"empty field", "1,,3\n", CSVOptions{}, []string{`bad.csv:1:2: cannot parse "" as a number`}},
		{"short row", "1,2,3,4,5\n1,2,3,4,5\n1,2,3,4,5\n1,2,3,4,5\n1,2,3\n", CSVOptions{}, []string{"bad.csv: line 5 has 3 fields, want 5"}},
		{"long row", "1,2\n1,2,3\n", CSVOptions{}, []string{"line 2 has 3 fields, want 2"}},
		{"NaN", "1,NaN,3\n", CSVOptions{}, []string{`bad.csv:1:2: "NaN" is not a finite float64`}},
		{"Inf", "1,2,-Inf\n", CSVOptions{}, []string{`bad.csv:1:3: "-Inf" is not a finite`}},
		{"float32 overflow", "1,1e39,3\n", CSVOptions{Dtype: tensor.Float32}, []string{`bad.csv:1:2: "1e39" is not a finite float32`}},
		{"bad class", "1,2,0\n1,2,1.5\n", ci, []string{`bad.csv:2:3: class index "1.5" is not an integer`}},
		{"negative class", "1,2,-1\n", ci, []string{`bad.csv:1:3: class index "-1"`}},
		{"class with two targets", "1,2,0\n", CSVOptions{ClassIndex: true, Targets: []int{0, 1}}, []string{"bad.csv:1: ClassIndex needs exactly one target column, got 2"}},
		{"target out of range", "1,2,0\n", CSVOptions{Targets: []int{3}}, []string{"target column 3 is out of range for 3 fields"}},
		{"target negative out of range", "1,2,0\n", CSVOptions{Targets: []int{-4}}, []string{"target column -4 is out of range"}},
		{"target twice", "1,2,0\n", CSVOptions{Targets: []int{2, -1}}, []string{"target column -1 (column 2) is given twice"}},
		{"no features", "1\n2\n", CSVOptions{}, []string{"all 1 columns are targets"}},
		{"bad quote", "1,\"2\n", CSVOptions{}, []string{"bad.csv:1:", "quote"}},
		{"bad dtype", "1,2\n", CSVOptions{Dtype: tensor.Int}, []string{"bad.csv: dtype int"}},
		{"bad comma", "1,2\n", CSVOptions{Comma: '"'}, []string{`'"' cannot separate fields`}},
		{"bad gzip", "\x1f\x8b\x08garbage", CSVOptions{}, []string{"bad.csv: gzip"}},
	}
	for _, tc := range tests {
		tc := tc
		t.Run(tc.name, func(t *testing.T) {
			d, err := ReadCSV(strings.NewReader(tc.text), "bad.csv", tc.opt)
			if d != nil {
				t.Errorf("got %v with the error", d)
			}
			testutil.ErrPrefixed(t, err, "datasets: ", tc.want...)
		})
	}
	_, err := ReadCSV(nil, "nil.csv", CSVOptions{})
	testutil.ErrPrefixed(t, err, "datasets: ", "nil.csv: nil reader")
	// truncated gzip
	z := gz(t, []byte("1,2\n3,4\n"))
	_, err = ReadCSV(bytes.NewReader(z[:len(z)-6]), "cut.csv.gz", CSVOptions{})
	testutil.ErrPrefixed(t, err, "datasets: ", "cut.csv.gz: truncated")
}

func TestLoadCSV(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "data.csv.gz")
	if err := os.WriteFile(p, gz(t, []byte("x,y\n1,0\n2,1\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := LoadCSV(p, CSVOptions{Header: true, ClassIndex: true})
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 2 || d.NumClasses() != 2 {
		t.Errorf("%v", d)
	}
	_, err = LoadCSV(filepath.Join(dir, "missing.csv"), CSVOptions{})
	testutil.ErrPrefixed(t, err, "datasets: ", "missing.csv", "no such file")
}

// FuzzReadCSV checks that ReadCSV never panics and that a Dataset it returns
// is consistent with the options.
func FuzzReadCSV(f *testing.F) {
	f.Add([]byte("1,2,3\n4,5,6\n"), false, false, uint8(0))
	f.Add([]byte("a,b,c\n1,2,0\n3,4,1\n"), true, true, uint8(0))
	f.Add([]byte("1;2;3\n"), false, false, uint8(1))
	f.Add([]byte("150,4,setosa,versicolor,virginica\n5.1,3.5,1.4,0.2,0\n4.9,3.0,1.4,0.2,0\n"), true, true, uint8(2))
	f.Add([]byte("1,\"2,3\",4\n"), false, false, uint8(0))
	f.Add([]byte("1,2\n3\n"), false, true, uint8(0))
	f.Add([]byte("1e400,2\n"), false, false, uint8(0))
	f.Add([]byte("nan,inf\n"), false, false, uint8(3))
	f.Add(gz(f, []byte("1,2,3\n4,5,6\n")), false, false, uint8(0))
	f.Add([]byte{0x1f, 0x8b}, false, false, uint8(0))
	f.Add([]byte(""), true, false, uint8(0))
	f.Add([]byte("1,2\n"+strings.Repeat("é", 5000)+",3\n"), false, false, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, header, classIndex bool, mode uint8) {
		opt := CSVOptions{Header: header, ClassIndex: classIndex}
		if mode&1 != 0 {
			opt.Comma = ';'
		}
		if mode&2 != 0 {
			opt.Dtype = tensor.Float32
		}
		if mode&4 != 0 && !classIndex {
			opt.Targets = []int{0, -1}
		}
		d, err := ReadCSV(bytes.NewReader(data), "fuzz.csv", opt)
		if err != nil {
			if d != nil {
				t.Fatal("Dataset and error")
			}
			testutil.ErrPrefixed(t, err, "datasets: ")
			// A field is quoted cut short: messages stay short whatever
			// the input.
			if len(err.Error()) > 600 {
				t.Fatalf("a %d-byte error message", len(err.Error()))
			}
			return
		}
		n := d.Len()
		if n <= 0 || d.X().Shape()[0] != n || d.Y().Shape()[0] != n || d.X().Dims() != 2 {
			t.Fatalf("inconsistent shapes: %v", d)
		}
		ntargets := 1
		if opt.Targets != nil {
			ntargets = len(opt.Targets)
		}
		if classIndex {
			if d.Y().Dims() != 1 || d.NumClasses() < 1 {
				t.Fatalf("class indices: %v", d)
			}
		} else if !d.Y().Shape().Eq(tensor.Shape{n, ntargets}) {
			t.Fatalf("targets: %v, want %d per example", d, ntargets)
		}
		if len(floats(d.X())) != n*d.XShape()[0] {
			t.Fatalf("X holds %d values for %v", len(floats(d.X())), d)
		}
	})
}
