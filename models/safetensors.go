package models

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/nlpodyssey/safetensors"
	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/atomicfile"
)

// TorchParam relates one descent parameter to a PyTorch state_dict entry.
type TorchParam struct {
	Name string // the descent parameter ("hidden1/w")
	Key  string // the state_dict key ("0.weight")
	// Transpose is set for Dense weights: descent's are (in, out),
	// torch.nn.Linear's (out, in). Convolution weights have the same
	// (out, in, kh, kw) layout in both.
	Transpose bool
}

// TorchNames maps the parameters p holds for a built-in model to the
// state_dict of its PyTorch equivalent, an nn.Sequential:
//
//	Linear, Logistic, Softmax  Sequential(Linear(in, out))                     "0.weight", "0.bias"
//	MLP                        Sequential(Linear, act, [Dropout,] ..., Linear)  "0.", "2." (or "3." with Dropout), ...
//	LeNet                      Sequential(Conv2d(c, 6, 5, padding=2), ReLU, MaxPool2d(2),
//	                           Conv2d(6, 16, 5), ReLU, MaxPool2d(2), Flatten,
//	                           Linear(·, 120), ReLU, Linear(120, 84), ReLU, Linear(84, classes))
//	                           "0.", "3.", "7.", "9.", "11."
//
// (Logistic's sigmoid and Softmax's softmax belong to the loss, as in
// torch's BCEWithLogitsLoss and CrossEntropyLoss.) Pass the result to
// SaveSafetensors and LoadSafetensors. Another model is an error.
func TorchNames(m Model, p *graph.Params) ([]TorchParam, error) {
	if p == nil {
		return nil, errors.New("models: TorchNames: nil params")
	}
	var layers map[string]int // descent layer → index in the Sequential
	switch m := m.(type) {
	case Linear:
		layers = map[string]int{"linear": 0}
	case Logistic:
		layers = map[string]int{"logistic": 0}
	case Softmax:
		layers = map[string]int{"softmax": 0}
	case MLP:
		per := 2 // Linear, activation
		if m.Dropout > 0 {
			per = 3
		}
		layers = map[string]int{"out": per * len(m.Hidden)}
		for i := range m.Hidden {
			layers[layerName("hidden", i)] = per * i
		}
	case LeNet:
		layers = map[string]int{"conv1": 0, "conv2": 3, "fc1": 7, "fc2": 9, "out": 11}
	default:
		return nil, errors.Errorf("models: TorchNames: no PyTorch mapping for %T (built-in models only)", m)
	}
	out := make([]TorchParam, 0, p.Len())
	for i := 0; i < p.Len(); i++ {
		name := p.Name(i)
		slash := strings.LastIndexByte(name, '/')
		idx, ok := layers[name[:max(slash, 0)]]
		if !ok || slash < 0 || (name[slash+1:] != "w" && name[slash+1:] != "b") {
			return nil, errors.Errorf("models: TorchNames: parameter %q is not one %T makes (were the params made for another model?)", name, m)
		}
		tp := TorchParam{Name: name, Key: fmt.Sprintf("%d.weight", idx)}
		if name[slash+1:] == "b" {
			tp.Key = fmt.Sprintf("%d.bias", idx)
		} else {
			tp.Transpose = p.At(i).Dims() == 2
		}
		out = append(out, tp)
	}
	return out, nil
}

// SaveSafetensors writes p's parameters and buffers (BatchNorm's running
// statistics) to w in the safetensors format
// (huggingface.co/docs/safetensors), as float32 or float64 like p. With
// names nil they keep descent's names and layouts; with a mapping from
// TorchNames they get PyTorch's, loadable by torch.nn.Module.load_state_dict.
func SaveSafetensors(w io.Writer, p *graph.Params, names []TorchParam) error {
	if p == nil || w == nil {
		return errors.New("models: SaveSafetensors: nil params or writer")
	}
	entries, err := resolveNames(p, names)
	if err != nil {
		return errors.Wrap(err, "models: SaveSafetensors")
	}
	views := make(map[string]safetensors.TensorView, len(entries))
	dt := safetensors.F32
	if p.Dtype() == tensor.Float64 {
		dt = safetensors.F64
	}
	for _, e := range entries {
		t := tensorOf(p, e.Name)
		v, err := safetensors.NewTensorView(dt, torchShape(t.Shape(), e.Transpose), encode(t, e.Transpose))
		if err != nil {
			return errors.Wrapf(err, "models: SaveSafetensors: parameter %q", e.Name)
		}
		views[e.Key] = v
	}
	return errors.Wrap(safetensors.SerializeToWriter(views, map[string]string{"format": "pt", "producer": "descent"}, w), "models: SaveSafetensors")
}

// SaveSafetensorsFile writes p to path with SaveSafetensors, atomically.
func SaveSafetensorsFile(path string, p *graph.Params, names []TorchParam) error {
	err := atomicfile.Write(path, func(f *os.File) error { return SaveSafetensors(f, p, names) })
	return errors.Wrapf(err, "models: SaveSafetensorsFile %s", path)
}

// LoadSafetensors reads a safetensors file, to the end of r, into p's
// parameters and buffers, which must exist (made by Init or training): every
// one must be in the file (under its descent name, or its key in names) with its
// shape (transposed where names say so), and the file must hold nothing
// else; float32 and float64 files load into either dtype. On error p is
// unchanged.
func LoadSafetensors(r io.Reader, p *graph.Params, names []TorchParam) error {
	if p == nil || r == nil {
		return errors.New("models: LoadSafetensors: nil params or reader")
	}
	entries, err := resolveNames(p, names)
	if err != nil {
		return errors.Wrap(err, "models: LoadSafetensors")
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r); err != nil {
		return errors.Wrap(err, "models: LoadSafetensors")
	}
	st, err := safetensors.Deserialize(buf.Bytes())
	if err != nil {
		return errors.Wrapf(err, "models: LoadSafetensors: not a valid safetensors file (%d bytes)", buf.Len())
	}
	want := map[string]bool{}
	views := make([]safetensors.TensorView, len(entries))
	for i, e := range entries {
		want[e.Key] = true
		tv, ok := st.Tensor(e.Key)
		if !ok {
			return errors.Errorf("models: LoadSafetensors: %q (parameter %q) is missing", e.Key, e.Name)
		}
		t := tensorOf(p, e.Name)
		shape := torchShape(t.Shape(), e.Transpose)
		if !slices.Equal(tv.Shape(), shape) {
			return errors.Errorf("models: LoadSafetensors: %q has shape %v, parameter %q wants %v", e.Key, tv.Shape(), e.Name, shape)
		}
		if dt := tv.DType(); dt != safetensors.F32 && dt != safetensors.F64 {
			return errors.Errorf("models: LoadSafetensors: %q has dtype %v (want F32 or F64)", e.Key, dt)
		}
		views[i] = tv
	}
	var extra []string
	for _, k := range st.Names() {
		if !want[k] {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return errors.Errorf("models: LoadSafetensors: unexpected tensors %q (not parameters of the model)", extra)
	}
	for i, e := range entries {
		decode(views[i], tensorOf(p, e.Name), e.Transpose)
	}
	return nil
}

// LoadSafetensorsFile reads the safetensors file at path into p with
// LoadSafetensors.
func LoadSafetensorsFile(path string, p *graph.Params, names []TorchParam) error {
	f, err := os.Open(path)
	if err != nil {
		return errors.Wrap(err, "models: LoadSafetensorsFile")
	}
	defer f.Close()
	return errors.Wrapf(LoadSafetensors(f, p, names), "models: LoadSafetensorsFile %s", path)
}

// tensorOf is p's parameter or buffer called name, nil if neither.
func tensorOf(p *graph.Params, name string) *tensor.Dense {
	if t := p.Value(name); t != nil {
		return t
	}
	return p.Buffer(name)
}

// resolveNames checks a mapping against p: nil means descent's own names.
// Every parameter and buffer is covered: a file without a model's running
// statistics would not round-trip it.
func resolveNames(p *graph.Params, names []TorchParam) ([]TorchParam, error) {
	if names == nil {
		out := make([]TorchParam, 0, p.Len()+p.NumBuffers())
		for _, name := range append(p.Names(), p.BufferNames()...) {
			out = append(out, TorchParam{Name: name, Key: name})
		}
		return out, nil
	}
	keys, params := map[string]bool{}, map[string]bool{}
	for _, e := range names {
		t := tensorOf(p, e.Name)
		switch {
		case t == nil:
			return nil, errors.Errorf("the mapping names parameter %q, which the params do not hold", e.Name)
		case e.Key == "" || keys[e.Key]:
			return nil, errors.Errorf("parameter %q: key %q is empty or used twice", e.Name, e.Key)
		case params[e.Name]:
			return nil, errors.Errorf("parameter %q is mapped twice", e.Name)
		case e.Transpose && t.Dims() != 2:
			return nil, errors.Errorf("parameter %q of shape %v cannot be transposed (not a matrix)", e.Name, t.Shape())
		}
		keys[e.Key], params[e.Name] = true, true
	}
	if n := p.Len() + p.NumBuffers(); len(names) != n {
		return nil, errors.Errorf("the mapping covers %d of the %d parameters and buffers", len(names), n)
	}
	return names, nil
}

func torchShape(s tensor.Shape, transpose bool) []uint64 {
	out := make([]uint64, len(s))
	for i, d := range s {
		out[i] = uint64(d)
	}
	if transpose {
		out[0], out[1] = out[1], out[0]
	}
	return out
}

// order returns, for k in the file's row-major order (of t, or of its
// transpose), the index of t's element.
func order(t *tensor.Dense, transpose bool) func(k int) int {
	if !transpose {
		return func(k int) int { return k }
	}
	rows, cols := t.Shape()[0], t.Shape()[1]
	return func(k int) int { return (k%rows)*cols + k/rows }
}

// encode appends t's values in the file's order, bit for bit in t's dtype.
func encode(t *tensor.Dense, transpose bool) []byte {
	at := order(t, transpose)
	n := t.Shape().TotalSize()
	switch d := t.Data().(type) {
	case []float64:
		out := make([]byte, 0, 8*n)
		for k := 0; k < n; k++ {
			out = binary.LittleEndian.AppendUint64(out, math.Float64bits(d[at(k)]))
		}
		return out
	case []float32:
		out := make([]byte, 0, 4*n)
		for k := 0; k < n; k++ {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(d[at(k)]))
		}
		return out
	}
	return nil
}

// decode stores a tensor view's values in t: bit for bit when the dtypes
// agree, converted otherwise.
func decode(tv safetensors.TensorView, t *tensor.Dense, transpose bool) {
	at, data := order(t, transpose), tv.Data()
	n := t.Shape().TotalSize()
	get32 := func(k int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(data[4*k:])) }
	get64 := func(k int) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(data[8*k:])) }
	switch d := t.Data().(type) {
	case []float64:
		for k := 0; k < n; k++ {
			if tv.DType() == safetensors.F32 {
				d[at(k)] = float64(get32(k))
			} else {
				d[at(k)] = get64(k)
			}
		}
	case []float32:
		for k := 0; k < n; k++ {
			if tv.DType() == safetensors.F32 {
				d[at(k)] = get32(k)
			} else {
				d[at(k)] = float32(get64(k))
			}
		}
	}
}
