package trainers

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/pkg/errors"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/descent-go/descent/internal/atomicfile"
)

// Chart draws one quantity recorded in several Histories against a common
// axis, one line per History labelled by its Method, to compare training
// runs: GD, online and mini-batch SGD by epochs, by examples seen, by updates
// or by wall time.
//
//	c := trainers.Chart{Title: "digits", X: "examples", Y: "val_loss", Histories: []*trainers.History{gd, sgd, mb}}
//	err := c.WriteFile("compare.png")
//
// In a notebook a Chart (like a History) displays itself: the kernel calls
// its PNG and SVG methods. Its methods have value receivers, so a Chart value
// and a *Chart both have them.
type Chart struct {
	Title string
	// X is the horizontal axis: "epochs" (the default), "examples" (training
	// examples processed), "updates" (parameter updates) or "seconds" (wall
	// time, evaluation excluded).
	X string
	// Y is what is drawn: "train_loss" (the default), "val_loss",
	// "val_metric" (History.Metric on the validation set), or "loss": the
	// training loss as a solid line and, where recorded, the validation loss
	// as a dashed one of the same colour.
	Y string
	// LogY draws Y on a logarithmic scale; values ≤ 0 are then left out.
	LogY bool
	// Histories are the runs to draw, one line (two for Y "loss") each.
	Histories []*History
	// Labels, if set, name the Histories' lines instead of their Methods
	// (useful when two runs use the same method with different settings).
	Labels []string
	// Width and Height are the size in inches; 0 means 6 × 4 (576 × 384
	// pixels in PNG, at 96 dpi).
	Width, Height float64
}

// Default chart size, in inches.
const (
	DefaultChartWidth  = 6
	DefaultChartHeight = 4
)

var (
	chartX = map[string]string{"epochs": "epochs", "examples": "examples seen", "updates": "updates", "seconds": "seconds"}
	chartY = map[string]string{"train_loss": "training loss", "val_loss": "validation loss", "val_metric": "validation metric", "loss": "loss"}
)

// PNG returns the chart as a PNG image, or nil if it cannot be drawn (Render
// says why).
func (c Chart) PNG() []byte { return c.figure().png() }

// SVG returns the chart as an SVG document, or "" if it cannot be drawn
// (Render says why).
func (c Chart) SVG() string { return c.figure().svg() }

// Render writes the chart to w in format "png" or "svg".
func (c Chart) Render(w io.Writer, format string) error { return c.figure().render(w, format) }

// WriteFile writes the chart to path, as PNG or SVG according to its
// extension (.png or .svg). The file is written atomically: to a temporary
// file in the same directory, synced, then renamed over path.
func (c Chart) WriteFile(path string) error { return c.figure().writeFile(path) }

// PNG draws the History's losses by epoch — training and, if recorded,
// validation — as a PNG image; nil if it cannot be drawn. A notebook
// displays a History through this method (and SVG).
func (h *History) PNG() []byte { return h.chart().PNG() }

// SVG draws the History like PNG, as an SVG document; "" if it cannot be
// drawn.
func (h *History) SVG() string { return h.chart().SVG() }

// chart is the History's own chart: losses by epoch, lines labelled "train"
// and "validation".
func (h *History) chart() Chart {
	title := ""
	if h != nil {
		title = h.Method
	}
	return Chart{Title: title, X: "epochs", Y: "loss", Histories: []*History{h}, Labels: []string{""}}
}

// series is one line of a figure.
type series struct {
	label  string
	xys    plotter.XYs
	color  int
	dashed bool
}

// figure is what Chart and Plot draw: lines, labels and scales, or the
// error that keeps them from being drawn.
type figure struct {
	title, xLabel, yLabel string
	logX, logY, legendTop bool
	lines                 []series
	wIn, hIn              float64
	err                   error
}

// figure gathers the chart's lines from its Histories.
func (c Chart) figure() figure {
	f, err := c.lines()
	if err != nil {
		return figure{err: err}
	}
	return f
}

func (c Chart) lines() (f figure, err error) {
	xName, yName := c.X, c.Y
	if xName == "" {
		xName = "epochs"
	}
	if yName == "" {
		yName = "train_loss"
	}
	xLabel, ok := chartX[xName]
	if !ok {
		return f, errors.Errorf("trainers: Chart: X %q, want epochs, examples, updates or seconds", c.X)
	}
	yLabel, ok := chartY[yName]
	if !ok {
		return f, errors.Errorf("trainers: Chart: Y %q, want train_loss, val_loss, val_metric or loss", c.Y)
	}
	if len(c.Labels) > 0 && len(c.Labels) != len(c.Histories) {
		return f, errors.Errorf("trainers: Chart: %d Labels for %d Histories", len(c.Labels), len(c.Histories))
	}

	var lines []series
	for i, h := range c.Histories {
		if h == nil {
			return f, errors.Errorf("trainers: Chart: Histories[%d] is nil", i)
		}
		label := h.Method
		if len(c.Labels) > 0 {
			label = c.Labels[i]
		}
		if yName == "val_metric" && h.Metric != "" {
			yLabel = "validation " + h.Metric
		}
		if yName == "loss" {
			lines = append(lines, series{label: joinLabel(label, "train"), color: i, xys: c.points(h, xName, "train_loss")})
			if v := c.points(h, xName, "val_loss"); len(v) > 0 {
				lines = append(lines, series{label: joinLabel(label, "validation"), color: i, dashed: true, xys: v})
			}
			continue
		}
		lines = append(lines, series{label: label, color: i, xys: c.points(h, xName, yName)})
	}

	return figure{title: c.Title, xLabel: xLabel, yLabel: yLabel, logY: c.LogY, legendTop: yName != "val_metric",
		lines: lines, wIn: c.Width, hIn: c.Height}, nil
}

// plot builds the gonum plot of the figure.
func (f figure) plot() (p *plot.Plot, width, height vg.Length, err error) {
	if f.err != nil {
		return nil, 0, 0, f.err
	}
	wIn, hIn := f.wIn, f.hIn
	if wIn == 0 {
		wIn = DefaultChartWidth
	}
	if hIn == 0 {
		hIn = DefaultChartHeight
	}
	if !(wIn >= 1 && wIn <= 100) || !(hIn >= 1 && hIn <= 100) {
		return nil, 0, 0, errors.Errorf("trainers: size %v × %v inches, want 1 to 100 each", f.wIn, f.hIn)
	}
	p = plot.New()
	p.Title.Text = f.title
	p.X.Label.Text = f.xLabel
	p.Y.Label.Text = f.yLabel
	p.Add(plotter.NewGrid())
	p.Legend.Top = f.legendTop // losses fall, metrics rise: keep the legend off the curves
	yMin, yMax := math.Inf(1), math.Inf(-1)
	entries := 0
	for _, s := range f.lines {
		if len(s.xys) == 0 {
			continue
		}
		l, err := plotter.NewLine(s.xys)
		if err != nil {
			return nil, 0, 0, errors.Wrapf(err, "trainers: line %q", s.label)
		}
		l.Color = plotutil.Color(s.color)
		l.Width = vg.Points(1.5)
		if s.dashed {
			l.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
		}
		p.Add(l)
		if s.label != "" {
			p.Legend.Add(s.label, l)
			entries++
		}
		for _, pt := range s.xys {
			yMin, yMax = math.Min(yMin, pt.Y), math.Max(yMax, pt.Y)
		}
	}
	if f.logX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
		xMin, xMax := math.Inf(1), math.Inf(-1)
		for _, s := range f.lines {
			for _, pt := range s.xys {
				xMin, xMax = math.Min(xMin, pt.X), math.Max(xMax, pt.X)
			}
		}
		if xMin <= xMax {
			p.X.Min, p.X.Max = decades(xMin, xMax)
		}
	}
	logY := f.logY && yMin <= yMax // some data, all of it > 0
	if logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		if yMin == yMax {
			yMin, yMax = yMin/2, yMax*2
		}
	}
	if yMin < yMax {
		p.Y.Min, p.Y.Max = legendRoom(yMin, yMax, entries, hIn, p.Legend.Top, logY)
	}
	if logY {
		p.Y.Min, p.Y.Max = decades(p.Y.Min, p.Y.Max)
	}
	return p, vg.Length(wIn) * vg.Inch, vg.Length(hIn) * vg.Inch, nil
}

func (f figure) render(w io.Writer, format string) error {
	format = strings.ToLower(strings.TrimPrefix(format, "."))
	if format != "png" && format != "svg" {
		return errors.Errorf("trainers: format %q, want png or svg", format)
	}
	p, width, height, err := f.plot()
	if err != nil {
		return err
	}
	return drawPlot(w, p, width, height, format)
}

func (f figure) png() []byte {
	var buf bytes.Buffer
	if err := f.render(&buf, "png"); err != nil {
		return nil
	}
	return buf.Bytes()
}

func (f figure) svg() string {
	var buf bytes.Buffer
	if err := f.render(&buf, "svg"); err != nil {
		return ""
	}
	return buf.String()
}

func (f figure) writeFile(path string) error {
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".png" && ext != ".svg" {
		return errors.Errorf("trainers: WriteFile %s: extension %q, want .png or .svg", path, ext)
	}
	var buf bytes.Buffer
	if err := f.render(&buf, ext[1:]); err != nil {
		return errors.Wrapf(err, "trainers: WriteFile %s", path)
	}
	err := atomicfile.Write(path, func(file *os.File) error { _, err := file.Write(buf.Bytes()); return err })
	return errors.Wrapf(err, "trainers: writing %s", path)
}

// decades widens a positive range to whole powers of ten: a log axis is
// labelled only at powers of ten, so data within one decade would otherwise
// get an axis without numbers.
func decades(lo, hi float64) (float64, float64) {
	return math.Pow(10, math.Floor(math.Log10(lo))), math.Pow(10, math.Ceil(math.Log10(hi)))
}

// legendRoom widens the data range [lo, hi] so that the legend, at the top
// or the bottom of a plot hIn inches high, sits clear of the lines.
func legendRoom(lo, hi float64, entries int, hIn float64, top, logY bool) (float64, float64) {
	if entries == 0 {
		return lo, hi
	}
	const entryPt, marginPt = 14, 60 // legend line height; title and X axis
	frac := float64(entries) * entryPt / (hIn*72 - marginPt)
	if frac > 0.6 {
		frac = 0.6
	}
	if logY {
		lo, hi = math.Log(lo), math.Log(hi)
	}
	span := (hi - lo) / (1 - frac)
	if top {
		hi = lo + span
	} else {
		lo = hi - span
	}
	if logY {
		return math.Exp(lo), math.Exp(hi)
	}
	return lo, hi
}

func joinLabel(label, what string) string {
	if label == "" {
		return what
	}
	return label + " " + what
}

// points are the (x, y) pairs of one quantity of h, leaving out epochs that
// do not have it and values that cannot be drawn (non-finite, or ≤ 0 on a
// log scale).
func (c Chart) points(h *History, x, y string) plotter.XYs {
	var xys plotter.XYs
	for _, e := range h.Epochs {
		var xv, yv float64
		switch x {
		case "epochs":
			xv = float64(e.Epoch + 1)
		case "examples":
			xv = float64(e.Examples)
		case "updates":
			xv = float64(e.Updates)
		case "seconds":
			xv = e.Seconds
		}
		switch y {
		case "train_loss":
			yv = e.TrainLoss
		case "val_loss":
			if !e.HasVal {
				continue
			}
			yv = e.ValLoss
		case "val_metric":
			if !e.HasVal {
				continue
			}
			yv = e.ValMetric
		}
		if !finite(xv) || !finite(yv) || (c.LogY && yv <= 0) {
			continue
		}
		xys = append(xys, plotter.XY{X: xv, Y: yv})
	}
	return xys
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// drawPlot renders p, turning a panic in the plotting library into an error.
func drawPlot(w io.Writer, p *plot.Plot, width, height vg.Length, format string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.Errorf("trainers: Chart: drawing %s: %v", format, r)
		}
	}()
	wt, err := p.WriterTo(width, height, format)
	if err != nil {
		return errors.Wrapf(err, "trainers: Chart: %s", format)
	}
	if _, err := wt.WriteTo(w); err != nil {
		return errors.Wrapf(err, "trainers: Chart: writing %s", format)
	}
	return nil
}

// String describes the chart, for error messages and notebooks' text view.
func (c Chart) String() string {
	return fmt.Sprintf("Chart{%q: %s vs %s, %d histories}", c.Title, orStr(c.Y, "train_loss"), orStr(c.X, "epochs"), len(c.Histories))
}

func orStr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Series is one line of a Plot: the points (X[i], Y[i]).
type Series struct {
	Label  string
	X, Y   []float64
	Dashed bool
}

// Plot draws any measurements as lines — steps against κ, throughput against
// batch size, a loss per update — with the same look as Chart. Like Chart it
// displays itself in a notebook through PNG and SVG (value receivers).
//
//	p := trainers.Plot{Title: "throughput", XLabel: "batch size", YLabel: "examples/s", LogX: true,
//		Series: []trainers.Series{{Label: "MLP", X: sizes, Y: rates}}}
//	err := p.WriteFile("throughput.png")
type Plot struct {
	Title, XLabel, YLabel string
	// LogX and LogY draw an axis on a logarithmic scale; points with a
	// coordinate ≤ 0 on such an axis are left out.
	LogX, LogY bool
	Series     []Series
	// Width and Height are the size in inches; 0 means 6 × 4.
	Width, Height float64
}

// PNG returns the plot as a PNG image, or nil if it cannot be drawn (Render
// says why).
func (p Plot) PNG() []byte { return p.figure().png() }

// SVG returns the plot as an SVG document, or "" if it cannot be drawn.
func (p Plot) SVG() string { return p.figure().svg() }

// Render writes the plot to w in format "png" or "svg".
func (p Plot) Render(w io.Writer, format string) error { return p.figure().render(w, format) }

// WriteFile writes the plot to path, as PNG or SVG according to its
// extension, atomically.
func (p Plot) WriteFile(path string) error { return p.figure().writeFile(path) }

// figure checks the series and keeps their drawable points.
func (p Plot) figure() figure {
	f := figure{title: p.Title, xLabel: p.XLabel, yLabel: p.YLabel, logX: p.LogX, logY: p.LogY, legendTop: true, wIn: p.Width, hIn: p.Height}
	for i, s := range p.Series {
		if len(s.X) != len(s.Y) {
			return figure{err: errors.Errorf("trainers: Plot: series %d (%q) has %d X and %d Y values", i, s.Label, len(s.X), len(s.Y))}
		}
		var xys plotter.XYs
		for j, x := range s.X {
			y := s.Y[j]
			if !finite(x) || !finite(y) || (p.LogX && x <= 0) || (p.LogY && y <= 0) {
				continue
			}
			xys = append(xys, plotter.XY{X: x, Y: y})
		}
		f.lines = append(f.lines, series{label: s.Label, xys: xys, color: i, dashed: s.Dashed})
	}
	return f
}
