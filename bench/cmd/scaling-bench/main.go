// Command scaling-bench measures data-parallel training (examples/scaling: the 784-128-10 MLP,
// float32, SGD) in one interleaved run, round after round, so that load on a shared machine hits
// every case alike:
//
//	1r-1core   one replica, GOMAXPROCS=1
//	1r         one replica on every core: the single-process trainer
//	2r         two in-process replicas
//	mpi2-shm   mpirun -np 2, shared memory (one replica per rank)
//	mpi2-tcp   mpirun -np 2, TCP between two network namespaces (root only)
//
// at global batch 128 and 32 (and 256: 128 per replica), plus the reduction alone (an allgather of
// the MLP's 101,770 gradient values and the rank-order sum) over shared memory and TCP. It prints
// a RESULT line per run and a table of medians (and the best round's samples/s): samples/s, time
// per step, the part of it spent in MPI collectives (including waiting for the other rank), and
// the ratios the targets are about.
//
//	go run ./bench/cmd/scaling-bench [-rounds 3] [-batches 128,32,256] [-cases 1r,2r,...] [-model lenet]
//
// It needs a C compiler and Open MPI (libopenmpi-dev, openmpi-bin) for the MPI cases, root and
// iproute2 for mpi2-tcp; cases it cannot run are reported as skipped.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/descent-go/descent/bench/internal/synth"
	"github.com/descent-go/descent/internal/mpirun"
)

type result struct {
	Replicas      int     `json:"replicas"`
	Ranks         int     `json:"ranks"`
	Batch         int     `json:"batch"`
	Steps         int     `json:"steps"`
	SamplesPerSec float64 `json:"samples_per_sec"`
	StepMS        float64 `json:"step_ms"`
	CommMS        float64 `json:"comm_ms"`
	ComputeMS     float64 `json:"compute_ms"`
	FinalLoss     float64 `json:"final_loss"`
	ParamsSHA256  string  `json:"params_sha256"`
}

func main() {
	rounds := flag.Int("rounds", 3, "interleaved rounds")
	batchList := flag.String("batches", "128,32,256", "global batch sizes")
	caseList := flag.String("cases", "1r-1core,1r,2r,mpi2-shm,mpi2-tcp", "cases to run")
	steps := flag.Int("steps", 300, "updates per run at batch 128 (scaled by 128/batch, at most 4×)")
	model := flag.String("model", "mlp", "mlp or lenet (examples/scaling -model)")
	flag.Parse()
	if err := bench(*rounds, *batchList, *caseList, *steps, *model); err != nil {
		fmt.Fprintln(os.Stderr, "scaling-bench:", err)
		os.Exit(1)
	}
}

func bench(rounds int, batchList, caseList string, steps128 int, model string) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "scaling-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	plain := dir + "/scaling-plain"
	if out, err := exec.Command("go", "build", "-o", plain, "./examples/scaling").CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./examples/scaling: %v\n%s", err, out)
	}
	cases := strings.Split(caseList, ",")
	var mpiBin, probe string
	var hosts *mpirun.Hosts
	var skipped []string
	want := synth.Pick(caseList)
	if want("mpi2-shm") || want("mpi2-tcp") {
		if _, err := exec.LookPath("mpirun"); err != nil {
			skipped = append(skipped, "mpi2-shm", "mpi2-tcp")
			fmt.Println("# MPI cases skipped: no mpirun (apt-get install openmpi-bin libopenmpi-dev)")
		} else {
			if mpiBin, err = mpirun.Build(ctx, dir, "github.com/descent-go/descent/examples/scaling"); err != nil {
				return err
			}
			if probe, err = mpirun.Build(ctx, dir, "github.com/descent-go/descent/cluster/internal/probe"); err != nil {
				return err
			}
			if want("mpi2-tcp") {
				hd := dir + "/hosts"
				if err := os.Mkdir(hd, 0o755); err != nil {
					return err
				}
				if hosts, err = mpirun.NewHosts(ctx, hd); err != nil {
					skipped = append(skipped, "mpi2-tcp")
					fmt.Printf("# mpi2-tcp skipped: %v\n", err)
				} else {
					defer hosts.Close()
				}
			}
		}
	}
	var batches []int
	for _, f := range strings.Split(batchList, ",") {
		b, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || b < 2 {
			return fmt.Errorf("-batches: %q is not a batch size ≥ 2", f)
		}
		batches = append(batches, b)
	}

	type key struct {
		name  string
		batch int
	}
	runs := map[key][]result{}
	gathers := map[string][]float64{} // transport → median allgather µs per round
	sums := map[string][]float64{}
	for round := 1; round <= rounds; round++ {
		for _, b := range batches {
			steps := steps128 * 128 / b
			if steps > 4*steps128 {
				steps = 4 * steps128
			}
			args := []string{"-json", "-model", model, "-batch", strconv.Itoa(b), "-steps", strconv.Itoa(steps)}
			for _, c := range cases {
				if contains(skipped, c) {
					continue
				}
				var cmd *exec.Cmd
				env := os.Environ()
				switch c {
				case "1r-1core":
					cmd = exec.Command(plain, append(args, "-replicas", "1")...)
					env = append(env, "GOMAXPROCS=1")
				case "1r":
					cmd = exec.Command(plain, append(args, "-replicas", "1")...)
				case "2r":
					cmd = exec.Command(plain, append(args, "-replicas", "2")...)
				case "mpi2-shm":
					cmd = mpirun.Command(ctx, nil, 2, mpiBin, args...)
					env = cmd.Env
				case "mpi2-tcp":
					cmd = mpirun.Command(ctx, hosts, 2, mpiBin, args...)
					env = cmd.Env
				default:
					return fmt.Errorf("unknown case %q", c)
				}
				cmd.Env = env
				r, err := runJSON(cmd)
				if err != nil {
					return fmt.Errorf("round %d, %s, batch %d: %v", round, c, b, err)
				}
				fmt.Printf("RESULT round=%d case=%s batch=%d replicas=%d samples_per_sec=%.0f step_ms=%.3f comm_ms=%.3f compute_ms=%.3f loss=%.4f sha=%.12s\n",
					round, c, b, r.Replicas, r.SamplesPerSec, r.StepMS, r.CommMS, r.ComputeMS, r.FinalLoss, r.ParamsSHA256)
				runs[key{c, b}] = append(runs[key{c, b}], r)
			}
		}
		for _, t := range []struct {
			name  string
			hosts *mpirun.Hosts
			ok    bool
		}{{"shm", nil, probe != "" && !contains(skipped, "mpi2-shm")}, {"tcp", hosts, probe != "" && hosts != nil}} {
			if !t.ok {
				continue
			}
			cmd := mpirun.Command(ctx, t.hosts, 2, probe, "-mode", "allgather", "-n", "101770", "-iters", "200")
			out, err := cmd.Output()
			if err != nil {
				return fmt.Errorf("allgather over %s: %v", t.name, err)
			}
			g, s := field(out, "gather_us_median"), field(out, "sum_us_median")
			fmt.Printf("RESULT round=%d case=allgather-%s floats=101770 gather_us=%.1f sum_us=%.1f\n", round, t.name, g, s)
			gathers[t.name] = append(gathers[t.name], g)
			sums[t.name] = append(sums[t.name], s)
		}
	}

	fmt.Printf("\nmedians over %d rounds (%s, float32, SGD; steps after 20 warm-up steps)\n", rounds, model)
	fmt.Printf("%-9s %6s %10s %10s %9s %9s %9s %7s %7s\n", "case", "batch", "samples/s", "best", "step ms", "comm ms", "comp ms", "comm%", "spread")
	for _, b := range batches {
		for _, c := range cases {
			rs := runs[key{c, b}]
			if len(rs) == 0 {
				continue
			}
			sps, st, cm, cp := pick(rs, func(r result) float64 { return r.SamplesPerSec }), pick(rs, func(r result) float64 { return r.StepMS }),
				pick(rs, func(r result) float64 { return r.CommMS }), pick(rs, func(r result) float64 { return r.ComputeMS })
			fmt.Printf("%-9s %6d %10.0f %10.0f %9.3f %9.3f %9.3f %6.1f%% %6.0f%%\n", c, b, med(sps), best(sps), med(st), med(cm), med(cp),
				100*med(cm)/med(st), 100*spread(sps))
		}
	}
	// On a shared machine load only ever slows a run down, so the best round estimates what the
	// case does on a quiet machine; the median what it did here.
	// The paired ratio is the median over rounds of the round's own ratio (runs a few seconds
	// apart), steadier than a ratio of medians when the load drifts.
	fmt.Println("\nratios of samples/s, paired median / of best rounds (target):")
	ratio := func(a, bb string, b int) string {
		x, y := runs[key{a, b}], runs[key{bb, b}]
		if len(x) == 0 || len(y) == 0 || len(x) != len(y) {
			return "n/a"
		}
		f := func(r result) float64 { return r.SamplesPerSec }
		paired := make([]float64, len(x))
		for i := range x {
			paired[i] = x[i].SamplesPerSec / y[i].SamplesPerSec
		}
		return fmt.Sprintf("%.2f/%.2f", med(paired), best(pick(x, f))/best(pick(y, f)))
	}
	for _, b := range batches {
		fmt.Printf("  batch %3d: 2r/1r-1core %s (≥ 1.6)   2r/1r %s (≥ 1.15)   mpi2-shm/1r %s   mpi2-tcp/1r %s\n",
			b, ratio("2r", "1r-1core", b), ratio("2r", "1r", b), ratio("mpi2-shm", "1r", b), ratio("mpi2-tcp", "1r", b))
	}
	for _, t := range []string{"shm", "tcp"} {
		if len(gathers[t]) > 0 {
			fmt.Printf("reduction alone over %s: allgather of 101,770 float32 %.1f µs, rank-order sum %.1f µs (medians)\n", t, med(gathers[t]), med(sums[t]))
		}
	}
	return nil
}

// runJSON runs cmd under a 10-minute limit and parses the last line of its output as a result.
func runJSON(cmd *exec.Cmd) (result, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return result{}, fmt.Errorf("%v\n%s", err, stderr.Bytes())
		}
	case <-time.After(10 * time.Minute):
		cmd.Process.Kill()
		return result{}, fmt.Errorf("still running after 10 minutes")
	}
	var r result
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
		return result{}, fmt.Errorf("%v in %q", err, stdout.String())
	}
	return r, nil
}

// field reads the number after "name=" in a probe's output.
func field(out []byte, name string) float64 {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		for _, f := range strings.Fields(sc.Text()) {
			if v, ok := strings.CutPrefix(f, name+"="); ok {
				x, _ := strconv.ParseFloat(v, 64)
				return x
			}
		}
	}
	return 0
}

func pick(rs []result, f func(result) float64) []float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	return v
}

func med(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func best(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		if x > m {
			m = x
		}
	}
	return m
}

func spread(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return (s[len(s)-1] - s[0]) / med(s)
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}
