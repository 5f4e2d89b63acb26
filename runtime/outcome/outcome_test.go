package outcome_test

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"parak8s.dev/parak8s/internal/stepfixture"
	"parak8s.dev/parak8s/runtime/eval"
	"parak8s.dev/parak8s/runtime/outcome"
	"parak8s.dev/parak8s/runtime/step"
)

// TestFinalMetrics checks the names and values the steps derive from an
// evaluation report.
func TestFinalMetrics(t *testing.T) {
	tests := []struct {
		fixture, split string
		// want maps names to a function of the report giving the value
		want      map[string]func(r *eval.Report) float64
		undefined []string
		absent    []string
	}{
		{
			fixture: "good", split: "val",
			want: map[string]func(r *eval.Report) float64{
				"val_accuracy":    func(r *eval.Report) float64 { return r.Accuracy },
				"val_auc":         func(r *eval.Report) float64 { return r.Macro.AUC },
				"val_f1":          func(r *eval.Report) float64 { return r.Macro.F1 },
				"val_precision":   func(r *eval.Report) float64 { return r.Macro.Precision },
				"val_recall":      func(r *eval.Report) float64 { return r.Macro.Recall },
				"val_f1_macro":    func(r *eval.Report) float64 { return r.Macro.F1 },
				"val_f1_weighted": func(r *eval.Report) float64 { return r.Weighted.F1 },
				"val_specificity_macro": func(r *eval.Report) float64 {
					return r.Macro.Specificity
				},
				"val_N_recall": func(r *eval.Report) float64 { return r.PerClass[0].Recall },
				"val_S_f1":     func(r *eval.Report) float64 { return r.PerClass[1].F1 },
				"val_Q_auc":    func(r *eval.Report) float64 { return r.PerClass[4].AUC },
			},
			absent: []string{"val_specificity", "val_loss", "train_loss", "test_accuracy"},
		},
		{
			fixture: "binary", split: "test",
			want: map[string]func(r *eval.Report) float64{
				"test_accuracy":          func(r *eval.Report) float64 { return r.Accuracy },
				"test_auc":               func(r *eval.Report) float64 { return r.Binary.AUC },
				"test_precision":         func(r *eval.Report) float64 { return r.PerClass[1].Precision },
				"test_recall":            func(r *eval.Report) float64 { return r.PerClass[1].Recall },
				"test_f1":                func(r *eval.Report) float64 { return r.PerClass[1].F1 },
				"test_f1_macro":          func(r *eval.Report) float64 { return r.Macro.F1 },
				"test_NORMAL_precision":  func(r *eval.Report) float64 { return r.PerClass[0].Precision },
				"test_PNEUMONIA_recall":  func(r *eval.Report) float64 { return r.PerClass[1].Recall },
				"test_auc_weighted":      func(r *eval.Report) float64 { return r.Weighted.AUC },
				"test_specificity_macro": func(r *eval.Report) float64 { return r.Macro.Specificity },
			},
			absent: []string{"val_accuracy"},
		},
		{
			fixture: "silent", split: "val",
			want: map[string]func(r *eval.Report) float64{
				"val_accuracy": func(r *eval.Report) float64 { return 0.5 },
				"val_recall":   func(r *eval.Report) float64 { return 0 },
				"val_f1":       func(r *eval.Report) float64 { return 0 },
			},
			undefined: []string{"val_PNEUMONIA_precision", "val_precision"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			in, ok := stepfixture.Named(tt.fixture)
			if !ok {
				t.Fatal("no fixture")
			}
			dir := t.TempDir()
			r, err := stepfixture.WriteMetrics(dir, in)
			if err != nil {
				t.Fatal(err)
			}
			o, err := outcome.Read("", dir, tt.split, "")
			if err != nil {
				t.Fatal(err)
			}
			got, undefined := o.Final()
			for name, f := range tt.want {
				v, ok := got[name]
				if !ok {
					t.Errorf("%s missing", name)
					continue
				}
				if want := f(r); v != want {
					t.Errorf("%s = %v, want %v", name, v, want)
				}
			}
			for _, name := range tt.absent {
				if _, ok := got[name]; ok {
					t.Errorf("%s present", name)
				}
			}
			for _, name := range tt.undefined {
				if _, ok := got[name]; ok || !slices.Contains(undefined, name) {
					t.Errorf("%s: present %v, listed undefined %v; want absent and listed", name, ok, slices.Contains(undefined, name))
				}
			}
			for name, v := range got {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Errorf("%s = %v", name, v)
				}
			}
		})
	}
}

// TestCheck checks push conditions against the final metrics and
// the model's kept epoch.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	if err := stepfixture.WriteModel(model, stepfixture.Model{Experiment: "ecg-aami", Classes: stepfixture.ECG(), Epochs: 3, Weights: 8}); err != nil {
		t.Fatal(err)
	}
	metrics := map[string]string{}
	for _, name := range []string{"good", "poor", "silent"} {
		in, _ := stepfixture.Named(name)
		metrics[name] = filepath.Join(dir, name)
		if _, err := stepfixture.WriteMetrics(metrics[name], in); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		cond, metrics, split string
		holds                bool
		why, err             string
	}{
		{cond: "", metrics: "good", split: "val", holds: true, why: "no condition"},
		{cond: "val_f1 >= 0.80", metrics: "good", split: "val", holds: true, why: "val_f1 = 0.893"},
		{cond: "val_f1 >= 0.80", metrics: "poor", split: "val", holds: false, why: "val_f1 = 0.5"},
		{cond: "val_accuracy == 0.9", metrics: "good", split: "val", holds: true},
		{cond: "val_auc > 0.99", metrics: "good", split: "val", holds: true},
		// losses come from the kept (third) epoch: train 1/3, val 0.45
		{cond: "val_loss < 0.46", metrics: "good", split: "val", holds: true, why: "val_loss = 0.44"},
		{cond: "train_loss < 0.3", metrics: "good", split: "val", holds: false},
		// evaluated on test: val_* come from the kept epoch (f1 0.85)
		{cond: "val_f1 > 0.84", metrics: "good", split: "test", holds: true, why: "val_f1 = 0.85"},
		{cond: "test_f1 > 0.89", metrics: "good", split: "test", holds: true},
		{cond: "test_auc >= 0.5", metrics: "good", split: "val", err: `metric "test_auc" was not computed`},
		{cond: "val_precision >= 0.1", metrics: "silent", split: "val", holds: false, why: "val_precision is undefined"},
		{cond: "val_recall < 0.1", metrics: "silent", split: "val", holds: true},
	}
	for _, tt := range tests {
		t.Run(tt.cond+"/"+tt.metrics+"/"+tt.split, func(t *testing.T) {
			c, err := step.ParseCondition(tt.cond)
			if err != nil {
				t.Fatal(err)
			}
			o, err := outcome.Read(model, metrics[tt.metrics], tt.split, "")
			if err != nil {
				t.Fatal(err)
			}
			holds, why, err := o.Check(c)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if holds != tt.holds || !strings.HasPrefix(why, tt.why) {
				t.Errorf("holds %v (%s), want %v (%s…)", holds, why, tt.holds, tt.why)
			}
		})
	}
}
