package outcome

import (
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/runtime/eval"
	"parak8s.dev/parak8s/runtime/step"
)

// Outcome is what train and evaluate left for track, publish and record:
// the model directory's manifest and history, and the evaluation report.
type Outcome struct {
	Manifest *bundle.Manifest // nil without a model directory
	History  bundle.History
	Report   *eval.Report // nil without a metrics directory
	Split    string
}

// Read reads the model directory (when modelDir is not empty) and the
// metrics directory (when metricsDir is not empty). A model trained for
// another trial than trialID is a mismatch (exit code 3).
func Read(modelDir, metricsDir, split, trialID string) (Outcome, error) {
	o := Outcome{Split: split}
	if o.Split == "" {
		o.Split = "val"
	}
	if modelDir != "" {
		if err := statDir(modelDir); err != nil {
			return o, fmt.Errorf("reading model: %w", err)
		}
		m, err := bundle.ReadManifest(modelDir)
		if err != nil {
			return o, err
		}
		if m.Trial != "" && trialID != "" && m.Trial != trialID {
			return o, fmt.Errorf("%w: the model in %s was trained for trial %s, not %s",
				step.ErrMismatch, modelDir, step.Short(m.Trial), step.Short(trialID))
		}
		o.Manifest = &m
		if o.History, err = bundle.ReadHistory(modelDir); err != nil {
			return o, err
		}
	}
	if metricsDir != "" {
		if err := statDir(metricsDir); err != nil {
			return o, fmt.Errorf("reading metrics: %w", err)
		}
		r, err := eval.Read(filepath.Join(metricsDir, bundle.FileMetrics))
		if err != nil {
			return o, fmt.Errorf("reading metrics: %w", err)
		}
		o.Report = r
	}
	return o, nil
}

func statDir(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", path)
	}
	return nil
}

// Final returns the final (evaluation) metrics by name, and the names of
// the ones that are undefined.
func (o Outcome) Final() (values map[string]float64, undefined []string) {
	values = map[string]float64{}
	r := o.Report
	if r == nil {
		return values, nil
	}
	p := o.Split + "_"
	put := func(name string, v float64, ok bool) {
		if ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
			values[name] = v
		} else {
			undefined = append(undefined, name)
		}
	}
	summaryDefined := func(name string) bool { return !slices.Contains(r.Undefined, name) }
	put(p+"accuracy", r.Accuracy, r.N > 0)
	avgs := []struct {
		name             string
		macro, weighted  float64
		binary           func(eval.ClassMetrics) float64
		binaryMetricName string
	}{
		{"auc", r.Macro.AUC, r.Weighted.AUC, nil, eval.MetricAUC},
		{"precision", r.Macro.Precision, r.Weighted.Precision, func(c eval.ClassMetrics) float64 { return c.Precision }, eval.MetricPrecision},
		{"recall", r.Macro.Recall, r.Weighted.Recall, func(c eval.ClassMetrics) float64 { return c.Recall }, eval.MetricRecall},
		{"specificity", r.Macro.Specificity, r.Weighted.Specificity, nil, eval.MetricSpecificity},
		{"f1", r.Macro.F1, r.Weighted.F1, func(c eval.ClassMetrics) float64 { return c.F1 }, eval.MetricF1},
	}
	for _, a := range avgs {
		put(p+a.name+"_macro", a.macro, summaryDefined(a.name+"_macro"))
		put(p+a.name+"_weighted", a.weighted, summaryDefined(a.name+"_weighted"))
		if a.name == "specificity" {
			continue // not a headline metric (the push condition does not know it)
		}
		switch {
		case r.Binary != nil && a.name == "auc":
			put(p+"auc", r.Binary.AUC, r.Binary.ROC.Defined)
		case r.Binary != nil && len(r.PerClass) == 2:
			pos := r.PerClass[1]
			put(p+a.name, a.binary(pos), pos.Defined(a.binaryMetricName))
		default:
			put(p+a.name, a.macro, summaryDefined(a.name+"_macro"))
		}
	}
	for _, c := range r.PerClass {
		cp := p + MetricSafe(c.Class) + "_"
		put(cp+"precision", c.Precision, c.Defined(eval.MetricPrecision))
		put(cp+"recall", c.Recall, c.Defined(eval.MetricRecall))
		put(cp+"specificity", c.Specificity, c.Defined(eval.MetricSpecificity))
		put(cp+"f1", c.F1, c.Defined(eval.MetricF1))
		put(cp+"auc", c.AUC, c.Defined(eval.MetricAUC))
	}
	slices.Sort(undefined)
	return values, undefined
}

// MetricSafe keeps the characters MLflow allows in a metric key and turns
// the others into '_'.
func MetricSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
			return r
		}
		return '_'
	}, s)
}

// ConditionMetrics are the metrics a push condition is checked against: the
// final metrics, and from the model's kept (best) epoch train_loss, val_loss
// and the val_<k> the evaluation did not compute (when the evaluated split is
// test, or the evaluation left one undefined, the condition still sees the
// kept epoch's validation values). undefined lists the names that exist but
// have no value.
func (o Outcome) ConditionMetrics() (values map[string]float64, undefined []string) {
	values, undefined = o.Final()
	if o.Manifest == nil {
		return values, undefined
	}
	add := func(name string, v float64) {
		if _, ok := values[name]; ok || math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
		values[name] = v
		undefined = slices.DeleteFunc(undefined, func(u string) bool { return u == name })
	}
	if e, ok := o.BestEpoch(); ok {
		add("train_loss", e.TrainLoss)
		add("val_loss", e.ValLoss)
		for _, k := range slices.Sorted(maps.Keys(e.Val)) {
			add(ValName(k), e.Val[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(o.Manifest.Val)) {
		add(ValName(k), o.Manifest.Val[k])
	}
	return values, undefined
}

// BestEpoch returns the history entry of the epoch whose weights were kept.
func (o Outcome) BestEpoch() (bundle.Epoch, bool) {
	if o.Manifest == nil {
		return bundle.Epoch{}, false
	}
	for _, e := range o.History.Epochs {
		if e.Epoch == o.Manifest.BestEpoch {
			return e, true
		}
	}
	return bundle.Epoch{}, false
}

// ValName is the metric name of a key of an epoch's validation metrics.
func ValName(k string) string { return "val_" + MetricSafe(strings.TrimPrefix(k, "val_")) }

// EpochPoint is one value of a per-epoch metric.
type EpochPoint struct {
	Name  string
	Epoch int64
	Value float64
	Time  time.Time
}

// Epochs returns the per-epoch metrics of the history, in epoch order. The
// times are derived from the history, not the clock, so that recording the
// same model twice gives the same points: the last epoch ends at end (the
// model's creation time) and every epoch took its recorded seconds. A
// refit model's second run comes last, as refit_train_loss.
func (o Outcome) Epochs(end time.Time) []EpochPoint {
	var total float64
	for _, e := range slices.Concat(o.History.Epochs, o.History.Refit) {
		total += max(e.Seconds, 0)
	}
	var done float64
	ended := func(e bundle.Epoch) time.Time { // when e ended, epochs being in order
		done += max(e.Seconds, 0)
		return end.Add(-time.Duration((total - done) * float64(time.Second))).Truncate(time.Millisecond)
	}
	var pts []EpochPoint
	for _, e := range o.History.Epochs {
		at := ended(e)
		n := int64(e.Epoch)
		pts = append(pts,
			EpochPoint{"train_loss", n, e.TrainLoss, at},
			EpochPoint{"val_loss", n, e.ValLoss, at},
			EpochPoint{"lr", n, e.LR, at},
		)
		for _, k := range slices.Sorted(maps.Keys(e.Val)) {
			if name := ValName(k); name != "val_loss" {
				pts = append(pts, EpochPoint{name, n, e.Val[k], at})
			}
		}
	}
	for _, e := range o.History.Refit {
		pts = append(pts, EpochPoint{"refit_train_loss", int64(e.Epoch), e.TrainLoss, ended(e)})
	}
	return pts
}

// LastEpoch is the number of the last trained epoch (0 without history).
func (o Outcome) LastEpoch() int64 {
	var n int64
	for _, e := range o.History.Epochs {
		n = max(n, int64(e.Epoch))
	}
	if o.Manifest != nil {
		n = max(n, int64(o.Manifest.Epochs))
	}
	return n
}

// TrainingTime is the wall time of the epochs in the history.
func (o Outcome) TrainingTime() time.Duration {
	var s float64
	for _, e := range o.History.Epochs {
		s += max(e.Seconds, 0)
	}
	return time.Duration(s * float64(time.Second))
}

// SweepPoint is the trial's swept values as a JSON object, path → value
// ("{}" for a trial without a sweep).
func SweepPoint(overrides []step.Override) ([]byte, error) {
	m := make(map[string]any, len(overrides))
	for _, o := range overrides {
		m[o.Path] = o.Value
	}
	b, err := step.Canonical(m)
	if err != nil {
		return nil, fmt.Errorf("encoding the sweep point: %w", err)
	}
	return b, nil
}
