package trainers

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/testutil"
	"github.com/descent-go/descent/models"
)

// overfit is a problem whose validation loss has a clear minimum: the
// training targets are y = 2x and the validation targets y = x on the same
// inputs, so GD from w = 0 moves w steadily from 0 towards 2 and the
// validation loss E[x²](w − 1)² falls until w passes 1, then rises.
func overfit(t *testing.T) (train, val *datasets.Dataset) {
	t.Helper()
	const n = 20
	x, y2, y1 := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range x {
		x[i] = float64(i-n/2) / 10
		if i >= n/2 {
			x[i] += 0.1 // symmetric: −1.0..−0.1, 0.1..1.0
		}
		y2[i], y1[i] = 2*x[i], x[i]
	}
	train, err := datasets.FromFloat64(x, []int{n, 1}, y2, []int{n, 1}, tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	val, err = datasets.FromFloat64(x, []int{n, 1}, y1, []int{n, 1}, tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	return train, val
}

// recorder keeps a copy of the parameters after every epoch and counts the
// events of each kind.
type recorder struct {
	params []*graph.Params
	kinds  map[EventKind]int
}

func (r *recorder) callback(e Event) error {
	if r.kinds == nil {
		r.kinds = map[EventKind]int{}
	}
	r.kinds[e.Kind]++
	if e.Kind == EpochEnd {
		r.params = append(r.params, e.Params.Clone())
	}
	return nil
}

func TestEarlyStoppingRestoresBestWeights(t *testing.T) {
	train, val := overfit(t)
	const patience = 3
	var rec recorder
	c := cfg(60, SGD{LR: 0.1})
	c.Validation = val
	c.Callbacks = []Callback{rec.callback, EarlyStopping("val_loss", patience, 0, true)}
	p := graph.NewParams(tensor.Float64, 1)
	h, err := GD{Config: c}.Fit(bg, models.Linear{}, p, train)
	if err != nil {
		t.Fatal(err)
	}
	best := 0
	for e, r := range h.Epochs {
		if r.ValLoss < h.Epochs[best].ValLoss {
			best = e
		}
	}
	t.Logf("best epoch %d of %d run (%d planned); %s", best, len(h.Epochs), h.Planned, h.Stopped)
	if best < 3 || best > 40 {
		t.Fatalf("the validation loss has its minimum at epoch %d: the problem is not the one intended", best)
	}
	if len(h.Epochs) != best+1+patience {
		t.Errorf("ran %d epochs, want best+1+patience = %d", len(h.Epochs), best+1+patience)
	}
	if !strings.Contains(h.Stopped, "stopped") || !strings.Contains(h.Stopped, "restored from epoch "+strconv.Itoa(best+1)) || h.BestEpoch != best+1 {
		t.Errorf("Stopped = %q", h.Stopped)
	}
	if !testutil.SameParams(p, rec.params[best]) {
		t.Errorf("params %v, want those of epoch %d %v", allParams(p), best, allParams(rec.params[best]))
	}
	if testutil.SameParams(p, rec.params[len(rec.params)-1]) {
		t.Error("params are the last epoch's")
	}
	if rec.kinds[FitEnd] != 1 {
		t.Errorf("FitEnd seen %d times", rec.kinds[FitEnd])
	}

	// The same callback value starts afresh in a second Fit.
	es := EarlyStopping("val_metric", 2, 0, false) // r2: higher is better
	c.Callbacks = []Callback{es}
	for i := 0; i < 2; i++ {
		p := graph.NewParams(tensor.Float64, 1)
		h, err := GD{Config: c}.Fit(bg, models.Linear{}, p, train)
		if err != nil {
			t.Fatal(err)
		}
		if len(h.Epochs) != best+1+2 || h.Metric != "r2" {
			t.Errorf("run %d with val_metric %s: %d epochs, want %d", i, h.Metric, len(h.Epochs), best+3)
		}
	}
	c.Callbacks = []Callback{EarlyStopping("val_acc", 2, 0, false)}
	_, err = GD{Config: c}.Fit(bg, models.Linear{}, graph.NewParams(tensor.Float64, 1), train)
	testutil.ErrContains(t, err, "val_acc")
}

func TestCheckpointPeriodic(t *testing.T) {
	lr := newLinReg(t, 50, 3, 0.2, 30, tensor.Float64)
	dir := t.TempDir()
	path := filepath.Join(dir, "params.ckpt")
	var rec recorder
	var seen [][]string
	list := func(e Event) error { // the files as each epoch ends (before its own save)
		if e.Kind == EpochEnd {
			seen = append(seen, listNames(t, dir))
		}
		return nil
	}
	c := cfg(7, SGD{LR: 0.05})
	c.Callbacks = []Callback{rec.callback, Checkpoint(path, 2, 2, ""), list}
	p := graph.NewParams(tensor.Float64, 1)
	if _, err := (MiniBatchSGD{BatchSize: 10, Config: c}).Fit(bg, models.Linear{}, p, lr.ds); err != nil {
		t.Fatal(err)
	}
	// After epochs 2, 4 and 6 (1-based), keeping the last 2, the older one
	// removed only once the new one is there.
	want := [][]string{{}, {}, {"params-epoch0002.ckpt"}, {"params-epoch0002.ckpt"},
		{"params-epoch0002.ckpt", "params-epoch0004.ckpt"}, {"params-epoch0002.ckpt", "params-epoch0004.ckpt"},
		{"params-epoch0004.ckpt", "params-epoch0006.ckpt"}}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("files as the epochs end:\n%v\nwant\n%v", seen, want)
	}
	if got := listNames(t, dir); fmt.Sprint(got) != fmt.Sprint(want[6]) {
		t.Errorf("files after the Fit %v, want %v (temporary files left?)", got, want[6])
	}
	for _, k := range []int{4, 6} {
		q, err := models.LoadFile(checkpointName(path, k))
		if err != nil {
			t.Fatal(err)
		}
		if !testutil.SameParams(q, rec.params[k-1]) {
			t.Errorf("the checkpoint after %d epochs does not hold that epoch's params", k)
		}
	}
	if latest, err := LatestCheckpoint(path); err != nil || latest != checkpointName(path, 6) {
		t.Errorf("LatestCheckpoint = %q, %v; want %s", latest, err, checkpointName(path, 6))
	}
	if latest, err := LatestCheckpoint(filepath.Join(dir, "none.ckpt")); err != nil || latest != "" {
		t.Errorf("LatestCheckpoint of a run not started = %q, %v; want \"\", nil", latest, err)
	}

	// A write that fails leaves the older checkpoints in place.
	must(t, os.Mkdir(checkpointName(path, 2), 0o755)) // a directory where the new file goes
	c.Epochs = 3
	c.Callbacks = []Callback{Checkpoint(path, 1, 1, "")}
	_, err := MiniBatchSGD{BatchSize: 10, Config: c}.Fit(bg, models.Linear{}, graph.NewParams(tensor.Float64, 1), lr.ds)
	testutil.ErrContains(t, err, "checkpoint after epoch 2", "params-epoch0002.ckpt")
	if got := listNames(t, dir); fmt.Sprint(got) != "[params-epoch0001.ckpt params-epoch0002.ckpt params-epoch0004.ckpt params-epoch0006.ckpt]" {
		t.Errorf("after a failed write the directory holds %v", got)
	}

	for _, bad := range []struct {
		cb   Callback
		want string
	}{
		{Checkpoint(path, 0, 1, ""), "every = 0"},
		{Checkpoint(path, -1, 1, "loss"), "every = -1"},
		{Checkpoint(path, 1, 0, ""), "keep = 0"},
		{Checkpoint(filepath.Join(dir, "no", "such", "dir", "p.ckpt"), 1, 1, ""), "checkpoint after epoch 1"},
	} {
		c.Callbacks = []Callback{bad.cb}
		_, err = MiniBatchSGD{BatchSize: 10, Config: c}.Fit(bg, models.Linear{}, graph.NewParams(tensor.Float64, 1), lr.ds)
		testutil.ErrContains(t, err, bad.want)
	}
}

// listNames lists dir's file names, sorted.
func listNames(t *testing.T, dir string) []string {
	entries, err := os.ReadDir(dir)
	must(t, err)
	names := []string{}
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func TestCheckpointBest(t *testing.T) {
	train, val := overfit(t)
	path := filepath.Join(t.TempDir(), "run.ckpt")
	best := bestName(path)
	var rec recorder
	var saves []int
	var last []byte
	changed := func() bool {
		b, err := os.ReadFile(best)
		if err != nil || bytes.Equal(b, last) {
			return false
		}
		last = b
		return true
	}
	watch := func(e Event) error { // sees the previous epoch's save
		if e.Kind == EpochEnd && changed() {
			saves = append(saves, e.Epoch-1)
		}
		return nil
	}
	c := cfg(40, SGD{LR: 0.1})
	c.Validation = val
	c.Callbacks = []Callback{rec.callback, Checkpoint(path, 0, 0, "val_loss"), watch}
	h, err := GD{Config: c}.Fit(bg, models.Linear{}, graph.NewParams(tensor.Float64, 1), train)
	if err != nil {
		t.Fatal(err)
	}
	if changed() {
		saves = append(saves, len(h.Epochs)-1)
	}
	bestEpoch := 0
	for e, r := range h.Epochs {
		if r.ValLoss < h.Epochs[bestEpoch].ValLoss {
			bestEpoch = e
		}
	}
	// Saved at every new best: epochs 0..best, never after.
	if len(saves) != bestEpoch+1 || saves[len(saves)-1] != bestEpoch {
		t.Errorf("saved after epochs %v, want 0..%d", saves, bestEpoch)
	}
	q, err := models.LoadFile(best)
	if err != nil {
		t.Fatal(err)
	}
	if !testutil.SameParams(q, rec.params[bestEpoch]) {
		t.Errorf("best checkpoint is not epoch %d's params", bestEpoch)
	}
}

func TestLogCSVAndJSON(t *testing.T) {
	train, val := overfit(t)
	for _, withVal := range []bool{false, true} {
		var csvBuf, jsonBuf bytes.Buffer
		c := cfg(4, SGD{LR: 0.1})
		if withVal {
			c.Validation = val
		}
		c.Callbacks = []Callback{LogCSV(&csvBuf), LogJSON(&jsonBuf)}
		h, err := MiniBatchSGD{BatchSize: 5, Config: c}.Fit(bg, models.Linear{}, graph.NewParams(tensor.Float64, 1), train)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&csvBuf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 5 || strings.Join(rows[0], ",") != strings.Join(csvHeader, ",") {
			t.Fatalf("CSV: %d rows, header %v", len(rows), rows[0])
		}
		for i, row := range rows[1:] {
			want := h.Epochs[i]
			num := func(col int) float64 {
				v, err := strconv.ParseFloat(row[col], 64)
				if err != nil {
					t.Fatalf("CSV row %d column %d: %v", i, col, err)
				}
				return v
			}
			if num(0) != float64(want.Epoch) || num(1) != want.TrainLoss || num(4) != float64(want.Updates) ||
				num(5) != float64(want.Examples) || num(6) != float64(want.GradEvals) || num(7) != want.LearningRate || num(8) != want.Seconds {
				t.Errorf("CSV row %d %v does not match %+v", i, row, want)
			}
			if withVal && (num(2) != want.ValLoss || num(3) != want.ValMetric) {
				t.Errorf("CSV row %d: validation %v %v, want %v %v", i, row[2], row[3], want.ValLoss, want.ValMetric)
			}
			if !withVal && (row[2] != "" || row[3] != "") {
				t.Errorf("CSV row %d: validation columns %q %q without a validation set", i, row[2], row[3])
			}
		}
		lines := strings.Split(strings.TrimSpace(jsonBuf.String()), "\n")
		if len(lines) != 4 {
			t.Fatalf("JSON: %d lines", len(lines))
		}
		for i, line := range lines {
			var got Epoch
			if err := json.Unmarshal([]byte(line), &got); err != nil {
				t.Fatalf("JSON line %d: %v", i, err)
			}
			if got != h.Epochs[i] {
				t.Errorf("JSON line %d: %+v, want %+v", i, got, h.Epochs[i])
			}
		}
		// The whole History as CSV and JSON.
		var all bytes.Buffer
		if err := h.WriteCSV(&all); err != nil {
			t.Fatal(err)
		}
		if rows2, err := csv.NewReader(&all).ReadAll(); err != nil || len(rows2) != 5 {
			t.Errorf("WriteCSV: %d rows, %v", len(rows2), err)
		}
		all.Reset()
		if err := h.WriteJSON(&all); err != nil {
			t.Fatal(err)
		}
		var back struct {
			Method string  `json:"method"`
			Epochs []Epoch `json:"epochs"`
		}
		if err := json.Unmarshal(all.Bytes(), &back); err != nil || back.Method != h.Method || len(back.Epochs) != 4 || back.Epochs[3] != h.Epochs[3] {
			t.Errorf("WriteJSON does not parse back: %v %+v", err, back)
		}
	}
}

func TestCallbackStopAndErrors(t *testing.T) {
	lr := newLinReg(t, 50, 2, 0.1, 31, tensor.Float64)
	boom := errors.New("boom")
	for _, tc := range []struct {
		name    string
		cb      Callback
		wantErr string // "" for a clean stop
		epochs  int    // epochs recorded
		updates int    // updates made
	}{
		{"ErrStop at epoch end", func(e Event) error {
			if e.Kind == EpochEnd && e.Epoch == 2 {
				return ErrStop
			}
			return nil
		}, "", 3, 15},
		{"wrapped ErrStop", func(e Event) error {
			if e.Kind == EpochEnd && e.Epoch == 1 {
				return errors.Wrap(ErrStop, "enough")
			}
			return nil
		}, "", 2, 10},
		{"ErrStop at a step", func(e Event) error {
			if e.Kind == StepEnd && e.Step == 12 {
				return ErrStop
			}
			return nil
		}, "", 2, 12},
		{"error at epoch end", func(e Event) error {
			if e.Kind == EpochEnd && e.Epoch == 1 {
				return boom
			}
			return nil
		}, "boom", 2, 10},
		{"error at a step", func(e Event) error {
			if e.Kind == StepEnd && e.Step == 7 {
				return boom
			}
			return nil
		}, "boom", 1, 7},
		{"panic at epoch end", func(e Event) error {
			if e.Kind == EpochEnd && e.Epoch == 0 {
				var m map[string]int
				m["x"] = 1
			}
			return nil
		}, "callback panicked at epoch 1 step 5", 1, 5},
		{"panic at a step", func(e Event) error {
			if e.Kind == StepEnd && e.Step == 3 {
				panic("kaboom")
			}
			return nil
		}, "kaboom", 0, 3},
	} {
		var rec recorder
		var updates int
		count := func(e Event) error {
			if e.Kind == StepEnd {
				updates = e.Step
			}
			return nil
		}
		c := cfg(5, SGD{LR: 0.05})
		c.LogEvery = 1
		c.Callbacks = []Callback{count, tc.cb, rec.callback}
		h, err := MiniBatchSGD{BatchSize: 10, Config: c}.Fit(bg, models.Linear{}, graph.NewParams(tensor.Float64, 1), lr.ds)
		if tc.wantErr == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			if h == nil || h.Stopped == "" {
				t.Errorf("%s: History.Stopped not set", tc.name)
			}
		} else {
			testutil.ErrContains(t, err, tc.wantErr)
			if tc.wantErr == "boom" && errors.Cause(err) != boom {
				t.Errorf("%s: cause %v, want the callback's error", tc.name, errors.Cause(err))
			}
		}
		if h == nil || len(h.Epochs) != tc.epochs || updates != tc.updates {
			t.Errorf("%s: History %v, %d updates; want %d epochs, %d updates", tc.name, h, updates, tc.epochs, tc.updates)
		}
		if rec.kinds[FitEnd] != 1 {
			t.Errorf("%s: FitEnd seen %d times, want once", tc.name, rec.kinds[FitEnd])
		}
	}
}

func TestStepEndEveryLogEvery(t *testing.T) {
	lr := newLinReg(t, 100, 2, 0.1, 32, tensor.Float64)
	var steps []int
	var ends, epochs int
	c := cfg(2, SGD{LR: 0.05})
	c.LogEvery = 3
	c.Callbacks = []Callback{func(e Event) error {
		switch e.Kind {
		case StepEnd:
			steps = append(steps, e.Step)
			if e.History == nil || e.Params == nil || e.Loss <= 0 {
				t.Errorf("StepEnd event %+v lacks History, Params or Loss", e)
			}
			// Batches of 10 from 100 examples: every step takes 10.
			if e.Examples != int64(10*e.Step) || e.GradEvals != e.Examples {
				t.Errorf("StepEnd at step %d: %d examples, %d gradient evaluations; want %d", e.Step, e.Examples, e.GradEvals, 10*e.Step)
			}
		case EpochEnd:
			epochs++
			if e.Record.Epoch != e.Epoch || e.Loss != e.Record.TrainLoss || e.Examples != e.Record.Examples {
				t.Errorf("EpochEnd event %+v", e)
			}
		case FitEnd:
			ends++
		}
		return nil
	}}
	if _, err := (MiniBatchSGD{BatchSize: 10, Config: c}).Fit(bg, models.Linear{}, graph.NewParams(tensor.Float64, 1), lr.ds); err != nil {
		t.Fatal(err)
	}
	want := []int{3, 6, 9, 12, 15, 18}
	if len(steps) != len(want) {
		t.Fatalf("StepEnd at steps %v, want %v", steps, want)
	}
	for i := range want {
		if steps[i] != want[i] {
			t.Fatalf("StepEnd at steps %v, want %v", steps, want)
		}
	}
	if epochs != 2 || ends != 1 {
		t.Errorf("%d EpochEnd and %d FitEnd events, want 2 and 1", epochs, ends)
	}
}

func TestProgressOffTerminal(t *testing.T) {
	lr := newLinReg(t, 50, 2, 0.1, 33, tensor.Float64)
	var buf bytes.Buffer
	c := cfg(3, SGD{LR: 0.05})
	c.LogEvery = 1
	c.Validation = lr.ds
	c.Callbacks = []Callback{Progress(&buf)}
	if _, err := (MiniBatchSGD{BatchSize: 10, Config: c}).Fit(bg, models.Linear{}, graph.NewParams(tensor.Float64, 1), lr.ds); err != nil {
		t.Fatal(err)
	}
	// One line per epoch, counted from 1, with every recorded value; no bar.
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 3 || strings.Contains(buf.String(), "\r") || strings.Contains(buf.String(), "ETA") {
		t.Fatalf("Progress off a terminal wrote %q, want 3 epoch lines", buf.String())
	}
	for i, l := range lines {
		want := fmt.Sprintf("MiniBatchSGD(B=10) epoch %d/3  loss ", i+1)
		if !strings.HasPrefix(l, want) || !strings.Contains(l, "val_loss ") || !strings.Contains(l, "val_r2 ") {
			t.Errorf("line %d = %q, want it to start %q and show val_loss and val_r2", i, l, want)
		}
	}
	// A character device looks like a terminal, unless CI is set.
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	t.Setenv("CI", "true")
	if isTerminal(f) {
		t.Error("isTerminal with CI set")
	}
}

// TestConsoleOnTerminal draws the bar on a buffer taken for a terminal:
// the user's lines clear it and it is redrawn under them, epochs leave a
// line each, counted from 1.
func TestConsoleOnTerminal(t *testing.T) {
	lr := newLinReg(t, 50, 2, 0.1, 33, tensor.Float64)
	var buf bytes.Buffer
	con := &Console{w: &buf, term: true}
	c := cfg(3, SGD{LR: 0.05})
	c.LogEvery = 2
	c.Callbacks = []Callback{con.Callback(), func(e Event) error {
		if e.Kind == StepEnd && e.Step == 2 {
			con.Printf("hello %d\n", e.Step)
		}
		return nil
	}}
	if _, err := (MiniBatchSGD{BatchSize: 10, Config: c}).Fit(bg, models.Linear{}, graph.NewParams(tensor.Float64, 1), lr.ds); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"epoch 1/3 [",                                // the bar in epoch 1
		"\r\x1b[Khello 2\nMiniBatchSGD",              // cleared, printed, redrawn
		"\r\x1b[KMiniBatchSGD(B=10) epoch 1/3  loss", // the epoch's line replaces the bar
		"epoch 3/3  loss",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("console output lacks %q:\n%q", want, out)
		}
	}
	if strings.Contains(out, "epoch 0/") || strings.Contains(out, "epoch 4/") {
		t.Errorf("epochs not counted from 1 to 3: %q", out)
	}
	if !strings.HasSuffix(out, "\n") {
		t.Errorf("output does not end a line: %q", out)
	}
}

// TestZeroConsole: the zero Console works (on os.Stderr).
func TestZeroConsole(t *testing.T) {
	var con Console
	con.Printf("")
	if err := con.Callback()(Event{Kind: FitEnd, History: &History{}}); err != nil {
		t.Fatal(err)
	}
	if con.w != os.Stderr {
		t.Errorf("zero Console writes to %v", con.w)
	}
}
