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

// options are the command line's settings.
type options struct {
	data, dir, model, png string
	n, val, testN         int
	epochs, batch         int
	lr, wd                float64
	seed                  int64
	json                  bool
}

// net is the chosen model and what it needs of the data and evaluation.
type net struct {
	model     models.Model
	layout    datasets.ImageLayout
	evalChunk int // 0: models.DefaultChunk
	epochs    int // default epochs
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	arch, err := chooseModel(o.model)
	if err != nil {
		return err
	}
	if o.epochs == 0 {
		o.epochs = arch.epochs
	}
	rep := &cli.Report{JSON: o.json, Out: stdout}

	// 1. The data: MNIST's 60000 training and 10000 test images.
	full, test, err := cli.LoadMNIST(ctx, o.data, o.dir, arch.layout)
	if err != nil {
		return err
	}
	// 2. Hold out a validation set, subsample what is asked.
	train, val, test, err := holdOut(full, test, o)
	if err != nil {
		return err
	}
	s := summary{Data: o.data, Model: o.model, Train: train.Len(), Test: test.Len()}
	if val != nil {
		s.Val = val.Len()
	}
	rep.Printf("%s: %d training, %d validation, %d test examples; %s, %d epochs of mini-batch SGD (B = %d)\n",
		o.data, s.Train, s.Val, s.Test, o.model, o.epochs, o.batch)

	// 3. Train, with the test loss measured before and after.
	params := graph.NewParams(tensor.Float32, o.seed)
	if err := models.Init(arch.model, params, train.XShape()); err != nil {
		return err
	}
	ev := models.NewEvaluator(arch.model, params, graph.SoftmaxCrossEntropy, arch.evalChunk)
	defer ev.Close()
	before, err := ev.Evaluate(test)
	if err != nil {
		return err
	}
	hist, err := newTrainer(o, val, rep).Fit(ctx, arch.model, params, train)
	if err != nil {
		return err
	}
	met, err := ev.Evaluate(test)
	if err != nil {
		return err
	}

	// 4. Report.
	last := hist.Last()
	s.InitialLoss = before.Loss
	s.Params = params.NumScalars()
	s.Epochs, s.Updates = len(hist.Epochs), last.Updates
	s.FirstLoss, s.TrainLoss = hist.Epochs[0].TrainLoss, last.TrainLoss
	s.ValAccuracy = last.ValMetric
	s.TestLoss, s.TestAccuracy = met.Loss, met.Accuracy
	s.Seconds = last.Seconds
	s.EpochSeconds = last.Seconds / float64(s.Epochs)
	rep.Printf("%d parameters, %d updates in %.1fs (%.1fs an epoch, %.0f examples/s)\n", s.Params, s.Updates, s.Seconds, s.EpochSeconds, float64(last.Examples)/s.Seconds)
	rep.Printf("test loss %.4f (%.4f before training), test accuracy %.4f\n", s.TestLoss, s.InitialLoss, s.TestAccuracy)
	chart := plot.Chart{Title: fmt.Sprintf("%s on %s", o.model, o.data), X: "epochs", Y: "loss", Histories: []*trainers.History{hist}}
	if s.PNG, err = rep.Chart(o.png, "loss curves", chart); err != nil {
		return err
	}
	return rep.Summary(s)
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("mnist", flag.ContinueOnError)
	fs.StringVar(&o.data, "data", "mnist", "data set: mnist or fashion (Fashion-MNIST)")
	fs.StringVar(&o.dir, "dir", "", "directory of the four IDX files (default: shared/data/<set> in the working directory or a parent, else a download into the user cache)")
	fs.StringVar(&o.model, "model", "mlp", "model: mlp (784-256-128-10), cnn (LeNet-5 style) or bncnn (models.ConvNet, with BatchNorm)")
	fs.IntVar(&o.n, "n", 0, "training examples to use, a random subsample (0: all)")
	fs.IntVar(&o.val, "val", 5000, "training examples held out for the per-epoch validation lines (0: none)")
	fs.IntVar(&o.testN, "test-n", 0, "test examples to evaluate, a random subsample (0: all 10000)")
	fs.IntVar(&o.epochs, "epochs", 0, "training epochs (0: 12 for mlp, 4 for cnn, 6 for bncnn)")
	fs.IntVar(&o.batch, "batch", 64, "mini-batch size")
	fs.Float64Var(&o.lr, "lr", 0.05, "peak learning rate (SGD, momentum 0.9, cosine decay to 1/20 of it)")
	fs.Float64Var(&o.wd, "wd", 5e-4, "weight decay (L2) coefficient")
	fs.Int64Var(&o.seed, "seed", 1, "seed of the subsamples, the initial weights and the shuffles")
	fs.StringVar(&o.png, "png", filepath.Join(os.TempDir(), "descent-mnist.png"), "where to write the loss curves (empty: nowhere)")
	fs.BoolVar(&o.json, "json", false, "print only a JSON summary")
	if err := cli.Parse(fs, args); err != nil {
		return o, err
	}
	if o.n < 0 || o.epochs < 0 || o.batch < 1 || o.val < 0 || o.testN < 0 || !(o.lr > 0) || !(o.wd >= 0) {
		return o, errors.New("-epochs, -batch and -lr must be positive, -n, -val, -test-n and -wd not negative")
	}
	return o, nil
}

// chooseModel returns the -model: the MLP reads flat images, the CNNs
// (N, 1, 28, 28) ones.
func chooseModel(name string) (net, error) {
	switch name {
	case "mlp":
		return net{model: models.MLP{Hidden: []int{256, 128}, Outputs: 10}, layout: datasets.Flat, epochs: 12}, nil
	case "cnn":
		// gorgonia's im2col buffers for 512 images are large enough to
		// make evaluation in chunks of 512 slower than in chunks of 64.
		return net{model: models.LeNet{Classes: 10}, layout: datasets.NCHW, evalChunk: 64, epochs: 4}, nil
	case "bncnn":
		return net{model: models.ConvNet{Classes: 10}, layout: datasets.NCHW, evalChunk: 64, epochs: 6}, nil
	}
	return net{}, fmt.Errorf("-model %q: want mlp, cnn or bncnn", name)
}

// holdOut holds -val random training examples out for validation (nil if
// none), subsamples -n of the rest and -test-n of the test set.
func holdOut(full, test *datasets.Dataset, o options) (train, val, testSet *datasets.Dataset, err error) {
	r := rand.New(rand.NewSource(o.seed))
	perm := r.Perm(full.Len())
	if o.val >= full.Len() {
		return nil, nil, nil, fmt.Errorf("-val %d: want fewer than the %d training examples", o.val, full.Len())
	}
	if o.val > 0 {
		if val, err = full.Subset(perm[:o.val]); err != nil {
			return nil, nil, nil, err
		}
	}
	rest := perm[o.val:]
	if o.n > 0 && o.n < len(rest) {
		rest = rest[:o.n]
	}
	if train, err = full.Subset(rest); err != nil {
		return nil, nil, nil, err
	}
	if o.testN > 0 && o.testN < test.Len() {
		if test, err = test.Subset(r.Perm(test.Len())[:o.testN]); err != nil {
			return nil, nil, nil, err
		}
	}
	return train, val, test, nil
}

// newTrainer is mini-batch SGD with momentum 0.9, weight decay and a
// cosine schedule from -lr down to -lr/20.
func newTrainer(o options, val *datasets.Dataset, rep *cli.Report) trainers.MiniBatchSGD {
	return trainers.MiniBatchSGD{
		BatchSize: o.batch,
		Config: trainers.Config{
			Epochs:      o.epochs,
			Loss:        graph.SoftmaxCrossEntropy,
			Optimizer:   trainers.SGD{LR: o.lr, Momentum: 0.9},
			Schedule:    trainers.Cosine(0.05),
			WeightDecay: o.wd,
			Seed:        o.seed,
			Validation:  val,
			Callbacks:   rep.Callbacks(),
			LogEvery:    20,
		},
	}
}
