package datasets

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/testutil"
)

// idxBytes encodes an IDX file with the given type code, dimensions and data.
func idxBytes(typ byte, dims []uint32, data []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, typ, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, d)
	}
	b.Write(data)
	return b.Bytes()
}

func TestReadIDX(t *testing.T) {
	data := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	raw := idxBytes(0x08, []uint32{2, 3, 2}, data)
	for name, b := range map[string][]byte{"raw": raw, "gzip": gz(t, raw)} {
		shape, got, err := ReadIDX(bytes.NewReader(b), name)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(shape, []int{2, 3, 2}) || !bytes.Equal(got, data) {
			t.Errorf("%s: shape %v data %v", name, shape, got)
		}
	}
	// a large body read in chunks
	big := make([]byte, 3<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	shape, got, err := ReadIDX(bytes.NewReader(gz(t, idxBytes(0x08, []uint32{3, 1 << 20}, big))), "big")
	if err != nil || !reflect.DeepEqual(shape, []int{3, 1 << 20}) || !bytes.Equal(got, big) {
		t.Errorf("big: %v %v", shape, err)
	}
}

func TestReadIDXBadInputs(t *testing.T) {
	ok := idxBytes(0x08, []uint32{2, 3}, make([]byte, 6))
	tests := []struct {
		name string
		b    []byte
		want []string
	}{
		{"empty", nil, []string{"f.idx: 0 bytes: too short for an IDX header"}},
		{"short magic", []byte{0, 0, 8}, []string{"3 bytes: too short"}},
		{"bad magic", []byte{1, 2, 8, 1, 0, 0, 0, 1, 0}, []string{"magic number 0x01020801: not an IDX file"}},
		{"float type", idxBytes(0x0D, []uint32{1}, make([]byte, 4)), []string{"magic number 0x00000d01: type code 0x0d (float32) is not supported, only 0x08 (unsigned byte)"}},
		{"int32 type", idxBytes(0x0C, []uint32{1}, make([]byte, 4)), []string{"type code 0x0c (int32)"}},
		{"unknown type", idxBytes(0x42, []uint32{1}, nil), []string{"type code 0x42 (unknown)"}},
		{"zero dims", []byte{0, 0, 8, 0}, []string{"magic number 0x00000800: 0 dimensions"}},
		{"short header", []byte{0, 0, 8, 3, 0, 0, 0, 1, 0}, []string{"header truncated: 3 dimensions need 12 bytes, got 5"}},
		{"zero dim", idxBytes(0x08, []uint32{2, 0}, nil), []string{"dimension 1 is 0"}},
		{"overflow", idxBytes(0x08, []uint32{1 << 31, 1 << 31, 1 << 31}, nil), []string{"dimensions 2147483648x2147483648x2147483648: more than 2147483647 bytes"}},
		{"truncated", ok[:len(ok)-2], []string{"f.idx: truncated: dimensions (2, 3) need 6 bytes of data, got 4"}},
		{"trailing", append(ok, 1, 2), []string{"dimensions (2, 3) need 6 bytes of data, got 2 more"}},
		{"bad gzip", []byte{0x1f, 0x8b, 1, 2, 3}, []string{"f.idx: gzip"}},
		{"huge claim", idxBytes(0x08, []uint32{60000, 28, 28}, make([]byte, 1000)), []string{"truncated: dimensions (60000, 28, 28) need 47040000 bytes of data, got 1000"}},
	}
	for _, tc := range tests {
		tc := tc
		t.Run(tc.name, func(t *testing.T) {
			shape, data, err := ReadIDX(bytes.NewReader(tc.b), "f.idx")
			if shape != nil || data != nil {
				t.Error("shape or data with the error")
			}
			testutil.ErrPrefixed(t, err, "datasets: ", tc.want...)
		})
	}
	// a gzip stream cut short
	z := gz(t, ok)
	_, _, err := ReadIDX(bytes.NewReader(z[:len(z)-5]), "cut.gz")
	testutil.ErrPrefixed(t, err, "datasets: ", "cut.gz: truncated")
	_, _, err = ReadIDX(nil, "nil.idx")
	testutil.ErrPrefixed(t, err, "datasets: ", "nil reader")
	_, _, err = LoadIDX(filepath.Join(t.TempDir(), "missing"))
	testutil.ErrPrefixed(t, err, "datasets: ", "missing", "no such file")
}

// FuzzReadIDX checks that ReadIDX never panics and that on success the data
// is exactly as long as the dimensions say.
func FuzzReadIDX(f *testing.F) {
	f.Add(idxBytes(0x08, []uint32{2, 3}, []byte{1, 2, 3, 4, 5, 6}))
	f.Add(idxBytes(0x08, []uint32{3}, []byte{7, 8, 9}))
	f.Add(idxBytes(0x08, []uint32{1, 2, 2}, []byte{1, 2, 3, 4}))
	f.Add(idxBytes(0x08, []uint32{1, 2, 2}, []byte{1, 2, 3}))
	f.Add(idxBytes(0x0D, []uint32{1}, []byte{1, 2, 3, 4}))
	f.Add(idxBytes(0x08, []uint32{0xffffffff, 0xffffffff}, nil))
	f.Add(gz(f, idxBytes(0x08, []uint32{2, 2}, []byte{1, 2, 3, 4})))
	f.Add([]byte{0, 0, 8})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		shape, data, err := ReadIDX(bytes.NewReader(b), "fuzz.idx")
		if err != nil {
			if shape != nil || data != nil {
				t.Fatal("shape or data with an error")
			}
			testutil.ErrPrefixed(t, err, "datasets: fuzz.idx")
			return
		}
		size := 1
		for _, d := range shape {
			if d <= 0 {
				t.Fatalf("dimension %d in %v", d, shape)
			}
			size *= d
		}
		if len(shape) == 0 || size != len(data) {
			t.Fatalf("shape %v with %d bytes", shape, len(data))
		}
	})
}

// writeMNIST writes a small MNIST-like directory with n images of r x c.
func writeMNIST(t *testing.T, dir string, n, r, c int, labels []byte, gzipped bool) {
	t.Helper()
	pix := make([]byte, n*r*c)
	for i := range pix {
		pix[i] = byte(i)
	}
	files := map[string][]byte{
		"train-images-idx3-ubyte": idxBytes(0x08, []uint32{uint32(n), uint32(r), uint32(c)}, pix),
		"train-labels-idx1-ubyte": idxBytes(0x08, []uint32{uint32(len(labels))}, labels),
		"t10k-images-idx3-ubyte":  idxBytes(0x08, []uint32{uint32(n), uint32(r), uint32(c)}, pix),
		"t10k-labels-idx1-ubyte":  idxBytes(0x08, []uint32{uint32(len(labels))}, labels),
	}
	for name, b := range files {
		if gzipped {
			name += ".gz"
			b = gz(t, b)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoadMNISTSmall(t *testing.T) {
	for _, gzipped := range []bool{true, false} {
		dir := t.TempDir()
		writeMNIST(t, dir, 3, 2, 2, []byte{9, 0, 4}, gzipped)
		train, test, err := LoadMNIST(dir, tensor.Float32)
		if err != nil {
			t.Fatal(err)
		}
		if !train.X().Shape().Eq(tensor.Shape{3, 4}) || test.Len() != 3 || train.Dtype() != tensor.Float32 {
			t.Fatalf("%v %v", train, test)
		}
		if got := floats(train.X())[5]; got != float64(float32(5)/255) {
			t.Errorf("pixel 5 scaled to %v", got)
		}
		if !reflect.DeepEqual(train.Labels(), []int{9, 0, 4}) || train.NumClasses() != 10 {
			t.Errorf("labels %v", train.Labels())
		}
		tr, _, err := LoadMNISTWith(context.Background(), dir, MNISTOptions{Layout: NCHW})
		if err != nil {
			t.Fatal(err)
		}
		if !tr.X().Shape().Eq(tensor.Shape{3, 1, 2, 2}) || tr.Dtype() != tensor.Float64 {
			t.Errorf("NCHW: %v", tr)
		}
	}
}

func TestLoadMNISTBadInputs(t *testing.T) {
	empty := t.TempDir()
	_, _, err := LoadMNIST(empty, tensor.Float64)
	testutil.ErrPrefixed(t, err, "datasets: ", "train-images-idx3-ubyte.gz nor train-images-idx3-ubyte exists")

	mismatch := t.TempDir()
	writeMNIST(t, mismatch, 3, 2, 2, []byte{1, 2}, true)
	_, _, err = LoadMNIST(mismatch, tensor.Float64)
	testutil.ErrPrefixed(t, err, "datasets: ", "holds 3 images but", "holds 2 labels")

	badLabel := t.TempDir()
	writeMNIST(t, badLabel, 3, 2, 2, []byte{1, 12, 2}, false)
	_, _, err = LoadMNIST(badLabel, tensor.Float64)
	testutil.ErrPrefixed(t, err, "datasets: ", "train-labels-idx1-ubyte: label 1 is 12: want 0..9")

	flatImages := t.TempDir()
	writeMNIST(t, flatImages, 3, 2, 2, []byte{1, 2, 3}, false)
	os.WriteFile(filepath.Join(flatImages, "train-images-idx3-ubyte"), idxBytes(0x08, []uint32{3, 4}, make([]byte, 12)), 0o644)
	_, _, err = LoadMNIST(flatImages, tensor.Float64)
	testutil.ErrPrefixed(t, err, "datasets: ", "has dimensions (3, 4): want (images, rows, cols)")

	truncated := t.TempDir()
	writeMNIST(t, truncated, 3, 2, 2, []byte{1, 2, 3}, false)
	os.WriteFile(filepath.Join(truncated, "t10k-images-idx3-ubyte"), idxBytes(0x08, []uint32{3, 2, 2}, make([]byte, 10)), 0o644)
	_, _, err = LoadMNIST(truncated, tensor.Float64)
	testutil.ErrPrefixed(t, err, "datasets: ", "t10k-images-idx3-ubyte: truncated: dimensions (3, 2, 2) need 12 bytes of data, got 10")

	_, _, err = LoadMNIST(truncated, tensor.Int)
	testutil.ErrPrefixed(t, err, "datasets: ", "dtype int")
	_, _, err = LoadMNISTWith(context.Background(), truncated, MNISTOptions{Layout: 7})
	testutil.ErrPrefixed(t, err, "datasets: ", "unknown layout 7")
}

// mnistDir is the shared copy of MNIST, beside the repository.
var mnistDir = filepath.Join("..", "..", "shared", "data", "mnist")

// TestMNIST reads the real MNIST files and checks the counts.
func TestMNIST(t *testing.T) {
	if _, err := os.Stat(mnistDir); os.IsNotExist(err) {
		t.Skipf("MNIST not found at %s (shared data is beside the repository in CI)", mnistDir)
	}
	train, test, err := LoadMNIST(mnistDir, tensor.Float32)
	if err != nil {
		t.Fatal(err)
	}
	if !train.X().Shape().Eq(tensor.Shape{60000, 784}) || !train.Y().Shape().Eq(tensor.Shape{60000}) {
		t.Errorf("train %v", train)
	}
	if !test.X().Shape().Eq(tensor.Shape{10000, 784}) || test.NumClasses() != 10 {
		t.Errorf("test %v", test)
	}
	trainCounts := []int{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}
	testCounts := []int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}
	tc, ec := classCounts(train), classCounts(test)
	for c := 0; c < 10; c++ {
		if tc[c] != trainCounts[c] || ec[c] != testCounts[c] {
			t.Errorf("digit %d: %d train, %d test; want %d, %d", c, tc[c], ec[c], trainCounts[c], testCounts[c])
		}
	}
	lo, hi := 1.0, 0.0
	for _, v := range train.X().Float32s() {
		if float64(v) < lo {
			lo = float64(v)
		}
		if float64(v) > hi {
			hi = float64(v)
		}
	}
	if lo != 0 || hi != 1 {
		t.Errorf("pixels in [%v, %v], want [0, 1]", lo, hi)
	}
	// X holds the pixels of the file, scaled
	f, err := os.Open(filepath.Join(mnistDir, mnistTestImages))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	shape, pix, err := ReadIDX(io.Reader(f), mnistTestImages)
	if err != nil || !reflect.DeepEqual(shape, []int{10000, 28, 28}) {
		t.Fatalf("%v %v", shape, err)
	}
	got := test.X().Float32s()
	for i := 0; i < len(pix); i += 997 {
		if got[i] != float32(pix[i])/255 {
			t.Fatalf("pixel %d: %v, want %v", i, got[i], float32(pix[i])/255)
		}
	}
}

func TestMNISTSetNames(t *testing.T) {
	for _, tc := range []struct {
		set     MNISTSet
		name    string
		classes int
		dir     string
	}{{MNIST, "MNIST", 10, "mnist"}, {FashionMNIST, "Fashion-MNIST", 10, "fashion-mnist"}, {MNISTSet(2), "MNISTSet(2)", 0, "mnist"}} {
		if got := tc.set.String(); got != tc.name {
			t.Errorf("String() = %q, want %q", got, tc.name)
		}
		if got := len(tc.set.ClassNames()); got != tc.classes {
			t.Errorf("%v: %d class names, want %d", tc.set, got, tc.classes)
		}
		if (MNISTDownloader(tc.set) == nil) != (tc.classes == 0) {
			t.Errorf("%v: MNISTDownloader %v", tc.set, MNISTDownloader(tc.set))
		}
	}
	if got := FashionMNIST.ClassNames()[9]; got != "Ankle boot" {
		t.Errorf("Fashion-MNIST class 9 is %q", got)
	}
}
