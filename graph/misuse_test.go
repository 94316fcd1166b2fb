package graph

import (
	"math"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/testutil"
)

// The wrong calls a user can make to each exported function of the package
// that can fail: each is an error naming what is wrong, never a panic, and
// leaves the Params as they were.
func TestMisuse(t *testing.T) {
	p := NewParams(tensor.Float64, 1)
	w := tensor.New(tensor.WithShape(2, 2), tensor.WithBacking([]float64{1, 2, 3, 4}))
	if err := p.Add("w", w); err != nil {
		t.Fatal(err)
	}
	before := p.CopyFloat64s("w")
	zero := &Params{}
	node := func(b *Builder, shape ...int) *G.Node {
		n, err := b.Input("in"+strings.Repeat("'", len(b.inputs)), tensor.Shape(shape))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	f32 := tensor.New(tensor.WithShape(2), tensor.WithBacking([]float32{1, 2}))
	for _, tc := range []struct {
		name  string
		call  func() error
		words []string
	}{
		{"Add existing name", func() error { return p.Add("w", NewTensor(tensor.Float64, 2)) }, []string{`"w" already exists`}},
		{"Add empty name", func() error { return p.Add("", NewTensor(tensor.Float64, 2)) }, []string{"name is empty"}},
		{"Add nil tensor", func() error { return p.Add("v", nil) }, []string{`"v"`, "nil tensor"}},
		{"Add other dtype", func() error { return p.Add("v", f32) }, []string{`"v"`, "float32"}},
		{"Add to zero Params", func() error { return zero.Add("v", NewTensor(tensor.Float64, 2)) }, []string{"zero value", "NewParams"}},
		{"Add to int Params", func() error { return NewParams(tensor.Int, 1).Add("v", NewTensor(tensor.Float64, 2)) }, []string{"dtype int"}},
		{"SetFloat64s unknown name", func() error { return p.SetFloat64s("W", []float64{1, 2, 3, 4}) }, []string{`no parameter "W"`, `"w"`}},
		{"SetFloat64s wrong count", func() error { return p.SetFloat64s("w", []float64{1, 2, 3}) }, []string{`"w"`, "(2, 2)", "4 values", "got 3"}},
		{"SetFloat64s NaN", func() error { return p.SetFloat64s("w", []float64{1, math.NaN(), 3, 4}) }, []string{`"w"`, "value 1 is NaN"}},
		{"SetFloat64s overflows float32", func() error {
			q := NewParams(tensor.Float32, 1)
			q.Add("v", f32.Clone().(*tensor.Dense))
			return q.SetFloat64s("v", []float64{1, 1e300})
		}, []string{`"v"`, "overflows float32"}},
		{"SetFloat64s on zero Params", func() error { return zero.SetFloat64s("w", nil) }, []string{"zero value"}},
		{"CopyFrom other shape", func() error {
			q := NewParams(tensor.Float64, 1)
			q.Add("w", NewTensor(tensor.Float64, 4))
			return p.CopyFrom(q)
		}, []string{`"w"`, "(4)", "(2, 2)"}},
		{"CopyFrom nil", func() error { return p.CopyFrom(nil) }, []string{"nil"}},
		{"Compatible zero", func() error { return p.Compatible(zero) }, []string{"zero value"}},
		{"Compatible missing", func() error { return p.Compatible(NewParams(tensor.Float64, 1)) }, []string{`"w" is missing`}},
		{"Param on zero Params", func() error { _, err := NewBuilder(zero).Param("x", tensor.Shape{2}, nil); return err }, []string{"zero value"}},
		{"Param on nil Params", func() error { _, err := NewBuilder(nil).Param("x", tensor.Shape{2}, nil); return err }, []string{"without params"}},
		{"Param other shape", func() error { _, err := NewBuilder(p).Param("w", tensor.Shape{4}, nil); return err }, []string{`"w"`, "(2, 2)", "(4)"}},
		{"Param zero dimension", func() error { _, err := NewBuilder(p).Param("v", tensor.Shape{2, 0}, nil); return err }, []string{`"v"`, "dimension ≤ 0"}},
		{"Input twice", func() error {
			b := NewBuilder(p)
			b.Input("x", tensor.Shape{2})
			_, err := b.Input("x", tensor.Shape{2})
			return err
		}, []string{`input "x" already exists`}},
		{"Feed nil fill", func() error { _, err := NewBuilder(p).Feed("m", tensor.Shape{2}, nil); return err }, []string{`"m"`, "nil fill"}},
		{"Dense units 0", func() error { b := NewBuilder(p); _, err := Dense(b, "d", node(b, 3, 2), 0, nil); return err }, []string{`"d"`, "units = 0"}},
		{"Dense nil input", func() error { _, err := Dense(NewBuilder(p), "d", nil, 2, nil); return err }, []string{`"d"`, "nil input"}},
		{"Dense 3-d input", func() error { b := NewBuilder(p); _, err := Dense(b, "d", node(b, 3, 2, 2), 2, nil); return err }, []string{"Flatten"}},
		{"Conv2D negative pad", func() error {
			b := NewBuilder(p)
			_, err := Conv2D(b, "c", node(b, 1, 1, 8, 8), 2, 3, 1, -1, nil)
			return err
		}, []string{`"c"`, "pad -1"}},
		{"Conv2D 2-d input", func() error { b := NewBuilder(p); _, err := Conv2D(b, "c", node(b, 1, 8), 2, 3, 1, 0, nil); return err }, []string{"(batch, channels, height, width)"}},
		{"MaxPool2D window too big", func() error { b := NewBuilder(p); _, err := MaxPool2D(node(b, 1, 1, 2, 2), 3, 1); return err }, []string{"window 3"}},
		{"Dropout p 1", func() error { b := NewBuilder(p); _, err := Dropout(b, "drop", node(b, 2, 2), 1); return err }, []string{"probability 1"}},
		{"Flatten nil", func() error { _, err := Flatten(nil); return err }, []string{"Flatten"}},
		{"ReLU nil", func() error { _, err := ReLU(nil); return err }, []string{"nil"}},
		{"L2 negative lambda", func() error {
			b := NewBuilder(p)
			b.Param("w", tensor.Shape{2, 2}, nil)
			_, err := L2(b, -1)
			return err
		}, []string{"L2", "lambda -1"}},
		{"L1 unknown parameter", func() error {
			b := NewBuilder(p)
			b.Param("w", tensor.Shape{2, 2}, nil)
			_, err := L1(b, 1, "v")
			return err
		}, []string{"L1", `no parameter "v"`}},
		{"MSE shapes differ", func() error {
			b := NewBuilder(p)
			_, err := MSE(b, node(b, 2, 2), node(b, 2, 3))
			return err
		}, []string{"(2, 2)", "(2, 3)", "differ"}},
		{"SoftmaxCrossEntropy nil target", func() error { b := NewBuilder(p); _, err := SoftmaxCrossEntropy(b, node(b, 2, 2), nil); return err }, []string{"nil output or target"}},
		{"GradCheck float32", func() error {
			_, err := GradCheck(NewParams(tensor.Float32, 1), func(b *Builder) (*G.Node, error) { return nil, nil }, 1e-6)
			return err
		}, []string{"GradCheck", "float64"}},
		{"GradCheck eps 0", func() error {
			_, err := GradCheck(NewParams(tensor.Float64, 1), func(b *Builder) (*G.Node, error) { return nil, nil }, 0)
			return err
		}, []string{"GradCheck", "eps 0"}},
		{"Compile nil loss and no outputs", func() error { _, err := NewBuilder(p).Compile(nil); return err }, []string{"graph"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testutil.Misuse(t, "graph", tc.call, tc.words...)
			if got := p.CopyFloat64s("w"); p.Len() != 1 || !testutil.SameBits(got, before) {
				t.Errorf("the params changed: %v %v", p.Names(), got)
			}
		})
	}
	for _, q := range []*Params{zero, nil} {
		if s := q.String(); strings.Contains(s, "PANIC") || s == "" {
			t.Errorf("String: %q", s)
		}
	}
}
