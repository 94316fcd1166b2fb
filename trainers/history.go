package trainers

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"math"
	"sort"
	"strconv"

	"github.com/pkg/errors"
)

// History is what a Fit measured: one Epoch record per epoch and, when asked
// for, per-step losses and gradient-noise estimates. Counts are cumulative,
// so runs of different methods compare by updates, examples seen or time.
// Every field but the wall times is bit-identical across runs with the same
// seed.
type History struct {
	Method    string // "GD", "OnlineSGD", "MiniBatchSGD(B=32)", ...
	BatchSize int    // examples per update: B, 1 for OnlineSGD, N for GD
	N         int    // training examples per epoch
	// Unused counts the examples of the training source that no epoch
	// reads, because its parts were unequal and every part must serve
	// every step (0 for in-memory data).
	Unused   int
	Replicas int    // parts each batch was split over, all processes together
	Metric   string // name of Epoch.ValMetric ("accuracy", "r2"); "" without validation
	// Planned is the number of epochs the Fit was asked for, StepsPerEpoch
	// the updates in each.
	Planned, StepsPerEpoch int
	Epochs                 []Epoch
	Steps                  []Step          // per update, with Config.RecordSteps
	Noise                  []NoiseEstimate // with Config.NoiseEvery > 0
	Stopped                string          // why the Fit ended before its last epoch, if it did
	// Metrics holds, by Keras name, every metric recorded after each epoch
	// besides the losses — the validation metric as "val_" + Metric, and
	// Config.Metrics and Config.Custom ("accuracy", "val_auc", ...) — one
	// value per epoch, as in Epochs. Read any quantity with Value.
	Metrics map[string][]float64
	// BestEpoch is the epoch, counted from 1, whose weights EarlyStopping
	// restored at the end of the Fit; 0 if none was.
	BestEpoch int

	higher map[string]bool // whether higher is better, for custom metrics
}

// Epoch is the record of one epoch.
type Epoch struct {
	Epoch        int     `json:"epoch"`         // from 0
	TrainLoss    float64 `json:"train_loss"`    // mean training loss over the epoch's examples, as computed at their steps
	HasVal       bool    `json:"has_val"`       // whether the Val fields are set
	ValLoss      float64 `json:"val_loss"`      // loss over the validation set after the epoch
	ValMetric    float64 `json:"val_metric"`    // History.Metric over the validation set
	Updates      int     `json:"updates"`       // parameter updates so far
	Examples     int64   `json:"examples"`      // training examples processed so far
	GradEvals    int64   `json:"grad_evals"`    // per-example gradients computed so far, diagnostics included
	LearningRate float64 `json:"learning_rate"` // rate of the epoch's last update
	Seconds      float64 `json:"seconds"`       // wall time since the Fit started, evaluation excluded
}

// Step is the record of one update.
type Step struct {
	Epoch    int     `json:"epoch"`
	Step     int     `json:"step"` // updates so far, this one included
	Loss     float64 `json:"loss"` // the batch's loss (for GD, the epoch's mean loss)
	Examples int64   `json:"examples"`
}

// Last returns the last epoch's record (the zero Epoch if there is none).
func (h *History) Last() Epoch {
	if len(h.Epochs) == 0 {
		return Epoch{}
	}
	return h.Epochs[len(h.Epochs)-1]
}

var csvHeader = []string{"epoch", "train_loss", "val_loss", "val_metric", "updates", "examples", "grad_evals", "learning_rate", "seconds"}

// extraColumns are the recorded Metrics but the validation metric, sorted:
// columns after csvHeader's.
func (h *History) extraColumns() []string {
	extra := make([]string, 0, len(h.Metrics))
	for k := range h.Metrics {
		if k != "val_"+h.Metric { // the val_metric column
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	return extra
}

func (h *History) csvRow(e Epoch, extra []string) []string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	val, met := "", ""
	if e.HasVal {
		val, met = f(e.ValLoss), f(e.ValMetric)
	}
	row := []string{strconv.Itoa(e.Epoch), f(e.TrainLoss), val, met, strconv.Itoa(e.Updates),
		strconv.FormatInt(e.Examples, 10), strconv.FormatInt(e.GradEvals, 10), f(e.LearningRate), f(e.Seconds)}
	for _, name := range extra {
		v := ""
		if s := h.Metrics[name]; e.Epoch >= 0 && e.Epoch < len(s) {
			v = f(s[e.Epoch])
		}
		row = append(row, v)
	}
	return row
}

// WriteCSV writes one row per epoch under a header line.
func (h *History) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	extra := h.extraColumns()
	cw.Write(append(append([]string(nil), csvHeader...), extra...))
	for _, e := range h.Epochs {
		cw.Write(h.csvRow(e, extra))
	}
	cw.Flush()
	return errors.Wrap(cw.Error(), "trainers: history CSV")
}

// WriteJSON writes the whole History as one JSON object. Non-finite numbers
// (a diverged loss) are written as null.
func (h *History) WriteJSON(w io.Writer) error {
	b, err := json.Marshal(finiteHistory(h))
	if err != nil {
		return errors.Wrap(err, "trainers: history JSON")
	}
	_, err = w.Write(append(b, '\n'))
	return errors.Wrap(err, "trainers: history JSON")
}

// jsonFloat is a float64 that encodes NaN and ±Inf as null.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(v)
}

// jsonEpoch is an Epoch whose losses may be non-finite.
type jsonEpoch struct {
	Epoch
	TrainLoss jsonFloat `json:"train_loss"`
	ValLoss   jsonFloat `json:"val_loss"`
}

func (e Epoch) json() jsonEpoch { return jsonEpoch{e, jsonFloat(e.TrainLoss), jsonFloat(e.ValLoss)} }

func finiteHistory(h *History) interface{} {
	type step struct {
		Step
		Loss jsonFloat `json:"loss"`
	}
	out := struct {
		Method    string                 `json:"method"`
		BatchSize int                    `json:"batch_size"`
		N         int                    `json:"n"`
		Metric    string                 `json:"metric,omitempty"`
		Planned   int                    `json:"planned_epochs"`
		Steps1    int                    `json:"steps_per_epoch"`
		Epochs    []jsonEpoch            `json:"epochs"`
		Steps     []step                 `json:"steps,omitempty"`
		Noise     []NoiseEstimate        `json:"noise,omitempty"`
		Stopped   string                 `json:"stopped,omitempty"`
		Metrics   map[string][]jsonFloat `json:"metrics,omitempty"`
		BestEpoch int                    `json:"best_epoch,omitempty"`
	}{Method: h.Method, BatchSize: h.BatchSize, N: h.N, Metric: h.Metric, Planned: h.Planned,
		Steps1: h.StepsPerEpoch, Noise: h.Noise, Stopped: h.Stopped, BestEpoch: h.BestEpoch}
	if len(h.Metrics) > 0 {
		out.Metrics = map[string][]jsonFloat{}
		for k, vs := range h.Metrics {
			for _, v := range vs {
				out.Metrics[k] = append(out.Metrics[k], jsonFloat(v))
			}
		}
	}
	for _, e := range h.Epochs {
		out.Epochs = append(out.Epochs, e.json())
	}
	for _, s := range h.Steps {
		out.Steps = append(out.Steps, step{s, jsonFloat(s.Loss)})
	}
	return out
}
