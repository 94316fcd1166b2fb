package trainers

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"

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
	// FitStart is sent once before the first step, with the History
	// (still without epochs) and the Params: a callback can check its
	// settings against them, and an error ends the Fit before it starts.
	FitStart
)

// An Event is what a callback is told.
type Event struct {
	Kind  EventKind
	Epoch int     // from 0, like Epoch.Epoch (messages count from 1)
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

// monitor reads the named quantity from an epoch record by its Keras name
// (see Epoch.Value; "" is "val_loss" with a validation set, else "loss"),
// and whether higher values are better (see History.HigherIsBetter).
func monitor(name string, h *History, rec Epoch) (v float64, higherBetter bool, err error) {
	name = monitored(name, h)
	v, ok := h.Value(name, rec.Epoch)
	if !ok {
		if err := checkMonitored("a callback", name, h); err != nil {
			return 0, false, err
		}
		return 0, false, errors.Errorf("trainers: epoch %d has no %q", rec.Epoch+1, name)
	}
	return v, h.HigherIsBetter(name), nil
}

// monitored resolves the default monitored quantity: the validation loss
// when the Fit has a validation set, else the training loss.
func monitored(name string, h *History) string {
	if name != "" {
		return name
	}
	for _, v := range h.Names() {
		if v == "val_loss" {
			return "val_loss"
		}
	}
	return "loss"
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

// EarlyStopping stops training when the monitored quantity has not
// improved by more than minDelta for patience epochs. It is named as Keras
// names it ("val_loss", "loss", "val_accuracy", "accuracy", "val_auc", a
// custom metric; "train_loss" and "val_metric", the validation metric, work
// too), and must be recorded by the Fit (see Config.Metrics): monitoring
// "val_loss" without a validation set is an error before the first step.
// "" monitors the validation loss, or the training loss without a
// validation set. Whether higher is better comes from the table of metrics.
// With restoreBest, the Params are set back to their values at the best
// epoch when the Fit ends, and History.BestEpoch says which. The returned
// callback keeps state for one Fit at a time and starts afresh at epoch 0.
func EarlyStopping(monitoredName string, patience int, minDelta float64, restoreBest bool) Callback {
	var im improvement
	var best *graph.Params
	bestEpoch := -1
	return func(e Event) error {
		switch e.Kind {
		case FitStart:
			if monitoredName != "" {
				return checkMonitored("EarlyStopping", monitoredName, e.History)
			}
		case EpochEnd:
			if e.Epoch == 0 {
				im.reset()
				best, bestEpoch = nil, -1
			}
			v, hi, err := monitor(monitoredName, e.History, e.Record)
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
				e.History.BestEpoch = bestEpoch + 1
				e.History.Stopped = strings.TrimSpace(e.History.Stopped + fmt.Sprintf(" (weights restored from epoch %d)", bestEpoch+1))
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
		if e.Kind == FitStart && bestOnly && monitored != "" {
			return checkMonitored("Checkpoint", monitored, e.History)
		}
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
		return errors.Wrapf(models.SaveFile(path, e.Params), "trainers: checkpoint after epoch %d", e.Epoch+1)
	}
}

// LogCSV writes each epoch's record to w as a CSV row, after a header.
func LogCSV(w io.Writer) Callback {
	cw := csv.NewWriter(w)
	return func(e Event) error {
		if e.Kind != EpochEnd || e.Rank != 0 {
			return nil
		}
		extra := e.History.extraColumns()
		if e.Epoch == 0 {
			cw.Write(append(append([]string(nil), csvHeader...), extra...))
		}
		cw.Write(e.History.csvRow(e.Record, extra))
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
