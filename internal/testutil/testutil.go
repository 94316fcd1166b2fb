// Package testutil holds the small helpers descent's tests share.
package testutil

import (
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
