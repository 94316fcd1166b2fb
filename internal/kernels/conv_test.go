package kernels

import (
	"math"
	"math/rand"
	"testing"
)

// im2col and col2im against the direct formulas, float32 (the assembly
// runs of 8) and float64, on widths with and without a ragged tail, with
// and without padding and stride, batches large enough that the passes are
// split over the workers; and every image's values the same bits as a
// batch of that one image computes (nothing depends on the split).
func TestIm2colCol2im(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	for _, c := range []Conv{
		{N: 64, C: 1, H: 28, W: 28, F: 6, K: 5, S: 1, P: 2}, // LeNet's first: runs of 24 to 28
		{N: 64, C: 1, H: 28, W: 28, F: 6, K: 5, S: 1},       // runs of 24
		{N: 64, C: 6, H: 12, W: 12, F: 16, K: 5, S: 1},      // LeNet's second: runs of 8
		{N: 40, C: 3, H: 15, W: 13, F: 2, K: 3, S: 1},       // runs of 11
		{N: 30, C: 2, H: 14, W: 17, F: 2, K: 3, S: 1, P: 1},
		{N: 30, C: 2, H: 9, W: 10, F: 2, K: 5, S: 1, P: 6}, // rows and columns of padding only
		{N: 30, C: 2, H: 19, W: 21, F: 2, K: 3, S: 2, P: 1},
	} {
		x := make([]float32, c.N*c.C*c.H*c.W)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		col := make([]float32, c.ColLen())
		c.Im2col32(x, col)
		x64 := make([]float64, len(x))
		for i, v := range x {
			x64[i] = float64(v)
		}
		col64 := make([]float64, c.ColLen())
		c.Im2col64(x64, col64)
		oh, ow := c.OutH(), c.OutW()
		np := c.N * oh * ow
		want := make([]float64, len(x)) // col2im of col, summed in row order
		for ci := 0; ci < c.C; ci++ {
			for kh := 0; kh < c.K; kh++ {
				for kw := 0; kw < c.K; kw++ {
					row := (ci*c.K+kh)*c.K + kw
					for n := 0; n < c.N; n++ {
						for y := 0; y < oh; y++ {
							for q := 0; q < ow; q++ {
								ih, iw := y*c.S-c.P+kh, q*c.S-c.P+kw
								v := 0.0
								in := ih >= 0 && ih < c.H && iw >= 0 && iw < c.W
								at := ((n*c.C+ci)*c.H+ih)*c.W + iw
								if in {
									v = float64(x[at])
								}
								k := row*np + (n*oh+y)*ow + q
								if float64(col[k]) != v || col64[k] != v {
									t.Fatalf("%+v: col[%d] = %v, %v (float64), want %v", c, k, col[k], col64[k], v)
								}
								if in {
									want[at] += float64(float32(v) * 0.5)
								}
							}
						}
					}
				}
			}
		}
		// col2im of col/2 against the sums in float64: within float32's
		// rounding of a sum of at most K·K terms.
		for i := range col {
			col[i] *= 0.5
		}
		dx := make([]float32, len(x))
		col2im(c, col, dx)
		for i := range want {
			if d := math.Abs(float64(dx[i]) - want[i]); d > 1e-6*float64(c.K*c.K)*math.Max(1, math.Abs(want[i])) {
				t.Fatalf("%+v: dx[%d] = %v, want %v", c, i, dx[i], want[i])
			}
		}
		// One image at a time: the same bits.
		one := c
		one.N = 1
		chw := c.C * c.H * c.W
		colOne := make([]float32, one.ColLen())
		dxOne := make([]float32, chw)
		for n := 0; n < c.N; n++ {
			one.Im2col32(x[n*chw:(n+1)*chw], colOne)
			for i := range colOne {
				colOne[i] *= 0.5
			}
			col2im(one, colOne, dxOne)
			for i, v := range dxOne {
				if v != dx[n*chw+i] {
					t.Fatalf("%+v: image %d alone: dx[%d] = %v, in the batch %v", c, n, i, v, dx[n*chw+i])
				}
			}
		}
	}
}
