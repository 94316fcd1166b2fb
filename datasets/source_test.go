package datasets

import (
	"context"
	"io"
	"reflect"
	"testing"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/testutil"
)

// idDS returns a Dataset of n examples of f features whose feature 0 is the
// example's index and whose class index is i % k, in dtype dt.
func idDS(t testing.TB, n, f, k int, dt tensor.Dtype) *Dataset {
	t.Helper()
	x := make([]float64, n*f)
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		x[i*f] = float64(i)
		for j := 1; j < f; j++ {
			x[i*f+j] = float64(i%7) + float64(j)/8
		}
		y[i] = float64(i % k)
	}
	d, err := FromFloat64(x, []int{n, f}, y, []int{n}, dt)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// readPass reads a whole pass in reads of batch examples and returns
// feature 0 of every example (the id for idDS data), checking that every
// row's other values and label match the id.
func readPass(t testing.TB, src Source, p Pass, batch int) []int {
	t.Helper()
	st, err := src.Open(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ids, err := drain(st, src, batch)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// drain reads st to the end and returns the ids (feature 0) it yielded.
func drain(st Stream, src Source, batch int) ([]int, error) {
	x := newZeros(src.Dtype(), append(tensor.Shape{batch}, src.XShape()...))
	y := newZeros(src.Dtype(), append(tensor.Shape{batch}, src.YShape()...))
	f := sizeOf(src.XShape())
	var ids []int
	for {
		k, err := st.Read(x, y, batch)
		for r := 0; r < k; r++ {
			var v float64
			if src.Dtype() == tensor.Float32 {
				v = float64(x.Float32s()[r*f])
			} else {
				v = x.Float64s()[r*f]
			}
			ids = append(ids, int(v))
		}
		if err == io.EOF {
			if k != 0 {
				return ids, errNonZeroEOF
			}
			return ids, nil
		}
		if err != nil {
			return ids, err
		}
		if k == 0 {
			return ids, errNoProgress
		}
	}
}

type testErr string

func (e testErr) Error() string { return string(e) }

const (
	errNonZeroEOF = testErr("Read returned k > 0 with io.EOF")
	errNoProgress = testErr("Read returned 0 examples and no error")
)

func TestDatasetPassIsIteratorOrder(t *testing.T) {
	d := idDS(t, 37, 3, 4, tensor.Float64)
	for _, shuf := range []bool{false, true} {
		it := mustIter(t, d, Batches{Size: 5, Shuffle: shuf, Seed: 99})
		for e := 0; e < 3; e++ {
			want := epochOrder(t, it)
			it.Reset()
			for _, batch := range []int{1, 5, 64} {
				got := readPass(t, d, Pass{Epoch: e, Seed: 99, Shuffle: shuf}, batch)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("shuffle %v epoch %d batch %d: pass %v, Iterator %v", shuf, e, batch, got, want)
				}
			}
		}
	}
}

func TestDatasetPartsPartitionTheEpoch(t *testing.T) {
	d := idDS(t, 23, 2, 3, tensor.Float32)
	it := mustIter(t, d, Batches{Shuffle: true, Seed: 5})
	it.SetEpoch(2)
	perm := epochOrder(t, it)
	for _, parts := range []int{1, 2, 3, 5, 23, 30} {
		total := 0
		for r := 0; r < parts; r++ {
			got := readPass(t, d, Pass{Epoch: 2, Seed: 5, Shuffle: true, Part: r, Parts: parts}, 4)
			var want []int
			for j := r; j < len(perm); j += parts {
				want = append(want, perm[j])
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("part %d of %d: %v, want %v", r, parts, got, want)
			}
			if n := d.PartLen(r, parts); n != len(want) {
				t.Fatalf("PartLen(%d, %d) = %d, want %d", r, parts, n, len(want))
			}
			total += len(got)
		}
		if total != d.Len() {
			t.Fatalf("%d parts hold %d examples, want %d", parts, total, d.Len())
		}
	}
}

func TestDatasetSkip(t *testing.T) {
	d := idDS(t, 20, 2, 3, tensor.Float64)
	full := readPass(t, d, Pass{Epoch: 1, Seed: 3, Shuffle: true, Part: 1, Parts: 3}, 3)
	for skip := 0; skip <= len(full); skip++ {
		got := readPass(t, d, Pass{Epoch: 1, Seed: 3, Shuffle: true, Part: 1, Parts: 3, Skip: skip}, 3)
		if !reflect.DeepEqual(got, full[skip:]) && !(len(got) == 0 && skip == len(full)) {
			t.Fatalf("skip %d: %v, want %v", skip, got, full[skip:])
		}
	}
}

func TestDatasetOpenMisuse(t *testing.T) {
	d := idDS(t, 10, 2, 3, tensor.Float64)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		p    Pass
		want string
	}{
		{"part", Pass{Part: 2, Parts: 2}, "part 2 of 2"},
		{"negative parts", Pass{Parts: -1}, "part 0 of -1"},
		{"epoch", Pass{Epoch: -1}, "epoch -1"},
		{"skip", Pass{Skip: 11}, "skip 11"},
		{"negative skip", Pass{Skip: -1}, "skip -1"},
	} {
		_, err := d.Open(ctx, c.p)
		testutil.ErrPrefixed(t, err, "datasets: ", c.want)
	}
	st, err := d.Open(ctx, Pass{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Read(newZeros(tensor.Float32, tensor.Shape{4, 2}), newZeros(tensor.Float64, tensor.Shape{4}), 4)
	testutil.ErrPrefixed(t, err, "datasets: ", "Stream.Read", "X has dtype float32")
	_, err = st.Read(newZeros(tensor.Float64, tensor.Shape{3, 2}), newZeros(tensor.Float64, tensor.Shape{4}), 4)
	testutil.ErrPrefixed(t, err, "datasets: ", "Stream.Read", "X is (3, 2)")
	// a failed Read loses no examples
	if ids, err := drain(st, d, 4); err != nil || len(ids) != 10 {
		t.Fatalf("after failed reads: %d examples, %v", len(ids), err)
	}
	st.Close()
	_, err = st.Read(newZeros(tensor.Float64, tensor.Shape{4, 2}), newZeros(tensor.Float64, tensor.Shape{4}), 4)
	testutil.ErrPrefixed(t, err, "datasets: ", "closed")
}
