package trainers

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/pkg/errors"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/models"
)

// This file is where the trainers meet the table of metrics
// (models.MetricTable): which metrics a Fit records, under which names, and
// how a monitored name is read back. Metric names are Keras': "loss" and
// "accuracy" are measured on the training data, "val_loss" and
// "val_accuracy" on the validation set.

// validationMetric is the name of the validation metric to record in
// History.Metric: the configured one (with or without its "val_" prefix) if
// the validation set has it, else the default for its kind (accuracy for
// classification, r2 for regression; see models.Classifies); "" without a
// validation set.
func validationMetric(cfg Config) (string, error) {
	v := cfg.Validation
	if v == nil {
		if cfg.Metric != "" {
			return "", errors.Errorf("trainers: Config.Metric %q needs Config.Validation", cfg.Metric)
		}
		return "", nil
	}
	classify := models.Classifies(v, cfg.Loss)
	name := strings.TrimPrefix(cfg.Metric, "val_")
	if name == "" {
		name = "r2"
		if classify {
			name = "accuracy"
		}
	}
	if isCustom(cfg, name) {
		return name, nil
	}
	if def, ok := models.LookupMetric(name); ok {
		name = def.Name
	}
	if err := available(cfg, v, name); err != nil {
		return "", errors.Wrap(err, "trainers: Config.Metric")
	}
	return name, nil
}

// available checks that an evaluation of the model on ds has the built-in
// metric name.
func available(cfg Config, ds *datasets.Dataset, name string) error {
	def, ok := models.LookupMetric(name)
	if !ok {
		return errors.Errorf("unknown metric %q (want one of %s, or a Config.Custom metric)", name, strings.Join(models.MetricNames(), ", "))
	}
	classify := models.Classifies(ds, cfg.Loss)
	binary := classify && ds.Targets() == datasets.KindBinary
	// What Evaluate will set for these targets, read through the table.
	probe := models.Metrics{N: 1, Classify: classify, Regress: !ds.ClassIndices() && !binary, HasAUC: binary}
	if _, ok := def.Of(probe); ok {
		return nil
	}
	var have []string
	for _, m := range models.MetricTable() {
		if _, ok := m.Of(probe); ok {
			have = append(have, m.Name)
		}
	}
	kind := "a regression"
	if classify {
		kind = "a classification"
	}
	return errors.Errorf("%q is not available for %s with %s (want %s)", name, ds.Targets(), kind, strings.Join(have, ", "))
}

func isCustom(cfg Config, name string) bool {
	for _, m := range cfg.Custom {
		if m.Name == name {
			return true
		}
	}
	return false
}

// metricRun is what a Fit measures after every epoch.
type metricRun struct {
	train, val   *models.Evaluator // nil: not measured
	trainMetrics []string          // metrics of the training data, by base name
	valMetrics   []string          // of the validation set, by base name
}

// setupMetrics decides which metrics the Fit records — History.Metric and
// Config.Metrics on the validation set and the training data — and checks
// each is available before the first step.
func (r *run) setupMetrics(metric string) error {
	cfg := r.cfg
	if err := checkCustomMetrics(cfg.Custom); err != nil {
		return err
	}
	mr := &metricRun{}
	r.metrics = mr
	r.hist.higher = map[string]bool{"loss": false, "val_loss": false}
	add := func(list *[]string, set, base string) error {
		ds := r.mem
		if set == "val" {
			ds = cfg.Validation
		} else if ds == nil {
			return errors.Errorf("trainers: Config.Metrics: %q on the training data needs it in memory (a *datasets.Dataset), not a %T; measure it on the validation set (\"val_%s\")", base, r.train, base)
		}
		if def, ok := models.LookupMetric(base); ok {
			base = def.Name
			if err := available(cfg, ds, base); err != nil {
				return errors.Wrapf(err, "trainers: Config.Metrics")
			}
			r.hist.higher[key(set, base)] = def.HigherIsBetter
		} else if c, ok := customNamed(cfg, base); ok {
			r.hist.higher[key(set, base)] = c.HigherIsBetter
		} else {
			return errors.Errorf("trainers: Config.Metrics: unknown metric %q (want one of %s, or a Config.Custom metric)", base, strings.Join(models.MetricNames(), ", "))
		}
		for _, have := range *list {
			if have == base {
				return nil
			}
		}
		*list = append(*list, base)
		return nil
	}
	if cfg.Validation != nil {
		if err := add(&mr.valMetrics, "val", metric); err != nil {
			return err
		}
	}
	names := append([]string(nil), cfg.Metrics...)
	for _, c := range cfg.Custom {
		names = append(names, c.Name)
	}
	for _, name := range names {
		set, base := models.SplitMetricName(name)
		if base == "loss" && set == "train" {
			continue // always recorded
		}
		if set == "val" || !strings.HasPrefix(name, "train_") && cfg.Validation != nil {
			if cfg.Validation == nil {
				return errors.Errorf("trainers: Config.Metrics %q needs Config.Validation", name)
			}
			if base != "loss" {
				if err := add(&mr.valMetrics, "val", base); err != nil {
					return err
				}
			}
		}
		if set == "train" {
			if err := add(&mr.trainMetrics, "train", base); err != nil {
				return err
			}
		}
	}
	if cfg.Validation != nil {
		mr.val = models.NewEvaluator(r.model, r.params, cfg.Loss, cfg.EvalChunk)
		if err := mr.val.AddMetrics(cfg.Custom...); err != nil {
			return errors.Wrap(err, "trainers")
		}
	}
	if len(mr.trainMetrics) > 0 {
		mr.train = models.NewEvaluator(r.model, r.params, cfg.Loss, cfg.EvalChunk)
		if err := mr.train.AddMetrics(cfg.Custom...); err != nil {
			return errors.Wrap(err, "trainers")
		}
	}
	if len(mr.trainMetrics)+len(mr.valMetrics) > 0 {
		r.hist.Metrics = map[string][]float64{}
		for _, m := range mr.trainMetrics {
			r.hist.Metrics[m] = []float64{}
		}
		for _, m := range mr.valMetrics {
			r.hist.Metrics["val_"+m] = []float64{}
		}
	}
	return nil
}

func key(set, base string) string {
	if set == "val" {
		return "val_" + base
	}
	return base
}

func customNamed(cfg Config, name string) (models.Metric, bool) {
	for _, m := range cfg.Custom {
		if m.Name == name {
			return m, true
		}
	}
	return models.Metric{}, false
}

// checkCustomMetrics checks Config.Custom as an Evaluator would.
func checkCustomMetrics(ms []models.Metric) error {
	return errors.Wrap(models.NewEvaluator(nil, nil, nil, 0).AddMetrics(ms...), "trainers: Config.Custom")
}

func (mr *metricRun) close() {
	if mr == nil {
		return
	}
	if mr.train != nil {
		mr.train.Close()
	}
	if mr.val != nil {
		mr.val.Close()
	}
}

// measure evaluates the epoch's metrics into rec and returns the quantity
// the schedules monitor (the validation loss, else the training loss).
func (r *run) measure(ctx context.Context, epoch int, rec *Epoch) (float64, error) {
	mr := r.metrics
	monitored := rec.TrainLoss
	h := r.hist
	t0 := time.Now()
	defer func() { r.evalDur += time.Since(t0) }()
	if mr.train != nil {
		met, err := mr.train.EvaluateContext(ctx, r.mem)
		if err != nil {
			return 0, errors.Wrapf(err, "trainers: epoch %d: training metrics", epoch+1)
		}
		for _, name := range mr.trainMetrics {
			v, ok := met.Metric(name)
			if !ok {
				return 0, errors.Errorf("trainers: epoch %d: metric %q is not available for the training set", epoch+1, name)
			}
			h.Metrics[name] = append(h.Metrics[name], v)
		}
	}
	if mr.val != nil {
		met, err := mr.val.EvaluateContext(ctx, r.cfg.Validation)
		if err != nil {
			return 0, errors.Wrapf(err, "trainers: epoch %d: validation", epoch+1)
		}
		for _, name := range mr.valMetrics {
			v, ok := met.Metric(name)
			if !ok {
				return 0, errors.Errorf("trainers: epoch %d: metric %q is not available for this validation set", epoch+1, name)
			}
			h.Metrics["val_"+name] = append(h.Metrics["val_"+name], v)
		}
		vm := h.Metrics["val_"+h.Metric]
		rec.HasVal, rec.ValLoss, rec.ValMetric = true, met.Loss, vm[len(vm)-1]
		monitored = met.Loss
	}
	return monitored, nil
}

// Value returns a quantity of epoch i (the index in Epochs, from 0) by its
// Keras name: "loss" (or "train_loss"), "val_loss", "val_metric" (the
// validation metric, named by Metric), or any recorded metric ("accuracy",
// "val_accuracy", "val_auc", a custom one); false if it was not recorded.
func (h *History) Value(name string, i int) (float64, bool) {
	if h == nil || i < 0 || i >= len(h.Epochs) {
		return 0, false
	}
	e := h.Epochs[i]
	switch name {
	case "loss", "train_loss":
		return e.TrainLoss, true
	case "val_loss":
		return e.ValLoss, e.HasVal
	case "val_metric":
		return e.ValMetric, e.HasVal
	}
	if s := h.Metrics[name]; i < len(s) {
		return s[i], true
	}
	if h.Metric != "" && name == "val_"+h.Metric {
		return e.ValMetric, e.HasVal
	}
	return 0, false
}

// Names lists the quantities the Fit records after every epoch, by Keras
// name, sorted: "loss", "val_loss" with a validation set, and Metrics.
func (h *History) Names() []string {
	if h == nil {
		return nil
	}
	names := []string{"loss"}
	hasVal := h.Metric != ""
	for _, e := range h.Epochs {
		hasVal = hasVal || e.HasVal
	}
	if hasVal {
		names = append(names, "val_loss")
		if h.Metric != "" {
			names = append(names, "val_"+h.Metric)
		}
	}
	for k := range h.Metrics {
		if k != "val_"+h.Metric {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	return names
}

// HigherIsBetter reports whether higher values of the named quantity (as
// in Epoch.Value) are better, from the table of metrics or the custom
// metric's definition; losses and unknown names are lower-is-better.
func (h *History) HigherIsBetter(name string) bool {
	if name == "val_metric" && h != nil {
		name = "val_" + h.Metric
	}
	if h != nil {
		if hi, ok := h.higher[name]; ok {
			return hi
		}
	}
	_, base := models.SplitMetricName(name)
	def, ok := models.LookupMetric(base)
	return ok && def.HigherIsBetter
}

// checkMonitored says whether the named quantity will be recorded in every
// epoch of h: a FitBegin check, so that a callback monitoring a quantity the
// Fit does not have fails before the first step.
func checkMonitored(who, name string, h *History) error {
	asked := name
	switch name {
	case "loss", "train_loss":
		return nil
	case "val_metric":
		if h.Metric == "" {
			return errors.Errorf("trainers: %s monitors \"val_metric\", which needs a validation set (Config.Validation)", who)
		}
		name = "val_" + h.Metric
	}
	set, _ := models.SplitMetricName(name)
	hasVal := false
	for _, v := range h.Names() {
		hasVal = hasVal || v == "val_loss"
		if v == name {
			return nil
		}
	}
	if set == "val" && !hasVal {
		return errors.Errorf("trainers: %s monitors %q, which needs a validation set (Config.Validation); monitor \"loss\" to use the training loss", who, asked)
	}
	return errors.Errorf("trainers: %s monitors %q, which this Fit does not record (it records %s; add the metric to Config.Metrics)", who, asked, strings.Join(h.Names(), ", "))
}
