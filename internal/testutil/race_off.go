//go:build !race

package testutil

// Race reports a build with the race detector on (race_on.go): false.
const Race = false
