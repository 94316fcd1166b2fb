package trainers_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/models"
	"github.com/descent-go/descent/trainers"
)

// digits returns scikit-learn's digits, split 80/20 and standardized with the
// training set's statistics.
func digits() (train, test *datasets.Dataset, err error) {
	all, err := datasets.Digits(tensor.Float32)
	if err != nil {
		return nil, nil, err
	}
	parts, _, err := all.SplitStandardized(1, true, 0.8, 0.2)
	if err != nil {
		return nil, nil, err
	}
	return parts[0], parts[1], nil
}

// Mini-batch SGD with momentum trains a one-hidden-layer MLP on the 8×8
// digits: 45 updates of 32 examples per epoch (1438 examples).
func ExampleMiniBatchSGD() {
	train, test, err := digits()
	if err != nil {
		fmt.Println(err)
		return
	}
	params := graph.NewParams(tensor.Float32, 1)
	hist, err := trainers.MiniBatchSGD{
		BatchSize: 32,
		Config: trainers.Config{
			Epochs:     10,
			Loss:       graph.SoftmaxCrossEntropy,
			Optimizer:  trainers.SGD{LR: 0.05, Momentum: 0.9},
			Seed:       1,
			Validation: test, // accuracy is recorded after every epoch
		},
	}.Fit(context.Background(), models.MLP{Hidden: []int{64}, Outputs: 10}, params, train)
	if err != nil {
		fmt.Println(err)
		return
	}
	last := hist.Last()
	fmt.Println(hist.Method, "with", hist.StepsPerEpoch, "updates per epoch")
	fmt.Println("updates:", last.Updates, "examples:", last.Examples)
	fmt.Println(hist.Metric, "> 0.9:", last.ValMetric > 0.9)
	// Output:
	// MiniBatchSGD(B=32) with 45 updates per epoch
	// updates: 450 examples: 14380
	// accuracy > 0.9: true
}

// Full-batch gradient descent recovers the weights of a linear model: one
// update per epoch, from the exact gradient over all 500 examples.
func ExampleGD() {
	ds, trueW, trueB, err := datasets.LinearRegression(500, 3, 0.01, 1, tensor.Float64)
	if err != nil {
		fmt.Println(err)
		return
	}
	params := graph.NewParams(tensor.Float64, 1)
	hist, err := trainers.GD{
		Config: trainers.Config{
			Epochs:    100,
			Loss:      graph.MSE,
			Optimizer: trainers.SGD{LR: 0.2},
		},
	}.Fit(context.Background(), models.Linear{}, params, ds)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("true    w = %.2f, b = %.2f\n", trueW, trueB)
	fmt.Printf("learned w = %.2f, b = %.2f\n", params.CopyFloat64s("linear/w"), params.CopyFloat64s("linear/b")[0])
	fmt.Println("updates:", hist.Last().Updates, "examples:", hist.Last().Examples)
	// Output:
	// true    w = [-1.44 -2.36 2.73], b = -0.32
	// learned w = [-1.44 -2.36 2.73], b = -0.32
	// updates: 100 examples: 50000
}

// Online SGD updates after every example; a decaying rate (Robbins–Monro)
// lets it settle at the minimum instead of jittering around it.
func ExampleOnlineSGD() {
	ds, _, _, err := datasets.LinearRegression(200, 2, 0.1, 2, tensor.Float64)
	if err != nil {
		fmt.Println(err)
		return
	}
	hist, err := trainers.OnlineSGD{
		Config: trainers.Config{
			Epochs:    3,
			Loss:      graph.MSE,
			Optimizer: trainers.SGD{LR: 0.02},
			Schedule:  trainers.InverseScaling(200, 1), // η/(1 + t/200)
			Seed:      1,
		},
	}.Fit(context.Background(), models.Linear{}, graph.NewParams(tensor.Float64, 1), ds)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range hist.Epochs {
		fmt.Printf("epoch %d: %d updates, %d examples, rate %.4f\n", e.Epoch+1, e.Updates, e.Examples, e.LearningRate)
	}
	fmt.Println("loss near the noise floor 0.01:", hist.Last().TrainLoss < 0.02)
	// Output:
	// epoch 1: 200 updates, 200 examples, rate 0.0100
	// epoch 2: 400 updates, 400 examples, rate 0.0067
	// epoch 3: 600 updates, 600 examples, rate 0.0050
	// loss near the noise floor 0.01: true
}

// EarlyStopping ends training once the validation loss has not improved for
// 3 epochs and puts back the weights of the best epoch.
func ExampleEarlyStopping() {
	train, test, err := digits()
	if err != nil {
		fmt.Println(err)
		return
	}
	params := graph.NewParams(tensor.Float32, 1)
	model := models.MLP{Hidden: []int{64}, Outputs: 10}
	hist, err := trainers.MiniBatchSGD{
		BatchSize: 32,
		Config: trainers.Config{
			Epochs:     200,
			Loss:       graph.SoftmaxCrossEntropy,
			Optimizer:  trainers.NewAdam(0.01),
			Seed:       1,
			Validation: test,
			Callbacks:  []trainers.Callback{trainers.EarlyStopping("val_loss", 3, 0, true)},
		},
	}.Fit(context.Background(), model, params, train)
	if err != nil {
		fmt.Println(err)
		return
	}
	best := math.Inf(1)
	for _, e := range hist.Epochs {
		best = math.Min(best, e.ValLoss)
	}
	met, err := models.Evaluate(model, params, graph.SoftmaxCrossEntropy, test)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("stopped early:", len(hist.Epochs) < hist.Planned)
	fmt.Println("weights restored:", strings.Contains(hist.Stopped, "restored"))
	fmt.Println("validation loss back at its minimum:", math.Abs(met.Loss-best) < 1e-6)
	// Output:
	// stopped early: true
	// weights restored: true
	// validation loss back at its minimum: true
}

// A Schedule is a pure function of the training time: here cosine annealing
// to a tenth of the base rate over 10 epochs of 10 updates, alone and after a
// 5-update linear warm-up.
func ExampleSchedule() {
	cosine := trainers.Cosine(0.1)
	warm := trainers.Warmup(5, cosine) // use: trainers.Config{Optimizer: trainers.SGD{LR: 0.1}, Schedule: warm, ...}
	for _, step := range []int{0, 2, 4, 25, 50, 99} {
		t := trainers.Time{Epoch: step / 10, Step: step, StepsPerEpoch: 10, Epochs: 10}
		fmt.Printf("step %2d: cosine %.3f, warm-up then cosine %.3f\n", step, cosine(t), warm(t))
	}
	// Output:
	// step  0: cosine 1.000, warm-up then cosine 0.200
	// step  2: cosine 0.999, warm-up then cosine 0.599
	// step  4: cosine 0.996, warm-up then cosine 0.996
	// step 25: cosine 0.866, warm-up then cosine 0.866
	// step 50: cosine 0.543, warm-up then cosine 0.543
	// step 99: cosine 0.100, warm-up then cosine 0.100
}

// A run writes a training checkpoint after every epoch (keeping the last
// 2) and stops after 3; another Fit with Config.Resume set to a checkpoint
// continues the run and ends exactly where an uninterrupted run ends.
func ExampleLatestCheckpoint() {
	train, test, err := digits()
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, err := os.MkdirTemp("", "descent-resume")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	model := models.MLP{Hidden: []int{32}, Outputs: 10, Dropout: 0.1}
	fit := func(stopAfter3 bool, path, resume string) (*graph.Params, *trainers.History, error) {
		params := graph.NewParams(tensor.Float32, 1)
		hist, err := trainers.MiniBatchSGD{BatchSize: 64, Config: trainers.Config{
			Epochs: 6, Loss: graph.SoftmaxCrossEntropy, Optimizer: trainers.NewAdam(0.01), Seed: 1,
			Validation: test, Schedule: trainers.ReduceOnPlateau(0.5, 1, 0),
			Callbacks: []trainers.Callback{trainers.Checkpoint(path, 1, 2, "val_loss"), func(e trainers.Event) error {
				if e.Kind == trainers.EpochEnd && e.Epoch == 2 && stopAfter3 {
					return trainers.ErrStop
				}
				return nil
			}},
			Resume: resume,
		}}.Fit(context.Background(), model, params, train)
		return params, hist, err
	}
	path := filepath.Join(dir, "digits.ckpt")
	if _, _, err := fit(true, path, ""); err != nil {
		fmt.Println(err)
		return
	}
	latest, err := trainers.LatestCheckpoint(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("latest:", filepath.Base(latest))
	// The run was stopped after epoch 3, and a stopped run stays stopped:
	// continue from the checkpoint before (as after a kill between them).
	resumed, h1, err := fit(false, filepath.Join(dir, "again.ckpt"), filepath.Join(dir, "digits-epoch0002.ckpt"))
	if err != nil {
		fmt.Println(err)
		return
	}
	whole, h2, err := fit(false, filepath.Join(dir, "whole.ckpt"), "")
	if err != nil {
		fmt.Println(err)
		return
	}
	same := true
	for i := 0; i < whole.Len(); i++ {
		a, b := whole.Float64s(whole.Name(i)), resumed.Float64s(resumed.Name(i))
		for j := range a {
			same = same && a[j] == b[j]
		}
	}
	fmt.Println("epochs:", len(h1.Epochs), "first resumed epoch:", h1.Epochs[2].Epoch)
	fmt.Println("same weights as the uninterrupted run:", same)
	fmt.Println("same final validation loss:", h1.Last().ValLoss == h2.Last().ValLoss)
	// Output:
	// latest: digits-epoch0003.ckpt
	// epochs: 6 first resumed epoch: 2
	// same weights as the uninterrupted run: true
	// same final validation loss: true
}
