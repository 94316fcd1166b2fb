package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
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
