package datasets

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/testutil"
)

// writeTestShards writes d as shards of per examples into a new directory.
func writeTestShards(t testing.TB, d Source, per int) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := WriteShards(context.Background(), dir, d, ShardWriteOptions{ExamplesPerShard: per}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func mustShards(t testing.TB, dir string, o StreamOptions) *Shards {
	t.Helper()
	s, err := OpenShards(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestShardsRoundTrip(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		d := idDS(t, 103, 5, 4, dt)
		dir := writeTestShards(t, d, 10)
		if err := VerifyShards(context.Background(), dir); err != nil {
			t.Fatal(err)
		}
		s := mustShards(t, dir, StreamOptions{})
		if s.Len() != 103 || s.Dtype() != dt || !s.XShape().Eq(tensor.Shape{5}) || len(s.YShape()) != 0 || len(s.Manifest().Shards) != 11 {
			t.Fatalf("%v: %v: Len %d, XShape %v, YShape %v", dt, s, s.Len(), s.XShape(), s.YShape())
		}
		// unshuffled: storage order, and every value round-trips exactly
		st, err := s.Open(context.Background(), Pass{})
		if err != nil {
			t.Fatal(err)
		}
		x := newZeros(dt, tensor.Shape{103, 5})
		y := newZeros(dt, tensor.Shape{103})
		if k, err := st.Read(x, y, 103); k != 103 || err != nil {
			t.Fatalf("Read: %d, %v", k, err)
		}
		st.Close()
		want, _ := d.Subset(identity(103))
		if dt == tensor.Float32 {
			if !reflect.DeepEqual(x.Float32s(), want.X().Float32s()) || !reflect.DeepEqual(y.Float32s(), want.Y().Float32s()) {
				t.Fatalf("%v: values differ after the round trip", dt)
			}
		} else if !reflect.DeepEqual(x.Float64s(), want.X().Float64s()) || !reflect.DeepEqual(y.Float64s(), want.Y().Float64s()) {
			t.Fatalf("%v: values differ after the round trip", dt)
		}
	}
}

// isPerm reports whether ids are a permutation of want's elements.
func isPerm(ids, want []int) bool {
	a := append([]int(nil), ids...)
	b := append([]int(nil), want...)
	sort.Ints(a)
	sort.Ints(b)
	return reflect.DeepEqual(a, b)
}

func TestShardsShuffleReproducibleAndComplete(t *testing.T) {
	d := idDS(t, 250, 3, 5, tensor.Float32)
	dir := writeTestShards(t, d, 17)
	all := identity(250)
	for _, o := range []StreamOptions{{}, {ShuffleBuffer: 40}, {ShuffleBuffer: 40, Prefetch: 7}, {ShuffleBuffer: 1000, Prefetch: 300}} {
		s := mustShards(t, dir, o)
		p := Pass{Epoch: 3, Seed: 11, Shuffle: true}
		a := readPass(t, s, p, 16)
		b := readPass(t, s, p, 7) // another batch size: the same order
		if !isPerm(a, all) {
			t.Fatalf("%+v: the pass is not a permutation of the examples: %v", o, a)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%+v: two passes with the same seed differ", o)
		}
		if reflect.DeepEqual(a, all) {
			t.Fatalf("%+v: shuffled pass is in storage order", o)
		}
		p.Epoch = 4
		if c := readPass(t, s, p, 16); reflect.DeepEqual(a, c) {
			t.Fatalf("%+v: epochs 3 and 4 have the same order", o)
		}
		// prefetching changes nothing
		o2 := o
		o2.Prefetch = 0
		p.Epoch = 3
		if c := readPass(t, mustShards(t, dir, o2), p, 16); !reflect.DeepEqual(a, c) {
			t.Fatalf("%+v: order depends on Prefetch", o)
		}
	}
}

func TestShardsPartsReadOwnShards(t *testing.T) {
	d := idDS(t, 95, 2, 3, tensor.Float64)
	dir := writeTestShards(t, d, 10) // 10 shards, the last of 5
	s := mustShards(t, dir, StreamOptions{ShuffleBuffer: 8, Prefetch: 4})
	for _, parts := range []int{1, 2, 3, 4, 10, 12} {
		var union []int
		for r := 0; r < parts; r++ {
			got := readPass(t, s, Pass{Epoch: 1, Seed: 2, Shuffle: true, Part: r, Parts: parts}, 6)
			var want []int
			for i := r; i < 10; i += parts { // shard i holds examples 10i..10i+9
				for k := 10 * i; k < 10*i+10 && k < 95; k++ {
					want = append(want, k)
				}
			}
			if !isPerm(got, want) {
				t.Fatalf("part %d of %d read %v, want a permutation of %v", r, parts, got, want)
			}
			if s.PartLen(r, parts) != len(got) {
				t.Fatalf("PartLen(%d, %d) = %d, the part yielded %d", r, parts, s.PartLen(r, parts), len(got))
			}
			union = append(union, got...)
		}
		if !isPerm(union, identity(95)) {
			t.Fatalf("%d parts do not partition the examples", parts)
		}
	}
}

func TestShardsSkip(t *testing.T) {
	d := idDS(t, 60, 2, 3, tensor.Float32)
	dir := writeTestShards(t, d, 8)
	s := mustShards(t, dir, StreamOptions{ShuffleBuffer: 9, Prefetch: 5})
	p := Pass{Epoch: 2, Seed: 4, Shuffle: true, Part: 1, Parts: 2}
	full := readPass(t, s, p, 5)
	for _, skip := range []int{0, 1, 9, 17, len(full) - 1, len(full)} {
		p.Skip = skip
		got := readPass(t, s, p, 5)
		if !reflect.DeepEqual(got, full[skip:]) && !(skip == len(full) && len(got) == 0) {
			t.Fatalf("skip %d: %v, want %v", skip, got, full[skip:])
		}
	}
}

// waitGoroutines waits until at most n goroutines run, or fails.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, want %d: a prefetcher leaked\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(time.Millisecond)
	}
}

func TestShardsPrefetchStopsOnCloseAndCancel(t *testing.T) {
	d := idDS(t, 400, 4, 3, tensor.Float32)
	dir := writeTestShards(t, d, 50)
	s := mustShards(t, dir, StreamOptions{ShuffleBuffer: 10, Prefetch: 3})
	base := runtime.NumGoroutine()
	x := newZeros(tensor.Float32, tensor.Shape{5, 4})
	y := newZeros(tensor.Float32, tensor.Shape{5})
	for i := 0; i < 20; i++ {
		st, err := s.Open(context.Background(), Pass{Shuffle: true, Seed: int64(i)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Read(x, y, 5); err != nil {
			t.Fatal(err)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		if err := st.Close(); err != nil { // twice is fine
			t.Fatal(err)
		}
	}
	waitGoroutines(t, base)
	ctx, cancel := context.WithCancel(context.Background())
	st, err := s.Open(ctx, Pass{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Read(x, y, 5); err != nil {
		t.Fatal(err)
	}
	cancel()
	// the prefetched chunks may still be served; then the cancellation
	var rerr error
	for i := 0; i < 400 && rerr == nil; i++ {
		_, rerr = st.Read(x, y, 5)
	}
	testutil.ErrPrefixed(t, rerr, "datasets: ", "context canceled")
	waitGoroutines(t, base)
	st.Close()
}

func TestShardsBadData(t *testing.T) {
	d := idDS(t, 30, 3, 3, tensor.Float32)
	rec := int64(3*4 + 4 + 4) // 3 x values, 1 y value, CRC
	ctx := context.Background()
	fresh := func() (string, string) {
		dir := writeTestShards(t, d, 10)
		return dir, filepath.Join(dir, "shard-00001.bin")
	}
	readAll := func(dir string) error {
		s, err := OpenShards(dir, StreamOptions{Prefetch: 4})
		if err != nil {
			return err
		}
		st, err := s.Open(ctx, Pass{})
		if err != nil {
			return err
		}
		defer st.Close()
		ids, err := drain(st, s, 4)
		if err == nil && len(ids) != s.Len() {
			t.Fatalf("read %d examples, the source reports %d, with no error", len(ids), s.Len())
		}
		return err
	}

	// truncated: OpenShards names the file and where it ends
	dir, shard := fresh()
	os.Truncate(shard, 32+5*rec+3)
	_, err := OpenShards(dir, StreamOptions{})
	testutil.ErrPrefixed(t, err, "datasets: ", shard, "truncated", "offset 135")

	// truncated after OpenShards: the read meets it
	dir, shard = fresh()
	s := mustShards(t, dir, StreamOptions{})
	os.Truncate(shard, 32+5*rec)
	st, _ := s.Open(ctx, Pass{})
	_, err = drain(st, s, 4)
	testutil.ErrPrefixed(t, err, "datasets: ", shard, "truncated")
	st.Close()

	// a flipped byte in record 4 of shard 1: the CRC error names the offset,
	// and the 14 good records before it were delivered
	dir, shard = fresh()
	b, _ := os.ReadFile(shard)
	b[32+4*rec+2] ^= 0x10
	os.WriteFile(shard, b, 0o644)
	s = mustShards(t, dir, StreamOptions{Prefetch: 3})
	st, _ = s.Open(ctx, Pass{})
	ids, err := drain(st, s, 4)
	testutil.ErrPrefixed(t, err, "datasets: ", shard, "offset 112", "record 4", "CRC mismatch")
	if len(ids) != 14 {
		t.Fatalf("%d examples before the corrupt record, want 14", len(ids))
	}
	st.Close()
	testutil.ErrPrefixed(t, VerifyShards(ctx, dir), "datasets: ", shard, "SHA-256")

	// a corrupt header
	dir, shard = fresh()
	b, _ = os.ReadFile(shard)
	b[20] ^= 1
	os.WriteFile(shard, b, 0o644)
	testutil.ErrPrefixed(t, readAll(dir), "datasets: ", shard, "offset 0", "header", "CRC mismatch")

	// a missing shard
	dir, shard = fresh()
	os.Remove(shard)
	testutil.ErrPrefixed(t, readAll(dir), "datasets: ", "shard-00001.bin", "no such file")

	// a shard removed after OpenShards
	dir, shard = fresh()
	s = mustShards(t, dir, StreamOptions{})
	os.Remove(shard)
	st, _ = s.Open(ctx, Pass{})
	ids, err = drain(st, s, 4)
	testutil.ErrPrefixed(t, err, "datasets: ", "shard-00001.bin", "no such file")
	if len(ids) != 10 {
		t.Fatalf("%d examples before the missing shard, want 10", len(ids))
	}

	// no manifest
	testutil.ErrPrefixed(t, readAll(t.TempDir()), "datasets: ", "manifest.json")
}

func TestShardManifestErrors(t *testing.T) {
	good := func() map[string]any {
		return map[string]any{"format": "descent-shards", "version": 1, "dtype": "float32", "x_shape": []int{4}, "y_shape": []int{},
			"shards": []map[string]any{{"file": "a.bin", "examples": 3, "sha256": strings.Repeat("ab", 32)}}}
	}
	for _, c := range []struct {
		name string
		edit func(m map[string]any)
		raw  string
		want string
	}{
		{"format", func(m map[string]any) { m["format"] = "tfrecord" }, "", `format "tfrecord"`},
		{"version", func(m map[string]any) { m["version"] = 2 }, "", "version 2"},
		{"dtype", func(m map[string]any) { m["dtype"] = "int8" }, "", `dtype "int8"`},
		{"x_shape empty", func(m map[string]any) { m["x_shape"] = []int{} }, "", "x_shape is empty"},
		{"x_shape zero", func(m map[string]any) { m["x_shape"] = []int{3, 0} }, "", "dimension 1 is 0"},
		{"huge record", func(m map[string]any) { m["x_shape"] = []int{1 << 20, 1 << 20} }, "", "too large"},
		{"no shards", func(m map[string]any) { m["shards"] = []int{} }, "", "no shards"},
		{"path", func(m map[string]any) { m["shards"].([]map[string]any)[0]["file"] = "../x.bin" }, "", "plain file name"},
		{"examples", func(m map[string]any) { m["shards"].([]map[string]any)[0]["examples"] = 0 }, "", "0 examples"},
		{"sha", func(m map[string]any) { m["shards"].([]map[string]any)[0]["sha256"] = "xyz" }, "", "not 64 hex digits"},
		{"unknown field", func(m map[string]any) { m["extra"] = 1 }, "", "unknown field"},
		{"not json", nil, "{", "bad manifest"},
		{"trailing", nil, `{"format":"descent-shards"} {}`, "data after"},
	} {
		raw := c.raw
		if c.edit != nil {
			m := good()
			c.edit(m)
			b, _ := json.Marshal(m)
			raw = string(b)
		}
		_, err := ReadShardManifest(strings.NewReader(raw), "m.json")
		testutil.ErrPrefixed(t, err, "datasets: ", "m.json", c.want)
	}
	b, _ := json.Marshal(good())
	if _, err := ReadShardManifest(strings.NewReader(string(b)), "m.json"); err != nil {
		t.Fatal(err)
	}
}

func TestShardsOptionsAndWriteErrors(t *testing.T) {
	d := idDS(t, 30, 3, 3, tensor.Float32)
	dir := writeTestShards(t, d, 10)
	_, err := OpenShards(dir, StreamOptions{ShuffleBuffer: -1})
	testutil.ErrPrefixed(t, err, "datasets: ", "negative")
	_, err = OpenShards(dir, StreamOptions{ShuffleBuffer: 1000, MaxBytes: 1 << 20})
	testutil.ErrPrefixed(t, err, "datasets: ", "over the budget MaxBytes = 1048576")
	// buffers are bounded by the data, whatever the options ask
	big := mustShards(t, dir, StreamOptions{ShuffleBuffer: 1 << 24, Prefetch: 1 << 24})
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	if ids := readPass(t, big, Pass{Shuffle: true, Seed: 1}, 7); !isPerm(ids, identity(30)) {
		t.Fatalf("huge buffers: %v", ids)
	}
	runtime.ReadMemStats(&m1)
	if a := m1.TotalAlloc - m0.TotalAlloc; a > 8<<20 {
		t.Fatalf("a pass over 30 examples allocated %d bytes", a)
	}
	_, err = WriteShards(context.Background(), t.TempDir(), d, ShardWriteOptions{})
	testutil.ErrPrefixed(t, err, "datasets: ", "ExamplesPerShard = 0")
	_, err = WriteShards(context.Background(), filepath.Join(t.TempDir(), "missing"), d, ShardWriteOptions{ExamplesPerShard: 4})
	testutil.ErrPrefixed(t, err, "datasets: ", "shard-00000.bin")
}

// FuzzShardManifest: no manifest makes ReadShardManifest panic, and one it
// accepts passes checkManifest.
func FuzzShardManifest(f *testing.F) {
	f.Add(`{"format":"descent-shards","version":1,"dtype":"float32","x_shape":[784],"y_shape":[],"shards":[{"file":"a","examples":3,"sha256":"` + strings.Repeat("0", 64) + `"}]}`)
	f.Add(`{"format":"descent-shards","version":1,"dtype":"float64","x_shape":[1,28,28],"y_shape":[10],"shards":[]}`)
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ReadShardManifest(strings.NewReader(s), "m")
		if err == nil {
			if err := checkManifest(m); err != nil {
				t.Fatalf("accepted a manifest that fails checkManifest: %v", err)
			}
		}
	})
}

// FuzzShardFile: any bytes as the one shard of a valid manifest either read
// completely (as many examples as reported) or fail with an error naming
// the file; never a panic or a short pass.
func FuzzShardFile(f *testing.F) {
	d := idDS(f, 6, 3, 3, tensor.Float32)
	dir := f.TempDir()
	if _, err := WriteShards(context.Background(), dir, d, ShardWriteOptions{ExamplesPerShard: 6}); err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join(dir, "shard-00000.bin"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:50])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		man := ShardManifest{Format: manifestFormat, Version: 1, Dtype: "float32", XShape: []int{3}, YShape: []int{},
			Shards: []ShardInfo{{File: "s.bin", Examples: 6, SHA256: strings.Repeat("0", 64)}}}
		mb, _ := json.Marshal(man)
		os.WriteFile(filepath.Join(dir, ManifestName), mb, 0o644)
		path := filepath.Join(dir, "s.bin")
		os.WriteFile(path, b, 0o644)
		s, err := OpenShards(dir, StreamOptions{ShuffleBuffer: 3})
		if err != nil {
			testutil.ErrContains(t, err, path) // names the file
			return
		}
		st, err := s.Open(context.Background(), Pass{Shuffle: true})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		ids, err := drain(st, s, 4)
		if err != nil {
			testutil.ErrContains(t, err, path) // names the file
			return
		}
		if len(ids) != 6 {
			t.Fatalf("read %d examples without error, the manifest says 6", len(ids))
		}
	})
}
