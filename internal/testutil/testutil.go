// Package testutil holds the small helpers descent's tests and benchmarks
// share: one spelling of each check, and the two facts of the test build
// (Race here, OpenBLAS in internal/kernels).
package testutil

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"gorgonia.org/tensor"
)

// ErrContains fails t unless err is non-nil and its message contains every
// one of words. A message should name what is wrong: the words are the
// names a user needs to find it (a field, a parameter, a row, a file).
// With DESCENT_SHOW_ERRORS set, it logs each message, to review them.
func ErrContains(t testing.TB, err error, words ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", words)
	}
	msg := err.Error()
	if os.Getenv("DESCENT_SHOW_ERRORS") != "" {
		t.Log(msg)
	}
	for _, w := range words {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not contain %q", msg, w)
		}
	}
}

// ErrPrefixed is ErrContains for an error that must also start with prefix,
// its package's (e.g. "datasets: ").
func ErrPrefixed(t testing.TB, err error, prefix string, words ...string) {
	t.Helper()
	ErrContains(t, err, words...)
	if !strings.HasPrefix(err.Error(), prefix) {
		t.Errorf("error %q does not start with %q", err, prefix)
	}
}

// Misuse calls call, failing t if it panics, and checks that it returns an
// error that starts with prefix (the package's, e.g. "datasets: ") and
// contains every one of words: the shape of every row of a misuse table.
func Misuse(t testing.TB, prefix string, call func() error, words ...string) {
	t.Helper()
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("panic: %v", r)
			}
		}()
		err = call()
	}()
	ErrPrefixed(t, err, prefix, words...)
}

// SameBits reports whether a and b hold the same float64s bit for bit
// (NaNs included).
func SameBits(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}

// ParamSet is what SameParams reads of a graph.Params (testutil cannot
// import graph, whose own tests use it).
type ParamSet interface {
	Len() int
	Name(i int) string
	At(i int) *tensor.Dense
	BufferNames() []string
	Buffer(name string) *tensor.Dense
}

// SameParams reports whether a and b are bit-identical Params: the same
// parameters and buffers, in the same order, of the same shapes and dtypes,
// holding the same bits (NaN payloads included, float32 values compared as
// float32). To compare with an earlier state, keep a Clone.
func SameParams(a, b ParamSet) bool { return ParamsDiff(a, b) == "" }

// ParamsDiff returns "" if SameParams(a, b), else what first differs.
func ParamsDiff(a, b ParamSet) string {
	if a.Len() != b.Len() {
		return fmt.Sprintf("%d parameters, then %d", a.Len(), b.Len())
	}
	for i := 0; i < a.Len(); i++ {
		if a.Name(i) != b.Name(i) {
			return fmt.Sprintf("parameter %d is %q, then %q", i, a.Name(i), b.Name(i))
		}
		if d := denseDiff(a.At(i), b.At(i)); d != "" {
			return a.Name(i) + ": " + d
		}
	}
	an, bn := a.BufferNames(), b.BufferNames()
	if len(an) != len(bn) {
		return fmt.Sprintf("buffers %q, then %q", an, bn)
	}
	for i, name := range an {
		if bn[i] != name {
			return fmt.Sprintf("buffers %q, then %q", an, bn)
		}
		if d := denseDiff(a.Buffer(name), b.Buffer(name)); d != "" {
			return "buffer " + name + ": " + d
		}
	}
	return ""
}

// SameTensor reports whether x and y have one shape, one dtype and the
// same bits (float32 values compared as float32).
func SameTensor(x, y *tensor.Dense) bool { return denseDiff(x, y) == "" }

// denseDiff returns "" if x and y have one shape, one dtype and the same
// bits, else what differs.
func denseDiff(x, y *tensor.Dense) string {
	switch {
	case x == nil || y == nil:
		if x != y {
			return "nil tensor"
		}
		return ""
	case !x.Shape().Eq(y.Shape()) || x.Dtype() != y.Dtype():
		return fmt.Sprintf("shape %v %v, then %v %v", x.Shape(), x.Dtype(), y.Shape(), y.Dtype())
	}
	switch xd := x.Data().(type) {
	case []float64:
		if yd := y.Data().([]float64); !SameBits(xd, yd) {
			return "values differ"
		}
	case []float32:
		yd := y.Data().([]float32)
		for i := range xd {
			if math.Float32bits(xd[i]) != math.Float32bits(yd[i]) {
				return fmt.Sprintf("[%d]: %v, then %v", i, xd[i], yd[i])
			}
		}
	case float64: // a scalar
		if math.Float64bits(xd) != math.Float64bits(y.Data().(float64)) {
			return fmt.Sprintf("%v, then %v", xd, y.Data())
		}
	case float32:
		if math.Float32bits(xd) != math.Float32bits(y.Data().(float32)) {
			return fmt.Sprintf("%v, then %v", xd, y.Data())
		}
	default:
		return fmt.Sprintf("dtype %v not compared", x.Dtype())
	}
	return ""
}
