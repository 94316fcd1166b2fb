package plot

import (
	"context"
	"bytes"
	"encoding/xml"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
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
		mustContain(t, tc.c.Render(&buf, "svg"), tc.want)
		if tc.c.PNG() != nil || tc.c.SVG() != "" {
			t.Errorf("%v: PNG or SVG despite the error", tc.c)
		}
	}
	var buf bytes.Buffer
	mustContain(t, Chart{Histories: hs}.Render(&buf, "gif"), `"gif"`)
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
	mustContain(t, c.WriteFile(filepath.Join(dir, "c.jpg")), ".jpg")
	mustContain(t, Chart{X: "bad", Histories: hs}.WriteFile(filepath.Join(dir, "bad.png")), `"bad"`)
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
	if err := bad.Render(io.Discard, "png"); err == nil || !strings.Contains(err.Error(), "2 X and 1 Y") {
		t.Errorf("mismatched series: error %v", err)
	}
	if bad.PNG() != nil || bad.SVG() != "" {
		t.Error("an undrawable plot returned an image")
	}
	if err := p.Render(io.Discard, "gif"); err == nil {
		t.Error("format gif accepted")
	}
}

func mustContain(t testing.TB, err error, subs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one mentioning %q", subs)
	}
	for _, s := range subs {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
}
