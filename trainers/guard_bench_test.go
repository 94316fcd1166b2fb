package trainers

import (
	"testing"

	"gorgonia.org/tensor"
)

// BenchmarkPrepPass is the cost, per update with one part, of the passes
// before it — the finite check of the gradients and the guard's copy of
// the weights — for the MLP 784-128-10 of the step benchmarks.
func BenchmarkPrepPass(b *testing.B) {
	var ws, gs []*tensor.Dense
	for _, s := range []tensor.Shape{{784, 128}, {128}, {128, 10}, {10}} {
		ws = append(ws, tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(s...)))
		gs = append(gs, tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(s...)))
	}
	p, g := newPrepPass(nil, gs), newGuard(ws)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if !p.run() {
			b.Fatal("zeros are not finite?")
		}
		g.save()
	}
}
