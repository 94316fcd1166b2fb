package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/models"
	"github.com/descent-go/descent/trainers"
)

// Main runs an example's run function with the command-line arguments, a
// context canceled by Ctrl-C (training then stops between steps), and
// standard output; it exits 1 with the error on failure.
func Main(name string, run func(ctx context.Context, args []string, stdout io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// Parse parses an example's flags from args and rejects positional
// arguments, which no example takes: a stray word is a mistyped flag.
func Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return nil
}

// Digits splits the embedded 8×8 digits (float32) by class into parts of the
// given fractions and standardizes every part with the first part's (the
// training set's) statistics.
func Digits(seed int64, fractions ...float64) ([]*datasets.Dataset, error) {
	all, err := datasets.Digits(tensor.Float32)
	if err != nil {
		return nil, err
	}
	parts, _, err := all.SplitStandardized(seed, true, fractions...)
	return parts, err
}

// Ints parses a comma-separated list of whole numbers ≥ min for flag name.
func Ints(name, s string, min int) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil || v < min {
			return nil, fmt.Errorf("-%s: %q is not a whole number ≥ %d", name, f, min)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-%s: empty list", name)
	}
	return out, nil
}

// Floats parses a comma-separated list of numbers in (lo, hi) for flag name.
func Floats(name, s string, lo, hi float64) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || !(v > lo && v < hi) {
			return nil, fmt.Errorf("-%s: %q is not a number in (%v, %v)", name, f, lo, hi)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-%s: empty list", name)
	}
	return out, nil
}

// RunJSON runs an example's run function with args (which ask for -json)
// and decodes the JSON object it prints into v: how the examples' tests
// read a run's results.
func RunJSON(ctx context.Context, run func(ctx context.Context, args []string, stdout io.Writer) error, args []string, v interface{}) error {
	var out bytes.Buffer
	if err := run(ctx, args, &out); err != nil {
		return err
	}
	if err := json.Unmarshal(out.Bytes(), v); err != nil {
		return fmt.Errorf("%v in %s", err, out.Bytes())
	}
	return nil
}

// FitTest trains params with t on train, then evaluates them on test under
// loss: one run of a comparison, its History and its test Metrics.
func FitTest(ctx context.Context, t trainers.Trainer, model models.Model, params *graph.Params, train, test *datasets.Dataset, loss graph.Loss) (*trainers.History, models.Metrics, error) {
	h, err := t.Fit(ctx, model, params, train)
	if err != nil {
		return nil, models.Metrics{}, err
	}
	met, err := models.Evaluate(model, params, loss, test)
	return h, met, err
}
