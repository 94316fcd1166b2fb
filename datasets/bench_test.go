package datasets

import (
	"testing"

	"gorgonia.org/tensor"
)

// BenchmarkIteratorBatch measures one batch of 64 examples of 784 float32
// features (an MNIST-sized mini-batch) through Next and Batch; it reports 0
// allocs/op in steady state.
func BenchmarkIteratorBatch(b *testing.B) {
	d, err := Blobs(6000, 10, 784, 1, 1, tensor.Float32)
	if err != nil {
		b.Fatal(err)
	}
	it, err := NewIterator(d, Batches{Size: 64, Shuffle: true, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !it.Next() {
			it.Reset()
			it.Next()
		}
		it.Batch()
	}
}

// BenchmarkGather measures Gather of 64 examples of 784 float32 features
// into tensors of the caller.
func BenchmarkGather(b *testing.B) {
	d, err := Blobs(6000, 10, 784, 1, 1, tensor.Float32)
	if err != nil {
		b.Fatal(err)
	}
	it, err := NewIterator(d, Batches{Size: 64, Shuffle: true, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	it.Next()
	idx := it.Indices()
	x := newZeros(tensor.Float32, tensor.Shape{64, 784})
	y := newZeros(tensor.Float32, tensor.Shape{64})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := d.Gather(idx, x, y); err != nil {
			b.Fatal(err)
		}
	}
}
