// Package plot draws training histories and any series of numbers as PNG
// or SVG line charts. It is apart from package trainers so that a program
// that only trains does not build the plotting library (gonum/plot, its
// fonts and its PDF, LaTeX and image back ends).
//
//	plot.History(hist).WriteFile("loss.png")
//	plot.Chart{X: "examples", Y: "val_accuracy", Histories: hists}.WriteFile("compare.svg")
//
// In a notebook a Chart, a Lines or the Chart that History returns displays
// itself: the kernel calls its PNG and SVG methods (value receivers).
package plot

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/pkg/errors"
	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/descent-go/descent/internal/atomicfile"
	"github.com/descent-go/descent/trainers"
)

// Chart draws one quantity recorded in several Histories against a common
// axis, one line per History labelled by its Method, to compare training
// runs: GD, online and mini-batch SGD by epochs, by examples seen, by updates
// or by wall time.
//
//	c := plot.Chart{Title: "digits", X: "examples", Y: "val_loss", Histories: []*trainers.History{gd, sgd, mb}}
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
	// "val_metric" (History.Metric on the validation set), any metric the
	// Histories recorded by its Keras name ("accuracy", "val_accuracy",
	// "val_auc", a custom one: see trainers.History.Value), or "loss": the
	// training loss as a solid line and, where recorded, the validation loss
	// as a dashed one of the same colour.
	Y string
	// LogX and LogY draw an axis on a logarithmic scale; values ≤ 0 are
	// then left out.
	LogX, LogY bool
	// NoBest leaves out the marker of the best epoch, drawn on a chart of
	// one History whose EarlyStopping restored the weights of an earlier
	// epoch (History.BestEpoch).
	NoBest bool
	// Histories are the runs to draw, one line (two for Y "loss") each.
	Histories []*trainers.History
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

// History is the chart of one History: its training loss (solid) and, if
// recorded, validation loss (dashed) by epoch, the best epoch marked when
// EarlyStopping restored one. Set the returned Chart's LogY (or Y, X) to
// change it:
//
//	c := plot.History(hist)
//	c.LogY = true
//	c.WriteFile("loss.png")
func History(h *trainers.History) Chart {
	title := ""
	if h != nil {
		title = h.Method
	}
	return Chart{Title: title, X: "epochs", Y: "loss", Histories: []*trainers.History{h}, Labels: []string{""}}
}

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

// series is one line of a figure.
type series struct {
	label  string
	xys    plotter.XYs
	color  int
	dashed bool
}

// figure is what Chart and Lines draw: lines, labels and scales, or the
// error that keeps them from being drawn.
type figure struct {
	title, xLabel, yLabel string
	logX, logY, legendTop bool
	lines                 []series
	wIn, hIn              float64
	err                   error
	// best marks an x (the best epoch) with a vertical line, labelled.
	best      float64
	bestLabel string
	integerX  bool // X counts things: ticks on whole numbers
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
		return f, errors.Errorf("plot: Chart: X %q, want epochs, examples, updates or seconds", c.X)
	}
	yLabel, ok := chartY[yName]
	if !ok {
		if !recorded(c.Histories, yName) {
			return f, errors.Errorf("plot: Chart: Y %q, want train_loss, val_loss, val_metric, loss or a metric the Histories recorded (%s)", c.Y, strings.Join(recordedNames(c.Histories), ", "))
		}
		yLabel = strings.Replace(yName, "val_", "validation ", 1)
		if !strings.HasPrefix(yName, "val_") {
			yLabel = "training " + yName
		}
	}
	if len(c.Labels) > 0 && len(c.Labels) != len(c.Histories) {
		return f, errors.Errorf("plot: Chart: %d Labels for %d Histories", len(c.Labels), len(c.Histories))
	}

	var lines []series
	for i, h := range c.Histories {
		if h == nil {
			return f, errors.Errorf("plot: Chart: Histories[%d] is nil", i)
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

	f = figure{title: c.Title, xLabel: xLabel, yLabel: yLabel, logX: c.LogX, logY: c.LogY, integerX: xName != "seconds",
		legendTop: !higherIsBetter(c.Histories, yName), lines: lines, wIn: c.Width, hIn: c.Height}
	if h := c.Histories; len(h) == 1 && h[0].BestEpoch > 0 && h[0].BestEpoch <= len(h[0].Epochs) && !c.NoBest {
		if x, ok := xValue(h[0].Epochs[h[0].BestEpoch-1], xName); ok && finite(x) && (!c.LogX || x > 0) {
			f.best, f.bestLabel = x, fmt.Sprintf("best: epoch %d (restored)", h[0].BestEpoch)
		}
	}
	return f, nil
}

// recorded reports whether some History recorded the quantity name.
func recorded(hs []*trainers.History, name string) bool {
	for _, n := range recordedNames(hs) {
		if n == name {
			return true
		}
	}
	return false
}

// recordedNames lists the quantities the Histories recorded.
func recordedNames(hs []*trainers.History) []string {
	seen := map[string]bool{}
	var names []string
	for _, h := range hs {
		for _, n := range h.Names() {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	return names
}

// higherIsBetter: metrics that rise (accuracy) keep the legend at the
// bottom, losses that fall at the top, off the curves.
func higherIsBetter(hs []*trainers.History, name string) bool {
	if len(hs) == 0 || hs[0] == nil {
		return false
	}
	return hs[0].HigherIsBetter(name)
}

// plot builds the gonum plot of the figure.
func (f figure) plot() (p *gplot.Plot, width, height vg.Length, err error) {
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
		return nil, 0, 0, errors.Errorf("plot: size %v × %v inches, want 1 to 100 each", f.wIn, f.hIn)
	}
	p = gplot.New()
	p.Title.Text = f.title
	p.X.Label.Text = f.xLabel
	p.Y.Label.Text = f.yLabel
	p.Add(plotter.NewGrid())
	p.Legend.Top = f.legendTop // losses fall, metrics rise: keep the legend off the curves
	p.X.Tick.Marker = niceTicks{integer: f.integerX}
	p.Y.Tick.Marker = niceTicks{}
	yMin, yMax := math.Inf(1), math.Inf(-1)
	entries := 0
	if f.bestLabel != "" {
		entries++
	}
	for _, s := range f.lines {
		if len(s.xys) == 0 {
			continue
		}
		// At most a few points per pixel column: the raster back end
		// drops the end of long (dashed) paths, and no eye sees more.
		l, err := plotter.NewLine(decimate(s.xys, int(wIn*96/2), f.logX))
		if err != nil {
			return nil, 0, 0, errors.Wrapf(err, "plot: line %q", s.label)
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
		p.X.Scale = gplot.LogScale{}
		p.X.Tick.Marker = logTicks{}
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
		p.Y.Scale = gplot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
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
	if f.bestLabel != "" && yMin <= yMax {
		lo, hi := p.Y.Min, p.Y.Max
		if lo >= hi { // one value: gonum pads the axis itself
			lo, hi = yMin-1, yMax+1
			if logY {
				lo, hi = yMin/2, yMax*2
			}
		}
		l, err := plotter.NewLine(plotter.XYs{{X: f.best, Y: lo}, {X: f.best, Y: hi}})
		if err != nil {
			return nil, 0, 0, errors.Wrap(err, "plot: best epoch")
		}
		l.Color = color.Gray{Y: 110}
		l.Width = vg.Points(1)
		l.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
		p.Add(l)
		p.Legend.Add(f.bestLabel, l)
	}
	return p, vg.Length(wIn) * vg.Inch, vg.Length(hIn) * vg.Inch, nil
}

func (f figure) render(w io.Writer, format string) error {
	format = strings.ToLower(strings.TrimPrefix(format, "."))
	if format != "png" && format != "svg" {
		return errors.Errorf("plot: format %q, want png or svg", format)
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
		return errors.Errorf("plot: WriteFile %s: extension %q, want .png or .svg", path, ext)
	}
	var buf bytes.Buffer
	if err := f.render(&buf, ext[1:]); err != nil {
		return errors.Wrapf(err, "plot: WriteFile %s", path)
	}
	err := atomicfile.Write(path, func(file *os.File) error { _, err := file.Write(buf.Bytes()); return err })
	return errors.Wrapf(err, "plot: writing %s", path)
}

// decades widens a positive range to whole powers of ten when it holds
// fewer than two of them: a log axis is labelled only at powers of ten, so
// data within one decade would otherwise get an axis without numbers. A
// range that already holds two keeps its ends, without empty decades.
func decades(lo, hi float64) (float64, float64) {
	if math.Floor(math.Log10(hi)+1e-9)-math.Ceil(math.Log10(lo)-1e-9) >= 1 {
		return lo, hi
	}
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
func (c Chart) points(h *trainers.History, x, y string) plotter.XYs {
	var xys plotter.XYs
	for i, e := range h.Epochs {
		xv, _ := xValue(e, x)
		yv, ok := h.Value(y, i)
		if !ok || !finite(xv) || !finite(yv) || (c.LogY && yv <= 0) || (c.LogX && xv <= 0) {
			continue
		}
		xys = append(xys, plotter.XY{X: xv, Y: yv})
	}
	return xys
}

// xValue is an epoch's position on the X axis.
func xValue(e trainers.Epoch, x string) (float64, bool) {
	switch x {
	case "epochs":
		return float64(e.Epoch + 1), true
	case "examples":
		return float64(e.Examples), true
	case "updates":
		return float64(e.Updates), true
	case "seconds":
		return e.Seconds, true
	}
	return 0, false
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// drawPlot renders p, turning a panic in the plotting library into an error.
func drawPlot(w io.Writer, p *gplot.Plot, width, height vg.Length, format string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.Errorf("plot: Chart: drawing %s: %v", format, r)
		}
	}()
	wt, err := p.WriterTo(width, height, format)
	if err != nil {
		return errors.Wrapf(err, "plot: Chart: %s", format)
	}
	if _, err := wt.WriteTo(w); err != nil {
		return errors.Wrapf(err, "plot: Chart: writing %s", format)
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

// Series is one line of a Lines chart: the points (X[i], Y[i]).
type Series struct {
	Label  string
	X, Y   []float64
	Dashed bool
}

// Lines draws any measurements as lines — steps against κ, throughput against
// batch size, a loss per update — with the same look as Chart. Like Chart it
// displays itself in a notebook through PNG and SVG (value receivers).
//
//	p := plot.Lines{Title: "throughput", XLabel: "batch size", YLabel: "examples/s", LogX: true,
//		Series: []plot.Series{{Label: "MLP", X: sizes, Y: rates}}}
//	err := p.WriteFile("throughput.png")
type Lines struct {
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
func (p Lines) PNG() []byte { return p.figure().png() }

// SVG returns the plot as an SVG document, or "" if it cannot be drawn.
func (p Lines) SVG() string { return p.figure().svg() }

// Render writes the plot to w in format "png" or "svg".
func (p Lines) Render(w io.Writer, format string) error { return p.figure().render(w, format) }

// WriteFile writes the plot to path, as PNG or SVG according to its
// extension, atomically.
func (p Lines) WriteFile(path string) error { return p.figure().writeFile(path) }

// figure checks the series and keeps their drawable points.
func (p Lines) figure() figure {
	f := figure{title: p.Title, xLabel: p.XLabel, yLabel: p.YLabel, logX: p.LogX, logY: p.LogY, legendTop: true, wIn: p.Width, hIn: p.Height}
	for i, s := range p.Series {
		if len(s.X) != len(s.Y) {
			return figure{err: errors.Errorf("plot: Lines: series %d (%q) has %d X and %d Y values", i, s.Label, len(s.X), len(s.Y))}
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

// decimate keeps at most the first, lowest, highest and last point of each
// of `columns` equal slices of the X range (in log space for a log axis), in
// their order, when the points are sorted by X and more than 4 per column;
// otherwise it returns them as they are.
func decimate(xys plotter.XYs, columns int, logX bool) plotter.XYs {
	if columns < 1 || len(xys) <= 4*columns {
		return xys
	}
	pos := func(x float64) float64 {
		if logX {
			return math.Log(x)
		}
		return x
	}
	for i := 1; i < len(xys); i++ {
		if xys[i].X < xys[i-1].X {
			return xys
		}
	}
	lo, hi := pos(xys[0].X), pos(xys[len(xys)-1].X)
	if !(hi > lo) {
		return xys
	}
	out := make(plotter.XYs, 0, 4*columns+1)
	for start := 0; start < len(xys); {
		col := int(float64(columns) * (pos(xys[start].X) - lo) / (hi - lo))
		end, min, max := start, start, start
		for end < len(xys) && int(float64(columns)*(pos(xys[end].X)-lo)/(hi-lo)) == col {
			if xys[end].Y < xys[min].Y {
				min = end
			}
			if xys[end].Y > xys[max].Y {
				max = end
			}
			end++
		}
		keep := []int{start, min, max, end - 1}
		sort.Ints(keep)
		for i, k := range keep {
			if i == 0 || k != keep[i-1] {
				out = append(out, xys[k])
			}
		}
		start = end
	}
	return out
}

// niceTicks labels a linear axis at round values — 1, 2 or 5 times a power
// of ten, about five of them — printed with no more decimals than the step
// needs (whole numbers as "2500", not "2500.00"). With integer, the step is
// at least 1: an axis of counts never shows fractions.
type niceTicks struct{ integer bool }

func (t niceTicks) Ticks(min, max float64) []gplot.Tick {
	if !(max > min) {
		return []gplot.Tick{{Value: min, Label: formatTick(min, 0)}}
	}
	raw := (max - min) / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	if t.integer && step < 1 {
		step = 1
	}
	decimals := 0
	if step < 1 {
		decimals = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	minor := step / 5
	if s := step / mag; s == 2 || (t.integer && step == 1) {
		minor = step / 2
	}
	if t.integer && minor < 1 {
		minor = 0
	}
	var ticks []gplot.Tick
	for i := math.Ceil(min / step); i*step <= max+step*1e-9; i++ {
		v := i * step
		ticks = append(ticks, gplot.Tick{Value: v, Label: formatTick(v, decimals)})
	}
	if minor > 0 {
		for i := math.Ceil(min / minor); i*minor <= max; i++ {
			v := i * minor
			if r := math.Mod(math.Abs(v), step); r > minor/2 && step-r > minor/2 {
				ticks = append(ticks, gplot.Tick{Value: v})
			}
		}
	}
	return ticks
}

// formatTick prints a tick value with the given decimals, in exponent form
// when it is huge or tiny.
func formatTick(v float64, decimals int) string {
	if v == 0 {
		return "0"
	}
	if a := math.Abs(v); a >= 1e7 || decimals > 6 {
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
	return strconv.FormatFloat(v, 'f', decimals, 64)
}

// logTicks labels a log axis at powers of ten, every decade when there are
// few, else every second or third, with minor ticks at the others. The
// labels are plain numbers ("0.001", "100") when all of them are short,
// else all in one exponent form ("1e-7", "1e3").
type logTicks struct{}

func (logTicks) Ticks(min, max float64) []gplot.Tick {
	lo, hi := int(math.Floor(math.Log10(min)+1e-9)), int(math.Ceil(math.Log10(max)-1e-9))
	every := 1
	for (hi-lo)/every > 6 {
		every++
	}
	plain := lo >= -4 && hi <= 5
	var ticks []gplot.Tick
	for k := lo; k <= hi; k++ {
		v := math.Pow(10, float64(k))
		if v < min*(1-1e-9) || v > max*(1+1e-9) {
			continue
		}
		label := ""
		switch {
		case (k-lo)%every != 0:
		case plain:
			label = strconv.FormatFloat(v, 'f', -1, 64)
		default:
			label = fmt.Sprintf("1e%d", k)
		}
		ticks = append(ticks, gplot.Tick{Value: v, Label: label})
	}
	return ticks
}
