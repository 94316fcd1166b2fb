package trainers

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/pkg/errors"

	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/models"
)

// EventKind says when a callback is called.
type EventKind int

const (
	StepEnd  EventKind = iota // every Config.LogEvery updates
	EpochEnd                  // after every epoch, with its Record
	FitEnd                    // once, when the Fit ends for whatever reason
)

// An Event is what a callback is told.
type Event struct {
	Kind  EventKind
	Epoch int     // from 0
	Step  int     // updates so far
	Loss  float64 // the last batch's loss (StepEnd) or the epoch's training loss (EpochEnd)
	// Examples and GradEvals are the training examples processed and the
	// per-example gradients computed so far (as in Epoch, at every kind).
	Examples, GradEvals int64
	Record              Epoch // the epoch's record (EpochEnd)
	History             *History
	Params              *graph.Params
	// Rank is this process's rank in a multi-process Fit (0 otherwise).
	// Every rank sees the same global values; the built-in callbacks that
	// write files or logs do so on rank 0 only.
	Rank int
}

// A Callback is called by the training loop. Returning ErrStop ends the Fit
// early without error; any other error ends it with that error. Callbacks are
// plain funcs, so a closure from a notebook is one.
type Callback func(e Event) error

// ErrStop, returned by a callback, stops training after the current step or
// epoch; Fit then returns no error and History.Stopped says why.
var ErrStop = errors.New("trainers: stop requested by a callback")

// monitor reads the named quantity from an epoch record: "val_loss",
// "val_metric" or "train_loss". Losses improve downwards, metrics upwards
// (except "mse", "mae" and "loss").
func monitor(name string, h *History, rec Epoch) (v float64, higherBetter bool, err error) {
	switch name {
	case "", "val_loss":
		if !rec.HasVal {
			return rec.TrainLoss, false, nil
		}
		return rec.ValLoss, false, nil
	case "train_loss":
		return rec.TrainLoss, false, nil
	case "val_metric":
		if !rec.HasVal {
			return 0, false, errors.New("trainers: val_metric needs Config.Validation")
		}
		return rec.ValMetric, h.Metric != "mse" && h.Metric != "mae" && h.Metric != "loss", nil
	}
	return 0, false, errors.Errorf("trainers: unknown monitored quantity %q (want val_loss, val_metric or train_loss)", name)
}

// improvement tracks the best value of a monitored quantity.
type improvement struct {
	best float64
	wait int
}

func (im *improvement) reset() { im.best, im.wait = math.NaN(), 0 }

// observe reports whether v beats the best by more than minDelta.
func (im *improvement) observe(v float64, higherBetter bool, minDelta float64) bool {
	if higherBetter {
		v = -v
	}
	if math.IsNaN(im.best) || v < im.best-minDelta {
		im.best, im.wait = v, 0
		return true
	}
	im.wait++
	return false
}

// EarlyStopping stops training when the monitored quantity ("val_loss" —
// the training loss without a validation set —, "val_metric" or
// "train_loss") has not improved by more than minDelta for patience epochs.
// With restoreBest, the Params are set back to their values at the best
// epoch when the Fit ends. The returned callback keeps state for one Fit at a
// time and starts afresh at epoch 0.
func EarlyStopping(monitored string, patience int, minDelta float64, restoreBest bool) Callback {
	var im improvement
	var best *graph.Params
	bestEpoch := -1
	return func(e Event) error {
		switch e.Kind {
		case EpochEnd:
			if e.Epoch == 0 {
				im.reset()
				best, bestEpoch = nil, -1
			}
			v, hi, err := monitor(monitored, e.History, e.Record)
			if err != nil {
				return err
			}
			if im.observe(v, hi, minDelta) {
				bestEpoch = e.Epoch
				if restoreBest {
					if best == nil {
						best = e.Params.Clone()
					} else if err := best.CopyFrom(e.Params); err != nil {
						return err
					}
				}
				return nil
			}
			if im.wait >= patience {
				return ErrStop
			}
		case FitEnd:
			if restoreBest && best != nil && bestEpoch < len(e.History.Epochs)-1 {
				if err := e.Params.CopyFrom(best); err != nil {
					return errors.Wrap(err, "trainers: EarlyStopping: restoring the best weights")
				}
				e.History.Stopped = strings.TrimSpace(e.History.Stopped + fmt.Sprintf(" (weights restored from epoch %d)", bestEpoch))
			}
		}
		return nil
	}
}

// Checkpoint saves the Params to path (atomically, in the models checkpoint
// format: load it with models.LoadFile or models.LoadInto) after every
// `every` epochs, or, with bestOnly, after each epoch whose monitored
// quantity (as in EarlyStopping) is the best so far. every < 1 without
// bestOnly is an error at the first epoch's end.
func Checkpoint(path string, every int, bestOnly bool, monitored string) Callback {
	var im improvement
	return func(e Event) error {
		if e.Kind != EpochEnd || e.Rank != 0 {
			return nil
		}
		if !bestOnly && every < 1 {
			return errors.Errorf("trainers: Checkpoint %s: every = %d, want ≥ 1 (or bestOnly)", path, every)
		}
		if e.Epoch == 0 {
			im.reset()
		}
		save := false
		if bestOnly {
			v, hi, err := monitor(monitored, e.History, e.Record)
			if err != nil {
				return err
			}
			save = im.observe(v, hi, 0)
		} else {
			save = every > 0 && (e.Epoch+1)%every == 0
		}
		if !save {
			return nil
		}
		return errors.Wrapf(models.SaveFile(path, e.Params), "trainers: checkpoint after epoch %d", e.Epoch)
	}
}

// LogCSV writes each epoch's record to w as a CSV row, after a header.
func LogCSV(w io.Writer) Callback {
	cw := csv.NewWriter(w)
	return func(e Event) error {
		if e.Kind != EpochEnd || e.Rank != 0 {
			return nil
		}
		if e.Epoch == 0 {
			cw.Write(csvHeader)
		}
		cw.Write(e.Record.csvRow())
		cw.Flush()
		return errors.Wrap(cw.Error(), "trainers: LogCSV")
	}
}

// LogJSON writes each epoch's record to w as one JSON object per line.
func LogJSON(w io.Writer) Callback {
	return func(e Event) error {
		if e.Kind != EpochEnd || e.Rank != 0 {
			return nil
		}
		b, err := json.Marshal(e.Record.json())
		if err != nil {
			return errors.Wrap(err, "trainers: LogJSON")
		}
		_, err = w.Write(append(b, '\n'))
		return errors.Wrap(err, "trainers: LogJSON")
	}
}

// Progress draws a progress bar with the epoch, the current loss and an
// estimated time to the end on w when w is a terminal (an *os.File on a
// character device) and the CI environment variable is unset; otherwise —
// a buffer, a pipe, a log file, a CI job — it writes nothing. Set
// Config.LogEvery to have it move within epochs.
func Progress(w io.Writer) Callback {
	if !isTerminal(w) {
		return func(Event) error { return nil }
	}
	return progressBar(w)
}

// progressBar draws the bar on w, terminal or not.
func progressBar(w io.Writer) Callback {
	start := time.Now()
	return func(e Event) error {
		h := e.History
		if h == nil || e.Rank != 0 {
			return nil
		}
		if e.Epoch == 0 && e.Step <= 1 && e.Kind != FitEnd {
			start = time.Now()
		}
		total := h.Planned * h.StepsPerEpoch
		done := e.Step
		switch e.Kind {
		case FitEnd:
			fmt.Fprintln(w)
			return nil
		case EpochEnd:
			done = (e.Epoch + 1) * h.StepsPerEpoch
		}
		frac := 0.0
		if total > 0 {
			frac = math.Min(float64(done)/float64(total), 1)
		}
		eta := "?"
		if frac > 0 {
			el := time.Since(start)
			eta = (time.Duration(float64(el)/frac) - el).Round(time.Second).String()
		}
		const width = 30
		bar := strings.Repeat("=", int(frac*width)) + strings.Repeat(" ", width-int(frac*width))
		fmt.Fprintf(w, "\r%s epoch %d/%d [%s] %3.0f%% loss %.4f ETA %s   ", h.Method, e.Epoch+1, h.Planned, bar, 100*frac, e.Loss, eta)
		return nil
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("CI") != "" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
