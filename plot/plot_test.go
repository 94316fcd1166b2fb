package plot

import (
	"bytes"
	"context"
	"encoding/xml"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/testutil"
	"github.com/descent-go/descent/models"
	"github.com/descent-go/descent/trainers"
)

type Epoch = trainers.Epoch

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// threeHistories trains GD, online and mini-batch SGD on one problem, with
// a validation set.
func threeHistories(t *testing.T) []*trainers.History {
	t.Helper()
	ds, _, _, err := datasets.LinearRegression(90, 2, 0.3, 70, tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := ds.Split(1, false, 2.0/3, 1.0/3)
	if err != nil {
		t.Fatal(err)
	}
	c := trainers.Config{Epochs: 4, Loss: graph.MSE, Optimizer: trainers.SGD{LR: 0.05}, Seed: 1}
	c.Validation = parts[1]
	var hs []*trainers.History
	for _, tr := range []trainers.Trainer{trainers.GD{Config: c}, trainers.OnlineSGD{Config: c}, trainers.MiniBatchSGD{BatchSize: 10, Config: c}} {
		h, err := tr.Fit(context.Background(), models.Linear{}, graph.NewParams(tensor.Float64, 1), parts[0])
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
	return hs
}

func checkPNG(t *testing.T, b []byte, w, h int) {
	t.Helper()
	if !bytes.HasPrefix(b, pngMagic) {
		t.Fatalf("not a PNG: % x", b[:minInt(len(b), 8)])
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds().Size(); got.X != w || got.Y != h {
		t.Errorf("PNG is %v, want %dx%d", got, w, h)
	}
}

// svgText parses an SVG document as XML and returns its text content.
func svgText(t *testing.T, s string) string {
	t.Helper()
	if !strings.Contains(s, "<svg") {
		t.Fatalf("not an SVG: %.100q", s)
	}
	dec := xml.NewDecoder(strings.NewReader(s))
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		if cd, ok := tok.(xml.CharData); ok {
			text.Write(cd)
			text.WriteByte(' ')
		}
	}
	return text.String()
}

func minInt(a, b int) int {
	if a < b {
		return a
	}
	return b
}

func TestHistoryPNGAndSVG(t *testing.T) {
	hs := threeHistories(t)
	h := hs[2]
	checkPNG(t, History(h).PNG(), 576, 384) // 6 × 4 inches at 96 dpi
	text := svgText(t, History(h).SVG())
	for _, want := range []string{"MiniBatchSGD(B=10)", "train", "validation", "epochs", "loss"} {
		if !strings.Contains(text, want) {
			t.Errorf("History SVG text lacks %q: %q", want, text)
		}
	}
	// No validation, no epochs, a diverged loss: still drawn.
	bare := &trainers.History{Method: "GD", Epochs: []Epoch{{Epoch: 0, TrainLoss: 1}, {Epoch: 1, TrainLoss: math.Inf(1)}, {Epoch: 2, TrainLoss: math.NaN()}}}
	if text := svgText(t, History(bare).SVG()); strings.Contains(text, "validation") || !strings.Contains(text, "train") {
		t.Errorf("a History without validation: %q", text)
	}
	svgText(t, History(&trainers.History{Method: "empty"}).SVG())
	var nilHist *trainers.History
	if History(nilHist).PNG() != nil || History(nilHist).SVG() != "" {
		t.Error("a nil History draws")
	}
}

func TestChartCompares(t *testing.T) {
	hs := threeHistories(t)
	// Every axis pair as SVG (cheap to draw); rasterizing is slow under
	// the race detector, so PNG for a few.
	for i, x := range []string{"", "epochs", "examples", "updates", "seconds"} {
		for j, y := range []string{"", "train_loss", "val_loss", "val_metric", "loss"} {
			for _, logY := range []bool{false, true} {
				c := Chart{Title: "comparison", X: x, Y: y, LogY: logY, Histories: hs, Width: 4, Height: 3}
				if i == j && logY == (i%2 == 0) {
					var buf bytes.Buffer
					if err := c.Render(&buf, "png"); err != nil {
						t.Fatalf("X %q Y %q: %v", x, y, err)
					}
					checkPNG(t, buf.Bytes(), 384, 288)
				}
				var buf bytes.Buffer
				if err := c.Render(&buf, "svg"); err != nil {
					t.Fatalf("X %q Y %q: %v", x, y, err)
				}
				text := svgText(t, buf.String())
				for _, h := range hs {
					if !strings.Contains(text, h.Method) {
						t.Errorf("X %q Y %q: SVG lacks %q", x, y, h.Method)
					}
				}
			}
		}
	}
	c := Chart{Y: "val_metric", Histories: hs[:2], Labels: []string{"full batch", "one at a time"}}
	text := svgText(t, c.SVG())
	for _, want := range []string{"full batch", "one at a time", "validation r2"} {
		if !strings.Contains(text, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	// Log scale with non-positive values only: drawn on a linear scale.
	zero := &trainers.History{Method: "zero", Epochs: []Epoch{{TrainLoss: 0}, {Epoch: 1, TrainLoss: -1}}}
	svgText(t, Chart{LogY: true, Histories: []*trainers.History{zero}}.SVG())
	one := &trainers.History{Method: "one", Epochs: []Epoch{{TrainLoss: 0.5}}}
	svgText(t, Chart{LogY: true, Histories: []*trainers.History{one}}.SVG())
	svgText(t, Chart{Title: "nothing yet"}.SVG())
}

func TestChartErrors(t *testing.T) {
	hs := threeHistories(t)
	for _, tc := range []struct {
		c    Chart
		want string
	}{
		{Chart{X: "steps", Histories: hs}, `"steps"`},
		{Chart{Y: "accuracy", Histories: hs}, `"accuracy"`},
		{Chart{Histories: []*trainers.History{hs[0], nil}}, "Histories[1]"},
		{Chart{Histories: hs, Labels: []string{"a"}}, "Labels"},
		{Chart{Histories: hs, Width: -1}, "size"},
		{Chart{Histories: hs, Height: math.NaN()}, "size"},
	} {
		var buf bytes.Buffer
		testutil.ErrContains(t, tc.c.Render(&buf, "svg"), tc.want)
		if tc.c.PNG() != nil || tc.c.SVG() != "" {
			t.Errorf("%v: PNG or SVG despite the error", tc.c)
		}
	}
	var buf bytes.Buffer
	testutil.ErrContains(t, Chart{Histories: hs}.Render(&buf, "gif"), `"gif"`)
}

func TestChartWriteFile(t *testing.T) {
	hs := threeHistories(t)
	dir := t.TempDir()
	c := Chart{Title: "by examples", X: "examples", Y: "loss", LogY: true, Histories: hs}
	for _, name := range []string{"c.png", "c.svg", "upper.SVG"} {
		path := filepath.Join(dir, name)
		if err := c.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(strings.ToLower(name), ".png") {
			checkPNG(t, b, 576, 384)
		} else {
			svgText(t, string(b))
		}
	}
	// Overwriting an existing file works too.
	if err := c.WriteFile(filepath.Join(dir, "c.svg")); err != nil {
		t.Fatal(err)
	}
	testutil.ErrContains(t, c.WriteFile(filepath.Join(dir, "c.jpg")), ".jpg")
	testutil.ErrContains(t, Chart{X: "bad", Histories: hs}.WriteFile(filepath.Join(dir, "bad.png")), `"bad"`)
	if err := c.WriteFile(filepath.Join(dir, "missing", "c.png")); err == nil {
		t.Error("no error writing into a missing directory")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 3 {
		t.Errorf("directory holds %v: want c.png, c.svg, upper.SVG and no temporary or failed files", names)
	}
}

func TestPlot(t *testing.T) {
	p := Lines{Title: "throughput", XLabel: "batch size", YLabel: "examples/s", LogX: true, LogY: true,
		Series: []Series{
			{Label: "MLP", X: []float64{1, 2, 4, 8, 0}, Y: []float64{10, 20, 35, 50, 7}},
			{Label: "softmax", X: []float64{1, 2, 4, 8}, Y: []float64{40, 70, math.NaN(), 120}, Dashed: true},
		}}
	b := p.PNG()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("PNG does not decode: %v", err)
	}
	if r := img.Bounds(); r.Dx() != 576 || r.Dy() != 384 {
		t.Errorf("PNG is %v, want 576×384", r)
	}
	svg := p.SVG()
	if err := xml.Unmarshal([]byte(svg), new(interface{})); err != nil {
		t.Errorf("SVG does not parse: %v", err)
	}
	for _, want := range []string{"MLP", "softmax", "batch size"} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	path := filepath.Join(t.TempDir(), "p.svg")
	if err := p.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	bad := Lines{Series: []Series{{Label: "x", X: []float64{1, 2}, Y: []float64{1}}}}
	testutil.ErrContains(t, bad.Render(io.Discard, "png"), "2 X and 1 Y") // mismatched series
	if bad.PNG() != nil || bad.SVG() != "" {
		t.Error("an undrawable plot returned an image")
	}
	if err := p.Render(io.Discard, "gif"); err == nil {
		t.Error("format gif accepted")
	}
}

// rightmostInk is the largest x of a pixel of the given colour in the PNG.
func rightmostInk(t *testing.T, b []byte, want color.Color) int {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	wr, wg, wb, _ := want.RGBA()
	right := -1
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if absDiff(r, wr) < 0x1000 && absDiff(g, wg) < 0x1000 && absDiff(b, wb) < 0x1000 && x > right {
				right = x
			}
		}
	}
	return right
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

// TestLongCurvesReachTheEnd: the PNG of a long curve, solid or dashed, is
// drawn to its last point (the raster back end dropped the end of long
// dashed paths: an 11,624-point curve stopped near half-way).
func TestLongCurvesReachTheEnd(t *testing.T) {
	for _, n := range []int{4745, 11624} {
		for _, dashed := range []bool{false, true} {
			x, y := make([]float64, n), make([]float64, n)
			for i := range x {
				x[i] = float64(i + 1)
				y[i] = math.Exp(-3 * float64(i) / float64(n))
			}
			// The curve alone, no legend, in the first palette colour.
			l := Lines{Series: []Series{{X: x, Y: y, Dashed: dashed}}}
			b := l.PNG()
			right := rightmostInk(t, b, plotutil.Color(0))
			// Where the last point is: the right end of the data area, the
			// X axis ending at the last value. Find it from a curve that is
			// short enough to draw whole.
			short := Lines{Series: []Series{{X: []float64{1, float64(n)}, Y: []float64{y[0], y[n-1]}, Dashed: false}}}
			end := rightmostInk(t, short.PNG(), plotutil.Color(0))
			slack := 3
			if dashed {
				slack = 13 // a dash period, 6 + 3 points at 96 dpi
			}
			if right < end-slack {
				t.Errorf("%d points, dashed %v: ink ends at x = %d px, the last point is at %d px", n, dashed, right, end)
			}
		}
	}
}

func TestDecimateKeepsExtremes(t *testing.T) {
	var xys plotter.XYs
	for i := 0; i < 10000; i++ {
		xys = append(xys, plotter.XY{X: float64(i), Y: math.Sin(float64(i))})
	}
	xys[5000].Y = 7 // a spike
	d := decimate(xys, 100, false)
	if len(d) > 4*100+4 || d[0] != xys[0] || d[len(d)-1] != xys[len(xys)-1] {
		t.Fatalf("%d points, from %v to %v", len(d), d[0], d[len(d)-1])
	}
	found := false
	for i, p := range d {
		found = found || p.Y == 7
		if i > 0 && p.X <= d[i-1].X {
			t.Fatalf("not in order at %d: %v after %v", i, p, d[i-1])
		}
	}
	if !found {
		t.Error("the spike was dropped")
	}
	few := xys[:300]
	if got := decimate(few, 100, false); len(got) != 300 {
		t.Errorf("300 points over 100 columns decimated to %d", len(got))
	}
	unsorted := plotter.XYs{{X: 3, Y: 1}, {X: 1, Y: 2}}
	if got := decimate(unsorted, 0, false); len(got) != 2 {
		t.Error("unsorted points decimated")
	}
}

func TestTicks(t *testing.T) {
	labels := func(ts []gplot.Tick) []string {
		var s []string
		for _, t := range ts {
			if t.Label != "" {
				s = append(s, t.Label)
			}
		}
		return s
	}
	for _, tc := range []struct {
		tk       gplot.Ticker
		min, max float64
		want     string
	}{
		{niceTicks{integer: true}, 1, 4745, "1000 2000 3000 4000"},
		{niceTicks{integer: true}, 1, 3, "1 2 3"},
		{niceTicks{integer: true}, 0, 30, "0 10 20 30"},
		{niceTicks{}, 0.05, 0.32, "0.1 0.2 0.3"},
		{niceTicks{}, 0, 2500, "0 500 1000 1500 2000 2500"},
		{niceTicks{}, 0.9, 0.98, "0.90 0.92 0.94 0.96 0.98"},
		{logTicks{}, 1e-7, 10, "1e-7 1e-5 1e-3 1e-1 1e1"},
		{logTicks{}, 1e-5, 1e10, "1e-5 1e-2 1e1 1e4 1e7 1e10"},
		{logTicks{}, 0.001, 100, "0.001 0.01 0.1 1 10 100"},
	} {
		if got := strings.Join(labels(tc.tk.Ticks(tc.min, tc.max)), " "); got != tc.want {
			t.Errorf("%T%+v on [%v, %v]: %q, want %q", tc.tk, tc.tk, tc.min, tc.max, got, tc.want)
		}
	}
	for _, tk := range (niceTicks{integer: true}).Ticks(1, 3) {
		if tk.Value != math.Trunc(tk.Value) {
			t.Errorf("a tick at %v on an axis of counts", tk.Value)
		}
	}
}

// TestBestEpochMarked: a History whose EarlyStopping restored an earlier
// epoch's weights shows that epoch; log scales are available.
func TestBestEpochMarked(t *testing.T) {
	h := threeHistories(t)[2]
	h.BestEpoch = 2
	c := History(h)
	if text := svgText(t, c.SVG()); !strings.Contains(text, "best: epoch 2") {
		t.Errorf("no best-epoch marker: %q", text)
	}
	c.NoBest = true
	if text := svgText(t, c.SVG()); strings.Contains(text, "best") {
		t.Errorf("marker despite NoBest: %q", text)
	}
	c = History(h)
	c.LogY, c.LogX = true, true
	checkPNG(t, c.PNG(), 576, 384)
	h.BestEpoch = 0
	if text := svgText(t, History(h).SVG()); strings.Contains(text, "best") {
		t.Errorf("marker without a restored epoch: %q", text)
	}
}

// TestChartOfRecordedMetrics draws metrics by their Keras names.
func TestChartOfRecordedMetrics(t *testing.T) {
	h := &trainers.History{Method: "m", Metric: "accuracy", Epochs: []trainers.Epoch{{Epoch: 0, HasVal: true, ValMetric: 0.5}, {Epoch: 1, HasVal: true, ValMetric: 0.75}},
		Metrics: map[string][]float64{"accuracy": {0.6, 0.8}, "val_accuracy": {0.5, 0.75}}}
	for _, y := range []string{"accuracy", "val_accuracy", "val_metric"} {
		text := svgText(t, Chart{Y: y, Histories: []*trainers.History{h}}.SVG())
		if !strings.Contains(text, "accuracy") && !strings.Contains(text, "metric") {
			t.Errorf("Y %q: %q", y, text)
		}
	}
	var buf bytes.Buffer
	testutil.ErrContains(t, Chart{Y: "auc", Histories: []*trainers.History{h}}.Render(&buf, "svg"), `"auc"`, "val_accuracy")
}
