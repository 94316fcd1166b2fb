//go:build race

package datasets

// raceEnabled is true when the race detector is on: it slows the
// single-goroutine checksum test over 85 MB of Fashion-MNIST tenfold, so
// that test skips itself under -race -short.
const raceEnabled = true
