//go:build !race

package datasets

// raceEnabled is true when the race detector is on.
const raceEnabled = false
