package trainers

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/pkg/errors"

	"github.com/descent-go/descent/graph"
)

// EventKind says when a callback is called.
type EventKind int

const (
	StepEnd  EventKind = iota // every Config.LogEvery updates
	EpochEnd                  // after every epoch, with its Record
	FitEnd                    // once, when the Fit ends for whatever reason
	// FitBegin comes once, before the first step, with the History of no
	// epoch yet: a callback's error then (a bad setting) stops the Fit
	// before any update.
	FitBegin
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

	// run is the Fit calling (a *run), which keeps built-in callbacks'
	// state. Typed interface{}: the notebook kernel converts every type an
	// exported struct holds, unexported fields included, and a *run holds
	// sync types that break its import of trainers ("unsupported
	// types.Type: *types.TypeParam"; docs/notebooks.md).
	run  interface{}
	slot int // the callback's index in Config.Callbacks
}

// fitOf is the Fit that sent the event, or nil.
func fitOf(e Event) *run {
	r, _ := e.run.(*run)
	return r
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
	Best float64
	Wait int
}

func (im *improvement) reset() { im.Best, im.Wait = math.NaN(), 0 }

// observe reports whether v beats the best by more than minDelta.
func (im *improvement) observe(v float64, higherBetter bool, minDelta float64) bool {
	if higherBetter {
		v = -v
	}
	if math.IsNaN(im.Best) || v < im.Best-minDelta {
		im.Best, im.Wait = v, 0
		return true
	}
	im.Wait++
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
// epoch when the Fit ends, and History.BestEpoch says which. Its state (best
// value, epochs waited, best weights) is kept by the Fit, so training
// checkpoints hold it and a resumed Fit continues it; one callback can serve
// several Fits.
func EarlyStopping(monitoredName string, patience int, minDelta float64, restoreBest bool) Callback {
	own := newEarlyState()
	return func(e Event) error {
		s, err := keepState(e, own, func() cbState { return newEarlyState() })
		if err != nil {
			return err
		}
		st := s.(*earlyState)
		switch e.Kind {
		case FitBegin:
			return checkEarlyStopping(monitoredName, patience, minDelta, e.History)
		case EpochEnd:
			if e.Epoch == 0 {
				*st = *newEarlyState()
			}
			v, hi, err := monitor(monitoredName, e.History, e.Record)
			if err != nil {
				return err
			}
			if st.Im.observe(v, hi, minDelta) {
				st.BestEpoch = e.Epoch
				if restoreBest {
					if st.best == nil {
						st.best = e.Params.Clone()
					} else if err := st.best.CopyFrom(e.Params); err != nil {
						return err
					}
				}
				return nil
			}
			if st.Im.Wait >= patience {
				return ErrStop
			}
		case FitEnd:
			if restoreBest && st.best != nil && st.BestEpoch < len(e.History.Epochs)-1 {
				if err := e.Params.CopyFrom(st.best); err != nil {
					return errors.Wrap(err, "trainers: EarlyStopping: restoring the best weights")
				}
				e.History.BestEpoch = st.BestEpoch + 1
				e.History.Stopped = strings.TrimSpace(e.History.Stopped + fmt.Sprintf(" (weights restored from epoch %d)", st.BestEpoch+1))
			}
		}
		return nil
	}
}

// earlyState is EarlyStopping's state.
type earlyState struct {
	Im        improvement
	BestEpoch int
	best      *graph.Params // the best epoch's weights, with restoreBest
}

func newEarlyState() *earlyState {
	s := &earlyState{BestEpoch: -1}
	s.Im.reset()
	return s
}

func (s *earlyState) kind() string { return "EarlyStopping" }

func (s *earlyState) save() ([]byte, *graph.Params, error) {
	b, err := gobBytes(s)
	return b, s.best, err
}

func (s *earlyState) load(data []byte, weights *graph.Params) error {
	*s = earlyState{best: weights}
	return gobLoad(data, s)
}

// Checkpoint writes training checkpoints — the weights, the optimizer's
// state, the History and everything else a Fit with Config.Resume needs to
// continue exactly (models.LoadFile also reads their weights) — atomically,
// once every callback has seen the epoch:
//
//   - every `every` epochs (every ≥ 1) to path with the number of finished
//     epochs before its extension ("run.ckpt" → "run-epoch0004.ckpt"),
//     keeping the last `keep` (≥ 1) of those files;
//   - with monitored not "" (as in EarlyStopping), after each epoch whose
//     monitored quantity is the best so far, to "run-best.ckpt".
//
// An older file is removed only after the new one is safely written.
// LatestCheckpoint(path) finds the newest. every = 0 with monitored = ""
// (nothing to write), every < 0, keep < 1 with every ≥ 1, an empty path or an
// unknown monitored quantity is an error before the first step (FitBegin).
// Called outside a Fit, it writes the weights only.
func Checkpoint(path string, every, keep int, monitored string) Callback {
	own := &checkpointState{}
	own.Im.reset()
	return func(e Event) error {
		if e.Kind == FitBegin {
			return checkCheckpoint(path, every, keep, monitored, e.History)
		}
		if e.Kind != EpochEnd || e.Rank != 0 {
			return nil
		}
		switch {
		case every < 0 || (every == 0 && monitored == ""):
			return errors.Errorf("trainers: Checkpoint %s: every = %d, want ≥ 1 (or a monitored quantity for the best)", path, every)
		case every > 0 && keep < 1:
			return errors.Errorf("trainers: Checkpoint %s: keep = %d, want ≥ 1", path, keep)
		}
		s, err := keepState(e, own, func() cbState {
			st := &checkpointState{}
			st.Im.reset()
			return st
		})
		if err != nil {
			return err
		}
		st := s.(*checkpointState)
		if e.Epoch == 0 {
			st.Im.reset()
			st.Kept = nil
		}
		if st.Path != path { // resumed with another path: not its files
			st.Path, st.Kept = path, nil
		}
		var files []string
		var done func() error
		if every > 0 && (e.Epoch+1)%every == 0 {
			name := checkpointName(path, e.Epoch+1)
			st.Kept = append(st.Kept, name)
			var old []string
			if n := len(st.Kept) - keep; n > 0 {
				old = append(old, st.Kept[:n]...)
				st.Kept = append([]string(nil), st.Kept[n:]...)
			}
			files = append(files, name)
			done = func() error { return removeAll(old, st.Kept) }
		}
		if monitored != "" {
			v, hi, err := monitor(monitored, e.History, e.Record)
			if err != nil {
				return err
			}
			if st.Im.observe(v, hi, 0) {
				files = append(files, bestName(path))
			}
		}
		for i, f := range files {
			if fitOf(e) == nil {
				if err := saveWeights(f, e.Params); err != nil {
					return errors.Wrapf(err, "trainers: checkpoint after epoch %d", e.Epoch+1)
				}
				continue
			}
			if i == 0 {
				fitOf(e).requestSave(f, done)
			} else {
				fitOf(e).requestSave(f, nil)
			}
		}
		if fitOf(e) == nil && done != nil && len(files) > 0 {
			return done()
		}
		return nil
	}
}

// checkpointState is Checkpoint's state: the best monitored value and the
// periodic files it keeps.
type checkpointState struct {
	Im   improvement
	Path string   // the path the files are named after
	Kept []string // the periodic files it keeps, oldest first
}

func (s *checkpointState) kind() string { return "Checkpoint" }

func (s *checkpointState) save() ([]byte, *graph.Params, error) {
	b, err := gobBytes(s)
	return b, nil, err
}

func (s *checkpointState) load(data []byte, _ *graph.Params) error {
	*s = checkpointState{}
	return gobLoad(data, s)
}

// removeAll removes the files of old that are not in keep; a file already
// gone is not an error.
func removeAll(old, keep []string) error {
	for _, f := range old {
		kept := false
		for _, k := range keep {
			kept = kept || k == f
		}
		if kept {
			continue
		}
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			return errors.Wrap(err, "trainers: Checkpoint: removing an old checkpoint")
		}
	}
	return nil
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
