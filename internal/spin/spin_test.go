package spin

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestLatchWaitsForEveryShare hands shares to goroutines that end them
// later and checks that Wait returns only after the last.
func TestLatchWaitsForEveryShare(t *testing.T) {
	for round := 0; round < 50; round++ {
		var l Latch
		var ended int32
		l.Add(3)
		for i := 0; i < 3; i++ {
			go func(i int) {
				time.Sleep(time.Duration(i*100) * time.Microsecond)
				atomic.AddInt32(&ended, 1)
				l.Done()
			}(i)
		}
		l.Wait()
		if n := atomic.LoadInt32(&ended); n != 3 {
			t.Fatalf("round %d: Wait returned after %d of 3 shares", round, n)
		}
	}
}

// TestPoll checks both outcomes: success as soon as try does, and giving up
// (false) after For when it never does.
func TestPoll(t *testing.T) {
	calls := 0
	if !Poll(func() bool { calls++; return calls == 3 }) || calls != 3 {
		t.Errorf("Poll: %d calls, want true after 3", calls)
	}
	start := time.Now()
	if Poll(func() bool { return false }) {
		t.Error("Poll returned true for a try that never succeeds")
	}
	if d := time.Since(start); d < For {
		t.Errorf("Poll gave up after %v, before For = %v", d, For)
	}
}

// TestLatchLongWait ends a share long after For: Wait must still return,
// after the share, by its sleeping polls.
func TestLatchLongWait(t *testing.T) {
	var l Latch
	var ended int32
	l.Add(1)
	go func() {
		time.Sleep(3 * For)
		atomic.StoreInt32(&ended, 1)
		l.Done()
	}()
	l.Wait()
	if atomic.LoadInt32(&ended) != 1 {
		t.Fatal("Wait returned before the share ended")
	}
}
