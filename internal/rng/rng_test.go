package rng

import "testing"

func TestChildExtendsSeed(t *testing.T) {
	for _, seed := range []int64{0, 1, -7, 1 << 62} {
		for _, k := range []uint64{0, 1, 2, 1 << 40} {
			if got, want := Child(Seed(seed, "augment", 3), k), Seed(seed, "augment", 3, k); got != want {
				t.Fatalf("Child(Seed(%d, augment, 3), %d) = %d, want Seed(%d, augment, 3, %d) = %d", seed, k, got, seed, k, want)
			}
		}
	}
	if Child(5, 1) == Child(5, 2) || Child(5, 1) == Child(6, 1) {
		t.Fatal("Child ignores its arguments")
	}
}
