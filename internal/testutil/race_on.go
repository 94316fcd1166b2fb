//go:build race

package testutil

// Race reports a build with the race detector on (-race). The detector
// allocates on its own, so allocation counts mean nothing under it, and it
// slows numeric loops about tenfold, so the longest checks run smaller.
// This pair of files is the one place that reads the race build tag; the
// other build fact, OpenBLAS, is kernels.OpenBLAS.
const Race = true
