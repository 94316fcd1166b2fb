// Package cli holds what every example program shares: the -json flag and
// its one-object summary, the human-readable report, and the progress
// display, so each example is only its experiment.
package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/descent-go/descent/trainers"
)

// Report is where an example writes. With JSON set, human-readable text is
// discarded and Summary prints one JSON object; otherwise text goes to Out.
type Report struct {
	JSON bool
	Out  io.Writer // default os.Stdout
}

func (r *Report) out() io.Writer {
	if r.Out == nil {
		return os.Stdout
	}
	return r.Out
}

// Printf writes human-readable text, unless the report is JSON.
func (r *Report) Printf(format string, args ...interface{}) {
	if !r.JSON {
		fmt.Fprintf(r.out(), format, args...)
	}
}

// Summary writes v as the final summary: one JSON object with -json, else
// nothing (the text report already said it).
func (r *Report) Summary(v interface{}) error {
	if !r.JSON {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(r.out(), "%s\n", b)
	return err
}

// clearLine erases a progress bar drawn on a terminal before a report line.
var clearLine = func() string {
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 && os.Getenv("CI") == "" {
		return "\r\x1b[K"
	}
	return ""
}()

// Callbacks returns the callbacks an example trains with: a progress bar on
// a terminal (never with -json) and a line per epoch in the text report.
func (r *Report) Callbacks() []trainers.Callback {
	if r.JSON {
		return nil
	}
	return []trainers.Callback{trainers.Progress(os.Stderr), func(e trainers.Event) error {
		if e.Kind != trainers.EpochEnd {
			return nil
		}
		rec := e.Record
		r.Printf("%s", clearLine)
		if rec.HasVal {
			r.Printf("%-20s epoch %3d  train loss %.4f  val loss %.4f  val %s %.4f\n", e.History.Method, rec.Epoch+1, rec.TrainLoss, rec.ValLoss, e.History.Metric, rec.ValMetric)
		} else {
			r.Printf("%-20s epoch %3d  train loss %.4f\n", e.History.Method, rec.Epoch+1, rec.TrainLoss)
		}
		return nil
	}}
}
