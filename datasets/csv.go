package datasets

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/csv"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// CSVOptions says how ReadCSV turns a table into a Dataset.
type CSVOptions struct {
	// Header skips the first line.
	Header bool
	// Targets are the indices of the target columns, from 0; a negative
	// index counts from the end (-1 is the last column). The default is
	// the last column. All other columns are features, in order.
	Targets []int
	// ClassIndex reads the single target column as class indices
	// (integers 0, 1, ...), giving targets of shape (N). Otherwise the
	// targets have shape (N, len(Targets)).
	ClassIndex bool
	// Dtype is tensor.Float64 (the default) or tensor.Float32.
	Dtype tensor.Dtype
	// Comma is the field separator, ',' by default.
	Comma rune
}

// gzipMagic starts every gzip stream.
var gzipMagic = []byte{0x1f, 0x8b}

// maybeGunzip returns a reader of r's content, gunzipped if it starts with
// the gzip magic bytes.
func maybeGunzip(r io.Reader) (io.Reader, io.Closer, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	head, err := br.Peek(2)
	if err != nil && err != io.EOF {
		return nil, nil, err
	}
	if len(head) == 2 && head[0] == gzipMagic[0] && head[1] == gzipMagic[1] {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, errors.Wrap(err, "gzip")
		}
		return zr, zr, nil
	}
	return br, io.NopCloser(nil), nil
}

// skipBOM drops a UTF-8 byte order mark at the start of r.
func skipBOM(r io.Reader) io.Reader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReader(r)
	}
	if b, err := br.Peek(3); err == nil && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		br.Discard(3)
	}
	return br
}

// ReadCSV reads a Dataset from CSV text (gzip-compressed or not: it looks at
// the first bytes). name is the file name used in error messages, which say
// where the problem is as name:line:column, with columns counted from 1:
//
//	datasets: iris.csv:17:4: cannot parse "x" as a number
//
// Every line must have the same number of fields, values are decimal
// numbers (surrounding spaces are ignored), and NaN or infinite values are
// errors. Empty lines and a UTF-8 byte order mark are skipped.
func ReadCSV(r io.Reader, name string, opt CSVOptions) (*Dataset, error) {
	cr, closer, dt, err := newCSVReader(r, name, opt, maxCSVBytes)
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	var (
		rows   csvRows
		xs, ys []float64 // values read so far
		n      int       // data lines read
	)
	for {
		rec, err := rows.next(cr, name, opt)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if xs, ys, err = rows.parse(cr, rec, name, opt, dt, xs, ys); err != nil {
			return nil, err
		}
		n++
		if len(xs)+len(ys) > maxCSVValues {
			line, _ := cr.FieldPos(0)
			return nil, errors.Errorf("datasets: %s: line %d: more than %d values: too large for a CSV dataset", name, line, maxCSVValues)
		}
	}
	width, targets, skipped := rows.width, rows.targets, rows.skipped
	if n == 0 {
		if skipped {
			return nil, errors.Errorf("datasets: %s: no data lines after the header", name)
		}
		return nil, errors.Errorf("datasets: %s: empty file", name)
	}
	xShape := tensor.Shape{n, width - len(targets)}
	yShape := tensor.Shape{n, len(targets)}
	if opt.ClassIndex {
		yShape = tensor.Shape{n}
	}
	return newDataset("ReadCSV "+name, newDense(dt, xShape, xs), newDense(dt, yShape, ys))
}

// newCSVReader checks r, opt's dtype and separator, and returns a csv.Reader
// of r's text (at most limit bytes of it when limit > 0) (gunzipped, without a byte order mark), the gzip reader's
// Closer and the dtype.
func newCSVReader(r io.Reader, name string, opt CSVOptions, limit int64) (*csv.Reader, io.Closer, tensor.Dtype, error) {
	if r == nil {
		return nil, nil, tensor.Dtype{}, errors.Errorf("datasets: %s: nil reader", name)
	}
	dt := opt.Dtype
	if dt.Type == nil {
		dt = tensor.Float64
	}
	if err := checkDtype("ReadCSV "+name, dt); err != nil {
		return nil, nil, dt, err
	}
	comma := opt.Comma
	if comma == 0 {
		comma = ','
	}
	if comma == '"' || comma == '\r' || comma == '\n' || comma == utf8.RuneError || !utf8.ValidRune(comma) {
		return nil, nil, dt, errors.Errorf("datasets: %s: %q cannot separate fields", name, comma)
	}
	src, closer, err := maybeGunzip(r)
	if err != nil {
		return nil, nil, dt, errors.Wrapf(err, "datasets: %s", name)
	}
	if limit > 0 { // a whole file read into memory
		src = newLimitedReader(src, limit)
	} else { // a stream: no size limit, but one line at a time
		src = &lineLimitedReader{r: src, limit: maxCSVLineBytes}
	}
	src = skipBOM(src)
	cr := csv.NewReader(src)
	cr.Comma = comma
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	return cr, closer, dt, nil
}

// csvRows tracks the layout of a CSV table while its data lines are read.
type csvRows struct {
	width   int    // fields per line, from the first data line
	targets []int  // target columns
	isTgt   []bool // by column
	skipped bool   // the header was skipped
}

// next returns the next data line's fields (valid until the next call),
// or io.EOF.
func (c *csvRows) next(cr *csv.Reader, name string, opt CSVOptions) ([]string, error) {
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil, err
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, errors.Errorf("datasets: %s:%d:%d: %v", name, pe.Line, pe.Column, pe.Err)
			}
			if err == io.ErrUnexpectedEOF {
				return nil, errors.Errorf("datasets: %s: truncated: unexpected end of the compressed data", name)
			}
			var big errTooLarge
			if errors.As(err, &big) {
				return nil, errors.Errorf("datasets: %s: %v", name, big)
			}
			return nil, errors.Wrapf(err, "datasets: %s", name)
		}
		line, _ := cr.FieldPos(0)
		if opt.Header && !c.skipped {
			c.skipped = true
			continue
		}
		if c.width == 0 {
			c.width = len(rec)
			c.targets, err = resolveTargets(opt, c.width)
			if err != nil {
				return nil, errors.Wrapf(err, "datasets: %s:%d", name, line)
			}
			c.isTgt = make([]bool, c.width)
			for _, t := range c.targets {
				c.isTgt[t] = true
			}
		}
		if len(rec) != c.width {
			return nil, errors.Errorf("datasets: %s: line %d has %d fields, want %d", name, line, len(rec), c.width)
		}
		return rec, nil
	}
}

// parse checks the fields of a data line and appends its features to xs
// and its targets to ys.
func (c *csvRows) parse(cr *csv.Reader, rec []string, name string, opt CSVOptions, dt tensor.Dtype, xs, ys []float64) ([]float64, []float64, error) {
	for j, field := range rec {
		s := strings.TrimSpace(field)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			l, _ := cr.FieldPos(j)
			return xs, ys, errors.Errorf("datasets: %s:%d:%d: cannot parse %s as a number", name, l, j+1, quote(field))
		}
		if math.IsNaN(v) || math.IsInf(v, 0) || (dt == tensor.Float32 && math.Abs(v) > math.MaxFloat32) {
			l, _ := cr.FieldPos(j)
			return xs, ys, errors.Errorf("datasets: %s:%d:%d: %s is not a finite %v", name, l, j+1, quote(field), dt)
		}
		if c.isTgt[j] {
			if opt.ClassIndex && (v < 0 || v != math.Trunc(v) || v >= maxClasses) {
				l, _ := cr.FieldPos(j)
				return xs, ys, errors.Errorf("datasets: %s:%d:%d: class index %s is not an integer in 0..%d", name, l, j+1, quote(field), maxClasses-1)
			}
			continue
		}
		xs = append(xs, v)
	}
	for _, t := range c.targets {
		v, _ := strconv.ParseFloat(strings.TrimSpace(rec[t]), 64)
		ys = append(ys, v)
	}
	return xs, ys, nil
}

// resolveTargets checks the target columns against the line width.
func resolveTargets(opt CSVOptions, width int) ([]int, error) {
	in := opt.Targets
	if len(in) == 0 {
		in = []int{-1}
	}
	if opt.ClassIndex && len(in) != 1 {
		return nil, errors.Errorf("ClassIndex needs exactly one target column, got %d (%v)", len(in), in)
	}
	out := make([]int, len(in))
	seen := make(map[int]bool, len(in))
	for i, t := range in {
		c := t
		if c < 0 {
			c += width
		}
		if c < 0 || c >= width {
			return nil, errors.Errorf("target column %d is out of range for %d fields", t, width)
		}
		if seen[c] {
			return nil, errors.Errorf("target column %d (column %d) is given twice", t, c)
		}
		seen[c] = true
		out[i] = c
	}
	if len(out) >= width {
		return nil, errors.Errorf("all %d columns are targets: no features left", width)
	}
	return out, nil
}

// LoadCSV reads a Dataset from a CSV file, gzip-compressed or not; see
// ReadCSV.
func LoadCSV(path string, opt CSVOptions) (*Dataset, error) {
	return LoadCSVContext(context.Background(), path, opt)
}

// ReadCSVContext is ReadCSV that stops with ctx's error once ctx is done.
func ReadCSVContext(ctx context.Context, r io.Reader, name string, opt CSVOptions) (*Dataset, error) {
	if r == nil {
		return nil, errors.Errorf("datasets: %s: nil reader", name)
	}
	return ReadCSV(withContext(ctx, r), name, opt)
}

// LoadCSVContext is LoadCSV that stops with ctx's error once ctx is done.
func LoadCSVContext(ctx context.Context, path string, opt CSVOptions) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errors.Wrap(err, "datasets: LoadCSV")
	}
	defer f.Close()
	return ReadCSV(withContext(ctx, f), path, opt)
}
