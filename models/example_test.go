package models_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"reflect"

	G "gorgonia.org/gorgonia"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/models"
	"github.com/descent-go/descent/trainers"
)

// digitsSplit returns the digits split 80/20 and standardized with the
// training set's statistics.
func digitsSplit() (train, test *datasets.Dataset, err error) {
	ds, err := datasets.Digits(graph.Float64)
	if err != nil {
		return nil, nil, err
	}
	parts, _, err := ds.SplitStandardized(1, true, 0.8, 0.2)
	if err != nil {
		return nil, nil, err
	}
	return parts[0], parts[1], nil
}

func ExampleMLP() {
	train, test, err := digitsSplit()
	if err != nil {
		log.Fatal(err)
	}
	net := models.MLP{Hidden: []int{64}, Outputs: 10}
	params := graph.NewParams(graph.Float64, 1)
	sgd := trainers.MiniBatchSGD{BatchSize: 32, Config: trainers.Config{
		Epochs:    10,
		Loss:      graph.SoftmaxCrossEntropy,
		Optimizer: trainers.SGD{LR: 0.05, Momentum: 0.9},
		Seed:      1,
	}}
	if _, err := sgd.Fit(context.Background(), net, params, train); err != nil {
		log.Fatal(err)
	}
	met, err := models.Evaluate(net, params, graph.SoftmaxCrossEntropy, test)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("parameters:", params.Names(), params.NumScalars())
	fmt.Println("test examples:", met.N)
	fmt.Println("test accuracy > 0.95:", met.Accuracy > 0.95)
	// Output:
	// parameters: [hidden1/w hidden1/b out/w out/b] 4810
	// test examples: 359
	// test accuracy > 0.95: true
}

func ExampleSaveFile() {
	net := models.MLP{Hidden: []int{8}, Outputs: 3}
	params := graph.NewParams(graph.Float32, 1)
	if err := models.Init(net, params, graph.Shape{4}); err != nil { // or train them
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "descent-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "mlp.ckpt")

	// SaveFile writes a temporary file and renames it over path: a crash
	// never leaves half a checkpoint there.
	if err := models.SaveFile(path, params); err != nil {
		log.Fatal(err)
	}
	loaded, err := models.LoadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	for i := 0; i < loaded.Len(); i++ {
		fmt.Println(loaded.Name(i), loaded.At(i).Shape())
	}
	fmt.Println(loaded.Dtype(), "seed", loaded.Seed())
	fmt.Println("same values:", reflect.DeepEqual(params.CopyFloat64s("out/w"), loaded.CopyFloat64s("out/w")))
	// Output:
	// hidden1/w (4, 8)
	// hidden1/b (8)
	// out/w (8, 3)
	// out/b (3)
	// float32 seed 1
	// same values: true
}

func ExampleLoad() {
	net := models.MLP{Hidden: []int{8}, Outputs: 3}
	trained := graph.NewParams(graph.Float64, 7)
	if err := models.Init(net, trained, graph.Shape{4}); err != nil {
		log.Fatal(err)
	}
	var buf bytes.Buffer
	if err := models.Save(&buf, trained); err != nil {
		log.Fatal(err)
	}
	fmt.Println("checkpoint bytes:", buf.Len())

	// Load makes new Params...
	loaded, err := models.Load(bytes.NewReader(buf.Bytes()))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(loaded.Names(), loaded.Dtype(), "seed", loaded.Seed())

	// ...LoadInto fills existing ones, made by Init (or training) for the
	// same architecture, and checks that every name and shape matches.
	fresh := graph.NewParams(graph.Float64, 0)
	if err := models.Init(net, fresh, graph.Shape{4}); err != nil {
		log.Fatal(err)
	}
	if err := models.LoadInto(fresh, bytes.NewReader(buf.Bytes())); err != nil {
		log.Fatal(err)
	}
	fmt.Println("same values:", reflect.DeepEqual(fresh.CopyFloat64s("hidden1/w"), trained.CopyFloat64s("hidden1/w")))

	wider := graph.NewParams(graph.Float64, 0)
	if err := models.Init(net, wider, graph.Shape{5}); err != nil {
		log.Fatal(err)
	}
	err = models.LoadInto(wider, bytes.NewReader(buf.Bytes()))
	fmt.Println("a model for 5 inputs refuses it:", err != nil)
	// Output:
	// checkpoint bytes: 665
	// [hidden1/w hidden1/b out/w out/b] float64 seed 7
	// same values: true
	// a model for 5 inputs refuses it: true
}

// TwoBranch is a custom model written with gorgonia directly: a hidden
// branch relu(x·W + b) and a linear skip x·S, added, then a Dense layer to
// the classes. Its parameters come from b.Param, so they live in the
// Params and are shared by every graph the trainer builds.
type TwoBranch struct {
	Hidden  int
	Classes int
}

// Forward implements models.Model. A value receiver lets a notebook define
// the same type.
func (m TwoBranch) Forward(b *graph.Builder, x *G.Node) (*G.Node, error) {
	x, err := graph.Flatten(x) // (batch, features)
	if err != nil {
		return nil, err
	}
	features := x.Shape()[1]
	w, err := b.Param("branch/w", graph.Shape{features, m.Hidden}, graph.HeNormal)
	if err != nil {
		return nil, err
	}
	bias, err := b.Param("branch/b", graph.Shape{1, m.Hidden}, graph.Zeros)
	if err != nil {
		return nil, err
	}
	s, err := b.Param("skip/w", graph.Shape{features, m.Hidden}, graph.GlorotUniform)
	if err != nil {
		return nil, err
	}
	xw, err := G.Mul(x, w)
	if err != nil {
		return nil, err
	}
	pre, err := G.BroadcastAdd(xw, bias, nil, []byte{0}) // bias repeated down the batch
	if err != nil {
		return nil, err
	}
	hidden, err := G.Rectify(pre)
	if err != nil {
		return nil, err
	}
	skip, err := G.Mul(x, s)
	if err != nil {
		return nil, err
	}
	sum, err := G.Add(hidden, skip)
	if err != nil {
		return nil, err
	}
	return graph.Dense(b, "out", sum, m.Classes, nil)
}

func Example_customModel() {
	train, test, err := digitsSplit()
	if err != nil {
		log.Fatal(err)
	}
	net := TwoBranch{Hidden: 32, Classes: 10}
	params := graph.NewParams(graph.Float64, 1)
	if err := models.Init(net, params, test.XShape()); err != nil { // creates the params
		log.Fatal(err)
	}
	before, err := models.Evaluate(net, params, graph.SoftmaxCrossEntropy, test)
	if err != nil {
		log.Fatal(err)
	}
	sgd := trainers.MiniBatchSGD{BatchSize: 32, Config: trainers.Config{
		Epochs:    5,
		Loss:      graph.SoftmaxCrossEntropy,
		Optimizer: trainers.SGD{LR: 0.05, Momentum: 0.9},
		Seed:      1,
	}}
	hist, err := sgd.Fit(context.Background(), net, params, train)
	if err != nil {
		log.Fatal(err)
	}
	after, err := models.Evaluate(net, params, graph.SoftmaxCrossEntropy, test)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("parameters:", params.Names())
	fmt.Println("epochs:", len(hist.Epochs), "updates:", hist.Epochs[len(hist.Epochs)-1].Updates)
	fmt.Printf("test accuracy before > 0.5: %v, after > 0.9: %v\n", before.Accuracy > 0.5, after.Accuracy > 0.9)
	fmt.Println("test loss fell:", after.Loss < before.Loss/2)
	// Output:
	// parameters: [branch/w branch/b skip/w out/w out/b]
	// epochs: 5 updates: 225
	// test accuracy before > 0.5: false, after > 0.9: true
	// test loss fell: true
}
