package kernels

import (
	"fmt"
	"testing"
)

// LeNet-5's convolutions and poolings at batch 64 (models.LeNet).
var (
	benchConv1 = Conv{N: 64, C: 1, H: 28, W: 28, F: 6, K: 5, S: 1, P: 2}
	benchConv2 = Conv{N: 64, C: 6, H: 12, W: 12, F: 16, K: 5, S: 1}
	benchPool1 = Pool{N: 64, C: 6, H: 28, W: 28, K: 2, S: 2}
)

func benchVals(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32((i*7919)%1000) - 500
	}
	return v
}

func BenchmarkIm2colLeNet(b *testing.B) {
	for _, c := range []Conv{benchConv1, benchConv2} {
		x, col := benchVals(c.N*c.C*c.H*c.W), make([]float32, c.ColLen())
		b.Run(fmt.Sprint("C", c.C), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				c.Im2col32(x, col)
			}
		})
	}
}

func BenchmarkCol2imLeNet(b *testing.B) {
	c := benchConv2
	col, dx := benchVals(c.ColLen()), make([]float32, c.N*c.C*c.H*c.W)
	for i := 0; i < b.N; i++ {
		col2im(c, col, dx)
	}
}

func BenchmarkMaxPoolLeNet(b *testing.B) {
	p := benchPool1
	n := p.N * p.C * p.OutH() * p.OutW()
	x, y, arg := benchVals(p.N*p.C*p.H*p.W), make([]float32, n), make([]int32, n)
	for i := 0; i < b.N; i++ {
		p.Max32(x, y, arg)
	}
}

func BenchmarkSwapNFLeNet(b *testing.B) {
	c := benchConv1
	t, y := benchVals(c.TLen()), make([]float32, c.TLen())
	for i := 0; i < b.N; i++ {
		swapNF(c, t, y, false)
	}
}
