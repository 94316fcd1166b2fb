package trainers

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/atomicfile"
	"github.com/descent-go/descent/internal/ckpt"
	"github.com/descent-go/descent/models"
)

// A training checkpoint is a models checkpoint file (internal/ckpt) whose
// tensors are the parameters, the optimizer's state (role Optimizer) and the
// callbacks' tensors (role Callback, e.g. EarlyStopping's best weights), and
// whose metadata is the progress record below, gob-encoded (exact float64
// bits, NaN included). models.LoadFile reads the weights from it.

// progressKind marks the metadata of a training checkpoint.
const progressKind = "descent training state 1"

// progress is where a run stands after an epoch and its callbacks.
type progress struct {
	Kind        string
	Fingerprint []fingerprintItem
	Epochs      int // epochs finished: the resumed run starts with this one
	Step        int // updates so far
	Examples    int64
	GradEvals   int64
	LR          float64 // the last update's learning rate
	Seconds     float64 // training time of the finished epochs
	Monitored   []float64
	History     History
	Runs        []map[int]uint64 // training programs' run counts, by local replica and batch size
	NoiseRuns   map[int]uint64   // the noise diagnostic's
	NoiseK      int              // noise estimates made
	Counters    map[string]int   // the optimizer's counters (Adam's step count)
	Callbacks   []slotRecord     // per Config.Callbacks entry
}

type fingerprintItem struct{ What, Value string }

// slotRecord is one callback's saved state: Kind "" for a callback without
// state.
type slotRecord struct {
	Kind string
	Data []byte
}

// OptimizerState holds an optimizer's state — tensors and counters, by name
// — for the training loop, which saves it in training checkpoints and
// restores it when a Fit resumes. A nil *OptimizerState is valid: it hands
// out state that nobody saves (what Optimizer.Start uses).
type OptimizerState struct {
	params   []string // parameter names, in Start's order
	keys     []string // tensor names, in creation order
	tensors  map[string]*tensor.Dense
	counters map[string]*int
}

// A StatefulOptimizer keeps its state in the OptimizerState it is started
// with, so that a training checkpoint holds it and a resumed Fit continues
// exactly. Every built-in optimizer is one; an Optimizer that is not is
// resumed with its state as Start makes it (right for stateless ones).
type StatefulOptimizer interface {
	Optimizer
	StartState(params []*tensor.Dense, s *OptimizerState) (Update, error)
}

func newOptimizerState(params []string) *OptimizerState {
	return &OptimizerState{params: params, tensors: map[string]*tensor.Dense{}, counters: map[string]*int{}}
}

// Tensors returns zero tensors shaped like params, registered as
// kind+"/"+the parameter's name (or index). kind names one piece of state
// ("m", "velocity") and must be unique within the optimizer.
func (s *OptimizerState) Tensors(kind string, params []*tensor.Dense) []*tensor.Dense {
	out := zerosLike(params)
	if s == nil {
		return out
	}
	for i, t := range out {
		name := strconv.Itoa(i)
		if i < len(s.params) {
			name = s.params[i]
		}
		key := kind + "/" + name
		if _, ok := s.tensors[key]; !ok {
			s.keys = append(s.keys, key)
		}
		s.tensors[key] = t
	}
	return out
}

// Counter returns a counter registered under name, starting at 0.
func (s *OptimizerState) Counter(name string) *int {
	c := new(int)
	if s != nil {
		s.counters[name] = c
	}
	return c
}

// startOptimizer calls o.Start (o.StartState for a StatefulOptimizer),
// turning a panic or a missing Update into an error.
func startOptimizer(o Optimizer, weights []*tensor.Dense, st *OptimizerState) (u Update, err error) {
	defer caught(&err, "trainers: Start of optimizer", o)
	if so, ok := o.(StatefulOptimizer); ok {
		u, err = so.StartState(weights, st)
	} else {
		u, err = o.Start(weights)
	}
	if err == nil && u == nil {
		err = errors.Errorf("trainers: optimizer %T: Start returned no Update", o)
	}
	return u, err
}

// fingerprint describes what a checkpoint can only be resumed with.
func (r *run) fingerprint(train datasets.Source) []fingerprintItem {
	var model strings.Builder
	for i, name := range r.names {
		fmt.Fprintf(&model, "%s%v ", name, []int(r.weights[i].Shape()))
	}
	val := "none"
	if v := r.cfg.Validation; v != nil {
		val = fmt.Sprintf("%d examples", v.Len())
	}
	pol := r.pol
	return []fingerprintItem{
		{"model parameters", strings.TrimSpace(model.String())},
		{"dtype", r.params.Dtype().String()},
		{"training data", fmt.Sprintf("%d examples %v → %v", train.Len(), train.XShape(), train.YShape())},
		{"validation data", val},
		{"trainer", fmt.Sprintf("%s batch %d shuffle %v dropLast %v fullBatch %v", pol.Name, pol.BatchSize, pol.Shuffle, pol.DropLast, pol.FullBatch)},
		{"optimizer", fmt.Sprintf("%T%+v", r.cfg.Optimizer, r.cfg.Optimizer)},
		{"seed", strconv.FormatInt(r.cfg.Seed, 10)},
		{"regularization", fmt.Sprintf("WeightDecay %v ClipNorm %v", r.cfg.WeightDecay, r.cfg.ClipNorm)},
		{"noise diagnostic", fmt.Sprintf("every %d batch %d", r.cfg.NoiseEvery, r.cfg.NoiseBatch)},
		{"parallel layout", fmt.Sprintf("%d parts, %d replicas per process, hogwild %v", r.parts, len(r.reps), r.cfg.Parallel.Hogwild)},
	}
}

// state is the training checkpoint of the run as it stands: the tensors
// themselves (no copies), and the progress record.
func (r *run) state() (*ckpt.File, error) {
	pr := progress{
		Kind: progressKind, Fingerprint: r.fingerprint(r.train),
		Epochs: len(r.hist.Epochs), Step: r.sched.Step, Examples: r.examples, GradEvals: r.gradEvals,
		LR: r.lr, Seconds: r.seconds, Monitored: r.sched.Monitored, History: *r.hist,
		Counters: map[string]int{},
	}
	for _, rep := range r.reps {
		pr.Runs = append(pr.Runs, rep.progs.Runs())
	}
	if r.noise != nil {
		pr.NoiseRuns, pr.NoiseK = r.noise.progs.Runs(), r.noise.k
	}
	f := &ckpt.File{Dtype: r.params.Dtype(), Seed: r.params.Seed(), Tensors: ckpt.Weights(r.params)}
	if st := r.optState; st != nil {
		for _, k := range st.keys {
			f.Tensors = append(f.Tensors, ckpt.Entry{Role: ckpt.Optimizer, Name: k, Tensor: st.tensors[k]})
		}
		for k, c := range st.counters {
			pr.Counters[k] = *c
		}
	}
	pr.Callbacks = make([]slotRecord, len(r.slots))
	for i, sl := range r.slots {
		switch {
		case sl.live != nil:
			data, weights, err := sl.live.save()
			if err != nil {
				return nil, errors.Wrapf(err, "callback %d (%s)", i, sl.live.kind())
			}
			pr.Callbacks[i] = slotRecord{Kind: sl.live.kind(), Data: data}
			f.Tensors = append(f.Tensors, callbackTensors(i, weights)...)
		case sl.saved.Kind != "": // restored, not yet claimed: carried over
			pr.Callbacks[i] = sl.saved
			f.Tensors = append(f.Tensors, callbackTensors(i, sl.weights)...)
		}
	}
	var meta bytes.Buffer
	if err := gob.NewEncoder(&meta).Encode(&pr); err != nil {
		return nil, err
	}
	f.Meta = meta.Bytes()
	return f, nil
}

func callbackTensors(slot int, p *graph.Params) []ckpt.Entry {
	if p == nil {
		return nil
	}
	out := ckpt.Weights(p)
	for i := range out {
		out[i].Role, out[i].Name = ckpt.Callback, fmt.Sprintf("cb%d/%s", slot, out[i].Name)
	}
	return out
}

// saveRequest is a training checkpoint a callback asked for at an epoch's
// end: the loop writes it once every callback has seen the epoch, so that
// the file holds every callback's state after it, then calls done.
type saveRequest struct {
	path string
	done func() error
}

// requestSave asks the loop to write a training checkpoint to path after
// the current epoch's callbacks, then to call done (if not nil).
func (r *run) requestSave(path string, done func() error) {
	r.saves = append(r.saves, saveRequest{path, done})
}

// flushSaves writes the requested checkpoints, atomically, each then
// followed by its done.
func (r *run) flushSaves(epoch int) error {
	if len(r.saves) == 0 {
		return nil
	}
	reqs := r.saves
	r.saves = r.saves[:0]
	state, err := r.state()
	if err != nil {
		return errors.Wrapf(err, "trainers: checkpoint after epoch %d", epoch+1)
	}
	for _, q := range reqs {
		err := atomicfile.Write(q.path, func(f *os.File) error { return ckpt.Encode(f, state) })
		if err != nil {
			return errors.Wrapf(err, "trainers: checkpoint after epoch %d: %s", epoch+1, q.path)
		}
		if q.done != nil {
			if err := q.done(); err != nil {
				return errors.Wrapf(err, "trainers: checkpoint after epoch %d", epoch+1)
			}
		}
	}
	return nil
}

// savedState is a training checkpoint, parsed.
type savedState struct {
	progress
	weights *graph.Params
	opt     map[string]*tensor.Dense // optimizer state, by name
	cbs     map[int]*graph.Params    // callbacks' tensors, by callback
}

// readState parses a training checkpoint, checking everything that does not
// need the run: the format, the progress record, the roles and names of the
// tensors.
func readState(r io.Reader) (*savedState, error) {
	f, err := ckpt.Decode(r)
	if err != nil {
		return nil, err
	}
	if len(f.Meta) == 0 {
		return nil, errors.Errorf("a weights-only checkpoint (format version %d) has no training state: load its weights with models.LoadInto and start a new Fit", f.Version)
	}
	s := &savedState{opt: map[string]*tensor.Dense{}, cbs: map[int]*graph.Params{}}
	if err := gob.NewDecoder(bytes.NewReader(f.Meta)).Decode(&s.progress); err != nil || s.Kind != progressKind {
		return nil, errors.Errorf("the progress record is not one this version reads (%q, %v)", s.Kind, err)
	}
	if s.Epochs < 0 || s.Step < 0 || s.Examples < 0 || s.GradEvals < 0 || s.NoiseK < 0 || s.Epochs != len(s.History.Epochs) {
		return nil, errors.Errorf("the progress record is inconsistent: %d epochs (History has %d), step %d, %d examples, %d gradient evaluations",
			s.Epochs, len(s.History.Epochs), s.Step, s.Examples, s.GradEvals)
	}
	if s.weights, err = f.Params(); err != nil {
		return nil, err
	}
	for _, e := range f.Tensors {
		switch e.Role {
		case ckpt.Optimizer:
			s.opt[e.Name] = e.Tensor
		case ckpt.Callback:
			slot, name := -1, ""
			if i := strings.IndexByte(e.Name, '/'); i > 2 && strings.HasPrefix(e.Name, "cb") {
				if n, err := strconv.Atoi(e.Name[2:i]); err == nil {
					slot, name = n, e.Name[i+1:]
				}
			}
			if name == "" || slot < 0 || slot >= len(s.Callbacks) {
				return nil, errors.Errorf("callback tensor %q names no callback of the checkpoint", e.Name)
			}
			if s.cbs[slot] == nil {
				s.cbs[slot] = graph.NewParams(f.Dtype, f.Seed)
			}
			if err := s.cbs[slot].Add(name, e.Tensor); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// resume loads the training checkpoint at path into the run just built:
// target holds the parameters the run trains (p, or the scratch Params a
// fresh p adopts).
func (r *run) resume(path string, target *graph.Params) error {
	fail := func(err error) error { return errors.Wrapf(err, "trainers: resume from %s", path) }
	fh, err := os.Open(path)
	if err != nil {
		return errors.Wrap(err, "trainers: resume")
	}
	defer fh.Close()
	s, err := readState(fh)
	if err != nil {
		return fail(err)
	}
	if err := checkFingerprint(s.Fingerprint, r.fingerprint(r.train)); err != nil {
		return fail(err)
	}
	if s.Epochs > r.cfg.Epochs {
		return fail(errors.Errorf("the checkpoint is after %d epochs, more than Config.Epochs = %d", s.Epochs, r.cfg.Epochs))
	}
	if err := r.restoreOptimizer(s.opt, s.Counters); err != nil {
		return fail(err)
	}
	if len(s.Callbacks) != len(r.slots) {
		return fail(errors.Errorf("the checkpoint has %d callbacks, this Fit %d (callbacks keep state by position)", len(s.Callbacks), len(r.slots)))
	}
	if len(s.Runs) != len(r.reps) {
		return fail(errors.Errorf("the checkpoint has the random streams of %d replicas, this Fit %d", len(s.Runs), len(r.reps)))
	}
	if err := target.CopyFrom(s.weights); err != nil {
		return fail(errors.Wrap(err, "the checkpoint's weights do not fit the model"))
	}
	for i, rec := range s.Callbacks {
		r.slots[i].saved, r.slots[i].weights = rec, s.cbs[i]
	}
	r.first = s.Epochs
	r.sched.Step, r.examples, r.gradEvals, r.lr = s.Step, s.Examples, s.GradEvals, s.LR
	r.sched.Monitored = s.Monitored
	r.resumed = time.Duration(s.Seconds * float64(time.Second))
	r.seconds = s.Seconds
	h := s.History
	h.Planned = r.cfg.Epochs
	h.higher = r.hist.higher // from the Config's metrics (setupMetrics), not saved
	*r.hist = h
	for i, rep := range r.reps {
		rep.progs.SetRuns(s.Runs[i])
	}
	if r.noise != nil {
		r.noise.progs.SetRuns(s.NoiseRuns)
		r.noise.k = s.NoiseK
	}
	return nil
}

func checkFingerprint(saved, now []fingerprintItem) error {
	have := map[string]string{}
	for _, it := range saved {
		have[it.What] = it.Value
	}
	for _, it := range now {
		if v, ok := have[it.What]; !ok || v != it.Value {
			return errors.Errorf("the %s differs: the checkpoint has %q, this Fit %q", it.What, v, it.Value)
		}
	}
	if len(saved) != len(now) {
		return errors.Errorf("the checkpoint describes %d settings, this version %d", len(saved), len(now))
	}
	return nil
}

func (r *run) restoreOptimizer(saved map[string]*tensor.Dense, counters map[string]int) error {
	st := r.optState
	n := 0
	for _, k := range st.keys {
		t, ok := saved[k]
		if !ok {
			return errors.Errorf("optimizer state %q is missing", k)
		}
		if err := copyTensor(st.tensors[k], t); err != nil {
			return errors.Wrapf(err, "optimizer state %q", k)
		}
		n++
	}
	if n != len(saved) {
		var extra []string
		for k := range saved {
			if _, ok := st.tensors[k]; !ok {
				extra = append(extra, k)
			}
		}
		sort.Strings(extra)
		return errors.Errorf("unexpected optimizer state %q", extra)
	}
	for k, c := range st.counters {
		v, ok := counters[k]
		if !ok {
			return errors.Errorf("optimizer counter %q is missing", k)
		}
		*c = v
	}
	if len(counters) != len(st.counters) {
		return errors.Errorf("the checkpoint has %d optimizer counters, the optimizer %d", len(counters), len(st.counters))
	}
	return nil
}

func copyTensor(dst, src *tensor.Dense) error {
	if !graph.SameShape(dst.Shape(), src.Shape()) || dst.Dtype() != src.Dtype() {
		return errors.Errorf("shape %v %v, want %v %v", src.Shape(), src.Dtype(), dst.Shape(), dst.Dtype())
	}
	if isF64(dst) {
		copy(dst.Float64s(), src.Float64s())
	} else {
		copy(dst.Float32s(), src.Float32s())
	}
	return nil
}

// A cbState is the state a built-in callback keeps in the loop, which saves
// it in training checkpoints.
type cbState interface {
	kind() string
	save() (data []byte, weights *graph.Params, err error)
	load(data []byte, weights *graph.Params) error
}

// slot is the loop's record of one callback's state.
type slot struct {
	live    cbState
	saved   slotRecord    // from the checkpoint, until the callback claims it
	weights *graph.Params // its tensors
}

// keep returns the state of the callback being called: the one the loop
// holds for it (made by fresh, restored from the checkpoint on resume), or,
// for a callback called outside a Fit, own.
func keepState(e Event, own cbState, fresh func() cbState) (cbState, error) {
	r := fitOf(e)
	if r == nil || e.slot < 0 || e.slot >= len(r.slots) {
		return own, nil
	}
	sl := &r.slots[e.slot]
	if sl.live != nil {
		return sl.live, nil
	}
	s := fresh()
	if sl.saved.Kind != "" {
		if sl.saved.Kind != s.kind() {
			return nil, errors.Errorf("trainers: resume from %s: callback %d is a %s, the checkpoint has a %s there", r.cfg.Resume, e.slot, s.kind(), sl.saved.Kind)
		}
		if err := s.load(sl.saved.Data, sl.weights); err != nil {
			return nil, errors.Wrapf(err, "trainers: resume from %s: callback %d (%s)", r.cfg.Resume, e.slot, s.kind())
		}
		sl.saved, sl.weights = slotRecord{}, nil
	}
	sl.live = s
	return s, nil
}

func gobBytes(v interface{}) ([]byte, error) {
	var b bytes.Buffer
	err := gob.NewEncoder(&b).Encode(v)
	return b.Bytes(), err
}

// gobLoad decodes data into v, which must be zeroed first: gob leaves out
// zero fields, which would otherwise keep v's values.
func gobLoad(data []byte, v interface{}) error {
	return gob.NewDecoder(bytes.NewReader(data)).Decode(v)
}

// checkpointName is the file the Checkpoint callback writes after `epochs`
// epochs: path with "-epoch0007" before its extension.
func checkpointName(path string, epochs int) string {
	ext := filepath.Ext(path)
	return fmt.Sprintf("%s-epoch%04d%s", strings.TrimSuffix(path, ext), epochs, ext)
}

// bestName is the file where Checkpoint keeps the best epoch.
func bestName(path string) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "-best" + ext
}

// LatestCheckpoint returns the newest training checkpoint that
// Checkpoint(path, ...) wrote (the one after the most epochs), or "" and no
// error if there is none yet — a fresh start:
//
//	cfg.Resume, err = trainers.LatestCheckpoint("run/mnist.ckpt")
func LatestCheckpoint(path string) (string, error) {
	ext := filepath.Ext(path)
	base := strings.TrimSuffix(filepath.Base(path), ext)
	re := regexp.MustCompile("^" + regexp.QuoteMeta(base) + `-epoch([0-9]{4,})` + regexp.QuoteMeta(ext) + "$")
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		if os.IsNotExist(err) {
			return "", nil
		}
		return "", errors.Wrap(err, "trainers: LatestCheckpoint")
	}
	best, bestN := "", -1
	for _, e := range entries {
		m := re.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		if n, err := strconv.Atoi(m[1]); err == nil && n > bestN {
			best, bestN = filepath.Join(filepath.Dir(path), e.Name()), n
		}
	}
	return best, nil
}

// saveWeights is what Checkpoint does outside a Fit: the weights alone.
func saveWeights(path string, p *graph.Params) error { return models.SaveFile(path, p) }
