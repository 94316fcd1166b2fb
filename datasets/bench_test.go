package datasets

import (
	"context"
	"io"
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

// BenchmarkShardsRead streams MNIST-shaped float32 shards (shuffle buffer
// 4096, prefetch 1024) in batches of 128: b.N examples.
func BenchmarkShardsRead(b *testing.B) {
	const n, f = 20000, 784
	d := idDS(b, n, f, 10, tensor.Float32)
	dir := writeTestShards(b, d, 2500)
	s := mustShards(b, dir, StreamOptions{ShuffleBuffer: 4096, Prefetch: 1024})
	x := newZeros(tensor.Float32, tensor.Shape{128, f})
	y := newZeros(tensor.Float32, tensor.Shape{128})
	b.SetBytes(int64((f + 1) * 4))
	b.ReportAllocs()
	b.ResetTimer()
	var st Stream
	epoch := 0
	for i := 0; i < b.N; {
		if st == nil {
			var err error
			if st, err = s.Open(context.Background(), Pass{Epoch: epoch, Shuffle: true}); err != nil {
				b.Fatal(err)
			}
			epoch++
		}
		k, err := st.Read(x, y, 128)
		i += k
		if err == io.EOF {
			st.Close()
			st = nil
		} else if err != nil {
			b.Fatal(err)
		}
	}
	if st != nil {
		st.Close()
	}
}
