package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pkg/errors"

	"github.com/descent-go/descent/cluster"
	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/models"
	"github.com/descent-go/descent/trainers"
)

// fit trains a small float64 MLP with every rank of the job (and -replicas goroutines in each),
// and, on rank 1 at step 5, does what mode says:
//
//	fit         nothing: train 3 epochs
//	fit-stop    a callback returns ErrStop
//	fit-cancel  the context is cancelled
//	fit-error   a callback returns an error
//	fit-panic   a callback panics
//
// Each rank writes a checkpoint and a CSV log under dir/rank<R>.* through the built-in callbacks
// (which write on rank 0 only) and prints one line: its error, steps, epochs, why it stopped and
// the SHA-256 of its trained parameters. The process exits 0 when Fit returned.
func fit(job *cluster.Job, mode string, replicas int, dir string, trainer string) error {
	ds, err := datasets.Blobs(300, 3, 5, 1.5, 7, graph.Float64)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base := filepath.Join(dir, fmt.Sprintf("rank%d", job.Rank()))
	csv, err := os.Create(base + ".csv")
	if err != nil {
		return err
	}
	defer csv.Close()
	last := 0
	cfg := trainers.Config{
		Epochs: 3, Loss: graph.SoftmaxCrossEntropy, Optimizer: trainers.NewAdam(0.01), Seed: 3, LogEvery: 1,
		Parallel: trainers.Parallel{Replicas: replicas},
		Callbacks: []trainers.Callback{
			trainers.Checkpoint(base+".ckpt", 1, 1, ""),
			trainers.LogCSV(csv),
			func(e trainers.Event) error {
				if e.Kind != trainers.StepEnd {
					return nil
				}
				last = e.Step
				if e.Rank != job.Rank() {
					return errors.Errorf("event says rank %d on rank %d", e.Rank, job.Rank())
				}
				if job.Rank() != 1 || e.Step != 5 {
					return nil
				}
				switch mode {
				case "fit-stop":
					return trainers.ErrStop
				case "fit-cancel":
					cancel()
				case "fit-error":
					return errors.New("probe: rank 1's callback fails on purpose")
				case "fit-panic":
					panic("probe: rank 1's callback panics on purpose")
				}
				return nil
			},
		},
	}
	if job.Size() > 1 {
		cfg.Parallel.Cluster = job
	}
	p := graph.NewParams(graph.Float64, 3)
	m := models.MLP{Hidden: []int{8}, Outputs: 3}
	var t trainers.Trainer
	switch trainer {
	case "minibatch":
		t = trainers.MiniBatchSGD{Config: cfg, BatchSize: 16}
	case "gd":
		t = trainers.GD{Config: cfg, Chunk: 64}
	case "online":
		t = trainers.OnlineSGD{Config: cfg}
	default:
		return errors.Errorf("probe: unknown -trainer %q", trainer)
	}
	hist, ferr := t.Fit(ctx, m, p, ds)
	var buf bytes.Buffer
	if err := models.Save(&buf, p); err != nil {
		return err
	}
	epochs, stopped := 0, ""
	if hist != nil {
		epochs, stopped = len(hist.Epochs), hist.Stopped
	}
	fmt.Printf("fit rank=%d err=%q steps=%d epochs=%d stopped=%q sha=%x\n",
		job.Rank(), fmt.Sprint(ferr), last, epochs, stopped, sha256.Sum256(buf.Bytes()))
	return nil
}
