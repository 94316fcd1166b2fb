package datasets

import (
	"reflect"
	"testing"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/rng"
	"github.com/descent-go/descent/internal/testutil"
)

// epochOrder runs one epoch and returns the indices in visiting order.
func epochOrder(t testing.TB, it *Iterator) []int {
	t.Helper()
	var order []int
	for it.Next() {
		order = append(order, it.Indices()...)
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return order
}

func mustIter(t testing.TB, d *Dataset, b Batches) *Iterator {
	t.Helper()
	it, err := NewIterator(d, b)
	if err != nil {
		t.Fatal(err)
	}
	return it
}

func TestIteratorEveryIndexOncePerEpoch(t *testing.T) {
	d := mustDS(t, 23, 2, 3)
	for _, size := range []int{1, 4, 5, 23, 0, 100} {
		it := mustIter(t, d, Batches{Size: size, Shuffle: true, Seed: 42})
		for epoch := 0; epoch < 5; epoch++ {
			if it.Epoch() != epoch {
				t.Fatalf("Epoch() = %d, want %d", it.Epoch(), epoch)
			}
			seen := make([]int, 23)
			for _, i := range epochOrder(t, it) {
				seen[i]++
			}
			for i, c := range seen {
				if c != 1 {
					t.Errorf("size %d epoch %d: index %d seen %d times", size, epoch, i, c)
				}
			}
			if it.Next() {
				t.Error("Next is true after the end of the epoch")
			}
			it.Reset()
		}
	}
}

func TestIteratorOrders(t *testing.T) {
	d := mustDS(t, 50, 1, 2)
	a := mustIter(t, d, Batches{Size: 8, Shuffle: true, Seed: 1})
	b := mustIter(t, d, Batches{Size: 8, Shuffle: true, Seed: 1})
	c := mustIter(t, d, Batches{Size: 8, Shuffle: true, Seed: 2})
	var orders [][]int
	for epoch := 0; epoch < 4; epoch++ {
		oa, ob, oc := epochOrder(t, a), epochOrder(t, b), epochOrder(t, c)
		if !reflect.DeepEqual(oa, ob) {
			t.Errorf("epoch %d: same seed, different orders", epoch)
		}
		if reflect.DeepEqual(oa, oc) {
			t.Errorf("epoch %d: seeds 1 and 2 give the same order", epoch)
		}
		for k, prev := range orders {
			if reflect.DeepEqual(prev, oa) {
				t.Errorf("epochs %d and %d have the same order", k, epoch)
			}
		}
		orders = append(orders, oa)
		// the documented construction: Fisher–Yates on the identity
		want := identity(50)
		shuffle(want, rng.New(1, "shuffle", uint64(epoch)))
		if !reflect.DeepEqual(oa, want) {
			t.Errorf("epoch %d: order is not Fisher–Yates from rng.New(1, \"shuffle\", %d)", epoch, epoch)
		}
		a.Reset()
		b.Reset()
		c.Reset()
	}
	// SetEpoch(k) gives the order of k Resets, in any sequence of jumps
	for _, k := range []int{3, 0, 2, 1, 3} {
		a.SetEpoch(k)
		if a.Epoch() != k || !reflect.DeepEqual(epochOrder(t, a), orders[k]) {
			t.Errorf("SetEpoch(%d): order differs from reaching it by Resets", k)
		}
	}
	// without Shuffle the order is 0..N-1 in every epoch
	p := mustIter(t, d, Batches{Size: 8})
	for epoch := 0; epoch < 2; epoch++ {
		if !reflect.DeepEqual(epochOrder(t, p), identity(50)) {
			t.Error("unshuffled order is not the identity")
		}
		p.Reset()
	}
}

// TestIteratorUniformFirstPosition checks that each example is first in an
// epoch equally often: a chi-square test with 9 degrees of freedom at
// p = 0.001 (critical value 27.88).
func TestIteratorUniformFirstPosition(t *testing.T) {
	const n, epochs = 10, 20000
	d := mustDS(t, n, 1, 2)
	it := mustIter(t, d, Batches{Size: 1, Shuffle: true, Seed: 2024})
	var first, last [n]int
	for e := 0; e < epochs; e++ {
		it.SetEpoch(e)
		first[it.perm[0]]++
		last[it.perm[n-1]]++
	}
	for name, counts := range map[string][n]int{"first": first, "last": last} {
		exp := float64(epochs) / n
		chi2 := 0.0
		for _, c := range counts {
			chi2 += (float64(c) - exp) * (float64(c) - exp) / exp
		}
		t.Logf("%s position: counts %v, chi-square %.2f (9 dof)", name, counts, chi2)
		if chi2 > 27.88 {
			t.Errorf("%s position: chi-square %.2f > 27.88: not uniform (counts %v)", name, chi2, counts)
		}
	}
}

func TestIteratorBatchCounts(t *testing.T) {
	d := mustDS(t, 10, 1, 2)
	tests := []struct {
		b           Batches
		nb, size    int
		sizes       []int
		description string
	}{
		{Batches{Size: 1}, 10, 1, []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, "online"},
		{Batches{Size: 3}, 4, 3, []int{3, 3, 3, 1}, "ceil"},
		{Batches{Size: 3, DropLast: true}, 3, 3, []int{3, 3, 3}, "floor"},
		{Batches{Size: 5, DropLast: true}, 2, 5, []int{5, 5}, "exact"},
		{Batches{Size: 0}, 1, 10, []int{10}, "full batch"},
		{Batches{Size: 10, DropLast: true}, 1, 10, []int{10}, "N with DropLast"},
		{Batches{Size: 25}, 1, 10, []int{10}, "larger than N"},
	}
	for _, tc := range tests {
		it := mustIter(t, d, tc.b)
		if it.BatchesPerEpoch() != tc.nb || it.BatchSize() != tc.size {
			t.Errorf("%s: BatchesPerEpoch %d BatchSize %d, want %d %d", tc.description, it.BatchesPerEpoch(), it.BatchSize(), tc.nb, tc.size)
		}
		for epoch := 0; epoch < 2; epoch++ {
			var sizes []int
			for it.Next() {
				x, y := it.Batch()
				if x.Shape()[0] != len(it.Indices()) || y.Shape()[0] != len(it.Indices()) {
					t.Errorf("%s: batch shapes %v %v for %d indices", tc.description, x.Shape(), y.Shape(), len(it.Indices()))
				}
				sizes = append(sizes, len(it.Indices()))
			}
			if !reflect.DeepEqual(sizes, tc.sizes) {
				t.Errorf("%s: batch sizes %v, want %v", tc.description, sizes, tc.sizes)
			}
			it.Reset()
		}
	}
}

func TestIteratorBatchMatchesGather(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		// images with one-hot targets
		n := 13
		x := make([]float64, n*2*3)
		for i := range x {
			x[i] = float64(i)
		}
		labels := make([]int, n)
		for i := range labels {
			labels[i] = (i * 7) % 4
		}
		y, err := OneHot(labels, 4, dt)
		if err != nil {
			t.Fatal(err)
		}
		xt, err := denseFromFloat64("test", "X", x, []int{n, 2, 3}, dt)
		if err != nil {
			t.Fatal(err)
		}
		d, err := New(xt, y)
		if err != nil {
			t.Fatal(err)
		}
		it := mustIter(t, d, Batches{Size: 5, Shuffle: true, Seed: 9})
		gx := newZeros(dt, tensor.Shape{5, 2, 3})
		gy := newZeros(dt, tensor.Shape{5, 4})
		for epoch := 0; epoch < 3; epoch++ {
			for it.Next() {
				idx := it.Indices()
				if err := d.Gather(idx, gx, gy); err != nil {
					t.Fatal(err)
				}
				bx, by := it.Batch()
				b := len(idx)
				if !bx.Shape().Eq(tensor.Shape{b, 2, 3}) || !by.Shape().Eq(tensor.Shape{b, 4}) || bx.Dtype() != dt {
					t.Fatalf("batch shapes %v %v dtype %v", bx.Shape(), by.Shape(), bx.Dtype())
				}
				if !reflect.DeepEqual(floats(bx), floats(gx)[:b*6]) || !reflect.DeepEqual(floats(by), floats(gy)[:b*4]) {
					t.Errorf("%v epoch %d: Batch differs from Gather of Indices %v", dt, epoch, idx)
				}
				// rows are the examples named by Indices
				for r, i := range idx {
					if floats(bx)[r*6] != float64(i*6) {
						t.Errorf("row %d holds example %v, want %d", r, floats(bx)[r*6]/6, i)
					}
				}
				// a second call returns the same tensors without copying again
				bx2, _ := it.Batch()
				if bx2 != bx {
					t.Error("second Batch call returned other tensors")
				}
			}
			it.Reset()
		}
		if x, y := it.Batch(); x != nil || y != nil || it.Indices() != nil {
			t.Error("Batch or Indices non-nil before Next")
		}
	}
}

// TestIteratorNoAllocs checks that a whole steady-state epoch (Reset, Next,
// Batch) allocates nothing, and that the Indices+Gather path does not
// either.
func TestIteratorNoAllocs(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		d, err := Blobs(1000, 3, 8, 1, 1, dt)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range []Batches{
			{Size: 32, Shuffle: true, Seed: 1}, // 31 full + a partial batch of 8
			{Size: 1, Shuffle: true, Seed: 1},
			{Size: 0, Shuffle: true, Seed: 1},
			{Size: 64, Shuffle: false, DropLast: true},
		} {
			it := mustIter(t, d, b)
			epoch := func() {
				it.Reset()
				for it.Next() {
					it.Batch()
				}
			}
			epoch() // first epoch allocates the buffers
			if a := testing.AllocsPerRun(20, epoch); a != 0 {
				t.Errorf("%v %+v: %v allocations per epoch of %d batches with Batch()", dt, b, a, it.BatchesPerEpoch())
			}
			gx := newZeros(dt, tensor.Shape{it.BatchSize(), 8})
			gy := newZeros(dt, tensor.Shape{it.BatchSize()})
			gather := func() {
				it.Reset()
				for it.Next() {
					if err := d.Gather(it.Indices(), gx, gy); err != nil {
						t.Fatal(err)
					}
				}
			}
			if a := testing.AllocsPerRun(20, gather); a != 0 {
				t.Errorf("%v %+v: %v allocations per epoch with Indices+Gather", dt, b, a)
			}
		}
	}
}

// TestIteratorLazyCopy checks that a caller using Indices+Gather pays for no
// copy into the Iterator's buffers.
func TestIteratorLazyCopy(t *testing.T) {
	d := mustDS(t, 10, 2, 2)
	it := mustIter(t, d, Batches{Size: 4})
	for it.Next() {
	}
	if it.xFull != nil {
		t.Error("buffers allocated although Batch was never called")
	}
	it.Reset()
	it.Next()
	x, _ := it.Batch()
	x.Float64s()[0] = -7 // the caller may scribble on the buffer
	x, _ = it.Batch()
	if x.Float64s()[0] != -7 {
		t.Error("Batch copied the same batch twice")
	}
}

func TestIteratorBadInputs(t *testing.T) {
	d := mustDS(t, 10, 1, 2)
	_, err := NewIterator(nil, Batches{})
	testutil.ErrPrefixed(t, err, "datasets: ", "nil Dataset")
	_, err = NewIterator(d, Batches{Size: -1})
	testutil.ErrPrefixed(t, err, "datasets: ", "batch size -1 is negative")
	_, err = NewIterator(d, Batches{Size: 11, DropLast: true})
	testutil.ErrPrefixed(t, err, "datasets: ", "batch size 11 with DropLast leaves no batch of 10 examples")

	it := mustIter(t, d, Batches{Size: 3, Shuffle: true})
	it.SetEpoch(-2)
	testutil.ErrPrefixed(t, it.Err(), "datasets: ", "SetEpoch(-2)")
	if it.Next() {
		t.Error("Next is true after a failed SetEpoch")
	}
	it.SetEpoch(4)
	if it.Err() != nil || !it.Next() || it.Epoch() != 4 {
		t.Errorf("SetEpoch(4) after an error: Err %v Epoch %d", it.Err(), it.Epoch())
	}
}
