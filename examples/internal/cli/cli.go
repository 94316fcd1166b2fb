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
// discarded and Summary prints one JSON object; otherwise text goes to Out
// through a trainers.Console, which keeps the progress bar and the text
// apart.
type Report struct {
	JSON bool
	Out  io.Writer // default os.Stdout

	con *trainers.Console
}

func (r *Report) out() io.Writer {
	if r.Out == nil {
		return os.Stdout
	}
	return r.Out
}

func (r *Report) console() *trainers.Console {
	if r.con == nil {
		r.con = trainers.NewConsole(r.out())
	}
	return r.con
}

// Printf writes human-readable text, unless the report is JSON.
func (r *Report) Printf(format string, args ...interface{}) {
	if !r.JSON {
		r.console().Printf(format, args...)
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

// Callbacks returns the callbacks an example trains with: the Console's
// progress bar on a terminal and a line per epoch (never with -json).
func (r *Report) Callbacks() []trainers.Callback {
	if r.JSON {
		return nil
	}
	return []trainers.Callback{r.console().Callback()}
}

// A Figure is what the plot package draws (plot.Chart, plot.Lines): an
// interface, so that an example that draws nothing (the quickstart) does
// not build the plotting library.
type Figure interface{ WriteFile(path string) error }

// Chart writes c to path and says so ("<what>: <path>"); an empty path
// writes nothing. It returns the path written, for the JSON summary.
func (r *Report) Chart(path, what string, c Figure) (string, error) {
	if path == "" {
		return "", nil
	}
	if err := c.WriteFile(path); err != nil {
		return "", err
	}
	r.Printf("%s: %s\n", what, path)
	return path, nil
}
