package trainers

import (
	"testing"

	"gorgonia.org/tensor"
)

// BenchmarkGuard is the cost, per update, of keeping the params at their
// last finite values (a copy before each update) for the MLP 784-128-10 of
// the step benchmarks.
func BenchmarkGuard(b *testing.B) {
	var ws []*tensor.Dense
	for _, s := range []tensor.Shape{{784, 128}, {128}, {128, 10}, {10}} {
		ws = append(ws, tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(s...)))
	}
	g := newGuard(ws)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		g.save()
	}
}
