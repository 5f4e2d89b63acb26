package steps

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/runtime/data/loader"
	"parak8s.dev/parak8s/runtime/dataset"
	"parak8s.dev/parak8s/runtime/eval"
	"parak8s.dev/parak8s/runtime/model"
	"parak8s.dev/parak8s/runtime/score"
	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/schema"
)

// EvaluateArgs say what to score and where the metrics go.
type EvaluateArgs struct {
	Model string // the model directory (from Train)
	// Data is a prepared data set, or raw data of the kind the model was
	// trained on (WFDB record directory, beat CSV, image folder).
	Data string
	// Split is the split to score; "" is the model's evaluation.split and,
	// for raw WFDB data, every record of Data.
	Split string
	// Out ending in .json is the metrics file; otherwise a directory that
	// gets metrics.json, roc.svg, confusion.svg and predictions.csv.
	Out string
	// Trial, when set, must be the model's trial id.
	Trial   string
	Threads int // libtorch threads (0: the CPU count)
	// Lead, when set, reads raw WFDB records' signal of that name in place
	// of the model's data.signal.lead: records of a database whose leads
	// are named otherwise (the MIT-BIH Supraventricular Arrhythmia
	// Database has ECG1 and ECG2, no MLII).
	Lead string
}

// Evaluate scores a model directory on a data set with score.Score, writes
// the metrics (and plots and predictions) and prints one line of headline
// figures.
func Evaluate(ctx context.Context, e Env, a EvaluateArgs) (*eval.Report, error) {
	man, err := bundle.ReadManifest(a.Model)
	if err != nil {
		return nil, err
	}
	if a.Trial != "" && a.Trial != man.Trial {
		return nil, fmt.Errorf("%w: %s %s, but the model in %s is trial %s", step.ErrMismatch, step.FlagTrial, step.Short(a.Trial), a.Model, step.Short(man.Trial))
	}
	cfg, err := bundle.ReadConfig(a.Model)
	if err != nil {
		return nil, err
	}
	var exp schema.Experiment
	if err := decode(cfg, &exp); err != nil {
		return nil, fmt.Errorf("reading model %s: %w", a.Model, err)
	}
	if a.Lead != "" {
		if exp.Data.Source.Kind != schema.SourceWFDB || exp.Data.Signal == nil {
			return nil, fmt.Errorf("--lead %q: the model in %s reads %s data, not WFDB records", a.Lead, a.Model, exp.Data.Source.Kind)
		}
		exp.Data.Signal.Lead, exp.Data.Signal.OtherLeads = a.Lead, nil
	}
	// Raw WFDB data: every record of the data (say a held-out record set),
	// unless the split named is one whose records the model's config lists.
	exp.Data.Source.Records = nil
	split, named := a.Split, a.Split != ""
	if named {
		if exp.Data.Source.Records, err = dataset.SplitRecords(exp.Data.Split, split); err != nil {
			return nil, fmt.Errorf("reading model %s: %w", a.Model, err)
		}
	} else {
		split = exp.Evaluation.Split
	}
	var set *dataset.Set
	prepared := false
	if _, statErr := os.Stat(filepath.Join(a.Data, dataset.FileManifest)); statErr == nil {
		if a.Lead != "" {
			return nil, fmt.Errorf("--lead %q: %s is a prepared data set, whose lead was read when it was prepared; --lead reads raw WFDB records", a.Lead, a.Data)
		}
		set, err = dataset.Open(a.Data)
		prepared = true
	} else {
		set, err = dataset.OpenRaw(ctx, exp.Data, a.Data, split)
	}
	if err != nil {
		return nil, err
	}
	if dm := set.Manifest(); !slices.Equal(dm.Input, man.Input) || dm.Features != man.Features || !slices.Equal(dm.Classes, man.Classes) {
		return nil, fmt.Errorf("data in %s (input %v + %d features, classes %v) does not fit the model in %s (input %v + %d, classes %v)",
			a.Data, dm.Input, dm.Features, dm.Classes, a.Model, man.Input, man.Features, man.Classes)
	}
	src, err := set.Split(split, dataset.DefaultSplitOptions())
	if err != nil {
		return nil, err
	}
	weights, note := bundle.FileWeights, ""
	if SelectionWeights(man, split, named, prepared, set.Manifest().DataKey) {
		weights, note = bundle.FileSelection, " (selection weights: the refit model trained on val)"
	}
	s, err := scoreModel(filepath.Join(a.Model, weights), man, exp, src, a.Threads)
	if err != nil {
		return nil, fmt.Errorf("evaluating %s on %s (%s): %w", a.Model, a.Data, split, err)
	}
	if err := writeMetrics(a.Out, s); err != nil {
		return nil, err
	}
	what := split
	if !named && !prepared && exp.Data.Source.Kind == schema.SourceWFDB {
		what = "every record"
	}
	fmt.Fprintf(e.Stdout, "%s on %s (%s, %d samples)%s: accuracy %.4f, auc_macro %s, f1_macro %.4f, recall %s\n",
		a.Model, a.Data, what, s.report.N, note, s.report.Accuracy, formatUndefined(s.report.Macro.AUC), s.report.Macro.F1, recalls(s.report))
	return s.report, nil
}

// SelectionWeights reports whether evaluating split must use the weights
// the selection run chose (bundle.FileSelection) instead of the shipped
// ones: the model was refit on train + val (training.refit) and the split
// is its own val split, which the refit weights saw. That is val named on
// raw data (the records its config lists), or the prepared data set of the
// model's own data key (dataKey is the prepared set's; prepared says the
// data is a prepared set).
func SelectionWeights(man bundle.Manifest, split string, named, prepared bool, dataKey string) bool {
	return man.Refit != nil && split == dataset.SplitVal && (named && !prepared || prepared && dataKey == man.DataKey)
}

type scored struct {
	report *eval.Report
	in     eval.Input
	curves []eval.ROCCurve
}

// scoreModel runs the model with the weights file over every sample of src.
func scoreModel(weights string, man bundle.Manifest, exp schema.Experiment, src loader.Source, threads int) (*scored, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	model.SetThreads(threads)
	net, err := model.New(model.Spec{Model: exp.Model, Classes: len(man.Classes), ClassNames: man.Classes, Input: man.Input, Features: man.Features})
	if err != nil {
		return nil, err
	}
	defer net.Close()
	if _, err := net.Load(weights, model.LoadOptions{}); err != nil {
		return nil, err
	}
	if src.Len() == 0 {
		return nil, fmt.Errorf("no samples")
	}
	samples, err := score.Read(src)
	if err != nil {
		return nil, err
	}
	rep, in, err := score.Score(net, man.Classes, samples, exp)
	if err != nil {
		return nil, err
	}
	curves, err := eval.ROCCurves(in, score.Options(exp, len(man.Classes)))
	if err != nil {
		return nil, err
	}
	return &scored{report: rep, in: in, curves: curves}, nil
}

// writeMetrics writes METRICS.json, or a metrics directory with plots and
// per-sample predictions.
func writeMetrics(out string, s *scored) error {
	if strings.HasSuffix(out, ".json") {
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return s.report.Write(out)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	roc, err := eval.PlotROC(s.curves, eval.DefaultPlotOptions())
	if err != nil {
		return err
	}
	if err := eval.WriteSVG(filepath.Join(out, bundle.FileROC), roc); err != nil {
		return err
	}
	conf, err := eval.PlotConfusion(s.report.Confusion, eval.DefaultPlotOptions())
	if err != nil {
		return err
	}
	if err := eval.WriteSVG(filepath.Join(out, bundle.FileConfusion), conf); err != nil {
		return err
	}
	var b strings.Builder
	k := len(s.in.Classes)
	b.WriteString("index,label")
	for _, c := range s.in.Classes {
		b.WriteString(",p_" + c)
	}
	b.WriteByte('\n')
	for i, y := range s.in.Labels {
		fmt.Fprintf(&b, "%d,%s", i, s.in.Classes[y])
		for _, p := range s.in.Probs[i*k : (i+1)*k] {
			fmt.Fprintf(&b, ",%.6g", p)
		}
		b.WriteByte('\n')
	}
	if err := bundle.WriteFile(filepath.Join(out, bundle.FilePredict), []byte(b.String())); err != nil {
		return err
	}
	// metrics.json last: a metrics directory with it is complete.
	return s.report.Write(filepath.Join(out, bundle.FileMetrics))
}

func recalls(r *eval.Report) string {
	parts := make([]string, len(r.PerClass))
	for i, c := range r.PerClass {
		parts[i] = fmt.Sprintf("%s %.3f", r.Classes[i], c.Recall)
	}
	return strings.Join(parts, " ")
}

func formatUndefined(v float64) string {
	if v != v {
		return "undefined"
	}
	return fmt.Sprintf("%.4f", v)
}
