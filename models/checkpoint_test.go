package models_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/ckpt"
	"github.com/descent-go/descent/internal/testutil"
	"github.com/descent-go/descent/models"
)

// specials are values a checkpoint must keep bit for bit.
var specials = []float64{
	0, math.Copysign(0, -1), 1, -1.5, math.Pi,
	math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, 0x1p-1040, // float64 denormals
	math.MaxFloat64, -math.MaxFloat64, math.Inf(1), math.Inf(-1),
	math.Float64frombits(0x7ff8000000000001), // quiet NaN with a payload
	math.Float64frombits(0xfff0000000000abc), // negative signaling NaN with a payload
}

var specials32 = []uint32{
	0, 0x80000000, 0x3f800000, 0xbfc00000,
	0x00000001, 0x80000001, 0x007fffff, // float32 denormals
	0x7f7fffff, 0xff7fffff, 0x7f800000, 0xff800000,
	0x7fc00001, // quiet NaN with a payload
	0xffa00abc, // negative signaling NaN with a payload
}

// testParams returns params holding the special values in tensors of
// several ranks, under names that include non-ASCII.
func testParams(t testing.TB, dt tensor.Dtype, seed int64) *graph.Params {
	t.Helper()
	p := graph.NewParams(dt, seed)
	add := func(name string, shape ...int) {
		tt := tensor.New(tensor.Of(dt), tensor.WithShape(shape...))
		switch d := tt.Data().(type) {
		case []float64:
			for i := range d {
				d[i] = specials[i%len(specials)] * float64(1+i/len(specials))
			}
		case []float32:
			for i := range d {
				d[i] = math.Float32frombits(specials32[i%len(specials32)])
			}
		}
		must(t, p.Add(name, tt))
	}
	add("dense/w", 3, 5)
	add("dense/b", 5)
	add("conv/w", 2, 1, 2, 2)
	add("größe/β", 1)
	return p
}

func saveBytes(t testing.TB, p *graph.Params) []byte {
	t.Helper()
	var buf bytes.Buffer
	must(t, models.Save(&buf, p))
	return buf.Bytes()
}

func TestSaveLoadRoundTrip(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		p := testParams(t, dt, -1234567890123)
		data := saveBytes(t, p)
		q, err := models.Load(bytes.NewReader(data))
		must(t, err)
		if q.Dtype() != dt || q.Seed() != p.Seed() || strings.Join(q.Names(), ",") != strings.Join(p.Names(), ",") {
			t.Errorf("%v: loaded %v seed %d %v; want %v seed %d %v", dt, q.Dtype(), q.Seed(), q.Names(), dt, p.Seed(), p.Names())
		}
		if !testutil.SameParams(p, q) {
			t.Errorf("%v: loaded values or shapes differ in their bits", dt)
		}
		if again := saveBytes(t, q); !bytes.Equal(again, data) {
			t.Errorf("%v: saving the loaded params gives other bytes", dt)
		}

		path := filepath.Join(t.TempDir(), "model.ckpt")
		must(t, models.SaveFile(path, p))
		onDisk, err := os.ReadFile(path)
		must(t, err)
		if !bytes.Equal(onDisk, data) {
			t.Errorf("%v: SaveFile wrote other bytes than Save", dt)
		}
		r, err := models.LoadFile(path)
		must(t, err)
		if !testutil.SameParams(p, r) || r.Seed() != p.Seed() {
			t.Errorf("%v: LoadFile differs", dt)
		}
	}
	// Empty params round-trip too.
	empty := graph.NewParams(tensor.Float32, 0)
	data := saveBytes(t, empty)
	q, err := models.Load(bytes.NewReader(data))
	must(t, err)
	if q.Len() != 0 || q.Dtype() != tensor.Float32 {
		t.Errorf("empty params: loaded %d parameters of %v", q.Len(), q.Dtype())
	}
}

// The bytes are exactly the documented layout.
func TestCheckpointLayout(t *testing.T) {
	p := graph.NewParams(tensor.Float32, -2)
	must(t, p.Add("w", tensor.New(tensor.WithShape(2, 1), tensor.WithBacking([]float32{1.5, math.Float32frombits(0x80000000)}))))
	must(t, p.Add("bias", tensor.New(tensor.WithShape(1), tensor.WithBacking([]float32{float32(math.Inf(1))}))))
	var want []byte
	le := binary.LittleEndian
	want = append(want, "DSCNTPRM"...)
	want = le.AppendUint32(want, 2)               // version
	want = append(want, 1)                        // dtype float32
	want = le.AppendUint64(want, uint64(1<<64-2)) // seed −2
	want = le.AppendUint32(want, 2)               // count
	want = append(want, 1)                        // role: parameter
	want = le.AppendUint16(want, 1)
	want = append(want, 'w', 2)
	want = le.AppendUint32(le.AppendUint32(want, 2), 1)
	want = le.AppendUint32(le.AppendUint32(want, math.Float32bits(1.5)), 0x80000000)
	want = append(want, 1)
	want = le.AppendUint16(want, 4)
	want = append(want, "bias"...)
	want = append(want, 1)
	want = le.AppendUint32(want, 1)
	want = le.AppendUint32(want, 0x7f800000)
	want = le.AppendUint32(want, 0) // no metadata
	sum := sha256.Sum256(want)
	want = append(want, sum[:]...)
	if got := saveBytes(t, p); !bytes.Equal(got, want) {
		t.Errorf("Save wrote\n%x\nwant\n%x", got, want)
	}
}

func TestSaveErrors(t *testing.T) {
	var buf bytes.Buffer
	testutil.ErrContains(t, models.Save(&buf, nil), "models: Save", "nil params")
	testutil.ErrContains(t, models.Save(nil, testParams(t, tensor.Float64, 1)), "models: Save", "nil writer")
	testutil.ErrContains(t, models.Save(&buf, graph.NewParams(tensor.Int, 1)), "models: Save", "dtype int")
	p := graph.NewParams(tensor.Float64, 1)
	must(t, p.Add("scalar", tensor.New(tensor.FromScalar(2.0))))
	buf.Reset()
	testutil.ErrContains(t, models.Save(&buf, p), "models: Save", `"scalar"`, "0 dimensions")
	if buf.Len() != 0 {
		t.Errorf("a failed Save wrote %d bytes", buf.Len())
	}
	q := graph.NewParams(tensor.Float64, 1)
	must(t, q.Add("deep", tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(1, 1, 1, 1, 1, 1, 1, 1, 1))))
	testutil.ErrContains(t, models.Save(&buf, q), "models: Save", `"deep"`, "9 dimensions")
	long := graph.NewParams(tensor.Float64, 1)
	must(t, long.Add(strings.Repeat("n", 70000), tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(1))))
	testutil.ErrContains(t, models.Save(&buf, long), "models: Save", "length 70000")
	testutil.ErrContains(t, models.Save(failWriter{}, testParams(t, tensor.Float64, 1)), "models: Save", "disk full")
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// listDir returns the names in dir.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	must(t, err)
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// A failed SaveFile leaves the checkpoint already at the path as it was,
// and no temporary file behind.
func TestSaveFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.ckpt")
	good := testParams(t, tensor.Float64, 1)
	must(t, models.SaveFile(path, good))
	orig, err := os.ReadFile(path)
	must(t, err)

	unsavable := graph.NewParams(tensor.Float64, 1)
	must(t, unsavable.Add("scalar", tensor.New(tensor.FromScalar(2.0))))
	check := func(what string, err error, subs ...string) {
		t.Helper()
		testutil.ErrContains(t, err, append([]string{"models: SaveFile"}, subs...)...)
		now, rerr := os.ReadFile(path)
		must(t, rerr)
		if !bytes.Equal(now, orig) {
			t.Errorf("%s: the checkpoint at the path changed", what)
		}
		if names := listDir(t, dir); len(names) != 1 || names[0] != "model.ckpt" {
			t.Errorf("%s: the directory holds %q, want only model.ckpt", what, names)
		}
	}
	check("nil params", models.SaveFile(path, nil), "nil params")
	check("unsavable params", models.SaveFile(path, unsavable), `"scalar"`)
	check("missing directory", models.SaveFile(filepath.Join(dir, "no", "such", "dir", "x.ckpt"), good), "no such file")

	// The path is a directory: the rename fails after the data is written.
	sub := filepath.Join(dir, "sub")
	must(t, os.Mkdir(sub, 0o755))
	must(t, os.WriteFile(filepath.Join(sub, "keep"), []byte("x"), 0o644))
	err = models.SaveFile(sub, good)
	must(t, os.Remove(filepath.Join(sub, "keep")))
	must(t, os.Remove(sub))
	check("path is a directory", err)

	// A directory we may not write to (root may write anywhere).
	if os.Geteuid() != 0 && runtime.GOOS != "windows" {
		must(t, os.Chmod(dir, 0o500))
		err := models.SaveFile(path, good)
		must(t, os.Chmod(dir, 0o700))
		check("read-only directory", err, "permission denied")
	} else {
		t.Log("running as root: the read-only directory case is not testable")
	}

	// Success replaces the file and leaves no temporary behind.
	other := testParams(t, tensor.Float32, 2)
	must(t, models.SaveFile(path, other))
	if names := listDir(t, dir); len(names) != 1 {
		t.Errorf("after a successful save the directory holds %q", names)
	}
	q, err := models.LoadFile(path)
	must(t, err)
	if q.Dtype() != tensor.Float32 || q.Seed() != 2 {
		t.Errorf("the replaced checkpoint holds %v seed %d", q.Dtype(), q.Seed())
	}
	_, err = models.LoadFile(filepath.Join(dir, "missing.ckpt"))
	testutil.ErrContains(t, err, "models: LoadFile", "missing.ckpt")
}

// resum recomputes the trailing checksum of a checkpoint whose body a test
// edited on purpose.
func resum(data []byte) []byte {
	body := data[:len(data)-32]
	s := sha256.Sum256(body)
	return append(append([]byte(nil), body...), s[:]...)
}

// smallCheckpoint is a float64 checkpoint of two small tensors: 8+4+1+8+4
// header bytes, then "w" (2, 3) from byte 25 and "b" (3) from byte 86, each
// starting with its role byte.
func smallCheckpoint(t testing.TB) []byte {
	p := graph.NewParams(tensor.Float64, 7)
	must(t, p.Add("w", tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float64{1, 2, 3, 4, 5, 6}))))
	must(t, p.Add("b", tensor.New(tensor.WithShape(3), tensor.WithBacking([]float64{-1, 0, 1}))))
	return saveBytes(t, p)
}

func loadErr(data []byte) error {
	_, err := models.Load(bytes.NewReader(data))
	return err
}

func TestLoadCorrupt(t *testing.T) {
	good := smallCheckpoint(t)
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	const (
		offCount = 21 // the tensor count
		offRank  = 29 // "w"'s rank: 25 + 1 (role) + 2 (name length) + 1 (name)
		offDim0  = 30 // its first dimension
		offB     = 86 // "b"'s role
	)
	if good[offRank] != 2 || good[offDim0] != 2 || good[offCount] != 2 {
		t.Fatalf("layout moved: % x", good[:40])
	}
	for _, c := range []struct {
		name string
		data []byte
		want []string
	}{
		{"empty", nil, []string{"models: Load", "truncated at byte 0", "magic"}},
		{"bad magic", mod(func(b []byte) []byte { b[0] = 'X'; return b }), []string{"not a descent checkpoint", "XSCNTPRM"}},
		{"other file", []byte("PK\x03\x04 a zip file, not a checkpoint"), []string{"not a descent checkpoint"}},
		{"unknown version", mod(func(b []byte) []byte { b[8] = 3; return resum(b) }), []string{"unknown checkpoint version 3", "knows versions 1 to 2"}},
		{"version 0", mod(func(b []byte) []byte { b[8] = 0; return resum(b) }), []string{"unknown checkpoint version 0"}},
		{"unknown role", mod(func(b []byte) []byte { b[25] = 9; return resum(b) }), []string{"tensor 0", "unknown role 9"}},
		{"metadata past the end", mod(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[len(b)-36:], 1<<31)
			return resum(b)
		}), []string{"truncated", "metadata"}},
		{"unknown dtype", mod(func(b []byte) []byte { b[12] = 3; return resum(b) }), []string{"unknown dtype code 3"}},
		{"trailing byte", append(append([]byte(nil), good...), 0), []string{"1 unexpected bytes after the checksum"}},
		{"trailing garbage", append(append([]byte(nil), good...), bytes.Repeat([]byte("garbage!"), 5)...), []string{"40 unexpected bytes after the checksum"}},
		{"flipped data bit", mod(func(b []byte) []byte { b[40] ^= 4; return b }), []string{"checksum mismatch"}},
		{"flipped sum bit", mod(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), []string{"checksum mismatch"}},
		// Structural damage with a checksum that holds (a broken writer):
		// the structural error itself.
		{"implausible count", mod(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[offCount:], 1<<21); return resum(b) }), []string{"implausible tensor count 2097152"}},
		{"count too large", mod(func(b []byte) []byte { b[offCount] = 3; return resum(b) }), []string{"tensor 2", "unknown role 0"}},
		{"rank 0", mod(func(b []byte) []byte { b[offRank] = 0; return resum(b) }), []string{`parameter "w"`, "rank 0"}},
		{"rank 9", mod(func(b []byte) []byte { b[offRank] = 9; return resum(b) }), []string{`parameter "w"`, "rank 9"}},
		{"zero dimension", mod(func(b []byte) []byte { b[offDim0] = 0; return resum(b) }), []string{`parameter "w"`, "implausible dimension 0"}},
		{"huge dimension", mod(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[offDim0:], 1<<31); return resum(b) }), []string{`parameter "w"`, "implausible dimension 2147483648"}},
		{"too many elements", mod(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[offDim0:], 1<<16)
			binary.LittleEndian.PutUint32(b[offDim0+4:], 1<<16)
			return resum(b)
		}), []string{`parameter "w"`, "implausible dimension 65536"}},
		{"tensor past the end", mod(func(b []byte) []byte { b[offDim0] = 200; return resum(b) }), []string{`parameter "w" (200, 3)`, "truncated", "data"}},
		{"duplicate name", mod(func(b []byte) []byte { b[offB+3] = 'w'; return resum(b) }), []string{`parameter "w" appears twice`}},
		{"empty name", mod(func(b []byte) []byte {
			// "b" → "" by dropping its name byte and length.
			rest := append([]byte{1, 0, 0}, b[offB+4:]...)
			return resum(append(b[:offB], rest...))
		}), []string{"name is empty"}},
		// The same damage without a matching checksum is a damaged file.
		{"damaged dimension", mod(func(b []byte) []byte { b[offDim0] = 200; return b }), []string{"checksum mismatch", "truncated"}},
		{"damaged rank", mod(func(b []byte) []byte { b[offRank] = 9; return b }), []string{"checksum mismatch", "rank 9"}},
	} {
		err := loadErr(c.data)
		if err == nil {
			t.Errorf("%s: loaded", c.name)
			continue
		}
		testutil.ErrContains(t, err, append([]string{"models: Load"}, c.want...)...)
	}
}

// Every proper prefix of a checkpoint fails as truncated or with a
// checksum that does not hold.
func TestLoadTruncated(t *testing.T) {
	for _, data := range [][]byte{smallCheckpoint(t), saveBytes(t, testParams(t, tensor.Float32, 3))} {
		for k := 0; k < len(data); k++ {
			err := loadErr(data[:k])
			if err == nil {
				t.Fatalf("prefix of %d of %d bytes: loaded", k, len(data))
			}
			if msg := err.Error(); !strings.Contains(msg, "truncated") && !strings.Contains(msg, "checksum") {
				t.Errorf("prefix of %d of %d bytes: %v", k, len(data), err)
			}
		}
	}
}

// Any single flipped bit is caught: in the magic, version and dtype by
// their own checks, anywhere after them as a checksum mismatch.
func TestLoadFlippedBits(t *testing.T) {
	good := smallCheckpoint(t)
	for i := range good {
		for bit := 0; bit < 8; bit++ {
			data := append([]byte(nil), good...)
			data[i] ^= 1 << bit
			err := loadErr(data)
			var want string
			switch {
			case err == nil:
				t.Fatalf("byte %d bit %d flipped: loaded", i, bit)
			case i < 8:
				want = "not a descent checkpoint"
			case i < 12:
				want = "unknown checkpoint version"
			case i == 12:
				want = "unknown dtype code"
			default:
				want = "checksum mismatch"
			}
			testutil.ErrContains(t, err, want)
		}
	}
}

// A header claiming a tensor of 2^31−1 float64s (16 GiB) in a 100-byte
// input fails at once, without allocating for the claim.
func TestLoadHugeClaim(t *testing.T) {
	var b []byte
	le := binary.LittleEndian
	b = append(b, "DSCNTPRM"...)
	b = le.AppendUint32(b, 1)
	b = append(b, 2)
	b = le.AppendUint64(b, 0)
	b = le.AppendUint32(b, 1)
	b = le.AppendUint16(b, 1)
	b = append(b, 'w', 1)
	b = le.AppendUint32(b, math.MaxInt32)
	for len(b) < 100 {
		b = append(b, 0)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := loadErr(b)
	runtime.ReadMemStats(&after)
	testutil.ErrContains(t, err, "truncated", `parameter "w" (2147483647)`)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("a failed Load of %d bytes allocated %d bytes", len(b), grew)
	}
}

// LoadInto fills params made by Init, or refuses a checkpoint that does
// not fit them, naming the parameter and leaving them unchanged.
func TestLoadInto(t *testing.T) {
	m := newTestMLP()
	target := graph.NewParams(tensor.Float64, 1)
	must(t, models.Init(m, target, tensor.Shape{4}))
	// Names and shapes: hidden1/w (4, 3), hidden1/b (3), out/w (3, 2), out/b (2).
	before := target.Clone()
	x := randInput(1, tensor.Float64, 5, 4)
	pr := models.NewPredictor(m, target, 0)
	defer pr.Close()
	out0, err := pr.Predict(x)
	must(t, err)

	source := graph.NewParams(tensor.Float64, 99)
	must(t, models.Init(m, source, tensor.Shape{4}))
	build := func(dt tensor.Dtype, skip string, reshape map[string]tensor.Shape, extra string) []byte {
		q := graph.NewParams(dt, 5)
		for _, name := range source.Names() {
			if name == skip {
				continue
			}
			shape := source.Value(name).Shape()
			if s, ok := reshape[name]; ok {
				shape = s
			}
			must(t, q.Add(name, tensor.New(tensor.Of(dt), tensor.WithShape(shape...))))
		}
		if extra != "" {
			must(t, q.Add(extra, tensor.New(tensor.Of(dt), tensor.WithShape(2))))
		}
		return saveBytes(t, q)
	}
	for _, c := range []struct {
		name string
		data []byte
		want []string
	}{
		{"missing", build(tensor.Float64, "out/b", nil, ""), []string{`"out/b"`, "missing"}},
		{"extra", build(tensor.Float64, "", nil, "extra/w"), []string{`"extra/w"`, "unexpected"}},
		{"shape", build(tensor.Float64, "", map[string]tensor.Shape{"hidden1/w": {5, 3}}, ""), []string{`"hidden1/w"`, "(5, 3)", "(4, 3)"}},
		{"dtype", build(tensor.Float32, "", nil, ""), []string{"dtype", "float32", "float64"}},
		{"corrupt", smallCheckpoint(t)[:50], []string{"truncated"}},
	} {
		err := models.LoadInto(target, bytes.NewReader(c.data))
		testutil.ErrContains(t, err, c.want...)
		if !testutil.SameParams(before, target) {
			t.Errorf("%s: a failed LoadInto changed the params", c.name)
		}
	}
	testutil.ErrContains(t, models.LoadInto(nil, bytes.NewReader(saveBytes(t, source))), "models: LoadInto", "nil params")

	// Success: the values are copied into the tensors graphs are bound to,
	// so the predictor compiled before sees them.
	must(t, models.LoadInto(target, bytes.NewReader(saveBytes(t, source))))
	if target.Seed() != 1 {
		t.Errorf("LoadInto changed the target's seed to %d", target.Seed())
	}
	for _, name := range source.Names() {
		if !testutil.SameTensor(source.Value(name), target.Value(name)) {
			t.Errorf("%s differs after LoadInto", name)
		}
	}
	out1, err := pr.Predict(x)
	must(t, err)
	want, err := models.Predict(m, source, x)
	must(t, err)
	if graph.Float64s(out1)[3] != graph.Float64s(want)[3] || graph.Float64s(out1)[3] == graph.Float64s(out0)[3] {
		t.Errorf("the predictor compiled before LoadInto gives %v; want the loaded model's %v (was %v)", graph.Float64s(out1)[3], graph.Float64s(want)[3], graph.Float64s(out0)[3])
	}
}

func newTestMLP() models.MLP { return models.MLP{Hidden: []int{3}, Outputs: 2} }

// FuzzLoad feeds Load arbitrary bytes: it must never panic nor allocate
// for sizes the input does not hold, and whatever it accepts must save back
// to the very same bytes.
func FuzzLoad(f *testing.F) {
	small := smallCheckpoint(f)
	f.Add(small)
	f.Add(saveBytes(f, testParams(f, tensor.Float32, -9)))
	f.Add(saveBytes(f, testParams(f, tensor.Float64, 1<<40)))
	f.Add(saveBytes(f, graph.NewParams(tensor.Float64, 0)))
	f.Add(bufferCheckpoint(f)) // state_test.go: a parameter and a buffer
	f.Add([]byte{})
	f.Add([]byte("DSCNTPRM"))
	f.Add(small[:len(small)/2])
	f.Add(small[:len(small)-1])
	f.Add(append(append([]byte(nil), small...), 0))
	flipped := append([]byte(nil), small...)
	flipped[30] ^= 0x80
	f.Add(flipped)
	huge := append([]byte(nil), small...)
	binary.LittleEndian.PutUint32(huge[30:], math.MaxInt32)
	f.Add(resum(huge))
	count := append([]byte(nil), small...)
	binary.LittleEndian.PutUint32(count[21:], 1<<20)
	f.Add(resum(count))
	f.Add(v1Checkpoint(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := models.Load(bytes.NewReader(data))
		if err != nil {
			if p != nil {
				t.Fatalf("Load returned params and the error %v", err)
			}
			testutil.ErrPrefixed(t, err, "models: Load: ")
			return
		}
		var buf bytes.Buffer
		if err := models.Save(&buf, p); err != nil {
			t.Fatalf("Save of loaded params: %v", err)
		}
		q, err := models.Load(bytes.NewReader(buf.Bytes()))
		if err != nil || !testutil.SameParams(p, q) {
			t.Fatalf("Load(Save(Load(x))) differs from Load(x): %v", err)
		}
		// A weights-only file of the current version is canonical (a
		// version-1 file, or one with more than weights, is re-encoded).
		if !weightsOnly(data) {
			return
		}
		if !bytes.Equal(buf.Bytes(), data) {
			t.Fatalf("Save(Load(x)) != x:\n%x\n%x", buf.Bytes(), data)
		}
	})
}

// weightsOnly reports whether a checkpoint that loads is of the current
// version and holds parameters only, which Save writes back byte for byte.
func weightsOnly(data []byte) bool {
	f, err := ckpt.Decode(bytes.NewReader(data))
	if err != nil || f.Version != ckpt.Version || len(f.Meta) > 0 {
		return false
	}
	for _, e := range f.Tensors {
		if e.Role != ckpt.Param {
			return false
		}
	}
	return true
}

// v1Checkpoint is a version-1 checkpoint, written by the code of main at
// 0fef5eb (before roles and metadata): MLP{Hidden: [3], Outputs: 2}
// initialized for 4 inputs, float32, seed 7.
func v1Checkpoint(t testing.TB) []byte {
	data, err := os.ReadFile(filepath.Join("testdata", "mlp-v1.ckpt"))
	must(t, err)
	return data
}

// A checkpoint from before roles and metadata still loads its weights: the
// very values Init makes today.
func TestLoadVersion1(t *testing.T) {
	data := v1Checkpoint(t)
	if data[8] != 1 {
		t.Fatalf("testdata/mlp-v1.ckpt is version %d", data[8])
	}
	p, err := models.Load(bytes.NewReader(data))
	must(t, err)
	want := graph.NewParams(tensor.Float32, 7)
	must(t, models.Init(newTestMLP(), want, tensor.Shape{4}))
	if p.Seed() != 7 || !testutil.SameParams(p, want) {
		t.Fatalf("version-1 checkpoint loads seed %d %v; want Init's values", p.Seed(), p.Names())
	}
	// And a newer version than this reader knows is an error naming it.
	newer := append([]byte(nil), data...)
	newer[8] = 9
	testutil.ErrContains(t, loadErr(resum(newer)), "models: Load", "unknown checkpoint version 9", "knows versions 1 to 2")
}
