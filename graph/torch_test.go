package graph

import (
	"encoding/json"
	"math"
	"os"
	"sort"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The PyTorch fixtures: testdata/torch/layers.json, made by
// testdata/torch/gen.py (CI's torchfixtures section regenerates it with
// Debian's python3-torch and fails if it changes).

type torchTensor struct {
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

type torchCase struct {
	Name    string                 `json:"name"`
	Layer   string                 `json:"layer"`
	Args    map[string]interface{} `json:"args"`
	Tensors map[string]torchTensor `json:"tensors"`
}

func loadTorchCases(t *testing.T) []torchCase {
	t.Helper()
	data, err := os.ReadFile("testdata/torch/layers.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Cases []torchCase `json:"cases"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) == 0 {
		t.Fatal("no cases in testdata/torch/layers.json")
	}
	return f.Cases
}

// torchTol bounds |descent − PyTorch| / max(1, |PyTorch|) in float64.
const torchTol = 1e-10

func closeTo(t *testing.T, what string, got []float64, want torchTensor) {
	t.Helper()
	if len(got) != len(want.Data) {
		t.Fatalf("%s: %d values, PyTorch has %d (shape %v)", what, len(got), len(want.Data), want.Shape)
	}
	worst, at := 0.0, 0
	for i, w := range want.Data {
		d := math.Abs(got[i]-w) / math.Max(1, math.Abs(w))
		if d > worst || math.IsNaN(d) {
			worst, at = d, i
		}
	}
	if worst > torchTol || math.IsNaN(worst) {
		t.Errorf("%s[%d] = %v, PyTorch %v (relative error %.3g > %g)", what, at, got[at], want.Data[at], worst, torchTol)
	}
}

func shapeOfT(tt torchTensor) tensor.Shape { return tensor.Shape(append([]int(nil), tt.Shape...)) }

// torchLayer builds the case's layer on x, an input or parameter named "x"
// (or the ids input of an embedding).
func torchLayer(t *testing.T, c torchCase, b *Builder, x *G.Node) (*G.Node, error) {
	num := func(k string) float64 { return c.Args[k].(float64) }
	switch c.Layer {
	case "tanh":
		return Tanh(x)
	case "sigmoid":
		return Sigmoid(x)
	case "leaky_relu":
		return LeakyReLU(num("alpha"))(x)
	case "elu":
		return ELU(num("alpha"))(x)
	case "gelu":
		return GELU(x)
	case "silu":
		return SiLU(x)
	case "softplus":
		return Softplus(x)
	case "batchnorm":
		return BatchNorm(b, "bn", x)
	case "layernorm":
		return LayerNorm(b, "ln", x)
	case "embedding":
		return Embedding(b, "emb", x, int(num("vocab")), int(num("dim")), nil)
	case "avgpool":
		return AvgPool2D(x, int(num("size")), int(num("stride")))
	case "global_avgpool":
		return GlobalAvgPool2D(x)
	case "lstm":
		return LSTM(b, "lstm", x, int(num("hidden")), c.Args["sequences"].(bool), nil)
	}
	t.Fatalf("unknown layer %q", c.Layer)
	return nil, nil
}

// TestTorchFixtures checks every layer's output and the gradients of
// sum(y ⊙ R) with respect to its input and parameters against PyTorch's, and
// BatchNorm's running statistics after the step and its evaluation output.
func TestTorchFixtures(t *testing.T) {
	for _, c := range loadTorchCases(t) {
		c := c
		t.Run(c.Name, func(t *testing.T) {
			p := NewParams(tensor.Float64, 1)
			// Parameters and buffers take PyTorch's values: create them
			// with the fixture's values before the layer asks for them.
			var names []string
			for k := range c.Tensors {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				v := c.Tensors[k]
				if !strings.Contains(k, "/") || strings.HasPrefix(k, "grad/") || strings.HasPrefix(k, "after/") {
					continue
				}
				add := p.Add
				if strings.Contains(k, "/running_") {
					add = p.AddBuffer
				}
				if err := add(k, NewTensorFrom(append([]float64(nil), v.Data...), v.Shape...)); err != nil {
					t.Fatal(err)
				}
			}
			b := NewBuilder(p)
			b.SetTraining(true)
			var x *G.Node
			var err error
			if ids, ok := c.Tensors["ids"]; ok {
				x, err = b.Input("ids", shapeOfT(ids))
				copy(b.InputTensor("ids").Float64s(), ids.Data)
			} else {
				xs := c.Tensors["x"]
				if err = p.Add("x", NewTensorFrom(append([]float64(nil), xs.Data...), xs.Shape...)); err == nil {
					x, err = b.Param("x", shapeOfT(xs), nil)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			y, err := torchLayer(t, c, b, x)
			if err != nil {
				t.Fatal(err)
			}
			r, err := b.Input("R", shapeOfT(c.Tensors["R"]))
			if err != nil {
				t.Fatal(err)
			}
			copy(b.InputTensor("R").Float64s(), c.Tensors["R"].Data)
			prod, err := G.HadamardProd(y, r)
			if err != nil {
				t.Fatal(err)
			}
			loss, err := G.Sum(prod)
			if err != nil {
				t.Fatal(err)
			}
			prog, err := b.Compile(loss, y)
			if err != nil {
				t.Fatal(err)
			}
			defer prog.Close()
			if err := prog.Run(); err != nil {
				t.Fatal(err)
			}
			closeTo(t, "y", Float64s(prog.Output(0)), c.Tensors["y"])
			checked := 0
			for i := 0; i < prog.NumParams(); i++ {
				name := prog.ParamName(i)
				want, ok := c.Tensors["grad/"+name]
				if !ok {
					t.Fatalf("no PyTorch gradient for %q", name)
				}
				closeTo(t, "grad/"+name, Float64s(prog.Grad(i)), want)
				checked++
			}
			for k := range c.Tensors {
				if strings.HasPrefix(k, "grad/") {
					checked--
				}
			}
			if checked != 0 {
				t.Errorf("%d PyTorch gradients not compared", -checked)
			}
			if c.Layer != "batchnorm" {
				return
			}
			// Running statistics: unchanged by the run, updated by the commit.
			for _, k := range []string{"bn/running_mean", "bn/running_var"} {
				closeTo(t, "before commit "+k, p.CopyFloat64s(k), c.Tensors[k])
			}
			if err := prog.CommitState(); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"bn/running_mean", "bn/running_var"} {
				closeTo(t, k, p.CopyFloat64s(k), c.Tensors["after/"+k])
			}
			eb := NewBuilder(p)
			ex, err := eb.Param("x", shapeOfT(c.Tensors["x"]), nil)
			if err != nil {
				t.Fatal(err)
			}
			ey, err := BatchNorm(eb, "bn", ex)
			if err != nil {
				t.Fatal(err)
			}
			eprog, err := eb.Compile(nil, ey)
			if err != nil {
				t.Fatal(err)
			}
			defer eprog.Close()
			if eprog.NumState() != 0 {
				t.Errorf("evaluation graph updates %d buffers", eprog.NumState())
			}
			if err := eprog.Run(); err != nil {
				t.Fatal(err)
			}
			closeTo(t, "eval y", Float64s(eprog.Output(0)), c.Tensors["eval_y"])
		})
	}
}
