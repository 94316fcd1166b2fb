package datasets

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"testing"

	"gorgonia.org/tensor"
)

// heapObjects is the bytes of live and not yet swept heap objects.
func heapObjects() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

// TestStreamMemoryBound streams a data set 5 times larger on disk than the
// byte budget the stream is allowed (StreamOptions.MaxBytes, which Open
// enforces: a larger buffer is refused), and measures the Go heap after every
// read: it never grows by more than the budget above where it started.
// Reads allocate nothing, so the heap measures what the stream holds.
func TestStreamMemoryBound(t *testing.T) {
	const f, n = 256, 16000 // 1028-byte records (+4 CRC): 16.5 MB on disk
	const budget = 3 << 20
	d := idDS(t, n, f, 10, tensor.Float32)
	dir := writeTestShards(t, d, 1000)
	var disk int64
	for _, si := range mustShards(t, dir, StreamOptions{}).Manifest().Shards {
		fi, err := os.Stat(filepath.Join(dir, si.File))
		if err != nil {
			t.Fatal(err)
		}
		disk += fi.Size()
	}
	if disk < 5*budget {
		t.Fatalf("data set %d bytes, want at least 5 x the budget %d", disk, budget)
	}
	if _, err := OpenShards(dir, StreamOptions{ShuffleBuffer: 2000, Prefetch: 512, MaxBytes: budget}); err == nil {
		t.Fatal("a 2 MB shuffle buffer with prefetch fits a 3 MB budget")
	}
	s := mustShards(t, dir, StreamOptions{ShuffleBuffer: 1000, Prefetch: 256, MaxBytes: budget})
	d = nil // the in-memory copy goes
	x := newZeros(tensor.Float32, tensor.Shape{128, f})
	y := newZeros(tensor.Float32, tensor.Shape{128})
	runtime.GC()
	base := heapObjects()
	peak, total := int64(0), 0
	for e := 0; e < 2; e++ {
		st, err := s.Open(context.Background(), Pass{Epoch: e, Shuffle: true, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		for {
			k, err := st.Read(x, y, 128)
			total += k
			if h := heapObjects() - base; h > peak {
				peak = h
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		st.Close()
		runtime.GC() // the closed stream's buffers are garbage: not held
	}
	t.Logf("streamed %d examples (%.1f MB on disk, twice); heap grew by at most %.2f MB; budget %.1f MB", total, float64(disk)/1e6, float64(peak)/1e6, float64(budget)/1e6)
	if total != 2*n {
		t.Fatalf("streamed %d examples, want %d", total, 2*n)
	}
	if peak > budget {
		t.Fatalf("the heap grew by %d bytes while streaming, over the budget %d", peak, budget)
	}
}
