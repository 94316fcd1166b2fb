package trainers

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"time"
)

// Console is the progress display of a Fit, sharing its writer with the
// lines you print yourself. On a terminal (an *os.File on a character
// device, with the CI environment variable unset) it draws a bar that moves
// within each epoch — set Config.LogEvery to have it move between epochs'
// ends — and, when an epoch ends, replaces it with one line for the epoch,
// as Keras does. Anywhere else (a pipe, a log file, a CI job) it writes the
// epoch lines only. Print through Printf: the bar is cleared first and
// redrawn after, so it never mixes with your text.
//
//	con := trainers.NewConsole(os.Stdout)
//	cfg.Callbacks = []trainers.Callback{con.Callback()}
//	...
//	con.Printf("learning rate now %v\n", lr) // inside another callback
//
// Epochs are counted from 1, as everywhere a user reads them. A Console is
// safe for concurrent use.
type Console struct {
	mu    chan struct{} // a lock (see lockConsole)
	w     io.Writer
	term  bool
	bar   string // the bar on screen, "" if none
	start time.Time
	quiet bool // no epoch lines: the bar only
}

// NewConsole returns a Console writing to w (os.Stderr if nil). The zero
// Console writes to os.Stderr too.
func NewConsole(w io.Writer) *Console {
	if w == nil {
		w = os.Stderr
	}
	return &Console{w: w, term: isTerminal(w)}
}

// NewBar returns a Console that draws the bar only, on a terminal, and
// writes no epoch lines: for runs of thousands of short epochs, or
// programs that print their own lines (through the Console's Printf).
// Off a terminal it writes nothing but what is printed through it.
func NewBar(w io.Writer) *Console {
	c := NewConsole(w)
	c.quiet = true
	return c
}

// Progress returns the callback of a new Console on w: a progress bar on a
// terminal, one line per epoch elsewhere.
func Progress(w io.Writer) Callback { return NewConsole(w).Callback() }

// Printf prints a line of yours: on a terminal it clears the bar, prints,
// and redraws the bar under the text if the text ends a line.
func (c *Console) Printf(format string, args ...interface{}) {
	lockConsole(c)
	defer unlockConsole(c)
	initConsole(c)
	text := fmt.Sprintf(format, args...)
	if !c.term || c.bar == "" {
		io.WriteString(c.w, text)
		return
	}
	io.WriteString(c.w, "\r\x1b[K"+text)
	if strings.HasSuffix(text, "\n") {
		io.WriteString(c.w, c.bar)
	}
}

// Callback returns the callback that draws the progress.
func (c *Console) Callback() Callback {
	return func(e Event) error {
		lockConsole(c)
		defer unlockConsole(c)
		initConsole(c)
		h := e.History
		if h == nil || e.Rank != 0 {
			return nil
		}
		switch e.Kind {
		case FitBegin:
			c.start = time.Now()
		case StepEnd:
			if c.term {
				drawBar(c, barLine(c, e, e.Step))
			}
		case EpochEnd:
			if !c.quiet {
				if c.term {
					io.WriteString(c.w, "\r\x1b[K")
				}
				io.WriteString(c.w, epochLine(e)+"\n")
				c.bar = ""
			}
			if c.term && e.Epoch+1 < h.Planned {
				drawBar(c, barLine(c, e, (e.Epoch+1)*h.StepsPerEpoch))
			}
		case FitEnd:
			if c.term && c.bar != "" {
				io.WriteString(c.w, "\r\x1b[K")
				c.bar = ""
			}
			if h.Stopped != "" && !c.quiet {
				io.WriteString(c.w, h.Method+": "+h.Stopped+"\n")
			}
		}
		return nil
	}
}

// initConsole makes the zero Console write to os.Stderr.
func initConsole(c *Console) {
	if c.w == nil {
		c.w = os.Stderr
		c.term = isTerminal(c.w)
	}
}

func drawBar(c *Console, bar string) {
	c.bar = bar
	io.WriteString(c.w, "\r\x1b[K"+bar)
}

// barLine is the bar after `done` updates.
func barLine(c *Console, e Event, done int) string {
	h := e.History
	total := h.Planned * h.StepsPerEpoch
	frac := 0.0
	if total > 0 {
		frac = math.Min(float64(done)/float64(total), 1)
	}
	eta := "?"
	if frac > 0 && !c.start.IsZero() {
		el := time.Since(c.start)
		eta = (time.Duration(float64(el)/frac) - el).Round(time.Second).String()
	}
	const width = 30
	filled := int(frac * width)
	epoch := done/maxInt(h.StepsPerEpoch, 1) + 1
	if epoch > h.Planned {
		epoch = h.Planned
	}
	return fmt.Sprintf("%s epoch %d/%d [%s%s] %3.0f%% loss %.4f ETA %s", h.Method, epoch, h.Planned,
		strings.Repeat("=", filled), strings.Repeat(" ", width-filled), 100*frac, e.Loss, eta)
}

// epochLine is the line an epoch leaves: its number from 1, and every
// recorded value by its Keras name.
func epochLine(e Event) string {
	h, rec := e.History, e.Record
	var b strings.Builder
	fmt.Fprintf(&b, "%s epoch %d/%d  loss %.4f", h.Method, rec.Epoch+1, h.Planned, rec.TrainLoss)
	for _, k := range h.Names() {
		if v, ok := h.Value(k, rec.Epoch); ok && k != "loss" {
			fmt.Fprintf(&b, "  %s %.4f", k, v)
		}
	}
	fmt.Fprintf(&b, "  (%.1fs)", rec.Seconds)
	return b.String()
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("CI") != "" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// lockConsole takes the Console's lock, making the zero Console's first.
// The lock is a channel: with a sync.Mutex in this exported struct, the
// notebook kernel could not import trainers at all ("Converter.Type():
// unsupported types.Type: *types.TypeParam"); docs/notebooks.md.
func lockConsole(c *Console) {
	consoleLocks.Lock()
	if c.mu == nil {
		c.mu = make(chan struct{}, 1)
	}
	consoleLocks.Unlock()
	c.mu <- struct{}{}
}

// consoleLocks guards the creation of a zero Console's lock.
var consoleLocks sync.Mutex

func unlockConsole(c *Console) { <-c.mu }
