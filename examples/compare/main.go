// Command compare trains the same model on the same data from the same seed
// with full-batch GD, online SGD and mini-batch SGD (B = 32 and 128 by
// default) and compares them by updates, examples seen, gradient evaluations
// and wall time, with plots of the loss against epochs, examples seen and
// seconds. It runs on the embedded 8×8 digits by default (about 20 s on 2
// cores) and on MNIST with -data mnist.
//
//	go run ./examples/compare [-epochs 20] [-batches 32,128] [-data digits|mnist|fashion] [-dir PATH] [-n 0] [-plots DIR] [-json]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
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

// result is one method's row of the table and of the JSON summary.
type result struct {
	Method       string  `json:"method"`
	Updates      int     `json:"updates"`
	Examples     int64   `json:"examples"`
	GradEvals    int64   `json:"grad_evals"`
	Seconds      float64 `json:"seconds"`
	TrainLoss    float64 `json:"train_loss"`
	ValLoss      float64 `json:"val_loss"`
	TestAccuracy float64 `json:"test_accuracy"`
}

type summary struct {
	Data    string   `json:"data"`
	N       int      `json:"n"`
	Epochs  int      `json:"epochs"`
	Results []result `json:"results"`
	Plots   []string `json:"plots,omitempty"`
}

func main() { cli.Main("compare", run) }

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	epochs := fs.Int("epochs", 20, "epochs for every method")
	batches := fs.String("batches", "32,128", "comma-separated mini-batch sizes")
	data := fs.String("data", "digits", "digits (embedded), mnist or fashion")
	dir := fs.String("dir", "", "directory of the MNIST files (default: ../shared/data/<set> if present, else download to the user cache)")
	n := fs.Int("n", 0, "use only the first n training examples (0: all)")
	hidden := fs.Int("hidden", 64, "hidden units of the MLP")
	seed := fs.Int64("seed", 1, "seed of everything random")
	gdLR := fs.Float64("gd-lr", 0.5, "learning rate of GD")
	sgdLR := fs.Float64("sgd-lr", 0.05, "learning rate of mini-batch SGD (online SGD uses it divided by 8)")
	plots := fs.String("plots", os.TempDir(), "directory for the PNG plots (empty: none)")
	asJSON := fs.Bool("json", false, "print only a JSON summary")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	rep := &cli.Report{JSON: *asJSON, Out: stdout}
	sizes, err := cli.Ints("batches", *batches, 1)
	if err != nil {
		return err
	}
	train, val, test, err := load(ctx, *data, *dir, *n, *seed)
	if err != nil {
		return err
	}
	rep.Printf("%s: %d training, %d validation, %d test examples\n", *data, train.Len(), val.Len(), test.Len())

	// Every method trains the same MLP from the same initial weights for the
	// same epochs, then meets the same test set.
	model := models.MLP{Hidden: []int{*hidden}, Outputs: 10}
	config := trainers.Config{
		Epochs: *epochs, Loss: graph.SoftmaxCrossEntropy, Seed: *seed,
		Validation: val, Callbacks: rep.Callbacks(), LogEvery: 10,
	}
	s := summary{Data: *data, N: train.Len(), Epochs: *epochs}
	var hists []*trainers.History
	for _, t := range methods(config, *gdLR, *sgdLR, sizes) {
		params := graph.NewParams(tensor.Float32, *seed) // the same initial weights for every method
		h, met, err := cli.FitTest(ctx, t, model, params, train, test, graph.SoftmaxCrossEntropy)
		if err != nil {
			return err
		}
		last := h.Last()
		s.Results = append(s.Results, result{Method: h.Method, Updates: last.Updates, Examples: last.Examples,
			GradEvals: last.GradEvals, Seconds: last.Seconds, TrainLoss: last.TrainLoss, ValLoss: last.ValLoss, TestAccuracy: met.Accuracy})
		hists = append(hists, h)
	}

	printTable(rep, s.Results)
	if *plots != "" {
		if s.Plots, err = writePlots(rep, *plots, *data, hists); err != nil {
			return err
		}
	}
	return rep.Summary(s)
}

// methods are GD, online SGD and mini-batch SGD at each batch size. The
// learning rates differ because the methods' noise differs: an online step
// must be smaller than a mini-batch step to be stable.
func methods(config trainers.Config, gdLR, sgdLR float64, sizes []int) []trainers.Trainer {
	gd := trainers.GD{Config: config}
	gd.Optimizer = trainers.SGD{LR: gdLR, Momentum: 0.9}
	online := trainers.OnlineSGD{Config: config}
	online.Optimizer = trainers.SGD{LR: sgdLR / 8}
	runs := []trainers.Trainer{gd, online}
	for _, b := range sizes {
		mb := trainers.MiniBatchSGD{BatchSize: b, Config: config}
		mb.Optimizer = trainers.SGD{LR: sgdLR, Momentum: 0.9}
		runs = append(runs, mb)
	}
	return runs
}

// printTable prints one row per method: its cost and its losses.
func printTable(rep *cli.Report, results []result) {
	rep.Printf("\n%-20s %8s %10s %10s %8s %10s %10s %8s\n", "method", "updates", "examples", "grad evals", "seconds", "train loss", "val loss", "test acc")
	for _, r := range results {
		rep.Printf("%-20s %8d %10d %10d %8.2f %10.4f %10.4f %8.4f\n", r.Method, r.Updates, r.Examples, r.GradEvals, r.Seconds, r.TrainLoss, r.ValLoss, r.TestAccuracy)
	}
}

// writePlots draws the training loss of every method against epochs,
// examples seen and seconds, one PNG each in dir.
func writePlots(rep *cli.Report, dir, data string, hists []*trainers.History) ([]string, error) {
	var paths []string
	for _, x := range []string{"epochs", "examples", "seconds"} {
		path := filepath.Join(dir, "descent-compare-"+x+".png")
		chart := plot.Chart{Title: "training loss vs " + x + " (" + data + ")", X: x, Y: "train_loss", LogY: true, Histories: hists}
		if _, err := rep.Chart(path, "plot", chart); err != nil {
			return nil, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// load returns train, validation and test sets. The digits (pixels 0..16)
// are standardized with the training set's statistics; MNIST pixels are
// already in [0, 1], and standardizing them would blow up the nearly
// constant border pixels. The digits keep compare's historical 80/20
// train/test split, 15% of training held out for validation.
func load(ctx context.Context, data, dir string, n int, seed int64) (train, val, test *datasets.Dataset, err error) {
	var trainAll, testSet *datasets.Dataset
	switch data {
	case "digits":
		parts, err := cli.Digits(seed, 0.68, 0.12, 0.2)
		if err != nil {
			return nil, nil, nil, err
		}
		return parts[0], parts[1], parts[2], nil
	case "mnist", "fashion":
		if trainAll, testSet, err = cli.LoadMNIST(ctx, data, dir, datasets.Flat); err != nil {
			return nil, nil, nil, err
		}
	default:
		return nil, nil, nil, fmt.Errorf("-data %q: want digits, mnist or fashion", data)
	}
	if n > 0 && n < trainAll.Len() {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		if trainAll, err = trainAll.Subset(idx); err != nil {
			return nil, nil, nil, err
		}
	}
	parts, err := trainAll.Split(seed, true, 0.85, 0.15)
	if err != nil {
		return nil, nil, nil, err
	}
	return parts[0], parts[1], testSet, nil
}
