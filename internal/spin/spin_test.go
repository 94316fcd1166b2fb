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

// TestSpinnerStopsAfterFor: again says true until For has passed since
// its first call, then false.
func TestSpinnerStopsAfterFor(t *testing.T) {
	var s spinner
	start := time.Now()
	n := 0
	for s.again() {
		n++
	}
	if d := time.Since(start); d < For {
		t.Errorf("again said stop after %v (%d polls), before For = %v", d, n, For)
	}
	if n == 0 {
		t.Error("again never said poll again")
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

// TestRecv gets a value sent before and one sent after For, and sees a
// close.
func TestRecv(t *testing.T) {
	c := make(chan int, 1)
	c <- 1
	if v, ok := Recv(c); v != 1 || !ok {
		t.Errorf("Recv = %d, %v; want 1, true", v, ok)
	}
	go func() {
		time.Sleep(3 * For)
		c <- 2
		close(c)
	}()
	if v, ok := Recv(c); v != 2 || !ok {
		t.Errorf("Recv after For = %d, %v; want 2, true", v, ok)
	}
	if _, ok := Recv(c); ok {
		t.Error("Recv on a closed channel: ok")
	}
}
