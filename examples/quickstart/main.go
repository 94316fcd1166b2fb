// Command quickstart is descent's main job: it trains a multi-layer
// perceptron on the embedded 8×8 handwritten digits with mini-batch SGD,
// prints the model's summary, the training and validation loss and accuracy
// of every epoch, and the test set's classification report (per-class
// precision, recall and F1, top-k accuracy, confusion matrix). It needs no
// download, and it only trains: it does not build the plotting library
// (examples/mnist -png and the notebooks draw the curves, with package plot).
//
//	go run ./examples/quickstart [-epochs 15] [-batch 32] [-lr 0.05] [-seed 1] [-json]
package main

import (
	"context"
	"flag"
	"io"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/examples/internal/cli"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/models"
	"github.com/descent-go/descent/trainers"
)

// summary is what -json prints.
type summary struct {
	Epochs       int     `json:"epochs"`
	Updates      int     `json:"updates"`
	TrainLoss    float64 `json:"train_loss"`
	ValLoss      float64 `json:"val_loss"`
	ValAccuracy  float64 `json:"val_accuracy"`
	TestLoss     float64 `json:"test_loss"`
	TestAccuracy float64 `json:"test_accuracy"`
	Seconds      float64 `json:"seconds"`
	Params       int     `json:"params"`
	TestMacroF1  float64 `json:"test_macro_f1"`
}

func main() { cli.Main("quickstart", run) }

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	epochs := fs.Int("epochs", 15, "training epochs")
	batch := fs.Int("batch", 32, "mini-batch size")
	lr := fs.Float64("lr", 0.05, "learning rate (SGD with momentum 0.9)")
	hidden := fs.Int("hidden", 64, "hidden units")
	seed := fs.Int64("seed", 1, "seed of the split, the initial weights and the shuffles")
	asJSON := fs.Bool("json", false, "print only a JSON summary")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	rep := &cli.Report{JSON: *asJSON, Out: stdout}

	// The digits, split 70/15/15 keeping class proportions, standardized
	// with the training set's statistics only.
	parts, err := cli.Digits(*seed, 0.7, 0.15, 0.15)
	if err != nil {
		return err
	}
	train, val, test := parts[0], parts[1], parts[2]
	rep.Printf("digits: %d training, %d validation, %d test examples of %v pixels\n", train.Len(), val.Len(), test.Len(), train.XShape())

	model := models.MLP{Hidden: []int{*hidden}, Outputs: 10}
	sum, err := models.Summarize(model, train.XShape(), tensor.Float32)
	if err != nil {
		return err
	}
	rep.Printf("\n%s\n", sum)
	params := graph.NewParams(tensor.Float32, *seed)
	trainer := trainers.MiniBatchSGD{
		BatchSize: *batch,
		Config: trainers.Config{
			Epochs:     *epochs,
			Loss:       graph.SoftmaxCrossEntropy,
			Optimizer:  trainers.SGD{LR: *lr, Momentum: 0.9},
			Seed:       *seed,
			Validation: val,
			Callbacks:  rep.Callbacks(),
			LogEvery:   5,
		},
	}
	hist, err := trainer.Fit(ctx, model, params, train)
	if err != nil {
		return err
	}
	report, err := models.NewReport(model, params, graph.SoftmaxCrossEntropy, test)
	if err != nil {
		return err
	}
	last := hist.Last()
	s := summary{Epochs: len(hist.Epochs), Updates: last.Updates, TrainLoss: last.TrainLoss, ValLoss: last.ValLoss,
		ValAccuracy: last.ValMetric, TestLoss: report.Loss, TestAccuracy: report.Accuracy, Seconds: last.Seconds,
		Params: params.NumScalars(), TestMacroF1: report.Macro.F1}
	rep.Printf("\n%d updates in %.2fs; on the test set:\n\n%s", s.Updates, s.Seconds, report)
	return rep.Summary(s)
}
