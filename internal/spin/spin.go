// Package spin holds the hand-offs of descent's worker goroutines (the
// kernels' workers, which also run the trainers' replicas) that poll
// instead of blocking for a short while. On a virtual machine, waking a blocked goroutine's
// thread costs 20–40 µs (measured on the project's 2-core machine: a pass of
// 50 µs split over two cores took 60 µs with blocking hand-offs, 27 µs with
// these), as much as a share of a small matrix product, and the gaps
// between the parallel parts of a training step are shorter than that.
// Pollers yield their processor between polls, so other goroutines run.
package spin

import (
	"runtime"
	"sync/atomic"
	"time"
)

// For is how long a spinner keeps polling.
const For = 200 * time.Microsecond

// A spinner paces a polling loop without a closure (a closure capturing the
// received value would move it to the heap on every hand-off):
//
//	var s spinner
//	for {
//		select {
//		case t := <-c:
//			return t
//		default:
//		}
//		if !s.again() {
//			return <-c // blocks
//		}
//	}
//
// Its zero value is ready; use one per wait.
type spinner struct{ deadline time.Time }

// again yields the processor and reports whether to poll again: true until
// For has passed since its first call.
func (s *spinner) again() bool {
	now := time.Now()
	if s.deadline.IsZero() {
		s.deadline = now.Add(For)
	} else if now.After(s.deadline) {
		return false
	}
	runtime.Gosched()
	return true
}

// Recv receives from c, polling for For before it blocks; ok is false when
// c is closed. (Generic, but internal: not part of descent's API.)
func Recv[T any](c <-chan T) (v T, ok bool) {
	var s spinner
	for {
		select {
		case v, ok = <-c:
			return v, ok
		default:
		}
		if !s.again() {
			v, ok = <-c
			return v, ok
		}
	}
}

// A Latch counts the shares of work a caller waits for. Wait polls,
// yielding the processor, rather than blocking: the caller's own share
// usually ends about when the others' do; after For it polls every 50 µs,
// so that a long wait (a replica reading its data from disk) does not keep
// a core busy.
type Latch struct{ n int32 }

// Add adds d shares.
func (l *Latch) Add(d int32) { atomic.AddInt32(&l.n, d) }

// Done ends one share.
func (l *Latch) Done() { atomic.AddInt32(&l.n, -1) }

// Wait returns when every share has ended.
func (l *Latch) Wait() {
	var s spinner
	for atomic.LoadInt32(&l.n) > 0 {
		if !s.again() {
			time.Sleep(50 * time.Microsecond)
		}
	}
}
