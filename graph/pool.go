package graph

import (
	"fmt"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// AvgPool2D averages size×size windows of an NCHW input, moving by stride,
// without padding: PyTorch's AvgPool2d(size, stride). The output is
// (batch, channels, (H − size)/stride + 1, (W − size)/stride + 1).
func AvgPool2D(x *G.Node, size, stride int) (*G.Node, error) {
	what := describe("AvgPool2D", "", x)
	if x == nil {
		return nil, errors.New(what)
	}
	if x.Dims() != 4 || (x.Dtype() != tensor.Float32 && x.Dtype() != tensor.Float64) {
		return nil, errors.Errorf("%s: want a float (batch, channels, height, width) input", what)
	}
	if size <= 0 || stride <= 0 || x.Shape()[2] < size || x.Shape()[3] < size {
		return nil, errors.Errorf("%s: window %d, stride %d do not fit", what, size, stride)
	}
	return guard(what, func() (*G.Node, error) { return apply(poolOp{size: size, stride: stride}, x) })
}

// GlobalAvgPool2D averages each channel of an NCHW input over its whole
// height and width: (batch, channels, H, W) → (batch, channels), PyTorch's
// AdaptiveAvgPool2d(1) then flatten.
func GlobalAvgPool2D(x *G.Node) (*G.Node, error) {
	what := describe("GlobalAvgPool2D", "", x)
	if x == nil {
		return nil, errors.New(what)
	}
	if x.Dims() != 4 || (x.Dtype() != tensor.Float32 && x.Dtype() != tensor.Float64) {
		return nil, errors.Errorf("%s: want a float (batch, channels, height, width) input", what)
	}
	return guard(what, func() (*G.Node, error) { return apply(poolOp{global: true}, x) })
}

// poolOp averages windows of an NCHW input (global: the whole plane, with a
// (N, C) result); poolGradOp spreads the gradient g/size² back over each
// window, for an input of height h and width w.
type poolOp struct {
	noIDs
	size, stride int
	global       bool
}

type poolGradOp struct {
	poolOp
	h, w int
}

func (k poolOp) String() string { return fmt.Sprintf("AvgPool{%d,%d,%v}", k.size, k.stride, k.global) }
func (k poolOp) arity() int     { return 1 }
func (k poolOp) typ() hm.Type {
	if k.global {
		return fnType(2, 4)
	}
	return fnType(4, 4)
}

// window is the window size and stride over an h×w plane.
func (k poolOp) window(h, w int) (sh, sw, stride int) {
	if k.global {
		return h, w, 1
	}
	return k.size, k.size, k.stride
}

func (k poolOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	oh, ow, err := k.out(in[0])
	if err != nil {
		return nil, err
	}
	if k.global {
		return tensor.Shape{in[0][0], in[0][1]}, nil
	}
	return tensor.Shape{in[0][0], in[0][1], oh, ow}, nil
}

// out is the output height and width for an input of shape s.
func (k poolOp) out(s tensor.Shape) (oh, ow int, err error) {
	if len(s) != 4 {
		return 0, 0, errors.Errorf("input shape %v: want (batch, channels, height, width)", s)
	}
	sh, sw, st := k.window(s[2], s[3])
	if s[2] < sh || s[3] < sw || st <= 0 {
		return 0, 0, errors.Errorf("input shape %v: window %d, stride %d do not fit", s, k.size, k.stride)
	}
	return (s[2]-sh)/st + 1, (s[3]-sw)/st + 1, nil
}
func (k poolOp) diff() []bool { return []bool{true} }
func (k poolOp) grad(in G.Nodes, _, g *G.Node) (G.Nodes, error) {
	s := in[0].Shape()
	d, err := apply(poolGradOp{poolOp: k, h: s[2], w: s[3]}, g)
	return G.Nodes{d}, err
}

func (k poolOp) run(dst *tensor.Dense, in []G.Value) error {
	s := arg(in, 0).Shape()
	oh, ow, err := k.out(s)
	if err != nil {
		return err
	}
	if dst.Shape().TotalSize() != s[0]*s[1]*oh*ow {
		return errors.Errorf("result of %d values for input %v", dst.Shape().TotalSize(), s)
	}
	sh, sw, st := k.window(s[2], s[3])
	if dst.Dtype() == tensor.Float64 {
		avgPool(arg(in, 0).Float64s(), dst.Float64s(), s[0]*s[1], s[2], s[3], sh, sw, st, false)
	} else {
		avgPool(arg(in, 0).Float32s(), dst.Float32s(), s[0]*s[1], s[2], s[3], sh, sw, st, false)
	}
	return nil
}

func (k poolGradOp) String() string { return fmt.Sprintf("∂%v{%d,%d}", k.poolOp, k.h, k.w) }
func (k poolGradOp) typ() hm.Type {
	if k.global {
		return fnType(4, 2)
	}
	return fnType(4, 4)
}
func (k poolGradOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	return tensor.Shape{in[0][0], in[0][1], k.h, k.w}, nil
}
func (k poolGradOp) diff() []bool { return []bool{false} }
func (k poolGradOp) grad(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.Errorf("%v: second derivatives are not implemented", k)
}
func (k poolGradOp) run(dst *tensor.Dense, in []G.Value) error {
	s := dst.Shape()
	oh, ow, err := k.out(s)
	if err != nil {
		return err
	}
	if err := sizes(in, s[0]*s[1]*oh*ow); err != nil {
		return err
	}
	sh, sw, st := k.window(k.h, k.w)
	if dst.Dtype() == tensor.Float64 {
		avgPool(dst.Float64s(), arg(in, 0).Float64s(), s[0]*s[1], k.h, k.w, sh, sw, st, true)
	} else {
		avgPool(dst.Float32s(), arg(in, 0).Float32s(), s[0]*s[1], k.h, k.w, sh, sw, st, true)
	}
	return nil
}

// avgPool averages the sh×sw windows of planes of h×w values of x into y;
// back instead spreads each y/(sh·sw) over its window of x (zeroed first).
func avgPool[T float](x, y []T, planes, h, w, sh, sw, stride int, back bool) {
	oh, ow := (h-sh)/stride+1, (w-sw)/stride+1
	inv := 1 / float64(sh*sw)
	if back {
		for i := range x[:planes*h*w] {
			x[i] = 0
		}
	}
	for p := 0; p < planes; p++ {
		xp, yp := x[p*h*w:(p+1)*h*w], y[p*oh*ow:(p+1)*oh*ow]
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				r0, c0 := i*stride, j*stride
				if back {
					g := T(float64(yp[i*ow+j]) * inv)
					for r := r0; r < r0+sh; r++ {
						row := xp[r*w+c0 : r*w+c0+sw]
						for c := range row {
							row[c] += g
						}
					}
					continue
				}
				var sum float64
				for r := r0; r < r0+sh; r++ {
					for _, v := range xp[r*w+c0 : r*w+c0+sw] {
						sum += float64(v)
					}
				}
				yp[i*ow+j] = T(sum * inv)
			}
		}
	}
}
