package plot_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/models"
	"github.com/descent-go/descent/plot"
	"github.com/descent-go/descent/trainers"
)

// A Chart compares runs: here GD and mini-batch SGD by examples seen.
func ExampleChart() {
	ds, _, _, err := datasets.LinearRegression(300, 3, 0.1, 3, tensor.Float64)
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg := trainers.Config{Epochs: 10, Loss: graph.MSE, Optimizer: trainers.SGD{LR: 0.1}, Seed: 1}
	var hists []*trainers.History
	for _, t := range []trainers.Trainer{trainers.GD{Config: cfg}, trainers.MiniBatchSGD{BatchSize: 30, Config: cfg}} {
		h, err := t.Fit(context.Background(), models.Linear{}, graph.NewParams(tensor.Float64, 1), ds)
		if err != nil {
			fmt.Println(err)
			return
		}
		hists = append(hists, h)
	}
	dir, err := os.MkdirTemp("", "chart")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	chart := plot.Chart{Title: "GD vs mini-batch SGD", X: "examples", Y: "train_loss", LogY: true, Histories: hists}
	if err := chart.WriteFile(filepath.Join(dir, "compare.png")); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("wrote compare.png; in a notebook the chart shows itself")
	// Output:
	// wrote compare.png; in a notebook the chart shows itself
}

func ExampleHistory() {
	ds, _, _, err := datasets.LinearRegression(300, 3, 0.1, 3, tensor.Float64)
	if err != nil {
		fmt.Println(err)
		return
	}
	parts, err := ds.Split(1, false, 0.8, 0.2)
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg := trainers.Config{Epochs: 30, Loss: graph.MSE, Optimizer: trainers.SGD{LR: 0.05}, Seed: 1, Validation: parts[1],
		Callbacks: []trainers.Callback{trainers.EarlyStopping("val_loss", 3, 1e-4, true)}}
	h, err := trainers.MiniBatchSGD{BatchSize: 16, Config: cfg}.Fit(context.Background(), models.Linear{}, graph.NewParams(tensor.Float64, 1), parts[0])
	if err != nil {
		fmt.Println(err)
		return
	}
	c := plot.History(h) // training and validation loss by epoch, the restored epoch marked
	c.LogY = true
	fmt.Println(len(c.PNG()) > 0, len(c.SVG()) > 0)
	// Output:
	// true true
}
