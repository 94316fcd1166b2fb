//go:build unix

package graph

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user and system, all threads) the process has
// used so far, for benchmarks' per-CPU-second figures on a loaded machine.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
