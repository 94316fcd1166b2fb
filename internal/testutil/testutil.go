// Package testutil holds the small helpers descent's tests share.
package testutil

import (
	"math"
	"strings"
	"testing"
)

// ErrContains fails t unless err is non-nil and its message contains every
// one of words. A message should name what is wrong: the words are the
// names a user needs to find it (a field, a parameter, a row, a file).
func ErrContains(t testing.TB, err error, words ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", words)
	}
	msg := err.Error()
	for _, w := range words {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not contain %q", msg, w)
		}
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
	ErrContains(t, err, words...)
	if !strings.HasPrefix(err.Error(), prefix) {
		t.Errorf("error %q does not start with %q", err, prefix)
	}
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
