package main

import (
	"fmt"
	"runtime"
	"sort"
	"time"

	"github.com/descent-go/descent/cluster"
	"github.com/descent-go/descent/internal/kernels"
)

// timeAllgather measures what the training loop's reduction costs without the training: an
// allgather of n float32 per rank (in place, as the loop gathers) followed by the weighted sum of
// the gathered parts in rank order, iters times after 10 untimed ones. Rank 0 prints the median
// and minimum of each, in µs.
func timeAllgather(job *cluster.Job, n, iters int) error {
	p := job.Size()
	if p < 2 {
		return fmt.Errorf("probe: the allgather timing needs 2 ranks or more, got %d", p)
	}
	all := make([]float32, p*n)
	local := all[job.Rank()*n : (job.Rank()+1)*n]
	for i := range local {
		local[i] = float32(job.Rank()+1) / float32(i+1)
	}
	sum := make([]float32, n)
	gather := make([]time.Duration, 0, iters)
	add := make([]time.Duration, 0, iters)
	var m0, m1 runtime.MemStats
	for k := -10; k < iters; k++ {
		if k == 0 {
			runtime.ReadMemStats(&m0)
		}
		if err := job.Barrier(); err != nil {
			return err
		}
		t0 := time.Now()
		if err := job.AllgatherFloat32(local, all); err != nil {
			return err
		}
		t1 := time.Now()
		// As the training loop sums (trainers' reducer): the first two parts in one pass.
		w := 1 / float32(p)
		kernels.Axpby(w, all[:n], w, all[n:2*n], sum)
		for r := 2; r < p; r++ {
			kernels.Axpy(w, all[r*n:(r+1)*n], sum)
		}
		t2 := time.Now()
		if k >= 0 {
			gather = append(gather, t1.Sub(t0))
			add = append(add, t2.Sub(t1))
		}
	}
	runtime.ReadMemStats(&m1)
	if job.Rank() == 0 {
		fmt.Printf("allgather ranks=%d floats=%d iters=%d gather_us_median=%.1f gather_us_min=%.1f sum_us_median=%.1f allocs_per_iter=%.2f\n",
			p, n, iters, us(median(gather)), us(minDur(gather)), us(median(add)), float64(m1.Mallocs-m0.Mallocs)/float64(iters))
	}
	return nil
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func minDur(d []time.Duration) time.Duration {
	m := d[0]
	for _, v := range d {
		if v < m {
			m = v
		}
	}
	return m
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
