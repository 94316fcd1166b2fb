// Command mnist trains on MNIST or Fashion-MNIST: a multi-layer perceptron
// (784-256-128-10, ReLU), a LeNet-5-style convolutional network
// (models.LeNet) or a small CNN with batch normalization (models.ConvNet),
// with mini-batch SGD with momentum 0.9, weight decay and a cosine
// learning-rate schedule, and reports the test accuracy.
//
//	go run ./examples/mnist [-model mlp|cnn|bncnn] [-data mnist|fashion] [-dir PATH]
//	    [-n 0] [-val 5000] [-epochs 0] [-batch 64] [-lr 0.05] [-png FILE] [-json]
//
// The data is read from -dir; by default from shared/data/mnist (or
// shared/data/fashion-mnist) in the working directory or the closest of its
// parents that has it — ../shared/data/mnist seen from the repository root —
// and otherwise downloaded, checksummed, into the user cache directory with
// datasets.DownloadMNIST. -val examples of the 60000 are held out for the
// per-epoch validation lines; -n subsamples the rest (0: all) and -test-n
// the 10000 test examples (0: all).
//
// Measured on this project's 2-core machine (float32, pure Go), MNIST:
//
//   - MLP, the defaults (55000 training examples, 12 epochs, about 3 s an
//     epoch): 98.4% test accuracy; the whole run takes about 40 s.
//   - CNN: gorgonia's convolution (im2col in pure Go) is slower, about 20 s
//     an epoch of 55000–60000 examples (25–30 s on a busy machine). The
//     defaults (55000 examples, 4 epochs) give 99.1% in 2 to 2.5 minutes;
//     -val 0 (all 60000, 4 epochs) gave 99.2% in 1 min 40 s, and
//     -val 0 -epochs 12 99.2% in about 5 minutes. For a quick look,
//     -n 10000 -epochs 3 takes 25 s (97.6%).
//   - bncnn (models.ConvNet: two 3×3 convolutions of 16 and 32 filters,
//     each with BatchNorm, and a Dense 128 with BatchNorm): on
//     Fashion-MNIST, -data fashion -val 0 (all 60000, 6 epochs) gave 92.78%
//     test accuracy; 7 minutes of CPU time, 42 minutes of wall time on a
//     machine shared at a load of 25–37.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/examples/internal/cli"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/models"
	"github.com/descent-go/descent/plot"
	"github.com/descent-go/descent/trainers"
)

// summary is what -json prints.
type summary struct {
	Data         string  `json:"data"`
	Model        string  `json:"model"`
	Train        int     `json:"train"`
	Val          int     `json:"val"`
	Test         int     `json:"test"`
	Params       int     `json:"params"`
	Epochs       int     `json:"epochs"`
	Updates      int     `json:"updates"`
	InitialLoss  float64 `json:"initial_test_loss"` // test loss before training
	FirstLoss    float64 `json:"first_loss"`        // training loss of the first epoch
	TrainLoss    float64 `json:"train_loss"`        // training loss of the last epoch
	ValAccuracy  float64 `json:"val_accuracy,omitempty"`
	TestLoss     float64 `json:"test_loss"`
	TestAccuracy float64 `json:"test_accuracy"`
	Seconds      float64 `json:"seconds"`           // training wall time, evaluation excluded
	EpochSeconds float64 `json:"seconds_per_epoch"` // Seconds / Epochs
	PNG          string  `json:"png,omitempty"`
}

func main() { cli.Main("mnist", run) }

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("mnist", flag.ContinueOnError)
	data := fs.String("data", "mnist", "data set: mnist or fashion (Fashion-MNIST)")
	dir := fs.String("dir", "", "directory of the four IDX files (default: shared/data/<set> in the working directory or a parent, else a download into the user cache)")
	modelName := fs.String("model", "mlp", "model: mlp (784-256-128-10), cnn (LeNet-5 style) or bncnn (models.ConvNet, with BatchNorm)")
	n := fs.Int("n", 0, "training examples to use, a random subsample (0: all)")
	val := fs.Int("val", 5000, "training examples held out for the per-epoch validation lines (0: none)")
	testN := fs.Int("test-n", 0, "test examples to evaluate, a random subsample (0: all 10000)")
	epochs := fs.Int("epochs", 0, "training epochs (0: 12 for mlp, 4 for cnn, 6 for bncnn)")
	batch := fs.Int("batch", 64, "mini-batch size")
	lr := fs.Float64("lr", 0.05, "peak learning rate (SGD, momentum 0.9, cosine decay to 1/20 of it)")
	wd := fs.Float64("wd", 5e-4, "weight decay (L2) coefficient")
	seed := fs.Int64("seed", 1, "seed of the subsamples, the initial weights and the shuffles")
	png := fs.String("png", filepath.Join(os.TempDir(), "descent-mnist.png"), "where to write the loss curves (empty: nowhere)")
	asJSON := fs.Bool("json", false, "print only a JSON summary")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	var model models.Model
	layout := datasets.Flat
	evalChunk := 0 // models.DefaultChunk
	switch *modelName {
	case "mlp":
		model = models.MLP{Hidden: []int{256, 128}, Outputs: 10}
		if *epochs == 0 {
			*epochs = 12
		}
	case "cnn":
		model, layout = models.LeNet{Classes: 10}, datasets.NCHW
		// gorgonia's im2col buffers for 512 images are large enough to
		// make evaluation in chunks of 512 slower than in chunks of 64.
		evalChunk = 64
		if *epochs == 0 {
			*epochs = 4
		}
	case "bncnn":
		model, layout = models.ConvNet{Classes: 10}, datasets.NCHW
		evalChunk = 64
		if *epochs == 0 {
			*epochs = 6
		}
	default:
		return fmt.Errorf("-model %q: want mlp, cnn or bncnn", *modelName)
	}
	if *n < 0 || *epochs < 1 || *batch < 1 || *val < 0 || *testN < 0 || !(*lr > 0) || !(*wd >= 0) {
		return errors.New("-epochs, -batch and -lr must be positive, -n, -val, -test-n and -wd not negative")
	}
	rep := &cli.Report{JSON: *asJSON, Out: stdout}

	full, test, err := cli.LoadMNIST(ctx, *data, *dir, layout)
	if err != nil {
		return err
	}

	// Hold out -val examples, then subsample the rest and the test set.
	r := rand.New(rand.NewSource(*seed))
	perm := r.Perm(full.Len())
	if *val >= full.Len() {
		return fmt.Errorf("-val %d: want fewer than the %d training examples", *val, full.Len())
	}
	var valSet *datasets.Dataset
	if *val > 0 {
		if valSet, err = full.Subset(perm[:*val]); err != nil {
			return err
		}
	}
	rest := perm[*val:]
	if *n > 0 && *n < len(rest) {
		rest = rest[:*n]
	}
	train, err := full.Subset(rest)
	if err != nil {
		return err
	}
	if *testN > 0 && *testN < test.Len() {
		if test, err = test.Subset(r.Perm(test.Len())[:*testN]); err != nil {
			return err
		}
	}
	s := summary{Data: *data, Model: *modelName, Train: train.Len(), Test: test.Len()}
	if valSet != nil {
		s.Val = valSet.Len()
	}
	rep.Printf("%s: %d training, %d validation, %d test examples; %s, %d epochs of mini-batch SGD (B = %d)\n",
		*data, s.Train, s.Val, s.Test, *modelName, *epochs, *batch)

	params := graph.NewParams(tensor.Float32, *seed)
	if err := models.Init(model, params, train.XShape()); err != nil {
		return err
	}
	ev := models.NewEvaluator(model, params, graph.SoftmaxCrossEntropy, evalChunk)
	defer ev.Close()
	before, err := ev.Evaluate(test)
	if err != nil {
		return err
	}
	s.InitialLoss = before.Loss
	trainer := trainers.MiniBatchSGD{
		BatchSize: *batch,
		Config: trainers.Config{
			Epochs:      *epochs,
			Loss:        graph.SoftmaxCrossEntropy,
			Optimizer:   trainers.SGD{LR: *lr, Momentum: 0.9},
			Schedule:    trainers.Cosine(0.05),
			WeightDecay: *wd,
			Seed:        *seed,
			Validation:  valSet,
			Callbacks:   rep.Callbacks(),
			LogEvery:    20,
		},
	}
	hist, err := trainer.Fit(ctx, model, params, train)
	if err != nil {
		return err
	}
	met, err := ev.Evaluate(test)
	if err != nil {
		return err
	}
	last := hist.Last()
	s.Params = params.NumScalars()
	s.Epochs, s.Updates = len(hist.Epochs), last.Updates
	s.FirstLoss, s.TrainLoss = hist.Epochs[0].TrainLoss, last.TrainLoss
	s.ValAccuracy = last.ValMetric
	s.TestLoss, s.TestAccuracy = met.Loss, met.Accuracy
	s.Seconds = last.Seconds
	s.EpochSeconds = last.Seconds / float64(s.Epochs)
	rep.Printf("%d parameters, %d updates in %.1fs (%.1fs an epoch, %.0f examples/s)\n", s.Params, s.Updates, s.Seconds, s.EpochSeconds, float64(last.Examples)/s.Seconds)
	rep.Printf("test loss %.4f (%.4f before training), test accuracy %.4f\n", s.TestLoss, s.InitialLoss, s.TestAccuracy)
	if *png != "" {
		chart := plot.Chart{Title: fmt.Sprintf("%s on %s", *modelName, *data), X: "epochs", Y: "loss", Histories: []*trainers.History{hist}}
		if err := chart.WriteFile(*png); err != nil {
			return err
		}
		s.PNG = *png
		rep.Printf("loss curves: %s\n", *png)
	}
	return rep.Summary(s)
}
