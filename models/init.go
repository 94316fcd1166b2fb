package models

import (
	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/progcache"
)

// Init creates m's parameters in empty Params p, as training would on its
// first step, by building the model once for inputs of one example's shape
// xShape. Use it before loading a checkpoint into a fresh Params, or to count
// parameters. Params that already hold parameters are never changed: Init
// then only checks that they are exactly the model's, and an error names the
// missing and unexpected ones.
func Init(m Model, p *graph.Params, xShape tensor.Shape) error {
	if m == nil {
		return errors.New("models: Init: no model")
	}
	if err := p.Validate(); err != nil {
		return errors.Wrap(err, "models: Init")
	}
	c, err := progcache.New(progcache.Spec{Forward: m.Forward, Params: p, X: xShape, Create: true}).Get(1)
	if err != nil {
		return errors.Wrapf(err, "models: Init for example shape %v", xShape)
	}
	return c.Close()
}
