package report

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/runtime/eval"
	"parak8s.dev/parak8s/runtime/step"
)

// Input is what a report is made of.
type Input struct {
	// Experiment names the experiment.
	Experiment string
	// Params are the swept paths, in sweep order (one plot each).
	Params []string
	// Trials are the trials to show.
	Trials []Trial
	// TrackingURI is the MLflow server the trials were tracked on; with a
	// run id, a trial links to its run there (http and https only).
	TrackingURI string
}

// Trial is one trial's folders, as the runner leaves them.
type Trial struct {
	ID string
	// Label is a readable summary of the swept values.
	Label string
	// Overrides are the swept values.
	Overrides []step.Override
	// Status is the trial's state in words ("finished", "failed", …).
	Status string
	// ModelDir holds model.json, history.json and training.svg;
	// MetricsDir metrics.json, roc.svg and confusion.svg. Missing files
	// leave their part of the report out.
	ModelDir, MetricsDir string
	// RunID is the MLflow run id ("" when not tracked).
	RunID string
}

// Options tune Write.
type Options struct {
	// Metric ranks the trials: a key of metrics.json ("accuracy",
	// "f1_macro", "auc", "recall_weighted", …; "f1", "precision", "recall",
	// "specificity" are the macro averages) or "val_" and a metric the
	// training monitored (from model.json). Losses rank lowest first.
	Metric string
	// Generated is the time printed in the report (zero: none).
	Generated time.Time
	// Details is how many trials, best first, get their curves, ROC,
	// confusion matrix and per-class table in the report (0: DefaultDetails;
	// negative: all). The others keep their leaderboard row and their line
	// in the sweep plots: a report of a 1,000-trial sweep stays a few MB
	// and opens in a second.
	Details int
}

// DefaultDetails is the number of trials shown in detail when Options.Details
// is 0.
const DefaultDetails = 100

// DefaultOptions ranks trials by the macro-averaged F1 score.
func DefaultOptions() Options { return Options{Metric: "f1_macro"} }

// Metrics returns the names Options.Metric accepts besides "val_…".
func Metrics() []string {
	return []string{
		"accuracy", "auc", "f1", "precision", "recall", "specificity",
		"auc_macro", "f1_macro", "precision_macro", "recall_macro", "specificity_macro",
		"auc_weighted", "f1_weighted", "precision_weighted", "recall_weighted", "specificity_weighted",
	}
}

// CheckMetric reports whether a metric name is one a report can rank by.
func CheckMetric(name string) error {
	if slices.Contains(Metrics(), name) || (strings.HasPrefix(name, "val_") && len(name) > 4) {
		return nil
	}
	return fmt.Errorf("unknown metric %q (want one of %s, or val_ and a training metric such as val_loss)", name, strings.Join(Metrics(), ", "))
}

// lowerIsBetter reports whether smaller values of the metric are better.
func lowerIsBetter(name string) bool { return strings.Contains(name, "loss") }

// Value returns a metric of an evaluation report or a model manifest; false
// when it is undefined or missing.
func Value(name string, r *eval.Report, m *bundle.Manifest) (float64, bool) {
	if rest, ok := strings.CutPrefix(name, "val_"); ok {
		if m == nil {
			return 0, false
		}
		v, ok := m.Val[rest]
		if !ok || math.IsNaN(v) {
			return 0, false
		}
		return v, true
	}
	if r == nil || slices.Contains(r.Undefined, name) {
		return 0, false
	}
	switch name {
	case "f1", "precision", "recall", "specificity":
		return Value(name+"_macro", r, m)
	case "accuracy":
		return r.Accuracy, true
	case "auc":
		if r.Binary != nil {
			return r.Binary.AUC, true
		}
		return Value("auc_macro", r, m)
	}
	avg := r.Macro
	base, kind, _ := strings.Cut(name, "_")
	if kind == "weighted" {
		avg = r.Weighted
	} else if kind != "macro" {
		return 0, false
	}
	switch base {
	case "auc":
		return avg.AUC, true
	case "f1":
		return avg.F1, true
	case "precision":
		return avg.Precision, true
	case "recall":
		return avg.Recall, true
	case "specificity":
		return avg.Specificity, true
	}
	return 0, false
}

// loaded is one trial with what its folders hold.
type loaded struct {
	Trial
	Short    string
	Manifest *bundle.Manifest
	History  bundle.History
	Report   *eval.Report
	Value    float64
	HasValue bool
	// Images are data: URIs of the SVG plots the steps wrote.
	Training, ROC, Confusion string
	Problems                 []string
	RunURL                   string
}

func load(t Trial, in Input, metric string) loaded {
	l := loaded{Trial: t, Short: step.Short(t.ID)}
	note := func(err error) {
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			l.Problems = append(l.Problems, err.Error())
		}
	}
	if t.ModelDir != "" {
		if _, err := os.Stat(filepath.Join(t.ModelDir, bundle.FileManifest)); err == nil {
			m, err := bundle.ReadManifest(t.ModelDir)
			note(err)
			if err == nil {
				l.Manifest = &m
			}
		}
		h, err := bundle.ReadHistory(t.ModelDir)
		note(err)
		l.History = h
		l.Training, err = dataURI(filepath.Join(t.ModelDir, bundle.FileTraining))
		note(err)
	}
	if t.MetricsDir != "" {
		r, err := eval.Read(filepath.Join(t.MetricsDir, bundle.FileMetrics))
		note(err)
		l.Report = r
		l.ROC, err = dataURI(filepath.Join(t.MetricsDir, bundle.FileROC))
		note(err)
		l.Confusion, err = dataURI(filepath.Join(t.MetricsDir, bundle.FileConfusion))
		note(err)
	}
	l.Value, l.HasValue = Value(metric, l.Report, l.Manifest)
	if t.RunID != "" {
		l.RunURL = runURL(in.TrackingURI, t.RunID)
	}
	return l
}

// runURL is the MLflow UI page of a run; "" when the tracking URI is not a
// web server.
func runURL(uri, runID string) string {
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return strings.TrimSuffix(u.String(), "/") + "/#/runs/" + url.PathEscape(runID)
}

// dataURI returns an SVG file as a data: URI, for an <img> element (where
// an SVG runs no script); "" (and an error wrapping os.ErrNotExist) when
// there is none.
func dataURI(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	if t := bytes.TrimSpace(b); !bytes.HasPrefix(t, []byte("<svg")) && !bytes.HasPrefix(t, []byte("<?xml")) {
		return "", fmt.Errorf("reading %s: not an SVG file", path)
	}
	return "data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString(b), nil
}

// rank sorts trials best first by the metric; trials without a value come
// last, in their input order.
func rank(ts []loaded, metric string) {
	low := lowerIsBetter(metric)
	sort.SliceStable(ts, func(i, j int) bool {
		a, b := ts[i], ts[j]
		if a.HasValue != b.HasValue {
			return a.HasValue
		}
		if !a.HasValue {
			return false
		}
		if low {
			return a.Value < b.Value
		}
		return a.Value > b.Value
	})
}

// Write renders the report as one HTML file: no scripts, no network; images
// are inline SVG or data: URIs.
func Write(w io.Writer, in Input, opts Options) error {
	if opts.Metric == "" {
		opts.Metric = DefaultOptions().Metric
	}
	if opts.Details == 0 {
		opts.Details = DefaultDetails
	}
	if err := CheckMetric(opts.Metric); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	ts := make([]loaded, len(in.Trials))
	for i, t := range in.Trials {
		ts[i] = load(t, in, opts.Metric)
	}
	rank(ts, opts.Metric)
	page, err := build(in, ts, opts)
	if err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	if err := pageTemplate().Execute(w, page); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}
