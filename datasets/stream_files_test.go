package datasets

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/testutil"
)

// wholePass reads a pass of src into new tensors of Len rows (as float64).
func wholePass(t testing.TB, src Source, p Pass) (x, y []float64, err error) {
	n := src.Len()
	xt := newZeros(src.Dtype(), append(tensor.Shape{n + 1}, src.XShape()...))
	yt := newZeros(src.Dtype(), append(tensor.Shape{n + 1}, src.YShape()...))
	st, err := src.Open(context.Background(), p)
	if err != nil {
		return nil, nil, err
	}
	defer st.Close()
	k, err := st.Read(xt, yt, n+1)
	if err != nil {
		return nil, nil, err
	}
	if k2, err := st.Read(xt, yt, 1); k2 != 0 || err != io.EOF {
		if err != nil && err != io.EOF {
			return nil, nil, err
		}
		t.Fatalf("after the pass: %d, %v, want 0, io.EOF", k2, err)
	}
	xf, yf := sizeOf(src.XShape()), sizeOf(src.YShape())
	return floats(xt)[:k*xf], floats(yt)[:k*yf], nil
}

func TestIDXStreamMatchesLoadMNIST(t *testing.T) {
	labels := make([]byte, 23)
	for i := range labels {
		labels[i] = byte(i % 10)
	}
	for _, gzipped := range []bool{false, true} {
		for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
			dir := t.TempDir()
			writeMNIST(t, dir, 23, 3, 4, labels, gzipped)
			train, _, err := LoadMNIST(dir, dt)
			if err != nil {
				t.Fatal(err)
			}
			img, _ := findFile("test", dir, mnistTrainImages)
			lab, _ := findFile("test", dir, mnistTrainLabels)
			s, err := OpenIDXStream(img, lab, IDXStreamOptions{Dtype: dt, Stream: StreamOptions{ShuffleBuffer: 5, Prefetch: 4}})
			if err != nil {
				t.Fatal(err)
			}
			if s.Len() != 23 || !s.XShape().Eq(tensor.Shape{12}) || s.Dtype() != dt {
				t.Fatalf("Len %d XShape %v", s.Len(), s.XShape())
			}
			x, y, err := wholePass(t, s, Pass{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(x, floats(train.X())) || !reflect.DeepEqual(y, floats(train.Y())) {
				t.Fatalf("gzip %v %v: the stream differs from LoadMNIST", gzipped, dt)
			}
			// shards converted from the stream hold the same data
			sd := t.TempDir()
			if _, err := WriteShards(context.Background(), sd, s, ShardWriteOptions{ExamplesPerShard: 5}); err != nil {
				t.Fatal(err)
			}
			sx, sy, err := wholePass(t, mustShards(t, sd, StreamOptions{}), Pass{})
			if err != nil || !reflect.DeepEqual(sx, x) || !reflect.DeepEqual(sy, y) {
				t.Fatalf("shards from the IDX stream differ (%v)", err)
			}
			// parts and shuffling: every example once
			var ids []float64
			for r := 0; r < 3; r++ {
				_, py, err := wholePass(t, s, Pass{Shuffle: true, Seed: 1, Part: r, Parts: 3})
				if err != nil || len(py) != s.PartLen(r, 3) {
					t.Fatalf("part %d: %d examples, PartLen %d, %v", r, len(py), s.PartLen(r, 3), err)
				}
				ids = append(ids, py...)
			}
			if len(ids) != 23 {
				t.Fatalf("3 parts yield %d examples", len(ids))
			}
		}
	}
}

func TestIDXStreamBadData(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "img")
	lab := filepath.Join(dir, "lab")
	pix := make([]byte, 10*4)
	os.WriteFile(img, idxBytes(0x08, []uint32{10, 2, 2}, pix), 0o644)
	os.WriteFile(lab, idxBytes(0x08, []uint32{10}, make([]byte, 10)), 0o644)
	s, err := OpenIDXStream(img, lab, IDXStreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// truncated after opening: the pass meets it at image 7
	os.WriteFile(img, idxBytes(0x08, []uint32{10, 2, 2}, pix[:30]), 0o644)
	_, _, err = wholePass(t, s, Pass{})
	testutil.ErrPrefixed(t, err, "datasets: ", img, "offset 46", "truncated in example 7 of 10")
	os.WriteFile(img, idxBytes(0x08, []uint32{10, 2, 2}, append(pix, 1)), 0o644)
	_, _, err = wholePass(t, s, Pass{})
	testutil.ErrPrefixed(t, err, "datasets: ", img, "offset 56", "more data")
	// the same files at opening: the header's promise is checked against
	// the file's length (uncompressed)
	_, err = OpenIDXStream(img, lab, IDXStreamOptions{})
	testutil.ErrPrefixed(t, err, "datasets: ", img, "57 bytes", "(10, 2, 2) need 56")
	os.WriteFile(img, idxBytes(0x08, []uint32{10, 2, 2}, pix[:30]), 0o644)
	_, err = OpenIDXStream(img, lab, IDXStreamOptions{})
	testutil.ErrPrefixed(t, err, "datasets: ", img, "46 bytes", "(10, 2, 2) need 56")
	os.WriteFile(img, idxBytes(0x08, []uint32{81, 2, 3158064}, nil), 0o644) // 16 bytes promising 511 MB (a fuzzed header)
	_, err = OpenIDXStream(img, lab, IDXStreamOptions{})
	testutil.ErrPrefixed(t, err, "datasets: ", img, "16 bytes", "need 511606384")
	os.WriteFile(img, idxBytes(0x08, []uint32{10, 2, 2}, pix), 0o644)
	os.WriteFile(lab, idxBytes(0x08, []uint32{9}, make([]byte, 9)), 0o644)
	_, err = OpenIDXStream(img, lab, IDXStreamOptions{})
	testutil.ErrPrefixed(t, err, "datasets: ", "10 images", "9 labels")
	_, err = OpenIDXStream(img, filepath.Join(dir, "none"), IDXStreamOptions{})
	testutil.ErrPrefixed(t, err, "datasets: ", "none")
	os.WriteFile(lab, idxBytes(0x08, []uint32{10}, make([]byte, 10)), 0o644)
	_, err = OpenIDXStream(img, lab, IDXStreamOptions{Layout: 7})
	testutil.ErrPrefixed(t, err, "datasets: ", "layout")
}

func TestCSVStreamMatchesReadCSV(t *testing.T) {
	const text = "a,b,c,label\n1,2,3,0\n4,5,6,1\n\n7,8,9,2\n10,11,12,1\n13,14,15,0\n"
	dir := t.TempDir()
	for _, name := range []string{"t.csv", "t.csv.gz"} {
		path := filepath.Join(dir, name)
		b := []byte(text)
		if strings.HasSuffix(name, ".gz") {
			b = gz(t, b)
		}
		os.WriteFile(path, b, 0o644)
		for _, opt := range []CSVOptions{{Header: true, ClassIndex: true, Dtype: tensor.Float32}, {Header: true, Targets: []int{0, -1}}} {
			d, err := LoadCSV(path, opt)
			if err != nil {
				t.Fatal(err)
			}
			s, err := OpenCSVStream(path, opt, StreamOptions{Prefetch: 2})
			if err != nil {
				t.Fatal(err)
			}
			if s.Len() != d.Len() || !s.XShape().Eq(d.XShape()) || !reflect.DeepEqual(s.YShape(), d.YShape()) {
				t.Fatalf("%s %+v: %v %v %v vs %v", name, opt, s.Len(), s.XShape(), s.YShape(), d)
			}
			x, y, err := wholePass(t, s, Pass{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(x, floats(d.X())) || !reflect.DeepEqual(y, floats(d.Y())) {
				t.Fatalf("%s %+v: the stream differs from LoadCSV", name, opt)
			}
		}
	}
	path := filepath.Join(dir, "bad.csv")
	os.WriteFile(path, []byte("1,2\n3,x\n"), 0o644)
	_, err := OpenCSVStream(path, CSVOptions{}, StreamOptions{})
	testutil.ErrPrefixed(t, err, "datasets: ", path+":2:2", `cannot parse "x"`)
	// the file changes after opening: the pass says so
	os.WriteFile(path, []byte("1,2\n3,4\n5,6\n"), 0o644)
	s, err := OpenCSVStream(path, CSVOptions{}, StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, []byte("1,2\n3,4\n"), 0o644)
	_, _, err = wholePass(t, s, Pass{})
	testutil.ErrPrefixed(t, err, "datasets: ", path, "2 data lines, there were 3")
}

// FuzzIDXStream: any images file with a matching labels file opens and
// reads completely, or fails with an error naming a file.
func FuzzIDXStream(f *testing.F) {
	f.Add(idxBytes(0x08, []uint32{3, 2, 2}, make([]byte, 12)), uint8(3))
	f.Add(idxBytes(0x08, []uint32{3, 2, 2}, make([]byte, 11)), uint8(3))
	f.Add([]byte{0, 0, 8, 3, 0, 0, 0, 2}, uint8(2))
	// gzipped, 1.3 M values in 2 KB
	f.Add(gz(f, idxBytes(0x08, []uint32{255, 100, 50}, make([]byte, 255*5000))), uint8(255))
	f.Fuzz(func(t *testing.T, b []byte, n uint8) {
		dir := t.TempDir()
		img, lab := filepath.Join(dir, "img"), filepath.Join(dir, "lab")
		os.WriteFile(img, b, 0o644)
		os.WriteFile(lab, idxBytes(0x08, []uint32{uint32(n)}, make([]byte, n)), 0o644)
		s, err := OpenIDXStream(img, lab, IDXStreamOptions{Stream: StreamOptions{ShuffleBuffer: 2}})
		if err != nil {
			testutil.ErrContains(t, err, dir) // names the file
			return
		}
		// One example at a time: a gzipped header may promise more data
		// than a whole pass's buffer should hold here.
		k, err := passOneByOne(s, Pass{Shuffle: true})
		if err != nil {
			testutil.ErrContains(t, err, img) // names the file
		} else if k != s.Len() {
			t.Fatalf("read %d examples, want %d", k, s.Len())
		}
	})
}

// passOneByOne reads a pass of src one example at a time and returns how
// many it read before io.EOF (which a further Read must give again), or the
// error.
func passOneByOne(src Source, p Pass) (int, error) {
	xt := newZeros(src.Dtype(), append(tensor.Shape{1}, src.XShape()...))
	yt := newZeros(src.Dtype(), append(tensor.Shape{1}, src.YShape()...))
	st, err := src.Open(context.Background(), p)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	n := 0
	for {
		k, err := st.Read(xt, yt, 1)
		n += k
		if err == io.EOF {
			if k2, err := st.Read(xt, yt, 1); k2 != 0 || err != io.EOF {
				return n, fmt.Errorf("after the pass: %d, %v, want 0, io.EOF", k2, err)
			}
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// FuzzCSVStream: a CSV file that OpenCSVStream accepts reads completely
// (the same data as ReadCSV), and nothing panics.
func FuzzCSVStream(f *testing.F) {
	f.Add("1,2,0\n3,4,1\n")
	f.Add("a,b\n1,x\n")
	f.Add("1,2\n3\n")
	f.Fuzz(func(t *testing.T, text string) {
		path := filepath.Join(t.TempDir(), "f.csv")
		os.WriteFile(path, []byte(text), 0o644)
		s, err := OpenCSVStream(path, CSVOptions{}, StreamOptions{Prefetch: 1})
		d, derr := LoadCSV(path, CSVOptions{})
		if (err == nil) != (derr == nil) {
			t.Fatalf("OpenCSVStream: %v, LoadCSV: %v", err, derr)
		}
		if err != nil {
			return
		}
		x, y, err := wholePass(t, s, Pass{})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(x, floats(d.X())) || !reflect.DeepEqual(y, floats(d.Y())) {
			t.Fatal("the stream differs from LoadCSV")
		}
	})
}

// TestCSVStreamBoundsALine: a small gzip file that decompresses to one
// line of 65 MiB (no newline) is an error naming the file, not a buffer
// grown to the line's size.
func TestCSVStreamBoundsALine(t *testing.T) {
	line := bytes.Repeat([]byte{'1'}, maxCSVLineBytes+1<<20)
	path := filepath.Join(t.TempDir(), "bomb.csv.gz")
	if err := os.WriteFile(path, gz(t, append([]byte("1,0\n"), line...)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := OpenCSVStream(path, CSVOptions{ClassIndex: true}, StreamOptions{})
	testutil.ErrContains(t, err, "bomb.csv.gz", "too long for a CSV stream")
}
