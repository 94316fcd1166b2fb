package trainers

import "github.com/pkg/errors"

// The optimizers' fields mean what they say, zero included: Adam{Beta1: 0}
// runs without momentum. These constructors give the usual values of the
// papers and of PyTorch, for the fields a caller does not want to choose.

// NewAdam returns Adam at learning rate lr with Beta1 0.9, Beta2 0.999 and
// Eps 1e-8.
func NewAdam(lr float64) Adam { return Adam{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8} }

// NewAdamW returns AdamW at learning rate lr with decoupled weight decay wd,
// Beta1 0.9, Beta2 0.999 and Eps 1e-8.
func NewAdamW(lr, wd float64) AdamW {
	return AdamW{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: wd}
}

// NewRMSProp returns RMSProp at learning rate lr with Rho 0.9 and Eps 1e-8.
func NewRMSProp(lr float64) RMSProp { return RMSProp{LR: lr, Rho: 0.9, Eps: 1e-8} }

// NewAdaGrad returns AdaGrad at learning rate lr with Eps 1e-10.
func NewAdaGrad(lr float64) AdaGrad { return AdaGrad{LR: lr, Eps: 1e-10} }

// positiveEps checks an optimizer's Eps, pointing a zero one, the likely
// sign of a struct literal that expected defaults, to the constructor.
func positiveEps(opt string, eps float64) error {
	if eps == 0 {
		return errors.Errorf("trainers: %s: Eps = 0, want a finite value > 0 (fields are never defaulted: New%s gives the usual values)", opt, opt)
	}
	return positive(opt, "Eps", eps)
}
