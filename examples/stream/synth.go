package main

import (
	"context"
	"io"
	"math"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/internal/rng"
)

// synth is an MNIST-shaped synthetic data set generated on the fly, so that
// it can be written as shards of any size without ever being in memory:
// example i has class c = i mod 10 hashed, and pixels prototype_c plus
// uniform noise in [-noise/2, noise/2], clipped to [0, 1]; everything is a
// function of (seed, i). Ten random prototypes make the classes separable
// by a small MLP, like MNIST.
type synth struct {
	n     int
	seed  int64
	noise float32
	proto [10][784]float32
}

func newSynth(n int, seed int64) *synth {
	s := &synth{n: n, seed: seed, noise: 1.5}
	r := rng.New(seed, "stream prototypes")
	for c := range s.proto {
		for j := range s.proto[c] {
			s.proto[c][j] = r.Float32()
		}
	}
	return s
}

func (s *synth) Len() int             { return s.n }
func (s *synth) XShape() tensor.Shape { return tensor.Shape{784} }
func (s *synth) YShape() tensor.Shape { return tensor.Shape{} }
func (s *synth) Dtype() tensor.Dtype  { return tensor.Float32 }
func (s *synth) PartLen(part, parts int) int {
	if parts <= 0 || part < 0 || part >= parts || part >= s.n {
		return 0
	}
	return (s.n-part-1)/parts + 1
}

// Open yields examples 0..n-1 in order; it is only used to write shards and
// to build the in-memory copy, so it supports the plain pass only.
func (s *synth) Open(ctx context.Context, p datasets.Pass) (datasets.Stream, error) {
	return &synthStream{s: s, ctx: ctx}, nil
}

// example writes example i into x (784 values) and returns its class.
func (s *synth) example(i int, x []float32) float32 {
	z := uint64(rng.Mix(s.seed, uint64(i)))
	c := int(z % 10)
	p := &s.proto[c]
	for j := range x {
		// xorshift64*: 64 random bits per pixel pair is plenty here
		z ^= z >> 12
		z ^= z << 25
		z ^= z >> 27
		u := float32((z*2685821657736338717)>>40) / (1 << 24)
		v := p[j] + s.noise*(u-0.5)
		x[j] = float32(math.Max(0, math.Min(1, float64(v))))
	}
	return float32(c)
}

type synthStream struct {
	s   *synth
	ctx context.Context
	i   int
}

func (st *synthStream) Read(x, y *tensor.Dense, n int) (int, error) {
	if err := st.ctx.Err(); err != nil {
		return 0, err
	}
	if st.i >= st.s.n {
		return 0, io.EOF
	}
	xs, ys := x.Float32s(), y.Float32s()
	k := 0
	for ; k < n && st.i < st.s.n; k++ {
		ys[k] = st.s.example(st.i, xs[k*784:(k+1)*784])
		st.i++
	}
	return k, nil
}

func (st *synthStream) Close() error { return nil }

// inMemory builds the data set as a *datasets.Dataset (for the in-memory
// side of the comparison).
func (s *synth) inMemory() (*datasets.Dataset, error) {
	x := make([]float32, s.n*784)
	y := make([]float32, s.n)
	for i := 0; i < s.n; i++ {
		y[i] = s.example(i, x[i*784:(i+1)*784])
	}
	return datasets.New(tensor.New(tensor.WithShape(s.n, 784), tensor.WithBacking(x)), tensor.New(tensor.WithShape(s.n), tensor.WithBacking(y)))
}
