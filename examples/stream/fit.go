package main

import (
	"context"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/models"
	"github.com/descent-go/descent/trainers"
)

// fit trains the MLP 784-128-10 with mini-batch SGD on train and returns the
// examples trained on and the first and last epochs' mean training loss.
func fit(ctx context.Context, train datasets.Source, o options) (examples int, first, final float64, err error) {
	model := models.MLP{Hidden: []int{128}, Outputs: 10}
	params := graph.NewParams(tensor.Float32, o.seed) // Fit fills empty Params
	tr := trainers.MiniBatchSGD{
		BatchSize: o.batch,
		Config: trainers.Config{
			Epochs:    o.epochs,
			Loss:      graph.SoftmaxCrossEntropy,
			Optimizer: trainers.SGD{LR: o.lr, Momentum: 0.9},
			Seed:      o.seed,
		},
	}
	hist, err := tr.Fit(ctx, model, params, train)
	if err != nil {
		return 0, 0, 0, err
	}
	return int(hist.Last().Examples), hist.Epochs[0].TrainLoss, hist.Last().TrainLoss, nil
}
