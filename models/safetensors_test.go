package models_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nlpodyssey/safetensors"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/rng"
	"github.com/descent-go/descent/internal/testutil"
	"github.com/descent-go/descent/models"
)

// torchModels are the built-in models with their PyTorch equivalents in
// testdata/torch/exchange.py, under the same names, and one example's shape.
var torchModels = []struct {
	name  string
	model models.Model
	x     tensor.Shape
}{
	{"linear", models.Linear{Outputs: 2}, tensor.Shape{5}},
	{"logistic", models.Logistic{}, tensor.Shape{5}},
	{"softmax", models.Softmax{Classes: 3}, tensor.Shape{5}},
	{"mlp", models.MLP{Hidden: []int{8, 6}, Outputs: 3}, tensor.Shape{5}},
	{"mlp_dropout", models.MLP{Hidden: []int{8}, Outputs: 3, Dropout: 0.5}, tensor.Shape{5}},
	{"lenet", models.LeNet{}, tensor.Shape{1, 16, 16}},
}

// randomize gives every tensor that Init left at zero (biases, Linear's and
// Softmax's weights) seeded normal values of scale 0.1, and moves the others
// a little, so that the models compare something.
func randomize(p *graph.Params, seed int64) {
	r := rng.New(seed, "test/randomize")
	ts := make([]*tensor.Dense, 0, p.Len()+p.NumBuffers())
	for i := 0; i < p.Len(); i++ {
		ts = append(ts, p.At(i))
	}
	for i := 0; i < p.NumBuffers(); i++ {
		ts = append(ts, p.BufferAt(i)) // running statistics: a round trip must keep them too
	}
	for _, t := range ts {
		zero := true
		for _, v := range graph.Float64s(t) {
			zero = zero && v == 0
		}
		scale := 0.01
		if zero {
			scale = 0.1
		}
		switch d := t.Data().(type) {
		case []float32:
			for j := range d {
				d[j] += float32(scale * r.NormFloat64())
			}
		case []float64:
			for j := range d {
				d[j] += scale * r.NormFloat64()
			}
		}
	}
}

func randomInput(n int, shape tensor.Shape, dt tensor.Dtype, seed int64) *tensor.Dense {
	x := tensor.New(tensor.Of(dt), tensor.WithShape(append(tensor.Shape{n}, shape...)...))
	r := rng.New(seed, "test/input")
	switch d := x.Data().(type) {
	case []float32:
		for j := range d {
			d[j] = float32(r.NormFloat64())
		}
	case []float64:
		for j := range d {
			d[j] = r.NormFloat64()
		}
	}
	return x
}

// descent → safetensors → descent is bit-identical, under descent's own
// names and under PyTorch's (transposed Dense weights included), for every
// value a float can hold.
func TestSafetensorsRoundTrip(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		p := testParams(t, dt, 5)
		var buf bytes.Buffer
		must(t, models.SaveSafetensors(&buf, p, nil))
		q := p.Clone()
		randomize(q, 1)
		must(t, models.LoadSafetensors(bytes.NewReader(buf.Bytes()), q, nil))
		if !testutil.SameParams(p, q) {
			t.Errorf("%v: descent names: round trip changed the values", dt)
		}
	}
	// A model with buffers (ConvNet's BatchNorm running statistics) under
	// descent's names: the buffers travel with the parameters.
	p := graph.NewParams(tensor.Float32, 4)
	must(t, models.Init(models.ConvNet{}, p, tensor.Shape{1, 28, 28}))
	if p.NumBuffers() == 0 {
		t.Fatal("ConvNet made no buffers: the case below tests nothing")
	}
	randomize(p, 4)
	var buf bytes.Buffer
	must(t, models.SaveSafetensors(&buf, p, nil))
	q := p.Clone()
	randomize(q, 5)
	must(t, models.LoadSafetensors(bytes.NewReader(buf.Bytes()), q, nil))
	if !testutil.SameParams(p, q) {
		t.Error("ConvNet: descent names: round trip changed the values or running statistics")
	}
	for _, c := range torchModels {
		p := graph.NewParams(tensor.Float32, 3)
		must(t, models.Init(c.model, p, c.x))
		randomize(p, 2)
		names, err := models.TorchNames(c.model, p)
		must(t, err)
		path := filepath.Join(t.TempDir(), c.name+".safetensors")
		must(t, models.SaveSafetensorsFile(path, p, names))
		q := p.Clone()
		randomize(q, 3)
		must(t, models.LoadSafetensorsFile(path, q, names))
		if !testutil.SameParams(p, q) {
			t.Errorf("%s: torch names: round trip changed the values", c.name)
		}
	}
}

// The exported layout is PyTorch's: nn.Linear's weight is (out, in), and
// its element [o][i] is descent's w[i][o]; the header is what the format
// says (8-byte little-endian length, JSON).
func TestSafetensorsTorchLayout(t *testing.T) {
	m := models.MLP{Hidden: []int{4}, Outputs: 3, Dropout: 0.1}
	p := graph.NewParams(tensor.Float64, 3)
	must(t, models.Init(m, p, tensor.Shape{2}))
	names, err := models.TorchNames(m, p)
	must(t, err)
	var got []string
	for _, n := range names {
		got = append(got, n.Name+"→"+n.Key)
	}
	if want := "hidden1/w→0.weight hidden1/b→0.bias out/w→3.weight out/b→3.bias"; strings.Join(got, " ") != want {
		t.Errorf("MLP with dropout maps %v, want %s", got, want)
	}
	var buf bytes.Buffer
	must(t, models.SaveSafetensors(&buf, p, names))
	data := buf.Bytes()
	n := binary.LittleEndian.Uint64(data)
	var header map[string]json.RawMessage
	must(t, json.Unmarshal(data[8:8+n], &header))
	var info struct {
		Dtype   string   `json:"dtype"`
		Shape   []int    `json:"shape"`
		Offsets [2]int64 `json:"data_offsets"`
	}
	must(t, json.Unmarshal(header["3.weight"], &info))
	if info.Dtype != "F64" || len(info.Shape) != 2 || info.Shape[0] != 3 || info.Shape[1] != 4 {
		t.Fatalf("3.weight is %s %v, want F64 [3 4] (out, in)", info.Dtype, info.Shape)
	}
	w := p.Float64s("out/w") // (4, 3)
	body := data[8+n:]
	for o := 0; o < 3; o++ {
		for i := 0; i < 4; i++ {
			v := math.Float64frombits(binary.LittleEndian.Uint64(body[info.Offsets[0]+int64(8*(o*4+i)):]))
			if v != w[i*3+o] {
				t.Errorf("3.weight[%d][%d] = %v, want out/w[%d][%d] = %v", o, i, v, i, o, w[i*3+o])
			}
		}
	}
}

func TestSafetensorsErrors(t *testing.T) {
	m := models.Softmax{Classes: 3}
	p := graph.NewParams(tensor.Float32, 3)
	must(t, models.Init(m, p, tensor.Shape{4}))
	names, err := models.TorchNames(m, p)
	must(t, err)
	var good bytes.Buffer
	must(t, models.SaveSafetensors(&good, p, names))
	view := func(dt safetensors.DType, shape []uint64) safetensors.TensorView {
		n := uint64(1)
		for _, d := range shape {
			n *= d
		}
		v, err := safetensors.NewTensorView(dt, shape, make([]byte, n*dt.Size()))
		must(t, err)
		return v
	}
	file := func(views map[string]safetensors.TensorView) []byte {
		b, err := safetensors.Serialize(views, nil)
		must(t, err)
		return b
	}
	for _, c := range []struct {
		name  string
		data  []byte
		names []models.TorchParam
		want  []string
	}{
		{"empty", nil, names, []string{"not a valid safetensors file (0 bytes)"}},
		{"a checkpoint", smallCheckpoint(t), names, []string{"not a valid safetensors file"}},
		{"truncated", good.Bytes()[:good.Len()-3], names, []string{"not a valid safetensors file"}},
		{"missing", file(map[string]safetensors.TensorView{"0.weight": view(safetensors.F32, []uint64{3, 4})}), names, []string{`"0.bias" (parameter "softmax/b") is missing`}},
		{"extra", file(map[string]safetensors.TensorView{"0.weight": view(safetensors.F32, []uint64{3, 4}), "0.bias": view(safetensors.F32, []uint64{3}), "1.weight": view(safetensors.F32, []uint64{1})}), names, []string{`unexpected tensors ["1.weight"]`}},
		{"not transposed", file(map[string]safetensors.TensorView{"0.weight": view(safetensors.F32, []uint64{4, 3}), "0.bias": view(safetensors.F32, []uint64{3})}), names, []string{`"0.weight" has shape [4 3]`, `"softmax/w" wants [3 4]`}},
		{"dtype", file(map[string]safetensors.TensorView{"0.weight": view(safetensors.I32, []uint64{3, 4}), "0.bias": view(safetensors.F32, []uint64{3})}), names, []string{`"0.weight" has dtype`, "want F32 or F64"}},
		{"descent names", good.Bytes(), nil, []string{`"softmax/w"`, "missing"}},
		{"bad mapping", good.Bytes(), []models.TorchParam{{Name: "nope", Key: "0.weight"}}, []string{`parameter "nope"`}},
		{"short mapping", good.Bytes(), names[:1], []string{"covers 1 of the 2 parameters and buffers"}},
	} {
		before := p.Clone()
		err := models.LoadSafetensors(bytes.NewReader(c.data), p, c.names)
		testutil.ErrContains(t, err, append([]string{"models: LoadSafetensors"}, c.want...)...)
		if !testutil.SameParams(before, p) {
			t.Errorf("%s: a failed load changed the params", c.name)
		}
	}
	_, err = models.TorchNames(newCustom(), p)
	testutil.ErrContains(t, err, "models: TorchNames", "no PyTorch mapping")
	_, err = models.TorchNames(models.MLP{Hidden: []int{3}, Outputs: 3}, p)
	testutil.ErrContains(t, err, "models: TorchNames", `parameter "softmax/w" is not one`)
}

type custom struct{ models.Linear }

func newCustom() models.Model { return custom{} }

// torchDir is where the PyTorch side's files are: testdata/torch, or the
// directory the torch CI section regenerated them in.
func torchDir() string {
	if d := os.Getenv("DESCENT_TORCH_FIXTURES"); d != "" {
		return d
	}
	return filepath.Join("testdata", "torch")
}

// readIO reads a "<model>-io.safetensors" file: the input x and the
// predictions y.
func readIO(t *testing.T, path string, xShape tensor.Shape) (x, y *tensor.Dense) {
	data, err := os.ReadFile(path)
	must(t, err)
	st, err := safetensors.Deserialize(data)
	must(t, err)
	get := func(name string) *tensor.Dense {
		tv, ok := st.Tensor(name)
		if !ok || tv.DType() != safetensors.F32 {
			t.Fatalf("%s: no float32 tensor %q", path, name)
		}
		shape := make([]int, len(tv.Shape()))
		for i, d := range tv.Shape() {
			shape[i] = int(d)
		}
		vals := make([]float32, len(tv.Data())/4)
		for i := range vals {
			vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(tv.Data()[4*i:]))
		}
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(vals))
	}
	x, y = get("x"), get("y")
	if !graph.SameShape(x.Shape()[1:], xShape) {
		t.Fatalf("%s: x has shape %v, want (n, %v)", path, x.Shape(), xShape)
	}
	return x, y
}

func writeIO(t *testing.T, path string, x, y *tensor.Dense) {
	views := map[string]safetensors.TensorView{}
	for name, v := range map[string]*tensor.Dense{"x": x, "y": y} {
		shape := make([]uint64, v.Dims())
		for i, d := range v.Shape() {
			shape[i] = uint64(d)
		}
		var b []byte
		for _, f := range v.Float32s() {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
		}
		tv, err := safetensors.NewTensorView(safetensors.F32, shape, b)
		must(t, err)
		views[name] = tv
	}
	data, err := safetensors.Serialize(views, nil)
	must(t, err)
	must(t, os.WriteFile(path, data, 0o644))
}

// closeTo compares predictions to 1e-6, relative to the largest (or 1):
// float32 sums of a few hundred terms round differently in torch.
func closeTo(t *testing.T, what string, got, want *tensor.Dense) {
	if !graph.SameShape(got.Shape(), want.Shape()) {
		t.Errorf("%s: predictions of shape %v, want %v", what, got.Shape(), want.Shape())
		return
	}
	g, w := got.Float32s(), want.Float32s()
	scale, worst := 1.0, 0.0
	for _, v := range w {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	for i := range g {
		if d := math.Abs(float64(g[i])-float64(w[i])) / scale; !(d <= worst) {
			worst = d
		}
	}
	if !(worst <= 1e-6) {
		t.Errorf("%s: predictions differ by up to %.3g (relative), want ≤ 1e-6", what, worst)
	}
	t.Logf("%s: %d predictions agree to %.3g", what, len(g), worst)
}

// PyTorch → descent: models trained by torch and exported by
// testdata/torch/exchange.py (`make`) load into descent with TorchNames and
// predict what torch predicted.
func TestTorchToDescent(t *testing.T) {
	for _, c := range torchModels {
		x, want := readIO(t, filepath.Join(torchDir(), c.name+"-io.safetensors"), c.x)
		p := graph.NewParams(tensor.Float32, 1)
		must(t, models.Init(c.model, p, c.x))
		names, err := models.TorchNames(c.model, p)
		must(t, err)
		must(t, models.LoadSafetensorsFile(filepath.Join(torchDir(), c.name+".safetensors"), p, names))
		got, err := models.Predict(c.model, p, x)
		must(t, err)
		closeTo(t, "torch → descent "+c.name, got, want)
	}
}

// descent → PyTorch: this test exports every built-in model (with random
// weights) under torch's names, with an input and descent's predictions, to
// $DESCENT_TORCH_EXPORT (or a temporary directory); the torch CI section
// then runs testdata/torch/exchange.py `check` on them, which loads them into
// the torch models and compares the predictions. Here they are read back.
func TestDescentToTorchExport(t *testing.T) {
	dir := os.Getenv("DESCENT_TORCH_EXPORT")
	if dir == "" {
		dir = t.TempDir()
	}
	for i, c := range torchModels {
		p := graph.NewParams(tensor.Float32, int64(10+i))
		must(t, models.Init(c.model, p, c.x))
		randomize(p, int64(20+i))
		names, err := models.TorchNames(c.model, p)
		must(t, err)
		must(t, models.SaveSafetensorsFile(filepath.Join(dir, c.name+".safetensors"), p, names))
		x := randomInput(4, c.x, tensor.Float32, int64(30+i))
		y, err := models.Predict(c.model, p, x)
		must(t, err)
		writeIO(t, filepath.Join(dir, c.name+"-io.safetensors"), x, y)

		// Read back as descent would: the same predictions exactly.
		x2, y2 := readIO(t, filepath.Join(dir, c.name+"-io.safetensors"), c.x)
		q := graph.NewParams(tensor.Float32, 99)
		must(t, models.Init(c.model, q, c.x))
		must(t, models.LoadSafetensorsFile(filepath.Join(dir, c.name+".safetensors"), q, names))
		got, err := models.Predict(c.model, q, x2)
		must(t, err)
		if !testutil.SameParams(p, q) {
			t.Errorf("%s: the exported weights do not load back bit for bit", c.name)
		}
		closeTo(t, "descent → file → descent "+c.name, got, y2)
	}
}

// FuzzLoadSafetensors feeds LoadSafetensors arbitrary bytes: it never
// panics, and on error leaves the params unchanged.
func FuzzLoadSafetensors(f *testing.F) {
	m := models.MLP{Hidden: []int{3}, Outputs: 2}
	p := graph.NewParams(tensor.Float32, 3)
	must(f, models.Init(m, p, tensor.Shape{2}))
	names, err := models.TorchNames(m, p)
	must(f, err)
	var buf bytes.Buffer
	must(f, models.SaveSafetensors(&buf, p, names))
	good := buf.Bytes()
	f.Add(good)
	f.Add(good[:20])
	f.Add([]byte{})
	f.Add([]byte("\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":{}}        "))
	buf.Reset()
	must(f, models.SaveSafetensors(&buf, p, nil))
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, ns := range [][]models.TorchParam{names, nil} {
			q := p.Clone()
			before := q.Clone()
			err := models.LoadSafetensors(bytes.NewReader(data), q, ns)
			if err != nil {
				if !testutil.SameParams(before, q) {
					t.Fatalf("a failed load changed the params: %v", err)
				}
				testutil.ErrPrefixed(t, err, "models: LoadSafetensors: ")
				continue
			}
			var out bytes.Buffer
			if err := models.SaveSafetensors(&out, q, ns); err != nil {
				t.Fatalf("saving what loaded: %v", err)
			}
			r := p.Clone()
			if err := models.LoadSafetensors(bytes.NewReader(out.Bytes()), r, ns); err != nil || !testutil.SameParams(q, r) {
				t.Fatalf("what loaded does not round-trip: %v", err)
			}
		}
	})
}
