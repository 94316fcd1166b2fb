package datasets

import (
	"context"
	"math"
	"testing"

	"gorgonia.org/tensor"
)

// mixing measures how well a pass order mixes a source stored in order:
// rho is the correlation between an example's storage position and its
// position in the pass, disp the mean |displacement| / N (a uniform
// permutation has E = 1/3), chi the per-batch chi-square of the class
// counts against the class shares, divided by its degrees of freedom
// (about 1 for batches drawn at random, large when batches hold few
// classes).
type mixing struct{ rho, disp, chi float64 }

func measureMixing(order []int, class func(id int) int, k, batch int) mixing {
	n := len(order)
	var sx, sy, sxx, syy, sxy, disp float64
	for pos, id := range order {
		x, y := float64(id), float64(pos)
		sx += x
		sy += y
		sxx += x * x
		syy += y * y
		sxy += x * y
		disp += math.Abs(x - y)
	}
	fn := float64(n)
	rho := (sxy - sx*sy/fn) / math.Sqrt((sxx-sx*sx/fn)*(syy-sy*sy/fn))
	share := make([]float64, k)
	for _, id := range order {
		share[class(id)]++
	}
	chi, df := 0.0, 0
	counts := make([]float64, k)
	for lo := 0; lo+batch <= n; lo += batch {
		for c := range counts {
			counts[c] = 0
		}
		for _, id := range order[lo : lo+batch] {
			counts[class(id)]++
		}
		for c := range counts {
			e := float64(batch) * share[c] / fn
			chi += (counts[c] - e) * (counts[c] - e) / e
		}
		df += k - 1
	}
	return mixing{rho: rho, disp: disp / fn / fn, chi: chi / float64(df)}
}

// sortedDS is n examples sorted by class: class of id i is i*k/n.
func sortedDS(t testing.TB, n, k int) (*Dataset, func(int) int) {
	x := make([]float64, n)
	y := make([]float64, n)
	class := func(i int) int { return i * k / n }
	for i := range x {
		x[i] = float64(i)
		y[i] = float64(class(i))
	}
	d, err := FromFloat64(x, []int{n, 1}, y, []int{n}, tensor.Float32)
	if err != nil {
		t.Fatal(err)
	}
	return d, class
}

// TestShuffleMixing checks the statistics of shuffled passes against
// theory. For a uniform permutation of N the correlation between storage
// and pass position has mean 0 and standard deviation 1/sqrt(N-1); the
// per-batch class chi-square summed over the B batches is about
// chi-square with B(K-1) degrees of freedom, so chi/df is within
// 5*sqrt(2/df) of 1. A shard pass permutes S shards, so its correlation is
// that of a permutation of S: within 4/sqrt(S-1).
func TestShuffleMixing(t *testing.T) {
	const n, k, batch, per = 20000, 10, 128, 500
	d, class := sortedDS(t, n, k)
	df := float64((n / batch) * (k - 1))
	chiTol := 5 * math.Sqrt(2/df)

	// the in-memory full permutation: the reference
	full := readPass(t, d, Pass{Epoch: 0, Seed: 1, Shuffle: true}, batch)
	m := measureMixing(full, class, k, batch)
	t.Logf("in-memory full permutation:  rho %+.4f  disp %.4f  chi/df %.2f", m.rho, m.disp, m.chi)
	if math.Abs(m.rho) > 4/math.Sqrt(n-1) || math.Abs(m.chi-1) > chiTol || math.Abs(m.disp-1.0/3) > 0.01 {
		t.Fatalf("full permutation: %+v, want rho within %.3f, chi/df within %.3f of 1, disp 1/3", m, 4/math.Sqrt(n-1), chiTol)
	}

	// shards written in class order (the worst case), read with buffers
	sorted := writeTestShards(t, d, per)
	s := float64(n / per)
	var prev mixing
	for i, buf := range []int{0, 100, 1000, 10000} {
		m := measureMixing(readPass(t, mustShards(t, sorted, StreamOptions{ShuffleBuffer: buf}), Pass{Seed: 1, Shuffle: true}, batch), class, k, batch)
		t.Logf("sorted shards of %d, buffer %5d: rho %+.4f  disp %.4f  chi/df %.2f", per, buf, m.rho, m.disp, m.chi)
		if math.Abs(m.rho) > 4/math.Sqrt(s-1) {
			t.Errorf("buffer %d: rho %.3f, want within %.3f for a permutation of %v shards", buf, m.rho, 4/math.Sqrt(s-1), s)
		}
		if i > 0 && m.chi >= prev.chi {
			t.Errorf("buffer %d: chi/df %.2f, no better than %.2f with a smaller buffer", buf, m.chi, prev.chi)
		}
		prev = m
	}
	// even a buffer of half the data does not make class-sorted shards
	// mix like a full permutation (docs/datasets.md): write shards
	// shuffled, below
	if prev.chi < 1+chiTol {
		t.Logf("buffer 10000 mixes class-sorted shards as well as a full permutation (chi/df %.2f)", prev.chi)
	}
	// sorted shards with no buffer: batches hold one class; the chi-square
	// test must see it
	if m := measureMixing(readPass(t, mustShards(t, sorted, StreamOptions{}), Pass{Seed: 1, Shuffle: true}, batch), class, k, batch); m.chi < 5 {
		t.Errorf("sorted shards without a buffer: chi/df %.2f: the test cannot see one-class batches", m.chi)
	}

	// shards written through a full permutation (WriteShards Shuffle), then
	// a small buffer: batches balanced as in memory
	dir := t.TempDir()
	if _, err := WriteShards(context.Background(), dir, d, ShardWriteOptions{ExamplesPerShard: per, Shuffle: true, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	// what the buffer buys on shuffled shards: new neighbours every epoch.
	// repeat is the fraction of pairs adjacent in epoch 0 that are
	// adjacent again in epoch 1 (a full permutation: about 2/N)
	prevRepeat := 2.0
	for _, buf := range []int{0, 10, 100, 1000} {
		ss := mustShards(t, dir, StreamOptions{ShuffleBuffer: buf})
		r := repeatedNeighbours(readPass(t, ss, Pass{Epoch: 0, Seed: 1, Shuffle: true}, batch), readPass(t, ss, Pass{Epoch: 1, Seed: 1, Shuffle: true}, batch))
		t.Logf("shuffled shards, buffer %4d: neighbours repeated in the next epoch %.4f", buf, r)
		if r >= prevRepeat {
			t.Errorf("buffer %d: repeated neighbours %.4f, no fewer than %.4f with a smaller buffer", buf, r, prevRepeat)
		}
		prevRepeat = r
	}
	if r := repeatedNeighbours(full, readPass(t, d, Pass{Epoch: 1, Seed: 1, Shuffle: true}, batch)); r > 10.0/n {
		t.Errorf("full permutation: repeated neighbours %.5f, want about 2/N", r)
	} else {
		t.Logf("in-memory full permutation: neighbours repeated in the next epoch %.5f", r)
	}
	m = measureMixing(readPass(t, mustShards(t, dir, StreamOptions{ShuffleBuffer: 1000}), Pass{Seed: 1, Shuffle: true}, batch), class, k, batch)
	t.Logf("shuffled shards, buffer 1000: rho %+.4f  disp %.4f  chi/df %.2f", m.rho, m.disp, m.chi)
	if math.Abs(m.rho) > 4/math.Sqrt(n-1) || math.Abs(m.chi-1) > chiTol {
		t.Errorf("shuffled shards: %+v, want rho within %.3f and chi/df within %.3f of 1", m, 4/math.Sqrt(n-1), chiTol)
	}
}

// repeatedNeighbours is the fraction of the pairs adjacent in a that are
// adjacent (in either order) in b.
func repeatedNeighbours(a, b []int) float64 {
	pos := make([]int, len(b))
	for i, id := range b {
		pos[id] = i
	}
	same := 0
	for i := 1; i < len(a); i++ {
		if d := pos[a[i]] - pos[a[i-1]]; d == 1 || d == -1 {
			same++
		}
	}
	return float64(same) / float64(len(a)-1)
}
