// Command lectures measures the claims of the gradient-descent lectures on
// real data, fairly and with error bars: each claim (-claim N) is run on
// several seeds, shown as the median with the min–max range, each method's
// learning rate tuned on a stated grid and every budget stated, and drawn
// as a figure into the -out folder. docs/results.md shows the full-size
// figures, which examples/lectures/regen.sh regenerates.
//
// Claim 1, "a GD step scans the whole set; SGD reaches a given loss sooner":
// GD, mini-batch SGD (-batch) and online SGD, each with momentum -momentum
// and η tuned on its own grid (-gd-lrs, -mb-lrs, -online-lrs) on a tuning
// seed, then run on every reported seed with the full training-set loss
// evaluated at -points log-spaced numbers of examples seen (GD: after every
// update), outside the timed training: the loss at fixed examples seen and
// at fixed training seconds, and the examples and seconds each method needs
// to reach the stochastic methods' worst final loss.
//
// Claim 2, "online SGD is noisier":
//
//   - the gradient-noise variance E|g_B − ∇L|² of a B-example gradient,
//     measured by the trainers' NoiseEvery diagnostic on an MLP trained for
//     one epoch, against B, with the fitted log-log slope next to the −1 of
//     theory (tr Σ / B);
//   - for B = 1 … 512 (powers of two and not), the learning rate tuned per B
//     on -lrs (on a tuning seed not among the reported ones), then on every
//     reported seed the training examples needed to reach a target training
//     loss (statistics); the throughput in examples per second from
//     -rounds interleaved timing rounds (hardware); and their ratio, the
//     seconds to target.
//
// Claim 5, "momentum and curvature": steps to ε against κ on random
// quadratics for GD and heavy ball with fitted exponents; GD's loss after
// 100 steps against η·L through the stability limit 2; plain SGD against
// heavy ball at equal effective step η/(1−β) on the MLP.
//
//	go run ./examples/lectures -claim 1|2|5 [-data mnist|fashion|digits] [-n 8000]
//	    [-seeds 1,2,3] [-out lecture-figures] [-json] [claim flags: see -h]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"time"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/examples/internal/cli"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/models"
	"github.com/descent-go/descent/plot"
)

// options are the flags every claim shares.
type options struct {
	data   string
	n      int
	hidden int
	batch  int // mini-batch size (claims 1 and 5)
	budget int // epochs per run (claims 2 and 5)
	seeds  []int
	tune   []int // seeds of the learning-rate tuning runs
	out    string
	rep    *cli.Report
}

func main() { cli.Main("lectures", run) }

// A claim adds its own flags to the shared flag set and returns the
// function that measures it once the flags are parsed; that function
// returns the claim's JSON summary. Shared flags (data, seeds, batch,
// budget, ...) are in options.
type claim func(fs *flag.FlagSet) func(ctx context.Context, o options) (interface{}, error)

// claims maps -claim to its measurement; each lives in its claimN.go.
var claims = map[int]claim{1: claim1Flags, 2: claim2Flags, 3: claim3Flags, 4: claim4Flags, 5: claim5Flags, 6: claim6Flags, 7: claim7Flags, 8: claim8Flags}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("lectures", flag.ContinueOnError)
	var known []int
	for k := range claims {
		known = append(known, k)
	}
	sort.Ints(known)
	which := fs.Int("claim", 2, fmt.Sprintf("the lecture claim to measure (implemented: %v)", known))
	data := fs.String("data", "mnist", "data set: mnist, fashion or digits (the embedded 8×8 digits, for quick checks)")
	n := fs.Int("n", 8000, "training examples used (the first n of the training set; 0: all)")
	hidden := fs.Int("hidden", 64, "hidden units of the MLP")
	seeds := fs.String("seeds", "1,2,3", "reported seeds (initial weights and shuffles)")
	tuneSeeds := fs.String("tune-seeds", "100,101", "seeds of the learning-rate tuning runs (not reported ones); η minimizes their mean final loss")
	batch := fs.Int("batch", 64, "the mini-batch size of claims 1 and 5")
	budget := fs.Int("budget", 3, "training budget per run of claims 2 and 5, in epochs of n examples")
	out := fs.String("out", "lecture-figures", "folder the figures are written into (empty: none)")
	asJSON := fs.Bool("json", false, "print only a JSON summary")
	measures := map[int]func(context.Context, options) (interface{}, error){}
	for _, k := range known {
		measures[k] = claims[k](fs)
	}
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	measure, ok := measures[*which]
	if !ok {
		return fmt.Errorf("-claim %d: not implemented (implemented: %v)", *which, known)
	}
	o := options{data: *data, n: *n, hidden: *hidden, batch: *batch, budget: *budget, out: *out,
		rep: &cli.Report{JSON: *asJSON, Out: stdout}}
	var err error
	if o.seeds, err = cli.Ints("seeds", *seeds, 0); err != nil {
		return err
	}
	if o.tune, err = cli.Ints("tune-seeds", *tuneSeeds, 0); err != nil {
		return err
	}
	if *n < 0 || *hidden < 1 || *batch < 1 || *budget < 1 {
		return errors.New("-n must be ≥ 0, -hidden, -batch and -budget ≥ 1")
	}
	if o.out != "" {
		if err := os.MkdirAll(o.out, 0o755); err != nil {
			return err
		}
	}
	s, err := measure(ctx, o)
	if err != nil {
		return err
	}
	return o.rep.Summary(s)
}

// load returns the training set (the first o.n examples) and the test set.
// MNIST pixels are already in [0, 1] and are not standardized; the digits
// are split 80/20 and standardized.
func (o options) load(ctx context.Context) (train, test *datasets.Dataset, err error) {
	switch o.data {
	case "digits":
		parts, err := cli.Digits(1, 0.8, 0.2)
		if err != nil {
			return nil, nil, err
		}
		train, test = parts[0], parts[1]
	case "mnist", "fashion":
		if train, test, err = cli.LoadMNIST(ctx, o.data, "", datasets.Flat); err != nil {
			return nil, nil, err
		}
	default:
		return nil, nil, fmt.Errorf("-data %q: want mnist, fashion or digits", o.data)
	}
	if o.n > 0 && o.n < train.Len() {
		idx := make([]int, o.n)
		for i := range idx {
			idx[i] = i
		}
		if train, err = train.Subset(idx); err != nil {
			return nil, nil, err
		}
	}
	return train, test, nil
}

func (o options) model() models.Model {
	return models.MLP{Hidden: []int{o.hidden}, Outputs: 10}
}

// band is a median with its min–max range over seeds.
type band struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// bandOf summarizes xs (NaN and ±Inf count: an unreached target is +Inf).
func bandOf(xs []float64) band {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return band{math.NaN(), math.NaN(), math.NaN()}
	}
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return band{Median: med, Min: s[0], Max: s[len(s)-1]}
}

// MarshalJSON writes a band with null for a value that is not finite (an
// unreached target), which JSON cannot hold.
func (b band) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]interface{}{"median": jsonNum(b.Median), "min": jsonNum(b.Min), "max": jsonNum(b.Max)})
}

// losses are final losses, +Inf for a diverged run; null in JSON.
type losses []float64

// MarshalJSON implements json.Marshaler.
func (l losses) MarshalJSON() ([]byte, error) {
	out := make([]interface{}, len(l))
	for i, v := range l {
		out[i] = jsonNum(v)
	}
	return json.Marshal(out)
}

// jsonNum is v, or nil if v is not finite.
func jsonNum(v float64) interface{} {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

func (b band) String() string {
	return fmt.Sprintf("%.4g [%.4g, %.4g]", b.Median, b.Min, b.Max)
}

// slope fits log y = a + s·log x by least squares and returns s.
func slope(x, y []float64) float64 {
	var sx, sy, sxx, sxy, k float64
	for i := range x {
		if !(x[i] > 0) || !(y[i] > 0) || math.IsInf(y[i], 0) {
			continue
		}
		lx, ly := math.Log(x[i]), math.Log(y[i])
		sx, sy, sxx, sxy, k = sx+lx, sy+ly, sxx+lx*lx, sxy+lx*ly, k+1
	}
	return (k*sxy - sx*sy) / (k*sxx - sx*sx)
}

// bandSeries draws a band as one line in one colour: the min curve from
// left to right, the max curve back, then the median from left to right —
// an outline of the min–max range with the median inside (the figures say
// so in their axis label). Points where a band is not finite and positive
// are left out; nil if none is left.
func bandSeries(label string, x []float64, bs []band) []plot.Series {
	var keep []int
	for i, b := range bs {
		if drawable([]float64{b.Min}) && drawable([]float64{b.Max}) && drawable([]float64{b.Median}) && x[i] > 0 {
			keep = append(keep, i)
		}
	}
	return outline(label, x, bs, keep)
}

// bandLines is bandSeries for a linear axis: values ≤ 0 are drawn.
func bandLines(label string, x []float64, bs []band) []plot.Series {
	var keep []int
	for i, b := range bs {
		if !math.IsInf(b.Min, 0) && !math.IsInf(b.Max, 0) && !math.IsNaN(b.Min+b.Max+b.Median) {
			keep = append(keep, i)
		}
	}
	return outline(label, x, bs, keep)
}

// outline is the path of bandSeries through the kept points.
func outline(label string, x []float64, bs []band, keep []int) []plot.Series {
	if len(keep) == 0 {
		return nil
	}
	var xs, ys []float64
	for _, i := range keep {
		xs, ys = append(xs, x[i]), append(ys, bs[i].Min)
	}
	for k := len(keep) - 1; k >= 0; k-- {
		xs, ys = append(xs, x[keep[k]]), append(ys, bs[keep[k]].Max)
	}
	for _, i := range keep {
		xs, ys = append(xs, x[i]), append(ys, bs[i].Median)
	}
	return []plot.Series{{Label: label, X: xs, Y: ys}}
}

// titled appends to a figure's title how its bands are drawn.
func (o options) titled(title string) string {
	return fmt.Sprintf("%s\n(%d seeds: median inside the min–max outline)", title, len(o.seeds))
}

// drawable reports whether ys has a finite positive value (for a log axis).
func drawable(ys []float64) bool {
	for _, y := range ys {
		if y > 0 && !math.IsInf(y, 0) {
			return true
		}
	}
	return false
}

// figure is one figure of a claim: its file name and its plot.
type figure struct {
	name string
	p    plot.Lines
}

// writeFigures writes figs into the output folder, if there is one, and
// appends the paths written to paths.
func (o options) writeFigures(paths *[]string, figs ...figure) error {
	for _, f := range figs {
		path, err := o.writePlot(f.name, f.p)
		if err != nil {
			return err
		}
		if path != "" {
			*paths = append(*paths, path)
		}
	}
	return nil
}

// writePlot writes p as name into the output folder, if there is one.
func (o options) writePlot(name string, p plot.Lines) (string, error) {
	if o.out == "" {
		return "", nil
	}
	if len(p.Series) == 0 {
		o.rep.Printf("figure %s: nothing to draw (no finite value)\n", name)
		return "", nil
	}
	path := filepath.Join(o.out, name)
	if err := p.WriteFile(path); err != nil {
		return "", err
	}
	o.rep.Printf("figure: %s\n", path)
	return path, nil
}

// tuneLR returns the η of grid with the lowest mean of final(η, seed) over
// the tuning seeds (+Inf, a divergence on any seed, never wins), the means,
// and 0 if every η diverged.
func (o options) tuneLR(grid []float64, final func(lr float64, seed int64) (float64, error)) (float64, losses, error) {
	best, bestLR := math.Inf(1), 0.0
	var means losses
	for _, lr := range grid {
		sum := 0.0
		for _, seed := range o.tune {
			f, err := final(lr, int64(seed))
			if err != nil {
				return 0, nil, err
			}
			sum += f
		}
		mean := sum / float64(len(o.tune))
		means = append(means, mean)
		if mean < best {
			best, bestLR = mean, lr
		}
	}
	return bestLR, means, nil
}

// since is the seconds since t.
func since(t time.Time) float64 { return time.Since(t).Seconds() }

// newParams returns fresh float32 parameters seeded by seed.
func newParams(seed int64) *graph.Params { return graph.NewParams(tensor.Float32, seed) }
