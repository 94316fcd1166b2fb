package trainers

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/ckpt"
	"github.com/descent-go/descent/internal/testutil"
	"github.com/descent-go/descent/models"
)

// resumeData is a small 3-class problem with a validation set, float32 (the
// dtype whose rounding would show any reordering).
// (t may be nil in the kill test's child: an error then panics.)
func resumeData(t testing.TB) (train, val *datasets.Dataset) {
	check := func(err error) {
		if err != nil && t == nil {
			panic(err)
		} else if err != nil {
			t.Fatal(err)
		}
	}
	all, err := datasets.Blobs(39, 3, 4, 1.5, 5, tensor.Float32)
	check(err)
	idx := make([]int, 39)
	for i := range idx {
		idx[i] = i
	}
	train, err = all.Subset(idx[:27])
	check(err)
	val, err = all.Subset(idx[27:])
	check(err)
	return train, val
}

// resumeTrainers are the built-in trainers over Config c.
func resumeTrainers(c Config) []Trainer {
	return []Trainer{GD{Config: c}, OnlineSGD{Config: c}, MiniBatchSGD{Config: c, BatchSize: 8}}
}

var resumeOptimizers = []Optimizer{
	SGD{LR: 0.05}, SGD{LR: 0.05, Momentum: 0.9}, SGD{LR: 0.05, Momentum: 0.9, Nesterov: true},
	NewAdam(0.01), NewAdamW(0.01, 0.1), NewRMSProp(0.01), NewAdaGrad(0.05),
}

var resumeSchedules = []struct {
	name string
	s    Schedule
}{
	{"constant", nil},
	{"StepDecay", StepDecay(2, 0.5)},
	{"Exponential", Exponential(0.8)},
	{"InverseScaling", InverseScaling(2, 0.5)},
	{"Cosine", Cosine(0.1)},
	{"Warmup", Warmup(5, Cosine(0))},
	{"ReduceOnPlateau", ReduceOnPlateau(0.5, 1, 0)},
}

// withoutTime is h with the wall times zeroed.
func withoutTime(h *History) History {
	c := *h
	c.Epochs = append([]Epoch(nil), h.Epochs...)
	for i := range c.Epochs {
		c.Epochs[i].Seconds = 0
	}
	return c
}

// resumeConfig is the Config of every resume test: checkpoints after every
// epoch (all kept), EarlyStopping restoring the best weights, dropout.
func resumeConfig(dir string, epochs int, opt Optimizer, s Schedule, val *datasets.Dataset) Config {
	return Config{
		Epochs: epochs, Loss: graph.SoftmaxCrossEntropy, Optimizer: opt, Schedule: s, Seed: 11,
		Validation: val, RecordSteps: true,
		Callbacks: []Callback{Checkpoint(filepath.Join(dir, "run.ckpt"), 1, epochs, "val_loss"), EarlyStopping("val_loss", 2, 0, true)},
	}
}

var resumeModel = models.MLP{Hidden: []int{6}, Outputs: 3, Dropout: 0.25}

// For every trainer × optimizer × schedule, with EarlyStopping and
// ReduceOnPlateau active and dropout in the model: resuming from the
// checkpoint after k epochs gives the uninterrupted run's parameters and
// History (all but wall time) bit for bit, and epochs go on counting.
func TestResumeIsUninterrupted(t *testing.T) {
	train, val := resumeData(t)
	const epochs = 6
	opts, scheds := resumeOptimizers, resumeSchedules
	if testing.Short() { // the race detector's run: a corner of the matrix
		opts, scheds = []Optimizer{opts[1], opts[3]}, []struct {
			name string
			s    Schedule
		}{scheds[0], scheds[5], scheds[6]}
	}
	for _, opt := range opts {
		for _, sc := range scheds {
			dir := t.TempDir()
			c := resumeConfig(dir, epochs, opt, sc.s, val)
			for ti, tr := range resumeTrainers(c) {
				name := fmt.Sprintf("%T/%+v/%s", tr, opt, sc.name)
				for _, f := range listNamesQuiet(dir) {
					os.Remove(filepath.Join(dir, f))
				}
				p := graph.NewParams(tensor.Float32, 3)
				h, err := tr.Fit(bg, resumeModel, p, train)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				// Resume from two points (one for the slow OnlineSGD).
				ks := []int{1, len(h.Epochs) - 1}
				if ti == 1 {
					ks = ks[1:]
				}
				for _, k := range ks {
					if k < 1 {
						continue
					}
					rc := c
					rc.Resume = checkpointName(filepath.Join(dir, "run.ckpt"), k)
					rc.Callbacks = []Callback{Checkpoint(filepath.Join(dir, "resumed.ckpt"), 1, epochs, "val_loss"), EarlyStopping("val_loss", 2, 0, true)}
					q := graph.NewParams(tensor.Float32, 99) // another seed: every value comes from the checkpoint
					h2, err := resumeTrainers(rc)[ti].Fit(bg, resumeModel, q, train)
					if err != nil {
						t.Fatalf("%s resumed after %d epochs: %v", name, k, err)
					}
					if !testutil.SameParams(p, q) {
						t.Errorf("%s resumed after %d epochs: parameters differ from the uninterrupted run's", name, k)
					}
					if a, b := withoutTime(h), withoutTime(h2); !reflect.DeepEqual(a, b) {
						t.Errorf("%s resumed after %d epochs: History differs:\n%+v\nwant\n%+v", name, k, b, a)
					}
					if h2.Epochs[k].Epoch != k {
						t.Errorf("%s: the first resumed epoch is numbered %d, want %d", name, h2.Epochs[k].Epoch, k)
					}
				}
			}
		}
	}
}

func listNamesQuiet(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// The gradient-noise diagnostic and a run that a callback stopped resume
// too: the noise estimates continue, and a finished run stays finished.
func TestResumeNoiseAndStopped(t *testing.T) {
	train, val := resumeData(t)
	dir := t.TempDir()
	c := resumeConfig(dir, 12, NewAdam(0.05), nil, val)
	c.NoiseEvery, c.NoiseBatch = 3, 4
	p := graph.NewParams(tensor.Float32, 3)
	h, err := MiniBatchSGD{Config: c, BatchSize: 4}.Fit(bg, resumeModel, p, train)
	must(t, err)
	if len(h.Noise) == 0 {
		t.Fatal("no noise estimates")
	}
	if h.Stopped == "" {
		t.Fatalf("EarlyStopping did not stop in %d epochs; the test needs a stopped run", len(h.Epochs))
	}
	for _, k := range []int{2, len(h.Epochs)} { // the last: after the stop
		rc := c
		rc.Resume = checkpointName(filepath.Join(dir, "run.ckpt"), k)
		rc.Callbacks = []Callback{Checkpoint(filepath.Join(dir, "again.ckpt"), 1, 1, "val_loss"), EarlyStopping("val_loss", 2, 0, true)}
		q := graph.NewParams(tensor.Float32, 3)
		h2, err := MiniBatchSGD{Config: rc, BatchSize: 4}.Fit(bg, resumeModel, q, train)
		must(t, err)
		if !testutil.SameParams(p, q) || !reflect.DeepEqual(withoutTime(h), withoutTime(h2)) {
			t.Errorf("resumed after %d epochs: differs from the uninterrupted run\n%+v\n%+v", k, withoutTime(h2), withoutTime(h))
		}
	}
}

// Resuming with something that differs is an error naming it, and leaves
// fresh Params empty.
func TestResumeMismatch(t *testing.T) {
	train, val := resumeData(t)
	dir := t.TempDir()
	c := resumeConfig(dir, 2, NewAdam(0.01), nil, val)
	_, err := MiniBatchSGD{Config: c, BatchSize: 8}.Fit(bg, resumeModel, graph.NewParams(tensor.Float32, 3), train)
	must(t, err)
	path := checkpointName(filepath.Join(dir, "run.ckpt"), 1)
	weightsOnly := filepath.Join(dir, "weights.ckpt")
	p0, err := models.LoadFile(path)
	must(t, err)
	must(t, models.SaveFile(weightsOnly, p0))
	other, err := datasets.Blobs(30, 3, 4, 1, 1, tensor.Float32)
	must(t, err)
	for _, m := range []struct {
		name  string
		tr    func(c Config) Trainer
		model models.Model
		train *datasets.Dataset
		edit  func(c *Config)
		want  []string
	}{
		{"optimizer", nil, nil, nil, func(c *Config) { c.Optimizer = SGD{LR: 0.01} }, []string{"the optimizer differs", "trainers.Adam", "trainers.SGD"}},
		{"optimizer setting", nil, nil, nil, func(c *Config) { c.Optimizer = NewAdam(0.02) }, []string{"the optimizer differs", "LR:0.01", "LR:0.02"}},
		{"model", nil, models.MLP{Hidden: []int{7}, Outputs: 3, Dropout: 0.25}, nil, nil, []string{"the model parameters differ", "hidden1/w[4 6]", "hidden1/w[4 7]"}},
		{"data shape", nil, nil, other, nil, []string{"the training data differs", "27 examples", "30 examples"}},
		{"trainer", func(c Config) Trainer { return MiniBatchSGD{Config: c, BatchSize: 9} }, nil, nil, nil, []string{"the trainer differs", "B=8", "B=9"}},
		{"seed", nil, nil, nil, func(c *Config) { c.Seed = 12 }, []string{"the seed differs", `"11"`, `"12"`}},
		{"callbacks", nil, nil, nil, func(c *Config) { c.Callbacks = c.Callbacks[:1] }, []string{"2 callbacks, this Fit 1"}},
		{"callback order", nil, nil, nil, func(c *Config) { c.Callbacks[0], c.Callbacks[1] = c.Callbacks[1], c.Callbacks[0] }, []string{"callback 0 is a EarlyStopping", "the checkpoint has a Checkpoint there"}},
		{"weights only", nil, nil, nil, func(c *Config) { c.Resume = weightsOnly }, []string{"weights-only checkpoint (format version 2)", "models.LoadInto"}},
		{"missing", nil, nil, nil, func(c *Config) { c.Resume = filepath.Join(dir, "nope.ckpt") }, []string{"trainers: resume", "nope.ckpt"}},
		{"epochs", nil, nil, nil, func(c *Config) { c.Resume = checkpointName(filepath.Join(dir, "run.ckpt"), 2); c.Epochs = 1 }, []string{"after 2 epochs, more than Config.Epochs = 1"}},
	} {
		rc := resumeConfig(dir, 3, NewAdam(0.01), nil, val)
		rc.Resume = path
		if m.edit != nil {
			m.edit(&rc)
		}
		var tr Trainer = MiniBatchSGD{Config: rc, BatchSize: 8}
		if m.tr != nil {
			tr = m.tr(rc)
		}
		model, data := models.Model(resumeModel), train
		if m.model != nil {
			model = m.model
		}
		if m.train != nil {
			data = m.train
		}
		p := graph.NewParams(tensor.Float32, 3)
		_, err := tr.Fit(bg, model, p, data)
		if err == nil {
			t.Errorf("%s: resumed", m.name)
			continue
		}
		if m.name != "missing" {
			testutil.ErrContains(t, err, "trainers: resume from "+rc.Resume) // names the checkpoint
		}
		testutil.ErrContains(t, err, m.want...)
		if m.name != "callback order" && p.Len() != 0 {
			t.Errorf("%s: the failed resume left %d parameters in fresh Params", m.name, p.Len())
		}
	}
}

// The training checkpoint holds the weights, the optimizer's state and the
// callbacks' tensors, each with its role; models reads the weights from it.
func TestTrainingCheckpointContents(t *testing.T) {
	train, val := resumeData(t)
	dir := t.TempDir()
	c := resumeConfig(dir, 2, NewAdam(0.01), nil, val)
	p := graph.NewParams(tensor.Float32, 3)
	_, err := MiniBatchSGD{Config: c, BatchSize: 8}.Fit(bg, resumeModel, p, train)
	must(t, err)
	path := checkpointName(filepath.Join(dir, "run.ckpt"), 1)
	data, err := os.ReadFile(path)
	must(t, err)
	f, err := ckpt.Decode(bytes.NewReader(data))
	must(t, err)
	roles := map[ckpt.Role][]string{}
	for _, e := range f.Tensors {
		roles[e.Role] = append(roles[e.Role], e.Name)
	}
	want := map[ckpt.Role][]string{
		ckpt.Param:     {"hidden1/w", "hidden1/b", "out/w", "out/b"},
		ckpt.Optimizer: {"m/hidden1/w", "m/hidden1/b", "m/out/w", "m/out/b", "v/hidden1/w", "v/hidden1/b", "v/out/w", "v/out/b"},
		ckpt.Callback:  {"cb1/hidden1/w", "cb1/hidden1/b", "cb1/out/w", "cb1/out/b"},
	}
	if !reflect.DeepEqual(roles, want) {
		t.Errorf("checkpoint tensors %v, want %v", roles, want)
	}
	q, err := models.LoadFile(path)
	must(t, err)
	if q.Len() != 4 {
		t.Errorf("models.LoadFile read %d tensors, want the 4 weights", q.Len())
	}
}

// The kill test: a child process (this test binary in helper mode) trains
// with a checkpoint after every epoch and is killed with SIGKILL while it
// runs; resuming from the last checkpoint it left gives the uninterrupted
// run's parameters and History.
func TestResumeAfterSIGKILL(t *testing.T) {
	if dir := os.Getenv("DESCENT_RESUME_CHILD"); dir != "" {
		killChild(dir)
		return
	}
	dir := t.TempDir()
	epochs := 400
	if testing.Short() { // the race detector's run: slower steps
		epochs = 80
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestResumeAfterSIGKILL$", "-test.count=1")
	cmd.Env = append(os.Environ(), "DESCENT_RESUME_CHILD="+dir, "DESCENT_RESUME_EPOCHS="+strconv.Itoa(epochs))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	must(t, cmd.Start())
	// Kill it once it has written a few checkpoints, mid-run.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if latest, _ := LatestCheckpoint(filepath.Join(dir, "run.ckpt")); latest >= checkpointName(filepath.Join(dir, "run.ckpt"), 3) {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the child wrote no third checkpoint in 2 minutes:\n%s", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	must(t, cmd.Process.Signal(syscall.SIGKILL))
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the child was not killed by SIGKILL (%v): it finished before? output:\n%s", err, out.String())
	}
	latest, err := LatestCheckpoint(filepath.Join(dir, "run.ckpt"))
	must(t, err)
	if latest == "" {
		t.Fatal("no checkpoint left")
	}
	done, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(latest), "run-epoch"), ".ckpt"))
	if done >= epochs {
		t.Fatalf("the child finished all %d epochs before the kill", epochs)
	}
	c, tr := killSetup(dir, epochs)
	c.Resume = latest
	q := graph.NewParams(tensor.Float32, 3)
	train, _ := resumeData(t)
	h2, err := tr(c).Fit(bg, resumeModel, q, train)
	must(t, err)

	ref := t.TempDir()
	c, tr = killSetup(ref, epochs)
	p := graph.NewParams(tensor.Float32, 3)
	h, err := tr(c).Fit(bg, resumeModel, p, train)
	must(t, err)
	if !testutil.SameParams(p, q) {
		t.Errorf("resumed after %d epochs of a killed run: parameters differ from the uninterrupted run's", done)
	}
	if a, b := withoutTime(h), withoutTime(h2); !reflect.DeepEqual(a, b) {
		t.Errorf("resumed after %d epochs of a killed run: History differs:\n%+v\nwant\n%+v", done, b, a)
	}
	t.Logf("killed after %d of %d epochs, resumed from %s", done, epochs, filepath.Base(latest))
}

func killSetup(dir string, epochs int) (Config, func(Config) Trainer) {
	_, val := resumeData(nil)
	c := Config{
		Epochs: epochs, Loss: graph.SoftmaxCrossEntropy, Optimizer: NewAdam(0.001), Schedule: ReduceOnPlateau(0.5, 3, 0), Seed: 5,
		Validation: val,
		Callbacks:  []Callback{Checkpoint(filepath.Join(dir, "run.ckpt"), 1, 2, ""), EarlyStopping("val_loss", epochs, 0, true)},
	}
	return c, func(c Config) Trainer { return MiniBatchSGD{Config: c, BatchSize: 4} }
}

// killChild is the child's side: train until killed.
func killChild(dir string) {
	epochs, err := strconv.Atoi(os.Getenv("DESCENT_RESUME_EPOCHS"))
	if err != nil {
		panic(err)
	}
	c, tr := killSetup(dir, epochs)
	train, _ := resumeData(nil)
	if _, err := tr(c).Fit(bg, resumeModel, graph.NewParams(tensor.Float32, 3), train); err != nil {
		fmt.Println(err)
	}
	fmt.Println("the child finished: it should have been killed")
}

// FuzzReadState feeds the training-checkpoint reader arbitrary bytes: it
// never panics nor allocates beyond the input, and rejects with an error
// whatever is not a consistent training checkpoint.
func FuzzReadState(f *testing.F) {
	train, val := resumeData(f)
	dir := f.TempDir()
	c := resumeConfig(dir, 2, NewAdam(0.01), ReduceOnPlateau(0.5, 1, 0), val)
	c.NoiseEvery, c.NoiseBatch = 2, 4
	if _, err := (MiniBatchSGD{Config: c, BatchSize: 8}).Fit(bg, resumeModel, graph.NewParams(tensor.Float32, 3), train); err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(checkpointName(filepath.Join(dir, "run.ckpt"), 2))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	var weights bytes.Buffer
	p, err := models.LoadFile(checkpointName(filepath.Join(dir, "run.ckpt"), 1))
	if err != nil {
		f.Fatal(err)
	}
	if err := models.Save(&weights, p); err != nil {
		f.Fatal(err)
	}
	f.Add(weights.Bytes())
	f.Add([]byte("DSCNTPRM\x02\x00\x00\x00\x01"))
	// Half of the inputs are taken as the progress record of an otherwise
	// valid checkpoint, so that the record's decoder is reached past the
	// checksum.
	file, err := ckpt.Decode(bytes.NewReader(good))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(append([]byte{1}, file.Meta...))
	f.Add(append([]byte{1}, file.Meta[:len(file.Meta)/3]...))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 0 && data[0] == 1 {
			g := *file
			g.Meta = data[1:]
			var buf bytes.Buffer
			if err := ckpt.Encode(&buf, &g); err != nil {
				t.Fatal(err)
			}
			data = buf.Bytes()
		}
		s, err := readState(bytes.NewReader(data))
		if err == nil && (s == nil || s.weights == nil || s.Epochs != len(s.History.Epochs)) {
			t.Fatalf("accepted an inconsistent state: %+v", s)
		}
		if err != nil && s != nil {
			t.Fatalf("returned a state and the error %v", err)
		}
	})
}

// With in-process replicas (each with its own programs and dropout
// streams), a resumed run is the uninterrupted one too; resuming with
// another number of replicas is an error naming the layout.
func TestResumeWithReplicas(t *testing.T) {
	train, val := resumeData(t)
	dir := t.TempDir()
	c := resumeConfig(dir, 5, NewAdam(0.01), ReduceOnPlateau(0.5, 1, 0), val)
	c.Parallel.Replicas = 2
	p := graph.NewParams(tensor.Float32, 3)
	h, err := MiniBatchSGD{Config: c, BatchSize: 8}.Fit(bg, resumeModel, p, train)
	must(t, err)
	rc := c
	rc.Resume = checkpointName(filepath.Join(dir, "run.ckpt"), 2)
	rc.Callbacks = []Callback{Checkpoint(filepath.Join(dir, "again.ckpt"), 1, 1, "val_loss"), EarlyStopping("val_loss", 2, 0, true)}
	q := graph.NewParams(tensor.Float32, 3)
	h2, err := MiniBatchSGD{Config: rc, BatchSize: 8}.Fit(bg, resumeModel, q, train)
	must(t, err)
	if !testutil.SameParams(p, q) || !reflect.DeepEqual(withoutTime(h), withoutTime(h2)) {
		t.Errorf("two replicas resumed after 2 epochs: differs from the uninterrupted run")
	}
	rc.Parallel.Replicas = 1
	_, err = MiniBatchSGD{Config: rc, BatchSize: 8}.Fit(bg, resumeModel, graph.NewParams(tensor.Float32, 3), train)
	testutil.ErrContains(t, err, "the parallel layout differs", "2 parts", "1 parts")
}

// A run resumed with the same Checkpoint path goes on rotating its files:
// the older ones of the first process are removed as the new ones arrive.
func TestResumeKeepsRotating(t *testing.T) {
	train, val := resumeData(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "run.ckpt")
	c := resumeConfig(dir, 3, SGD{LR: 0.05, Momentum: 0.9}, nil, val)
	c.Callbacks = []Callback{Checkpoint(path, 1, 2, ""), EarlyStopping("val_loss", 9, 0, false)}
	_, err := MiniBatchSGD{Config: c, BatchSize: 8}.Fit(bg, resumeModel, graph.NewParams(tensor.Float32, 3), train)
	must(t, err)
	c.Epochs, c.Resume = 5, checkpointName(path, 3)
	c.Callbacks = []Callback{Checkpoint(path, 1, 2, ""), EarlyStopping("val_loss", 9, 0, false)}
	h, err := MiniBatchSGD{Config: c, BatchSize: 8}.Fit(bg, resumeModel, graph.NewParams(tensor.Float32, 3), train)
	must(t, err)
	if got := fmt.Sprint(listNames(t, dir)); got != "[run-epoch0004.ckpt run-epoch0005.ckpt]" || len(h.Epochs) != 5 {
		t.Errorf("after resuming for 2 more epochs (History %d epochs) the directory holds %s", len(h.Epochs), got)
	}
}

// plainGD is an Optimizer of a user's that is not a StatefulOptimizer.
type plainGD struct{ LR float64 }

func (o plainGD) LearningRate() float64 { return o.LR }
func (o plainGD) Start(params []*tensor.Dense) (Update, error) {
	return func(lr float64, grads []*tensor.Dense) error {
		for i, w := range params {
			axpy(-lr, grads[i], w)
		}
		return nil
	}, nil
}

// A stateless optimizer of one's own resumes exactly too.
func TestResumeCustomOptimizer(t *testing.T) {
	train, val := resumeData(t)
	dir := t.TempDir()
	c := resumeConfig(dir, 4, plainGD{LR: 0.05}, Exponential(0.9), val)
	p := graph.NewParams(tensor.Float32, 3)
	h, err := MiniBatchSGD{Config: c, BatchSize: 8}.Fit(bg, resumeModel, p, train)
	must(t, err)
	c.Resume = checkpointName(filepath.Join(dir, "run.ckpt"), 2)
	c.Callbacks = []Callback{Checkpoint(filepath.Join(dir, "again.ckpt"), 1, 1, "val_loss"), EarlyStopping("val_loss", 2, 0, true)}
	q := graph.NewParams(tensor.Float32, 3)
	h2, err := MiniBatchSGD{Config: c, BatchSize: 8}.Fit(bg, resumeModel, q, train)
	must(t, err)
	if !testutil.SameParams(p, q) || !reflect.DeepEqual(withoutTime(h), withoutTime(h2)) {
		t.Error("a custom optimizer's run resumed after 2 epochs differs from the uninterrupted run")
	}
}
