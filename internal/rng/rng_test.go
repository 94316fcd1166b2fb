package rng

import "testing"

func TestMixExtendsSeed(t *testing.T) {
	for _, k := range []uint64{0, 1, 7, 1 << 40} {
		if got, want := Mix(Seed(3, "layer/x", 32), k), Seed(3, "layer/x", 32, k); got != want {
			t.Errorf("Mix(Seed(3, layer/x, 32), %d) = %d, want Seed(..., %d) = %d", k, got, k, want)
		}
	}
}
