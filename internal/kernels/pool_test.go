package kernels

import (
	"math/rand"
	"testing"
)

// Max-pooling against a direct reference (the first strict maximum of each
// window, as gorgonia), on windows of 2 (the branch-free path) and 3, with
// ties (values from a few levels), LeNet's first pooling at batch 64 (split
// over the workers); the gradient from the forward pass's
// positions (Scatter) and from a new search (MaxGrad) agree.
func TestMaxPool(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for _, p := range []Pool{{64, 6, 24, 24, 2, 2}, {2, 3, 6, 8, 2, 2}, {1, 2, 7, 5, 2, 1}, {2, 1, 9, 9, 3, 2}, {1, 1, 4, 4, 3, 1}} {
		x := make([]float64, p.N*p.C*p.H*p.W)
		for i := range x {
			x[i] = float64(r.Intn(4)) // ties
		}
		ny := p.N * p.C * p.OutH() * p.OutW()
		y, arg, dy := make([]float64, ny), make([]int32, ny), make([]float64, ny)
		for i := range dy {
			dy[i] = r.NormFloat64()
		}
		p.Max64(x, y, arg)
		want := make([]float64, len(x))
		o := 0
		for plane := 0; plane < p.N*p.C; plane++ {
			for i := 0; i < p.OutH(); i++ {
				for j := 0; j < p.OutW(); j++ {
					best, at := -1.0, -1
					for a := 0; a < p.K; a++ {
						for b := 0; b < p.K; b++ {
							k := plane*p.H*p.W + (i*p.S+a)*p.W + j*p.S + b
							if x[k] > best {
								best, at = x[k], k
							}
						}
					}
					if y[o] != best || int(arg[o]) != at {
						t.Fatalf("%+v: output %d = %v at %d, want %v at %d", p, o, y[o], arg[o], best, at)
					}
					want[at] += dy[o]
					o++
				}
			}
		}
		dx1, dx2 := make([]float64, len(x)), make([]float64, len(x))
		p.Scatter64(arg, dy, dx1)
		p.MaxGrad64(x, dy, dx2)
		for i := range want {
			if dx1[i] != want[i] || dx2[i] != want[i] {
				t.Fatalf("%+v: dx[%d] = %v (scatter), %v (search), want %v", p, i, dx1[i], dx2[i], want[i])
			}
		}
	}
}
