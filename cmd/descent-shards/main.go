// Command descent-shards converts a CSV file or an IDX pair (the MNIST
// family) into descent's shard format (docs/datasets.md, "Larger than
// memory"), streaming: the data set never has to fit in memory. It also
// verifies a shard directory against its manifest's SHA-256 sums.
//
//	descent-shards -out DIR -idx IMAGES,LABELS [-dtype float32] [-layout flat|nchw]
//	descent-shards -out DIR -csv FILE [-header] [-class-index] [-targets -1] [-dtype float64]
//	    common: [-per 32768] [-shuffle -buffer 100000 -seed 1]
//	descent-shards -verify DIR
//
// -shuffle writes the examples in a shuffled order, mixed through a buffer
// of -buffer examples (a sorted file then makes mixed shards). It prints
// one line per shard directory: examples, shards and bytes.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "descent-shards: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("descent-shards", flag.ContinueOnError)
	out := fs.String("out", "", "directory to write the shards and manifest.json into (created if needed)")
	idx := fs.String("idx", "", "IMAGES,LABELS: IDX files of unsigned bytes (gzip or raw)")
	csvPath := fs.String("csv", "", "CSV file (gzip or raw)")
	header := fs.Bool("header", false, "CSV: skip the first line")
	classIndex := fs.Bool("class-index", false, "CSV: the target column holds class indices")
	targets := fs.String("targets", "", "CSV: comma-separated target columns (negative counts from the end; default the last)")
	dtype := fs.String("dtype", "float32", "float32 or float64")
	layout := fs.String("layout", "flat", "IDX: flat or nchw")
	per := fs.Int("per", 32768, "examples per shard")
	shuffle := fs.Bool("shuffle", false, "write the examples shuffled through a buffer of -buffer examples")
	buffer := fs.Int("buffer", 100000, "shuffle buffer, examples (with -shuffle)")
	seed := fs.Int64("seed", 1, "shuffle seed")
	verify := fs.String("verify", "", "check the shards of this directory against its manifest's SHA-256 sums")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *verify != "" {
		if err := datasets.VerifyShards(ctx, *verify); err != nil {
			return err
		}
		s, err := datasets.OpenShards(*verify, datasets.StreamOptions{})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: ok, %d examples in %d shards\n", *verify, s.Len(), len(s.Manifest().Shards))
		return nil
	}
	var dt tensor.Dtype
	switch *dtype {
	case "float32":
		dt = tensor.Float32
	case "float64":
		dt = tensor.Float64
	default:
		return fmt.Errorf("-dtype %q: want float32 or float64", *dtype)
	}
	so := datasets.StreamOptions{}
	if *shuffle {
		so.ShuffleBuffer = *buffer
	}
	var src datasets.Source
	var err error
	switch {
	case *out == "":
		return fmt.Errorf("-out is required")
	case (*idx == "") == (*csvPath == ""):
		return fmt.Errorf("give one of -idx IMAGES,LABELS and -csv FILE")
	case *idx != "":
		files := strings.Split(*idx, ",")
		if len(files) != 2 {
			return fmt.Errorf("-idx %q: want IMAGES,LABELS", *idx)
		}
		l := datasets.Flat
		switch *layout {
		case "flat":
		case "nchw":
			l = datasets.NCHW
		default:
			return fmt.Errorf("-layout %q: want flat or nchw", *layout)
		}
		src, err = datasets.OpenIDXStream(files[0], files[1], datasets.IDXStreamOptions{Dtype: dt, Layout: l, Stream: so})
	default:
		opt := datasets.CSVOptions{Header: *header, ClassIndex: *classIndex, Dtype: dt}
		for _, f := range strings.Split(*targets, ",") {
			if f = strings.TrimSpace(f); f == "" {
				continue
			}
			var t int
			if _, err := fmt.Sscan(f, &t); err != nil {
				return fmt.Errorf("-targets %q: %q is not a column number", *targets, f)
			}
			opt.Targets = append(opt.Targets, t)
		}
		src, err = datasets.OpenCSVStream(*csvPath, opt, so)
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	man, err := datasets.WriteShards(ctx, *out, src, datasets.ShardWriteOptions{ExamplesPerShard: *per, Shuffle: *shuffle, Seed: *seed})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d examples of x %v, y %v (%s) in %d shards\n", *out, src.Len(), man.XShape, man.YShape, man.Dtype, len(man.Shards))
	return nil
}
