package models

import (
	"fmt"
	"strings"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/progcache"
)

// Summary describes a model like Keras' model.summary(): its input and
// output shapes and its parameters, grouped by layer (the part of a
// parameter's name before its last "/": "hidden1/W" and "hidden1/b" are
// layer "hidden1"), with their shapes and counts.
type Summary struct {
	Input, Output tensor.Shape // one example's
	Layers        []LayerSummary
	Total         int // parameters (scalars)
}

// LayerSummary is one group of parameters.
type LayerSummary struct {
	Name   string
	Params []ParamSummary
	Count  int // scalars in the group
}

// ParamSummary is one parameter tensor.
type ParamSummary struct {
	Name  string
	Shape tensor.Shape
	Count int
}

// Summarize builds m once for inputs of one example's shape xShape, in a
// fresh Params of dtype dt, and describes it. It does not need (or change)
// trained weights.
func Summarize(m Model, xShape tensor.Shape, dt tensor.Dtype) (Summary, error) {
	if m == nil {
		return Summary{}, errors.New("models: Summarize: no model")
	}
	if dt != tensor.Float64 && dt != tensor.Float32 {
		return Summary{}, errors.Errorf("models: Summarize: dtype %v, want float32 or float64", dt)
	}
	p := graph.NewParams(dt, 0)
	c, err := progcache.New(progcache.Spec{Forward: m.Forward, Params: p, X: xShape, Create: true}).Get(1)
	if err != nil {
		return Summary{}, errors.Wrapf(err, "models: Summarize for example shape %v", xShape)
	}
	defer c.Close()
	s := Summary{Input: xShape.Clone(), Output: c.Out[1:].Clone()}
	index := map[string]int{}
	for _, name := range p.Names() {
		t := p.Value(name)
		ps := ParamSummary{Name: name, Shape: t.Shape().Clone(), Count: t.Shape().TotalSize()}
		layer := ""
		if i := strings.LastIndex(name, "/"); i >= 0 {
			layer = name[:i]
		}
		i, ok := index[layer]
		if !ok {
			i = len(s.Layers)
			index[layer] = i
			s.Layers = append(s.Layers, LayerSummary{Name: layer})
		}
		s.Layers[i].Params = append(s.Layers[i].Params, ps)
		s.Layers[i].Count += ps.Count
		s.Total += ps.Count
	}
	return s, nil
}

// String prints the summary as a table.
func (s Summary) String() string {
	var b strings.Builder
	line := strings.Repeat("─", 56) + "\n"
	fmt.Fprintf(&b, "input %v → output %v\n", s.Input, s.Output)
	b.WriteString(line)
	fmt.Fprintf(&b, "%-20s %-22s %12s\n", "layer / parameter", "shape", "parameters")
	b.WriteString(line)
	for _, l := range s.Layers {
		fmt.Fprintf(&b, "%-20s %-22s %12d\n", orStr(l.Name, "(top)"), "", l.Count)
		for _, p := range l.Params {
			fmt.Fprintf(&b, "  %-18s %-22s %12d\n", strings.TrimPrefix(p.Name, l.Name+"/"), fmt.Sprint(p.Shape), p.Count)
		}
	}
	b.WriteString(line)
	fmt.Fprintf(&b, "%-43s %12d\n", "total parameters", s.Total)
	return b.String()
}

func orStr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
