package datasets

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/pkg/errors"
)

// Bounds on what a reader allocates, from what a file can hold: a small
// compressed file must not make the process ask for gigabytes.
const (
	// maxCSVBytes bounds the (decompressed) text of one CSV file: 1 GiB.
	maxCSVBytes = 1 << 30
	// maxCSVValues bounds the numbers read from one CSV file (1 GiB as
	// float64).
	maxCSVValues = 1 << 27
	// maxTensorBytes bounds the tensors a loader makes from one file
	// (MNIST's training images take 188 MB as float32, 376 MB as float64).
	maxTensorBytes = 1 << 31
	// maxCSVLineBytes bounds one line of a streamed CSV file (CSVStream
	// holds a line at a time, and encoding/csv a whole line): 64 MiB.
	maxCSVLineBytes = 1 << 26
	// maxQuoted is how much of a bad field an error message quotes.
	maxQuoted = 64
)

// errTooLarge is the error of a limitedReader past its limit.
type errTooLarge struct{ limit int64 }

func (e errTooLarge) Error() string {
	return fmt.Sprintf("more than %d bytes (decompressed): too large", e.limit)
}

// limitedReader reads from r until more than limit bytes have come, and
// then fails with errTooLarge (unlike io.LimitReader, which ends quietly and
// would make a cut file look complete).
type limitedReader struct {
	r     io.Reader
	left  int64
	limit int64
}

func newLimitedReader(r io.Reader, limit int64) *limitedReader {
	return &limitedReader{r: r, left: limit, limit: limit}
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, errTooLarge{l.limit}
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, errTooLarge{l.limit}
	}
	return n, err
}

// lineLimitedReader fails once a line (the bytes between two newlines)
// grows past limit: a streamed CSV file has no size limit, but the reader
// holds a line at a time, so one huge line (or a decompression bomb with no
// newline) must not grow its buffer without bound.
type lineLimitedReader struct {
	r     io.Reader
	line  int64 // bytes since the last newline
	limit int64
}

func (l *lineLimitedReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	// Lines inside p are shorter than p: only the one p continues and the
	// one it starts can be long.
	if i := bytes.IndexByte(p[:n], '\n'); i >= 0 {
		if l.line+int64(i) > l.limit {
			return n, errors.Errorf("a line of more than %d bytes: too long for a CSV stream", l.limit)
		}
		l.line = int64(n - bytes.LastIndexByte(p[:n], '\n') - 1)
	} else {
		l.line += int64(n)
	}
	if l.line > l.limit {
		return n, errors.Errorf("a line of more than %d bytes: too long for a CSV stream", l.limit)
	}
	return n, err
}

// quote quotes s for an error message, cut to its first maxQuoted bytes
// (on a rune boundary) with its full length when it is longer.
func quote(s string) string {
	if len(s) <= maxQuoted {
		return fmt.Sprintf("%q", s)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q… (%d bytes)", s[:cut], len(s))
}

// withContext returns a reader of r that fails with ctx's error once ctx is
// done: loaders read in blocks of tens of kilobytes, so a cancel stops them
// within one block.
func withContext(ctx context.Context, r io.Reader) io.Reader {
	if ctx == nil {
		return r
	}
	return ctxReader{ctx, r}
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
