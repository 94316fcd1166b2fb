// Command custom shows how to write a model by hand: ResMLP, a small
// residual network whose Forward calls graph.Dense and graph.ReLU and adds
// its skip connections with gorgonia.Add directly on the Builder's nodes.
// Nothing about it is registered anywhere: any type with a Forward method is
// a model, and every trainer, evaluator and checkpoint function takes it.
//
// It trains ResMLP on the embedded 8×8 digits with each of the three
// trainers — full-batch GD, online SGD and mini-batch SGD (B = 32) — prints
// each one's test accuracy, updates and training time, and plots their
// validation accuracy against wall time. Then it saves the mini-batch model's
// parameters with models.SaveFile, loads them into fresh Params made by
// models.Init with models.LoadInto, and checks that the reloaded model
// evaluates exactly as the trained one.
//
//	go run ./examples/custom [-width 64] [-blocks 2] [-gd-epochs 60]
//	    [-online-epochs 5] [-batch-epochs 20] [-checkpoint FILE] [-png FILE] [-json]
//
// The default run takes about 2 s on 2 cores.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/examples/internal/cli"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/models"
	"github.com/descent-go/descent/plot"
	"github.com/descent-go/descent/trainers"
)

// ResMLP is a residual multi-layer perceptron:
//
//	h₀ = ReLU(x·W_in + b_in)
//	hₖ = ReLU(hₖ₋₁ + Dense_b(ReLU(Dense_a(hₖ₋₁))))   for k = 1..Blocks
//	out = hₙ·W_out + b_out
//
// Each block's second layer starts at zero, so every block is the identity
// at initialization and the network starts as a one-hidden-layer MLP; the
// skip connections carry the gradient past the blocks while they learn.
type ResMLP struct {
	Width   int // units of every hidden layer
	Blocks  int // residual blocks
	Classes int // output logits
}

// Forward implements models.Model.
func (m ResMLP) Forward(b *graph.Builder, x *G.Node) (*G.Node, error) {
	h, err := graph.Flatten(x)
	if err != nil {
		return nil, err
	}
	if h, err = graph.Dense(b, "in", h, m.Width, graph.HeNormal); err != nil {
		return nil, err
	}
	if h, err = graph.ReLU(h); err != nil {
		return nil, err
	}
	for k := 1; k <= m.Blocks; k++ {
		name := fmt.Sprintf("block%d", k)
		r, err := graph.Dense(b, name+"/a", h, m.Width, graph.HeNormal)
		if err != nil {
			return nil, err
		}
		if r, err = graph.ReLU(r); err != nil {
			return nil, err
		}
		if r, err = graph.Dense(b, name+"/b", r, m.Width, graph.Zeros); err != nil {
			return nil, err
		}
		// The skip connection: gorgonia on the Builder's nodes.
		if h, err = G.Add(h, r); err != nil {
			return nil, fmt.Errorf("ResMLP %s: skip connection: %v", name, err)
		}
		if h, err = graph.ReLU(h); err != nil {
			return nil, err
		}
	}
	return graph.Dense(b, "out", h, m.Classes, graph.GlorotUniform)
}

// result is one trainer's outcome.
type result struct {
	Method       string  `json:"method"`
	Epochs       int     `json:"epochs"`
	Updates      int     `json:"updates"`
	Examples     int64   `json:"examples"`
	Seconds      float64 `json:"seconds"` // training wall time, evaluation excluded
	TrainLoss    float64 `json:"train_loss"`
	TestLoss     float64 `json:"test_loss"`
	TestAccuracy float64 `json:"test_accuracy"`
}

// summary is what -json prints.
type summary struct {
	Params         int      `json:"params"`
	Results        []result `json:"results"` // GD, OnlineSGD, MiniBatchSGD(B=32)
	Checkpoint     string   `json:"checkpoint"`
	ReloadLoss     float64  `json:"reload_loss"`
	ReloadAccuracy float64  `json:"reload_accuracy"`
	ReloadEqual    bool     `json:"reload_equal"` // the reloaded model's test loss and accuracy equal the trained one's
	Seconds        float64  `json:"seconds"`
	PNG            string   `json:"png,omitempty"`
}

func main() { cli.Main("custom", run) }

// options are the command line's settings.
type options struct {
	width, blocks, batch                int
	gdEpochs, onlineEpochs, batchEpochs int
	gdLR, onlineLR, batchLR             float64
	seed                                int64
	ckpt, png                           string
	json                                bool
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	rep := &cli.Report{JSON: o.json, Out: stdout}
	start := time.Now()

	// 1. The digits, split 70/15/15 and standardized; the hand-written model.
	parts, err := cli.Digits(o.seed, 0.7, 0.15, 0.15)
	if err != nil {
		return err
	}
	train, val, test := parts[0], parts[1], parts[2]
	model := ResMLP{Width: o.width, Blocks: o.blocks, Classes: 10}
	rep.Printf("ResMLP (width %d, %d residual blocks) on digits: %d training, %d validation, %d test examples\n\n",
		o.width, o.blocks, train.Len(), val.Len(), test.Len())

	// 2. Train it with each of the three trainers, from the same initial weights.
	s := summary{Checkpoint: o.ckpt}
	var hists []*trainers.History
	var params *graph.Params
	for _, t := range threeTrainers(o, val, rep) {
		params = graph.NewParams(tensor.Float32, o.seed)
		h, met, err := cli.FitTest(ctx, t, model, params, train, test, graph.SoftmaxCrossEntropy)
		if err != nil {
			return err
		}
		last := h.Last()
		s.Results = append(s.Results, result{Method: h.Method, Epochs: len(h.Epochs), Updates: last.Updates, Examples: last.Examples,
			Seconds: last.Seconds, TrainLoss: last.TrainLoss, TestLoss: met.Loss, TestAccuracy: met.Accuracy})
		hists = append(hists, h)
		rep.Printf("\n")
	}
	s.Params = params.NumScalars()
	printTable(rep, s)

	// 3. Checkpoint the last model (mini-batch SGD), load it into fresh
	// Params and check that it evaluates the same.
	trained := s.Results[len(s.Results)-1]
	met, err := saveAndReload(o, model, params, train.XShape(), test)
	if err != nil {
		return err
	}
	s.ReloadLoss, s.ReloadAccuracy = met.Loss, met.Accuracy
	s.ReloadEqual = met.Loss == trained.TestLoss && met.Accuracy == trained.TestAccuracy
	rep.Printf("checkpoint %s: reloaded %s model has test loss %.6f, accuracy %.4f (trained: %.6f, %.4f) — equal: %v\n",
		o.ckpt, trained.Method, met.Loss, met.Accuracy, trained.TestLoss, trained.TestAccuracy, s.ReloadEqual)
	if !s.ReloadEqual {
		return errors.New("the reloaded model does not evaluate like the trained one")
	}

	// 4. Validation accuracy against wall time, one curve per trainer.
	chart := plot.Chart{Title: "ResMLP on digits: validation accuracy by wall time", X: "seconds", Y: "val_metric", Histories: hists}
	if s.PNG, err = rep.Chart(o.png, "validation accuracy", chart); err != nil {
		return err
	}
	s.Seconds = time.Since(start).Seconds()
	return rep.Summary(s)
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("custom", flag.ContinueOnError)
	fs.IntVar(&o.width, "width", 64, "units of every hidden layer")
	fs.IntVar(&o.blocks, "blocks", 2, "residual blocks")
	fs.IntVar(&o.gdEpochs, "gd-epochs", 60, "epochs (= updates) of full-batch GD")
	fs.Float64Var(&o.gdLR, "gd-lr", 0.1, "GD learning rate (with momentum 0.9)")
	fs.IntVar(&o.onlineEpochs, "online-epochs", 5, "epochs of online SGD")
	fs.Float64Var(&o.onlineLR, "online-lr", 0.005, "online SGD learning rate (plain)")
	fs.IntVar(&o.batchEpochs, "batch-epochs", 20, "epochs of mini-batch SGD")
	fs.Float64Var(&o.batchLR, "batch-lr", 0.02, "mini-batch SGD learning rate (with momentum 0.9)")
	fs.IntVar(&o.batch, "batch", 32, "mini-batch size")
	fs.Int64Var(&o.seed, "seed", 1, "seed of the split, the initial weights and the shuffles")
	fs.StringVar(&o.ckpt, "checkpoint", filepath.Join(os.TempDir(), "descent-custom.ckpt"), "where to save the mini-batch model")
	fs.StringVar(&o.png, "png", filepath.Join(os.TempDir(), "descent-custom.png"), "where to write the validation accuracy by wall time (empty: nowhere)")
	fs.BoolVar(&o.json, "json", false, "print only a JSON summary")
	if err := cli.Parse(fs, args); err != nil {
		return o, err
	}
	if o.width < 1 || o.blocks < 0 || o.gdEpochs < 1 || o.onlineEpochs < 1 || o.batchEpochs < 1 || o.batch < 1 {
		return o, errors.New("-width, -batch and the epochs must be ≥ 1, -blocks ≥ 0")
	}
	if o.ckpt == "" {
		return o, errors.New("-checkpoint: need a path")
	}
	return o, nil
}

// threeTrainers are full-batch GD, online SGD and mini-batch SGD, each with
// its own epochs and learning rate and the same loss, seed and validation.
func threeTrainers(o options, val *datasets.Dataset, rep *cli.Report) []trainers.Trainer {
	config := func(epochs int, opt trainers.Optimizer, lineEvery int) trainers.Config {
		return trainers.Config{
			Epochs:     epochs,
			Loss:       graph.SoftmaxCrossEntropy,
			Optimizer:  opt,
			Seed:       o.seed,
			Validation: val,
			Callbacks:  thin(rep.Callbacks(), lineEvery, epochs),
			LogEvery:   10,
		}
	}
	return []trainers.Trainer{
		trainers.GD{Config: config(o.gdEpochs, trainers.SGD{LR: o.gdLR, Momentum: 0.9}, 10)},
		trainers.OnlineSGD{Config: config(o.onlineEpochs, trainers.SGD{LR: o.onlineLR}, 1)},
		trainers.MiniBatchSGD{BatchSize: o.batch, Config: config(o.batchEpochs, trainers.SGD{LR: o.batchLR, Momentum: 0.9}, 5)},
	}
}

// printTable prints one row per trainer.
func printTable(rep *cli.Report, s summary) {
	rep.Printf("%-20s %7s %8s %9s %9s %11s %9s %9s\n", "method", "epochs", "updates", "examples", "seconds", "train loss", "test loss", "test acc")
	for _, r := range s.Results {
		rep.Printf("%-20s %7d %8d %9d %9.2f %11.4f %9.4f %9.4f\n", r.Method, r.Epochs, r.Updates, r.Examples, r.Seconds, r.TrainLoss, r.TestLoss, r.TestAccuracy)
	}
	rep.Printf("(%d parameters)\n\n", s.Params)
}

// saveAndReload saves params to -checkpoint, loads them into fresh Params
// that models.Init made (from another seed: other initial weights) and
// evaluates the reloaded model on test.
func saveAndReload(o options, model models.Model, params *graph.Params, xShape tensor.Shape, test *datasets.Dataset) (models.Metrics, error) {
	if err := models.SaveFile(o.ckpt, params); err != nil {
		return models.Metrics{}, err
	}
	fresh := graph.NewParams(tensor.Float32, o.seed+1)
	if err := models.Init(model, fresh, xShape); err != nil {
		return models.Metrics{}, err
	}
	f, err := os.Open(o.ckpt)
	if err != nil {
		return models.Metrics{}, err
	}
	err = models.LoadInto(fresh, f)
	f.Close()
	if err != nil {
		return models.Metrics{}, err
	}
	return models.Evaluate(model, fresh, graph.SoftmaxCrossEntropy, test)
}

// thin passes every event to the callbacks except epoch ends, of which it
// passes only every k-th and the last: GD's hundreds of epochs would
// otherwise print a line each.
func thin(cbs []trainers.Callback, k, epochs int) []trainers.Callback {
	out := make([]trainers.Callback, len(cbs))
	for i, cb := range cbs {
		cb := cb
		out[i] = func(e trainers.Event) error {
			if e.Kind == trainers.EpochEnd && (e.Epoch+1)%k != 0 && e.Epoch+1 != epochs {
				return nil
			}
			return cb(e)
		}
	}
	return out
}
