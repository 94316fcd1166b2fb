package cluster_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/descent-go/descent/cluster"
	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/models"
	"github.com/descent-go/descent/trainers"
)

// A nil *Job handed to the trainers is one process: the Fit gives the bits of a Fit without a
// Cluster, for every trainer.
func TestNilJobTrainsAsOneProcess(t *testing.T) {
	ds, err := datasets.Blobs(90, 3, 4, 1, 5, graph.Float32)
	if err != nil {
		t.Fatal(err)
	}
	fit := func(tr string, cl trainers.Cluster) []byte {
		cfg := trainers.Config{Epochs: 2, Loss: graph.SoftmaxCrossEntropy, Optimizer: trainers.SGD{LR: 0.1}, Seed: 2,
			Parallel: trainers.Parallel{Replicas: 2, Cluster: cl}}
		var trainer trainers.Trainer
		switch tr {
		case "gd":
			trainer = trainers.GD{Config: cfg}
		case "online":
			trainer = trainers.OnlineSGD{Config: cfg}
		default:
			trainer = trainers.MiniBatchSGD{Config: cfg, BatchSize: 16}
		}
		p := graph.NewParams(graph.Float32, 2)
		if _, err := trainer.Fit(context.Background(), models.MLP{Hidden: []int{6}, Outputs: 3}, p, ds); err != nil {
			t.Fatalf("%s: %v", tr, err)
		}
		var b bytes.Buffer
		if err := models.Save(&b, p); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	var nilJob *cluster.Job
	for _, tr := range []string{"minibatch", "gd", "online"} {
		if !bytes.Equal(fit(tr, nilJob), fit(tr, nil)) {
			t.Errorf("%s: a nil *cluster.Job trains differently from no Cluster", tr)
		}
	}
}
