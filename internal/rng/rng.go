// Package rng derives independent, reproducible random generators from a
// user seed and a label, so that every random choice in descent (an
// initializer, an epoch's shuffle, a dropout mask) depends only on the seed and
// what it is for, never on the order in which things happen.
package rng

import (
	"hash/fnv"
	"math/rand"
)

// mix is splitmix64's finalizer: a bijection that spreads nearby inputs
// (seed 1 and seed 2, epoch 3 and epoch 4) over the whole 64-bit space.
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Seed returns a seed derived from seed, a label and any number of integers
// (an epoch, a step). Different labels or integers give unrelated streams.
func Seed(seed int64, label string, ks ...uint64) int64 {
	h := fnv.New64a()
	h.Write([]byte(label))
	z := mix(uint64(seed) ^ mix(h.Sum64()))
	for _, k := range ks {
		z = mix(z ^ mix(k))
	}
	return int64(z)
}

// New returns a generator seeded by Seed(seed, label, ks...).
func New(seed int64, label string, ks ...uint64) *rand.Rand {
	return rand.New(rand.NewSource(Seed(seed, label, ks...)))
}

// Mix derives the seed of the k-th member of a family from the family's
// seed: Mix(Seed(s, label, ks...), k) == Seed(s, label, append(ks, k)...),
// without hashing the label again (no allocation, for per-step streams).
func Mix(seed int64, k uint64) int64 { return int64(mix(uint64(seed) ^ mix(k))) }
