//go:build race

package models_test

// raceEnabled is true under the race detector, which slows gorgonia's
// numeric kernels tenfold: the longest checks then run smaller.
const raceEnabled = true
