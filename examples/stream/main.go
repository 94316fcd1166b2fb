// Command stream trains from a data set larger than memory: it writes a
// synthetic MNIST-shaped data set of -n examples (784 float32 pixels and a
// class, 3144 bytes a record on disk: -n 2000000 is 6.3 GB) as shards with
// datasets.WriteShards, then trains the MLP 784-128-10 (float32, batch 128,
// mini-batch SGD) from the shards through datasets.OpenShards with a
// shuffle buffer and a prefetching goroutine, and prints one JSON object:
//
//	go run ./examples/stream [-n 200000] [-dir DIR] [-keep] [-mode shards|memory|read]
//	    [-epochs 1] [-batch 128] [-buffer 1024] [-prefetch 2048] [-per 32768]
//
// -mode memory trains from the same data built in memory (the fast path, for
// comparison; it needs the memory), and -mode read only streams the shards
// (data-loading throughput, no training). The shards go to -dir (default a
// temporary directory, removed at the end unless -keep); shards already
// there for the same -n and -per are reused. peak_rss_mb is the process's
// peak resident set (VmHWM), which stays flat as -n grows: memory is bounded
// by the batch, the prefetch depth and the shuffle buffer.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/examples/internal/cli"
	"github.com/descent-go/descent/internal/testutil"
)

// summary is the JSON the example prints.
type summary struct {
	Mode          string  `json:"mode"`
	Examples      int     `json:"examples"`      // examples trained on (or read), all epochs
	DataSet       int     `json:"data_set"`      // -n
	Shards        int     `json:"shards"`        // shard files
	BytesOnDisk   int64   `json:"bytes_on_disk"` // size of the shards
	WriteSeconds  float64 `json:"write_seconds"` // time to write the shards (0 if reused)
	Seconds       float64 `json:"seconds"`       // training (or reading) wall time
	SamplesPerSec float64 `json:"samples_per_sec"`
	CPUSeconds    float64 `json:"cpu_seconds"` // user+system CPU time of the training (or reading), all threads
	SamplesPerCPU float64 `json:"samples_per_cpu_second"`
	PeakRSSMB     float64 `json:"peak_rss_mb"`
	FirstLoss     float64 `json:"first_loss,omitempty"` // mean training loss of the first epoch
	FinalLoss     float64 `json:"final_loss,omitempty"` // mean training loss of the last epoch
}

func main() { cli.Main("stream", run) }

type options struct {
	n, epochs, batch, buffer, prefetch, per int
	lr                                      float64
	seed                                    int64
}

func run(ctx context.Context, args []string, stdout io.Writer) (err error) {
	fs := flag.NewFlagSet("stream", flag.ContinueOnError)
	var o options
	fs.IntVar(&o.n, "n", 200000, "examples in the synthetic data set (3144 bytes each on disk)")
	dir := fs.String("dir", "", "directory of the shards (default: a new temporary directory)")
	keep := fs.Bool("keep", false, "keep the shards (a temporary -dir is removed otherwise)")
	mode := fs.String("mode", "shards", "shards: train from shards; memory: train from the data in memory; read: only stream the shards")
	fs.IntVar(&o.epochs, "epochs", 1, "epochs")
	fs.IntVar(&o.batch, "batch", 128, "mini-batch size")
	fs.IntVar(&o.buffer, "buffer", 1024, "shuffle buffer, examples (the data is written in random class order: 1024 mixes batches like a full permutation, docs/datasets.md)")
	fs.IntVar(&o.prefetch, "prefetch", 2048, "examples read ahead on a goroutine")
	fs.IntVar(&o.per, "per", 32768, "examples per shard")
	fs.Float64Var(&o.lr, "lr", 0.05, "learning rate")
	fs.Int64Var(&o.seed, "seed", 1, "seed of the data, the initial weights and the shuffle")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the training (or reading) to this file")
	fs.SetOutput(io.Discard)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if o.n < 1 || o.epochs < 1 || o.batch < 1 || o.per < 1 {
		return fmt.Errorf("-n, -epochs, -batch and -per must be at least 1")
	}
	if *mode != "memory" && *mode != "shards" && *mode != "read" {
		return fmt.Errorf("-mode %q: want shards, memory or read", *mode)
	}

	// 1. The data: in memory, or written once as shards and streamed.
	s := summary{Mode: *mode, DataSet: o.n}
	src := newSynth(o.n, o.seed)
	var train datasets.Source
	if *mode == "memory" {
		if train, err = src.inMemory(); err != nil {
			return err
		}
	} else {
		if *dir == "" {
			if *dir, err = os.MkdirTemp("", "descent-stream-"); err != nil {
				return err
			}
			if !*keep {
				defer os.RemoveAll(*dir)
			}
		}
		if train, err = ensureShards(ctx, *dir, src, o, &s); err != nil {
			return err
		}
	}

	// 2. Read or train, timed (and profiled with -cpuprofile).
	if *cpuprofile != "" {
		stop, err := startProfile(*cpuprofile)
		if err != nil {
			return err
		}
		defer stop()
	}
	start, cpu0 := time.Now(), testutil.ProcessCPU()
	if *mode == "read" {
		s.Examples, err = readAll(ctx, train, o)
	} else {
		s.Examples, s.FirstLoss, s.FinalLoss, err = fit(ctx, train, o)
	}
	if err != nil {
		return err
	}
	s.Seconds = time.Since(start).Seconds()
	s.SamplesPerSec = float64(s.Examples) / s.Seconds
	if c := testutil.ProcessCPU(); c > cpu0 { // the kernel counts CPU time in ticks: a short read may show none
		s.CPUSeconds = (c - cpu0).Seconds()
		s.SamplesPerCPU = float64(s.Examples) / s.CPUSeconds
	}
	s.PeakRSSMB = peakRSSMB()
	r := cli.Report{JSON: true, Out: stdout}
	return r.Summary(s)
}

// ensureShards writes src as shards into dir, unless dir already holds
// shards of the same size and shape.
func ensureShards(ctx context.Context, dir string, src *synth, o options, s *summary) (*datasets.Shards, error) {
	opt := datasets.StreamOptions{ShuffleBuffer: o.buffer, Prefetch: o.prefetch}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	sh, err := datasets.OpenShards(dir, opt)
	if err != nil || sh.Len() != o.n || sh.Manifest().Shards[0].Examples != min(o.per, o.n) {
		start := time.Now()
		if _, err := datasets.WriteShards(ctx, dir, src, datasets.ShardWriteOptions{ExamplesPerShard: o.per}); err != nil {
			return nil, err
		}
		s.WriteSeconds = time.Since(start).Seconds()
		if sh, err = datasets.OpenShards(dir, opt); err != nil {
			return nil, err
		}
	}
	for _, si := range sh.Manifest().Shards {
		fi, err := os.Stat(filepath.Join(dir, si.File))
		if err != nil {
			return nil, err
		}
		s.BytesOnDisk += fi.Size()
		s.Shards++
	}
	return sh, nil
}

// readAll streams every epoch of src in batches and returns the examples
// read.
func readAll(ctx context.Context, src datasets.Source, o options) (int, error) {
	x := tensor.New(tensor.WithShape(o.batch, 784), tensor.Of(tensor.Float32))
	y := tensor.New(tensor.WithShape(o.batch), tensor.Of(tensor.Float32))
	total := 0
	for e := 0; e < o.epochs; e++ {
		st, err := src.Open(ctx, datasets.Pass{Epoch: e, Seed: o.seed, Shuffle: true})
		if err != nil {
			return total, err
		}
		for {
			k, err := st.Read(x, y, o.batch)
			total += k
			if err == io.EOF {
				break
			}
			if err != nil {
				st.Close()
				return total, err
			}
		}
		if err := st.Close(); err != nil {
			return total, err
		}
	}
	return total, nil
}

// peakRSSMB is the peak resident set size (VmHWM of /proc/self/status) in
// MB, or -1 where there is no /proc.
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, err := strconv.ParseFloat(f[1], 64)
			if err == nil {
				return kb / 1024
			}
		}
	}
	return -1
}

// startProfile starts a CPU profile into path; stop ends it.
func startProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
