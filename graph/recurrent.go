package graph

import (
	"fmt"
	"math"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// LSTM runs a long short-term memory layer of hidden units over x of shape
// (batch, steps, features), unrolled over the steps, from a zero hidden and
// cell state. It returns the hidden state of every step (batch, steps,
// hidden) if sequences, else that of the last step (batch, hidden).
//
// It computes PyTorch's nn.LSTM (one layer, batch_first) with the gates in
// its order — input, forget, cell, output:
//
//	i, f, g, o = σ, σ, tanh, σ of  x_t·W_ih + h_{t−1}·W_hh + b  (4 blocks of hidden)
//	c_t = f·c_{t−1} + i·g       h_t = o·tanh(c_t)
//
// with W_ih name+"/w_ih" (features, 4·hidden), W_hh name+"/w_hh" (hidden,
// 4·hidden) — PyTorch's weight_ih_l0 and weight_hh_l0 transposed — and b
// name+"/b" (4·hidden), PyTorch's bias_ih_l0 + bias_hh_l0. init (nil:
// PyTorch's U(−1/√hidden, 1/√hidden)) fills all three.
//
// The input projection of every step is one matrix product; the recurrence
// is one fused op whose gradient is backpropagation through time in closed
// form.
func LSTM(b *Builder, name string, x *G.Node, hidden int, sequences bool, init Initializer) (*G.Node, error) {
	what := describe("LSTM", name, x)
	if x == nil {
		return nil, errors.New(what)
	}
	if err := b.check(); err != nil {
		return nil, errors.Wrap(err, what)
	}
	if x.Dims() != 3 || x.Dtype() != b.Dtype() {
		return nil, errors.Errorf("%s: want a (batch, steps, features) input of dtype %v", what, b.Dtype())
	}
	if hidden <= 0 {
		return nil, errors.Errorf("%s: hidden = %d, want > 0", what, hidden)
	}
	if init == nil {
		a := 1 / math.Sqrt(float64(hidden))
		init = Uniform(-a, a)
	}
	s := x.Shape()
	n, steps, in := s[0], s[1], s[2]
	wih, err := b.Param(name+"/w_ih", tensor.Shape{in, 4 * hidden}, init)
	if err != nil {
		return nil, errors.Wrap(err, what)
	}
	whh, err := b.Param(name+"/w_hh", tensor.Shape{hidden, 4 * hidden}, init)
	if err != nil {
		return nil, errors.Wrap(err, what)
	}
	bias, err := b.Param(name+"/b", tensor.Shape{4 * hidden}, init)
	if err != nil {
		return nil, errors.Wrap(err, what)
	}
	return guard(what, func() (*G.Node, error) {
		flat, err := G.Reshape(x, tensor.Shape{n * steps, in})
		if err != nil {
			return nil, err
		}
		xw, err := G.Mul(flat, wih)
		if err != nil {
			return nil, err
		}
		if xw, err = addBias(xw, bias, 1); err != nil {
			return nil, err
		}
		if xw, err = G.Reshape(xw, tensor.Shape{n, steps, 4 * hidden}); err != nil {
			return nil, err
		}
		states, err := apply(lstmOp{hidden: hidden}, xw, whh)
		if err != nil {
			return nil, err
		}
		return apply(lstmOutOp{hidden: hidden, last: !sequences}, states)
	})
}

// The LSTM ops. lstm(xw, W_hh) runs the recurrence over the input
// projections xw (N, T, 4H) and returns every step's state (N, T, 6H): the
// activated gates i, f, g, o, then c and h. lstmOut picks the hidden states
// out of it. The gradients:
//
//	lstmBack(states, W_hh, gStates)  = ∂xw (N, T, 4H), the gradient of the
//	                                   gates' pre-activations, through time
//	lstmWhhGrad(states, ∂xw)         = Σ_t h_{t−1}ᵀ·∂xw_t (H, 4H)
//	lstmOutGrad(g)                   = g in the h slots of a zero (N, T, 6H)
type lstmOp struct {
	noIDs
	hidden int
}

type lstmBackOp struct{ lstmOp }
type lstmWhhGradOp struct{ lstmOp }

type lstmOutOp struct {
	noIDs
	hidden int
	last   bool
}

type lstmOutGradOp struct {
	lstmOutOp
	steps int
}

func (k lstmOp) String() string { return fmt.Sprintf("LSTM{%d}", k.hidden) }
func (k lstmOp) arity() int     { return 2 }
func (k lstmOp) typ() hm.Type   { return fnType(3, 3, 2) }
func (k lstmOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	h := k.hidden
	if len(in[0]) != 3 || in[0][2] != 4*h || !SameShape(in[1], tensor.Shape{h, 4 * h}) {
		return nil, errors.Errorf("input shapes %v, want (batch, steps, %d) and (%d, %d)", in, 4*h, h, 4*h)
	}
	return tensor.Shape{in[0][0], in[0][1], 6 * h}, nil
}
func (k lstmOp) diff() []bool { return []bool{true, true} }
func (k lstmOp) grad(in G.Nodes, out, g *G.Node) (G.Nodes, error) {
	dxw, err := apply(lstmBackOp{k}, out, in[1], g)
	if err != nil {
		return nil, err
	}
	dwhh, err := apply(lstmWhhGradOp{k}, out, dxw)
	return G.Nodes{dxw, dwhh}, err
}

// dims returns N and T of a (N, T, ·) input i after checking the sizes of
// every input against units per (n, t) (0: W_hh, -1: any).
func (k lstmOp) dims(in []G.Value, i int, units ...int) (n, t int, err error) {
	s := arg(in, i).Shape()
	if len(s) != 3 {
		return 0, 0, errors.Errorf("input %d has shape %v, want (batch, steps, ·)", i, s)
	}
	for j, u := range units {
		want := -1
		switch {
		case u == 0:
			want = 4 * k.hidden * k.hidden
		case u > 0:
			want = s[0] * s[1] * u
		}
		if err := size(in, j, want); err != nil {
			return 0, 0, err
		}
	}
	return s[0], s[1], nil
}

func (k lstmOp) run(dst *tensor.Dense, in []G.Value) error {
	n, t, err := k.dims(in, 0, 4*k.hidden, 0)
	if err != nil {
		return err
	}
	if dst.Dtype() == tensor.Float64 {
		lstmForward(arg(in, 0).Float64s(), arg(in, 1).Float64s(), dst.Float64s(), n, t, k.hidden)
	} else {
		lstmForward(arg(in, 0).Float32s(), arg(in, 1).Float32s(), dst.Float32s(), n, t, k.hidden)
	}
	return nil
}

func (k lstmBackOp) String() string { return "∂" + k.lstmOp.String() }
func (k lstmBackOp) arity() int     { return 3 }
func (k lstmBackOp) typ() hm.Type   { return fnType(3, 3, 2, 3) }
func (k lstmBackOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	return tensor.Shape{in[0][0], in[0][1], 4 * k.hidden}, nil
}
func (k lstmBackOp) diff() []bool { return []bool{false, false, false} }
func (k lstmBackOp) grad(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.Errorf("%v: second derivatives are not implemented", k)
}
func (k lstmBackOp) run(dst *tensor.Dense, in []G.Value) error {
	n, t, err := k.dims(in, 0, 6*k.hidden, 0, 6*k.hidden)
	if err != nil {
		return err
	}
	if dst.Dtype() == tensor.Float64 {
		lstmBackward(arg(in, 0).Float64s(), arg(in, 1).Float64s(), arg(in, 2).Float64s(), dst.Float64s(), n, t, k.hidden)
	} else {
		lstmBackward(arg(in, 0).Float32s(), arg(in, 1).Float32s(), arg(in, 2).Float32s(), dst.Float32s(), n, t, k.hidden)
	}
	return nil
}

func (k lstmWhhGradOp) String() string { return "∂W" + k.lstmOp.String() }
func (k lstmWhhGradOp) typ() hm.Type   { return fnType(2, 3, 3) }
func (k lstmWhhGradOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	return tensor.Shape{k.hidden, 4 * k.hidden}, nil
}
func (k lstmWhhGradOp) diff() []bool { return []bool{false, false} }
func (k lstmWhhGradOp) grad(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.Errorf("%v: second derivatives are not implemented", k)
}
func (k lstmWhhGradOp) run(dst *tensor.Dense, in []G.Value) error {
	n, t, err := k.dims(in, 0, 6*k.hidden, 4*k.hidden)
	if err != nil {
		return err
	}
	if dst.Dtype() == tensor.Float64 {
		lstmWhhGrad(arg(in, 0).Float64s(), arg(in, 1).Float64s(), dst.Float64s(), n, t, k.hidden)
	} else {
		lstmWhhGrad(arg(in, 0).Float32s(), arg(in, 1).Float32s(), dst.Float32s(), n, t, k.hidden)
	}
	return nil
}

func (k lstmOutOp) String() string { return fmt.Sprintf("LSTMOut{%d,%v}", k.hidden, k.last) }
func (k lstmOutOp) arity() int     { return 1 }
func (k lstmOutOp) typ() hm.Type {
	if k.last {
		return fnType(2, 3)
	}
	return fnType(3, 3)
}
func (k lstmOutOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	s := in[0]
	if len(s) != 3 || s[2] != 6*k.hidden {
		return nil, errors.Errorf("states shape %v, want (batch, steps, %d)", s, 6*k.hidden)
	}
	if k.last {
		return tensor.Shape{s[0], k.hidden}, nil
	}
	return tensor.Shape{s[0], s[1], k.hidden}, nil
}
func (k lstmOutOp) diff() []bool { return []bool{true} }
func (k lstmOutOp) grad(in G.Nodes, _, g *G.Node) (G.Nodes, error) {
	d, err := apply(lstmOutGradOp{lstmOutOp: k, steps: in[0].Shape()[1]}, g)
	return G.Nodes{d}, err
}
func (k lstmOutOp) run(dst *tensor.Dense, in []G.Value) error {
	s := arg(in, 0).Shape()
	want := s[0] * k.hidden
	if !k.last {
		want *= s[1]
	}
	if len(s) != 3 || s[2] != 6*k.hidden || dst.Shape().TotalSize() != want {
		return errors.Errorf("states shape %v, result %v", s, dst.Shape())
	}
	if dst.Dtype() == tensor.Float64 {
		lstmHidden(arg(in, 0).Float64s(), dst.Float64s(), s[0], s[1], k.hidden, k.last, false)
	} else {
		lstmHidden(arg(in, 0).Float32s(), dst.Float32s(), s[0], s[1], k.hidden, k.last, false)
	}
	return nil
}

func (k lstmOutGradOp) String() string { return fmt.Sprintf("∂%v{%d}", k.lstmOutOp, k.steps) }
func (k lstmOutGradOp) typ() hm.Type {
	if k.last {
		return fnType(3, 2)
	}
	return fnType(3, 3)
}
func (k lstmOutGradOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	return tensor.Shape{in[0][0], k.steps, 6 * k.hidden}, nil
}
func (k lstmOutGradOp) diff() []bool { return []bool{false} }
func (k lstmOutGradOp) grad(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.Errorf("%v: second derivatives are not implemented", k)
}
func (k lstmOutGradOp) run(dst *tensor.Dense, in []G.Value) error {
	s := dst.Shape()
	want := s[0] * k.hidden
	if !k.last {
		want *= s[1]
	}
	if err := sizes(in, want); err != nil {
		return err
	}
	if dst.Dtype() == tensor.Float64 {
		lstmHidden(dst.Float64s(), arg(in, 0).Float64s(), s[0], s[1], k.hidden, k.last, true)
	} else {
		lstmHidden(dst.Float32s(), arg(in, 0).Float32s(), s[0], s[1], k.hidden, k.last, true)
	}
	return nil
}

func sigm[T float](v T) T { return T(sigmoid(float64(v))) }

// lstmForward runs the recurrence: states[n, t] = i f g o c h.
func lstmForward[T float](xw, whh, st []T, n, steps, h int) {
	g4, s6 := 4*h, 6*h
	for b := 0; b < n; b++ {
		for t := 0; t < steps; t++ {
			s := st[(b*steps+t)*s6 : (b*steps+t+1)*s6]
			pre := s[:g4]
			copy(pre, xw[(b*steps+t)*g4:(b*steps+t+1)*g4])
			var cprev []T
			if t > 0 {
				prev := st[(b*steps+t-1)*s6 : (b*steps+t)*s6]
				cprev = prev[4*h : 5*h]
				for k, hk := range prev[5*h : 6*h] {
					if hk == 0 {
						continue
					}
					w := whh[k*g4 : (k+1)*g4]
					for m := range pre {
						pre[m] += hk * w[m]
					}
				}
			}
			c, hs := s[4*h:5*h], s[5*h:6*h]
			for j := 0; j < h; j++ {
				i, f := sigm(pre[j]), sigm(pre[h+j])
				g, o := T(math.Tanh(float64(pre[2*h+j]))), sigm(pre[3*h+j])
				pre[j], pre[h+j], pre[2*h+j], pre[3*h+j] = i, f, g, o
				cj := i * g
				if cprev != nil {
					cj += f * cprev[j]
				}
				c[j] = cj
				hs[j] = o * T(math.Tanh(float64(cj)))
			}
		}
	}
}

// lstmBackward computes the gradient of the gates' pre-activations into d,
// from the last step to the first. While step t is computed, the slots of
// step t−1 hold the gradients carried to it: ∂h_{t−1} in the first H values
// and ∂c_{t−1} in the next H, each read before its slot is overwritten.
func lstmBackward[T float](st, whh, gs, d []T, n, steps, h int) {
	g4, s6 := 4*h, 6*h
	for t := steps - 1; t >= 0; t-- {
		for b := 0; b < n; b++ {
			at := b*steps + t
			s, gst, dt := st[at*s6:(at+1)*s6], gs[at*s6:(at+1)*s6], d[at*g4:(at+1)*g4]
			var cprev, dprev []T
			if t > 0 {
				cprev = st[(at-1)*s6+4*h : (at-1)*s6+5*h]
				dprev = d[(at-1)*g4 : at*g4]
			}
			for j := 0; j < h; j++ {
				i, f, g, o, c := s[j], s[h+j], s[2*h+j], s[3*h+j], s[4*h+j]
				dh, dc := gst[5*h+j], gst[4*h+j]
				if t < steps-1 {
					dh += dt[j]
					dc += dt[h+j]
				}
				tc := T(math.Tanh(float64(c)))
				do := dh*tc + gst[3*h+j]
				dc += dh * o * (1 - tc*tc)
				di, dg := dc*g+gst[j], dc*i+gst[2*h+j]
				df := gst[h+j]
				if cprev != nil {
					df += dc * cprev[j]
					dprev[h+j] = dc * f
				}
				dt[j], dt[h+j], dt[2*h+j], dt[3*h+j] = di*i*(1-i), df*f*(1-f), dg*(1-g*g), do*o*(1-o)
			}
			if dprev != nil {
				// ∂h_{t−1} = ∂pre_t·W_hhᵀ
				for k := 0; k < h; k++ {
					w := whh[k*g4 : (k+1)*g4]
					var sum T
					for m, v := range dt {
						sum += v * w[m]
					}
					dprev[k] = sum
				}
			}
		}
	}
}

// lstmWhhGrad is Σ_{n, t ≥ 1} h_{t−1}ᵀ·∂pre_t.
func lstmWhhGrad[T float](st, d, dw []T, n, steps, h int) {
	g4, s6 := 4*h, 6*h
	dw = dw[:h*g4]
	for i := range dw {
		dw[i] = 0
	}
	for b := 0; b < n; b++ {
		for t := 1; t < steps; t++ {
			hp := st[(b*steps+t-1)*s6+5*h : (b*steps+t-1)*s6+6*h]
			dt := d[(b*steps+t)*g4 : (b*steps+t+1)*g4]
			for k, hk := range hp {
				row := dw[k*g4 : (k+1)*g4]
				for m, v := range dt {
					row[m] += hk * v
				}
			}
		}
	}
}

// lstmHidden copies the hidden states (of the last step, if last) out of
// the states into out, or, back, zeroes the states and copies out into
// their hidden slots.
func lstmHidden[T float](st, out []T, n, steps, h int, last, back bool) {
	s6 := 6 * h
	if back {
		for i := range st[:n*steps*s6] {
			st[i] = 0
		}
	}
	for b := 0; b < n; b++ {
		for t := 0; t < steps; t++ {
			if last && t != steps-1 {
				continue
			}
			hs := st[(b*steps+t)*s6+5*h : (b*steps+t+1)*s6]
			row := b*steps + t
			if last {
				row = b
			}
			o := out[row*h : (row+1)*h]
			if back {
				copy(hs, o)
			} else {
				copy(o, hs)
			}
		}
	}
}
