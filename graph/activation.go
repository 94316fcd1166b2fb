package graph

import (
	"fmt"
	"math"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Elementwise activations, each a fused op whose gradient is one more:
//
//	Tanh       tanh x                          ∂ = 1 − y²
//	Sigmoid    1/(1+e^−x)                      ∂ = y(1 − y)
//	LeakyReLU  x if x > 0 else αx              ∂ = 1 or α
//	ELU        x if x > 0 else α(e^x − 1)      ∂ = 1 or αe^x
//	GELU       x·Φ(x) = x/2·(1 + erf(x/√2))    ∂ = Φ(x) + x·φ(x)
//	SiLU       x·σ(x)                          ∂ = σ(x)(1 + x(1 − σ(x)))
//	Softplus   log(1 + e^x), x above 20        ∂ = σ(x), 1 above 20
//
// as PyTorch defines them (GELU in its exact erf form, Softplus with beta 1
// and threshold 20).

type actKind uint8

const (
	actTanh actKind = iota
	actSigmoid
	actLeaky
	actELU
	actGELU
	actSiLU
	actSoftplus
)

var actNames = [...]string{"Tanh", "Sigmoid", "LeakyReLU", "ELU", "GELU", "SiLU", "Softplus"}

// actOp is y = f(x).
type actOp struct {
	noIDs
	kind  actKind
	alpha float64
	dims  int
}

// actGradOp is (x, y, g) ↦ g·f'(x).
type actGradOp struct{ actOp }

func (k actOp) String() string {
	return fmt.Sprintf("%s{%v,%d}", actNames[k.kind], k.alpha, k.dims)
}
func (k actOp) arity() int                                    { return 1 }
func (k actOp) typ() hm.Type                                  { return fnType(k.dims, k.dims) }
func (k actOp) shape(in []tensor.Shape) (tensor.Shape, error) { return in[0].Clone(), nil }
func (k actOp) diff() []bool                                  { return []bool{true} }
func (k actOp) grad(in G.Nodes, out, g *G.Node) (G.Nodes, error) {
	d, err := apply(actGradOp{k}, in[0], out, g)
	return G.Nodes{d}, err
}

func (k actOp) run(dst *tensor.Dense, in []G.Value) error {
	x := arg(in, 0)
	if err := sizes(in, dst.Shape().TotalSize()); err != nil {
		return err
	}
	if dst.Dtype() == tensor.Float64 {
		activate(k.kind, k.alpha, x.Float64s(), dst.Float64s())
	} else {
		activate(k.kind, k.alpha, x.Float32s(), dst.Float32s())
	}
	return nil
}

func (k actGradOp) String() string { return "∂" + k.actOp.String() }
func (k actGradOp) arity() int     { return 3 }
func (k actGradOp) typ() hm.Type   { return fnType(k.dims, k.dims, k.dims, k.dims) }
func (k actGradOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	return sameShapes(in)
}
func (k actGradOp) diff() []bool { return []bool{false, false, false} }
func (k actGradOp) grad(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.Errorf("%v: second derivatives are not implemented", k)
}

func (k actGradOp) run(dst *tensor.Dense, in []G.Value) error {
	n := dst.Shape().TotalSize()
	if err := sizes(in, n, n, n); err != nil {
		return err
	}
	if dst.Dtype() == tensor.Float64 {
		activateGrad(k.kind, k.alpha, arg(in, 0).Float64s(), arg(in, 1).Float64s(), arg(in, 2).Float64s(), dst.Float64s())
	} else {
		activateGrad(k.kind, k.alpha, arg(in, 0).Float32s(), arg(in, 1).Float32s(), arg(in, 2).Float32s(), dst.Float32s())
	}
	return nil
}

const softplusThreshold = 20

func activate[T float](kind actKind, alpha float64, x, y []T) {
	y = y[:len(x)]
	switch kind {
	case actTanh:
		for i, v := range x {
			y[i] = T(math.Tanh(float64(v)))
		}
	case actSigmoid:
		for i, v := range x {
			y[i] = T(sigmoid(float64(v)))
		}
	case actLeaky:
		a := T(alpha)
		for i, v := range x {
			if v > 0 {
				y[i] = v
			} else {
				y[i] = v * a
			}
		}
	case actELU:
		for i, v := range x {
			if v > 0 {
				y[i] = v
			} else {
				y[i] = T(alpha * math.Expm1(float64(v)))
			}
		}
	case actGELU:
		for i, v := range x {
			z := float64(v)
			y[i] = T(0.5 * z * (1 + math.Erf(z/math.Sqrt2)))
		}
	case actSiLU:
		for i, v := range x {
			z := float64(v)
			y[i] = T(z * sigmoid(z))
		}
	case actSoftplus:
		for i, v := range x {
			if z := float64(v); z > softplusThreshold {
				y[i] = v
			} else {
				y[i] = T(math.Log1p(math.Exp(z)))
			}
		}
	}
}

func activateGrad[T float](kind actKind, alpha float64, x, y, g, dx []T) {
	y, g, dx = y[:len(x)], g[:len(x)], dx[:len(x)]
	switch kind {
	case actTanh:
		for i, v := range y {
			dx[i] = g[i] * (1 - v*v)
		}
	case actSigmoid:
		for i, v := range y {
			dx[i] = g[i] * (v * (1 - v))
		}
	case actLeaky:
		a := T(alpha)
		for i, v := range x {
			if v > 0 {
				dx[i] = g[i]
			} else {
				dx[i] = g[i] * a
			}
		}
	case actELU:
		for i, v := range x {
			if v > 0 {
				dx[i] = g[i]
			} else {
				dx[i] = T(float64(g[i]) * alpha * math.Exp(float64(v)))
			}
		}
	case actGELU:
		const invSqrt2Pi = 0.3989422804014327 // 1/√(2π)
		for i, v := range x {
			z := float64(v)
			cdf := 0.5 * (1 + math.Erf(z/math.Sqrt2))
			dx[i] = T(float64(g[i]) * (cdf + z*invSqrt2Pi*math.Exp(-0.5*z*z)))
		}
	case actSiLU:
		for i, v := range x {
			z := float64(v)
			s := sigmoid(z)
			dx[i] = T(float64(g[i]) * s * (1 + z*(1-s)))
		}
	case actSoftplus:
		for i, v := range x {
			if z := float64(v); z > softplusThreshold {
				dx[i] = g[i]
			} else {
				dx[i] = T(float64(g[i]) * sigmoid(z))
			}
		}
	}
}

// actLayer is the activation of kind: the fused op, or, for what it does not
// handle (a scalar, another dtype), gorgonia's fallback (nil: none).
func actLayer(kind actKind, alpha float64, fallback func(*G.Node) (*G.Node, error)) Activation {
	return func(x *G.Node) (*G.Node, error) {
		return activation(actNames[kind], x, func(x *G.Node) (*G.Node, error) {
			if x.IsScalar() || (x.Dtype() != tensor.Float32 && x.Dtype() != tensor.Float64) {
				if fallback == nil {
					return nil, errors.Errorf("want a float32 or float64 tensor, got %v %v", x.Dtype(), x.Shape())
				}
				return fallback(x)
			}
			return apply(actOp{kind: kind, alpha: alpha, dims: x.Dims()}, x)
		})
	}
}

// ELU is x for x > 0 and alpha·(e^x − 1) otherwise (PyTorch's default alpha
// is 1).
func ELU(alpha float64) Activation { return actLayer(actELU, alpha, nil) }

// GELU is x·Φ(x), Φ the standard normal CDF, in its exact erf form (PyTorch's
// default, not the tanh approximation).
func GELU(x *G.Node) (*G.Node, error) { return actLayer(actGELU, 0, nil)(x) }

// SiLU (swish) is x·sigmoid(x).
func SiLU(x *G.Node) (*G.Node, error) { return actLayer(actSiLU, 0, nil)(x) }

// Swish is SiLU.
func Swish(x *G.Node) (*G.Node, error) { return SiLU(x) }

// Softplus is log(1 + e^x), computed as x itself above 20 (PyTorch's
// threshold), where the two agree to float64 precision.
func Softplus(x *G.Node) (*G.Node, error) { return actLayer(actSoftplus, 0, nil)(x) }
