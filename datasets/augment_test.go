package datasets

import (
	"context"
	"io"
	"reflect"
	"testing"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/testutil"
)

// refFlipCrop is the textbook definition: pad the image with pad zeros on
// every side, cut the (h, w) window at (pad-dy, pad-dx), mirror it.
func refFlipCrop(img []float64, h, w, pad, dy, dx int, flip bool) []float64 {
	H, W := h+2*pad, w+2*pad
	padded := make([]float64, H*W)
	for r := 0; r < h; r++ {
		copy(padded[(r+pad)*W+pad:], img[r*w:(r+1)*w])
	}
	out := make([]float64, h*w)
	for r := 0; r < h; r++ {
		for c := 0; c < w; c++ {
			cc := c
			if flip {
				cc = w - 1 - c
			}
			out[r*w+cc] = padded[(r+pad-dy)*W+c+pad-dx]
		}
	}
	return out
}

func TestFlipCropMatchesPaddedCrop(t *testing.T) {
	const h, w, pad = 5, 4, 2
	img := make([]float64, h*w)
	for i := range img {
		img[i] = float64(i + 1)
	}
	for dy := -pad; dy <= pad; dy++ {
		for dx := -pad; dx <= pad; dx++ {
			for _, fl := range []bool{false, true} {
				got := append([]float64(nil), img...)
				flipCrop(got, 1, h, w, dy, dx, fl)
				if want := refFlipCrop(img, h, w, pad, dy, dx, fl); !reflect.DeepEqual(got, want) {
					t.Fatalf("dy %d dx %d flip %v: %v, want %v", dy, dx, fl, got, want)
				}
			}
		}
	}
}

// augmentedRows reads a pass of src through Augment(FlipCrop) and returns
// each example's augmented row by id (the id is kept in the label).
func augmentedRows(t *testing.T, src Source, p Pass, batch int) map[int][]float64 {
	t.Helper()
	fc, err := FlipCrop(1, 3, 4, 1, true)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Augment(src, fc).Open(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	x := newZeros(tensor.Float64, tensor.Shape{batch, 12})
	y := newZeros(tensor.Float64, tensor.Shape{batch})
	rows := map[int][]float64{}
	for {
		k, err := st.Read(x, y, batch)
		for r := 0; r < k; r++ {
			rows[int(y.Float64s()[r])] = append([]float64(nil), x.Float64s()[r*12:(r+1)*12]...)
		}
		if err == io.EOF {
			return rows
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestAugmentReproducibleAndIndependentOfSplit(t *testing.T) {
	const n = 40
	x := make([]float64, n*12)
	y := make([]float64, n)
	for i := range x {
		x[i] = float64(i%12 + 1)
	}
	for i := range y {
		y[i] = float64(i) // the id, to find the example again
	}
	d, err := FromFloat64(x, []int{n, 12}, y, []int{n}, tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	p := Pass{Epoch: 1, Seed: 8, Shuffle: true}
	one := augmentedRows(t, d, p, 7)
	if again := augmentedRows(t, d, p, 3); !reflect.DeepEqual(one, again) {
		t.Fatal("the same pass in other batch sizes augments differently")
	}
	split := map[int][]float64{}
	for r := 0; r < 3; r++ {
		q := p
		q.Part, q.Parts = r, 3
		for k, v := range augmentedRows(t, d, q, 5) {
			split[k] = v
		}
	}
	if !reflect.DeepEqual(one, split) {
		t.Fatal("3 replicas augment differently from 1")
	}
	distinct := map[[12]float64]bool{}
	for _, v := range one {
		var a [12]float64
		copy(a[:], v)
		distinct[a] = true
	}
	if len(distinct) < 10 { // 18 possible (9 shifts x 2 flips) for one image
		t.Fatalf("only %d distinct augmentations of one image over %d examples", len(distinct), n)
	}
	p.Epoch = 2
	if other := augmentedRows(t, d, p, 7); reflect.DeepEqual(one, other) {
		t.Fatal("epochs 1 and 2 augment identically")
	}
	if _, err := FlipCrop(1, 3, 4, 3, true); err == nil {
		t.Fatal("FlipCrop accepted pad >= rows")
	}
	fc, _ := FlipCrop(1, 3, 4, 1, true)
	testutil.ErrPrefixed(t, fc(newZeros(tensor.Float64, tensor.Shape{2, 5}), nil, 2, make([]int64, 2)), "datasets: ", "FlipCrop", "(2, 5)")
}
