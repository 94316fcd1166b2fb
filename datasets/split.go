package datasets

import (
	"math"
	"math/rand"
	"sort"

	"github.com/pkg/errors"

	"github.com/descent-go/descent/internal/rng"
)

// Split divides the examples at random into len(fractions) new Datasets
// (copies) of sizes proportional to fractions, e.g. Split(seed, true, 0.8,
// 0.2) for a training and a test set. The fractions must be positive and sum
// to 1 (within 1e-9), and every part must get at least one example. Part
// sizes are the fractions of N rounded by the largest-remainder method, so
// they add up to N.
//
// With stratify, every part also keeps the class proportions of the whole
// (each class is divided in the given fractions, up to rounding); this needs
// class labels (see Labels). The random choices come from
// rng.New(seed, "split") alone.
func (d *Dataset) Split(seed int64, stratify bool, fractions ...float64) ([]*Dataset, error) {
	if d == nil {
		return nil, errors.New("datasets: Split: nil Dataset")
	}
	if err := d.Validate(); err != nil {
		return nil, errors.Wrap(err, "datasets: Split")
	}
	if len(fractions) == 0 {
		return nil, errors.New("datasets: Split: no fractions")
	}
	sum := 0.0
	for i, f := range fractions {
		if !(f > 0) || math.IsInf(f, 0) {
			return nil, errors.Errorf("datasets: Split: fractions[%d] = %v: fractions must be positive", i, f)
		}
		sum += f
	}
	if math.Abs(sum-1) > 1e-9 {
		return nil, errors.Errorf("datasets: Split: fractions %v sum to %v, want 1", fractions, sum)
	}
	sizes := apportion(d.n, fractions)
	for i, s := range sizes {
		if s == 0 {
			return nil, errors.Errorf("datasets: Split: part %d (fraction %v of %d examples) would be empty", i, fractions[i], d.n)
		}
	}
	r := rng.New(seed, "split")
	var order []int
	if stratify {
		labels := d.Labels()
		if labels == nil {
			return nil, errors.Errorf("datasets: Split: stratify needs class labels, but Y %v holds a single regression target", d.y.Shape())
		}
		order = stratifiedOrder(labels, d.k, r)
	} else {
		order = identity(d.n)
		shuffle(order, r)
	}
	parts := make([]*Dataset, len(sizes))
	start := 0
	for i, s := range sizes {
		p, err := d.Subset(order[start : start+s])
		if err != nil {
			return nil, errors.Wrapf(err, "datasets: Split: part %d", i)
		}
		parts[i] = p
		start += s
	}
	return parts, nil
}

// apportion divides n into len(fractions) integer parts proportional to
// fractions by the largest-remainder method (ties go to the earlier part).
func apportion(n int, fractions []float64) []int {
	sizes := make([]int, len(fractions))
	rem := make([]float64, len(fractions))
	total := 0
	for i, f := range fractions {
		q := f * float64(n)
		sizes[i] = int(math.Floor(q))
		if sizes[i] > n {
			sizes[i] = n
		}
		rem[i] = q - float64(sizes[i])
		total += sizes[i]
	}
	order := identity(len(fractions))
	sort.SliceStable(order, func(a, b int) bool { return rem[order[a]] > rem[order[b]] })
	for k := 0; total < n && k < len(order); k++ {
		sizes[order[k]]++
		total++
	}
	return sizes
}

// stratifiedOrder returns a permutation of 0..len(labels)-1 in which every
// prefix and every contiguous block holds the classes in about their overall
// proportions: each class is shuffled, its members get evenly spaced keys
// (r+0.5)/count in (0, 1), and all examples are sorted by key (ties by
// class). Cutting this order into blocks of the apportioned sizes then
// divides every class in the given fractions, up to rounding.
func stratifiedOrder(labels []int, k int, r *rand.Rand) []int {
	byClass := make([][]int, k)
	for i, c := range labels {
		byClass[c] = append(byClass[c], i)
	}
	type item struct {
		key   float64
		class int
		index int
	}
	items := make([]item, 0, len(labels))
	for c, members := range byClass {
		shuffle(members, r)
		for r, i := range members {
			items = append(items, item{key: (float64(r) + 0.5) / float64(len(members)), class: c, index: i})
		}
	}
	sort.Slice(items, func(a, b int) bool {
		if items[a].key != items[b].key {
			return items[a].key < items[b].key
		}
		return items[a].class < items[b].class
	})
	order := make([]int, len(items))
	for i, it := range items {
		order[i] = it.index
	}
	return order
}

// identity returns 0, 1, ..., n-1.
func identity(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// shuffle is the Fisher–Yates shuffle: for i from len(s)-1 down to 1, swap
// s[i] with s[r.Intn(i+1)].
func shuffle(s []int, r *rand.Rand) {
	for i := len(s) - 1; i > 0; i-- {
		j := r.Intn(i + 1)
		s[i], s[j] = s[j], s[i]
	}
}
