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

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("custom", flag.ContinueOnError)
	width := fs.Int("width", 64, "units of every hidden layer")
	blocks := fs.Int("blocks", 2, "residual blocks")
	gdEpochs := fs.Int("gd-epochs", 60, "epochs (= updates) of full-batch GD")
	gdLR := fs.Float64("gd-lr", 0.1, "GD learning rate (with momentum 0.9)")
	onlineEpochs := fs.Int("online-epochs", 5, "epochs of online SGD")
	onlineLR := fs.Float64("online-lr", 0.005, "online SGD learning rate (plain)")
	batchEpochs := fs.Int("batch-epochs", 20, "epochs of mini-batch SGD")
	batchLR := fs.Float64("batch-lr", 0.02, "mini-batch SGD learning rate (with momentum 0.9)")
	batch := fs.Int("batch", 32, "mini-batch size")
	seed := fs.Int64("seed", 1, "seed of the split, the initial weights and the shuffles")
	ckpt := fs.String("checkpoint", filepath.Join(os.TempDir(), "descent-custom.ckpt"), "where to save the mini-batch model")
	png := fs.String("png", filepath.Join(os.TempDir(), "descent-custom.png"), "where to write the validation accuracy by wall time (empty: nowhere)")
	asJSON := fs.Bool("json", false, "print only a JSON summary")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *width < 1 || *blocks < 0 || *gdEpochs < 1 || *onlineEpochs < 1 || *batchEpochs < 1 || *batch < 1 {
		return errors.New("-width, -batch and the epochs must be ≥ 1, -blocks ≥ 0")
	}
	if *ckpt == "" {
		return errors.New("-checkpoint: need a path")
	}
	rep := &cli.Report{JSON: *asJSON, Out: stdout}
	start := time.Now()

	parts, err := cli.Digits(*seed, 0.7, 0.15, 0.15)
	if err != nil {
		return err
	}
	train, val, test := parts[0], parts[1], parts[2]
	model := ResMLP{Width: *width, Blocks: *blocks, Classes: 10}
	rep.Printf("ResMLP (width %d, %d residual blocks) on digits: %d training, %d validation, %d test examples\n\n",
		*width, *blocks, train.Len(), val.Len(), test.Len())

	config := func(epochs int, opt trainers.Optimizer, lineEvery int) trainers.Config {
		return trainers.Config{
			Epochs:     epochs,
			Loss:       graph.SoftmaxCrossEntropy,
			Optimizer:  opt,
			Seed:       *seed,
			Validation: val,
			Callbacks:  thin(rep.Callbacks(), lineEvery, epochs),
			LogEvery:   10,
		}
	}
	runs := []trainers.Trainer{
		trainers.GD{Config: config(*gdEpochs, trainers.SGD{LR: *gdLR, Momentum: 0.9}, 10)},
		trainers.OnlineSGD{Config: config(*onlineEpochs, trainers.SGD{LR: *onlineLR}, 1)},
		trainers.MiniBatchSGD{BatchSize: *batch, Config: config(*batchEpochs, trainers.SGD{LR: *batchLR, Momentum: 0.9}, 5)},
	}
	s := summary{Checkpoint: *ckpt}
	var hists []*trainers.History
	var params *graph.Params
	for _, t := range runs {
		params = graph.NewParams(tensor.Float32, *seed)
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
	rep.Printf("%-20s %7s %8s %9s %9s %11s %9s %9s\n", "method", "epochs", "updates", "examples", "seconds", "train loss", "test loss", "test acc")
	for _, r := range s.Results {
		rep.Printf("%-20s %7d %8d %9d %9.2f %11.4f %9.4f %9.4f\n", r.Method, r.Epochs, r.Updates, r.Examples, r.Seconds, r.TrainLoss, r.TestLoss, r.TestAccuracy)
	}
	rep.Printf("(%d parameters)\n\n", s.Params)

	// Checkpoint the last model (mini-batch SGD), load it into fresh Params
	// and check that it evaluates the same.
	trained := s.Results[len(s.Results)-1]
	if err := models.SaveFile(*ckpt, params); err != nil {
		return err
	}
	fresh := graph.NewParams(tensor.Float32, *seed+1) // another seed: different initial weights
	if err := models.Init(model, fresh, train.XShape()); err != nil {
		return err
	}
	f, err := os.Open(*ckpt)
	if err != nil {
		return err
	}
	err = models.LoadInto(fresh, f)
	f.Close()
	if err != nil {
		return err
	}
	met, err := models.Evaluate(model, fresh, graph.SoftmaxCrossEntropy, test)
	if err != nil {
		return err
	}
	s.ReloadLoss, s.ReloadAccuracy = met.Loss, met.Accuracy
	s.ReloadEqual = met.Loss == trained.TestLoss && met.Accuracy == trained.TestAccuracy
	rep.Printf("checkpoint %s: reloaded %s model has test loss %.6f, accuracy %.4f (trained: %.6f, %.4f) — equal: %v\n",
		*ckpt, trained.Method, met.Loss, met.Accuracy, trained.TestLoss, trained.TestAccuracy, s.ReloadEqual)
	if !s.ReloadEqual {
		return errors.New("the reloaded model does not evaluate like the trained one")
	}

	if *png != "" {
		chart := plot.Chart{Title: "ResMLP on digits: validation accuracy by wall time", X: "seconds", Y: "val_metric", Histories: hists}
		if err := chart.WriteFile(*png); err != nil {
			return err
		}
		s.PNG = *png
		rep.Printf("validation accuracy: %s\n", *png)
	}
	s.Seconds = time.Since(start).Seconds()
	return rep.Summary(s)
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
