// Command scaling trains the MNIST-shaped MLP (784-128-10, float32, softmax cross-entropy, SGD)
// for a fixed number of steps of a fixed global batch on data generated from a seed, data
// parallel: on -replicas goroutines of this process, on the ranks of an MPI job, or both.
//
//	go run ./examples/scaling -replicas 2 -json           # 2 replicas on this machine's cores
//	go build -tags mpi -o scaling ./examples/scaling      # needs libopenmpi-dev
//	mpirun -np 2 --bind-to none ./scaling -json           # 2 processes, here or on many machines
//
// -model lenet trains LeNet-5 on the same data as 1×28×28 images instead.
//
// It prints one JSON object (rank 0 only): replicas (all parts together), ranks, samples_per_sec
// (over the steps after -warm), steps, final_loss (the last step's global batch loss),
// params_sha256 (SHA-256 of models.Save's bytes of the trained parameters), and the time per
// step spent computing and communicating. The reduction adds the parts' gradients in part order,
// so an MPI job of N ranks prints the params_sha256 of -replicas N in one process.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"time"

	"github.com/pkg/errors"

	"github.com/descent-go/descent/cluster"
	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/examples/internal/cli"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/rng"
	"github.com/descent-go/descent/models"
	"github.com/descent-go/descent/trainers"
)

const (
	features = 784
	classes  = 10
)

type summary struct {
	Model         string  `json:"model"`
	Params        int     `json:"params"`   // trainable scalars: the gradient's length
	Replicas      int     `json:"replicas"` // parts of every batch: ranks × replicas per rank
	Ranks         int     `json:"ranks"`
	ReplicasLocal int     `json:"replicas_per_rank"`
	GOMAXPROCS    int     `json:"gomaxprocs"`
	Batch         int     `json:"batch"` // global batch
	Steps         int     `json:"steps"`
	Examples      int     `json:"examples"` // training set size
	SamplesPerSec float64 `json:"samples_per_sec"`
	StepMS        float64 `json:"step_ms"` // wall time per timed step
	// CommMS is the time per timed step spent in the job's collectives (MPI only: the
	// allgathers, including waiting for the slowest rank); ComputeMS is the rest of the step.
	CommMS       float64 `json:"comm_ms"`
	ComputeMS    float64 `json:"compute_ms"`
	FinalLoss    float64 `json:"final_loss"`
	FirstLoss    float64 `json:"first_loss"`
	ParamsSHA256 string  `json:"params_sha256"`
}

func main() {
	job, err := cluster.Join()
	if err != nil {
		fmt.Fprintln(os.Stderr, "scaling:", err)
		os.Exit(1)
	}
	defer func() { // a panic on one rank ends the whole job (a hang otherwise)
		if r := recover(); r != nil {
			job.Abort(errors.Errorf("scaling: panic: %v", r))
		}
	}()
	out := io.Writer(os.Stdout)
	if job.Rank() != 0 {
		out = io.Discard // rank 0 alone reports
	}
	if err := run(context.Background(), job, os.Args[1:], out); err != nil {
		if job.Size() > 1 {
			job.Abort(err)
		}
		fmt.Fprintln(os.Stderr, "scaling:", err)
		os.Exit(1)
	}
	if err := job.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "scaling:", err)
		os.Exit(1)
	}
}

// timed counts the time a job spends in the collectives the training loop calls per step.
type timed struct {
	*cluster.Job
	on   bool
	comm time.Duration
}

func (t *timed) AllgatherFloat64(local, out []float64) error {
	start := time.Now()
	err := t.Job.AllgatherFloat64(local, out)
	if t.on {
		t.comm += time.Since(start)
	}
	return err
}

func (t *timed) AllgatherFloat32(local, out []float32) error {
	start := time.Now()
	err := t.Job.AllgatherFloat32(local, out)
	if t.on {
		t.comm += time.Since(start)
	}
	return err
}

// options are the command line's settings.
type options struct {
	replicas, steps, batch, n, warm int
	lr                              float64
	seed                            int64
	save, model                     string
	json                            bool
}

func run(ctx context.Context, job *cluster.Job, args []string, stdout io.Writer) error {
	o, err := parseFlags(job, args, stdout)
	if err != nil {
		return err
	}
	m, shape, err := chooseModel(o.model)
	if err != nil {
		return err
	}
	rep := cli.Report{JSON: o.json, Out: stdout}
	ds, err := mnistLike(o.n, o.seed, shape)
	if err != nil {
		return err
	}

	// 1. Train over every rank and replica, timing the steps after -warm.
	s := summary{
		Model: o.model, Replicas: job.Size() * o.replicas, Ranks: job.Size(), ReplicasLocal: o.replicas,
		GOMAXPROCS: runtime.GOMAXPROCS(0), Batch: o.batch, Steps: o.steps, Examples: o.n,
	}
	cl := &timed{Job: job}
	var t0, t1 time.Time
	stepsPerEpoch := o.n / o.batch
	cfg := trainers.Config{
		Epochs: (o.steps + stepsPerEpoch - 1) / stepsPerEpoch, Loss: graph.SoftmaxCrossEntropy,
		Optimizer: trainers.SGD{LR: o.lr}, Seed: o.seed, LogEvery: 1,
		Parallel: trainers.Parallel{Replicas: o.replicas},
		Callbacks: []trainers.Callback{func(e trainers.Event) error {
			if e.Kind != trainers.StepEnd {
				return nil
			}
			if e.Step == 1 {
				s.FirstLoss = e.Loss
			}
			if e.Step == o.warm {
				cl.on, t0 = true, time.Now()
			}
			if e.Step >= o.steps {
				t1, cl.on = time.Now(), false
				s.FinalLoss = e.Loss
				return trainers.ErrStop
			}
			return nil
		}},
	}
	if job.Size() > 1 {
		cfg.Parallel.Cluster = cl
	}
	rep.Printf("training %s on %d examples: %d steps of batch %d over %d ranks × %d replicas\n",
		o.model, o.n, o.steps, o.batch, job.Size(), o.replicas)
	p := graph.NewParams(graph.Float32, o.seed)
	t := trainers.MiniBatchSGD{Config: cfg, BatchSize: o.batch, DropLast: true}
	if _, err := t.Fit(ctx, m, p, ds); err != nil {
		return errors.Wrapf(err, "rank %d of %d", job.Rank(), job.Size())
	}
	if t1.IsZero() {
		return errors.Errorf("rank %d: training ended before step %d", job.Rank(), o.steps)
	}
	timedSteps := float64(o.steps - o.warm)
	wall := t1.Sub(t0)
	s.SamplesPerSec = timedSteps * float64(o.batch) / wall.Seconds()
	s.StepMS = wall.Seconds() * 1e3 / timedSteps
	s.CommMS = cl.comm.Seconds() * 1e3 / timedSteps
	s.ComputeMS = s.StepMS - s.CommMS

	// 2. Every rank ends with rank 0's weights.
	s.Params = p.NumScalars()
	if s.ParamsSHA256, err = sameWeights(job, p); err != nil {
		return err
	}
	if o.save != "" && job.Rank() == 0 { // rank 0 alone writes files
		if err := models.SaveFile(o.save, p); err != nil {
			return err
		}
	}
	if math.IsNaN(s.FinalLoss) {
		return errors.Errorf("final loss is NaN: lower -lr")
	}
	rep.Printf("%.0f samples/s, %.3f ms per step (%.3f ms communicating), loss %.4f → %.4f\nparams sha256 %s\n",
		s.SamplesPerSec, s.StepMS, s.CommMS, s.FirstLoss, s.FinalLoss, s.ParamsSHA256)
	return rep.Summary(s)
}

func parseFlags(job *cluster.Job, args []string, stdout io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("scaling", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.IntVar(&o.replicas, "replicas", 1, "replicas in this process (goroutines, one compiled program each)")
	fs.IntVar(&o.steps, "steps", 300, "updates to train")
	fs.IntVar(&o.batch, "batch", 128, "global batch size, split over all replicas and ranks")
	fs.IntVar(&o.n, "n", 16384, "training examples generated")
	fs.IntVar(&o.warm, "warm", 20, "first updates not timed (compiling, first touches)")
	fs.Float64Var(&o.lr, "lr", 0.05, "SGD learning rate")
	fs.Int64Var(&o.seed, "seed", 1, "seed of the data, the initial weights and the shuffles")
	fs.StringVar(&o.save, "save", "", "write the trained parameters to this file with models.SaveFile (rank 0 only)")
	fs.StringVar(&o.model, "model", "mlp", "mlp (784-128-10) or lenet (LeNet-5 on 1×28×28 images)")
	fs.BoolVar(&o.json, "json", false, "print one JSON object")
	if err := cli.Parse(fs, args); err != nil {
		return o, err
	}
	switch {
	case o.replicas < 1:
		return o, errors.Errorf("-replicas %d, want ≥ 1", o.replicas)
	case o.steps < 1 || o.warm < 0 || o.warm >= o.steps:
		return o, errors.Errorf("-steps %d -warm %d: want 0 ≤ warm < steps", o.steps, o.warm)
	case o.batch < job.Size()*o.replicas:
		return o, errors.Errorf("-batch %d is smaller than the %d replicas", o.batch, job.Size()*o.replicas)
	case o.n < o.batch:
		return o, errors.Errorf("-n %d is smaller than -batch %d", o.n, o.batch)
	}
	return o, nil
}

// chooseModel returns the -model and the shape of one example it reads.
func chooseModel(name string) (models.Model, []int, error) {
	switch name {
	case "mlp":
		return models.MLP{Hidden: []int{128}, Outputs: classes}, []int{features}, nil
	case "lenet":
		return models.LeNet{Classes: classes}, []int{1, 28, 28}, nil
	}
	return nil, nil, errors.Errorf("-model %q, want mlp or lenet", name)
}

// sameWeights returns the SHA-256 of p's checkpoint, after checking that
// every rank holds rank 0's weights (the loop compares a checksum after
// every epoch; this covers the steps since).
func sameWeights(job *cluster.Job, p *graph.Params) (string, error) {
	var buf bytes.Buffer
	if err := models.Save(&buf, p); err != nil {
		return "", err
	}
	sum := sha256.Sum256(buf.Bytes())
	root := sum
	if err := job.Broadcast(root[:], 0); err != nil {
		return "", err
	}
	if root != sum {
		return "", errors.Errorf("rank %d: parameters differ from rank 0's after training", job.Rank())
	}
	return hex.EncodeToString(sum[:]), nil
}

// mnistLike returns n examples of 784 float32 features in [0, 1), shaped as shape, and a class in
// 0..9: each class has a random prototype image, and an example is half its class's prototype plus
// half uniform noise, so the classes are learnable (bench/internal/synth's recipe, in memory).
func mnistLike(n int, seed int64, shape []int) (*datasets.Dataset, error) {
	r := rng.New(seed, "examples/scaling")
	proto := make([]float32, classes*features)
	for i := range proto {
		proto[i] = r.Float32()
	}
	x := graph.NewTensor(graph.Float32, append([]int{n}, shape...)...)
	y := graph.NewTensor(graph.Float32, n)
	xs, ys := x.Float32s(), y.Float32s()
	for i := 0; i < n; i++ {
		c := r.Intn(classes)
		ys[i] = float32(c)
		for f := 0; f < features; f++ {
			xs[i*features+f] = 0.5*proto[c*features+f] + 0.5*r.Float32()
		}
	}
	return datasets.New(x, y)
}
