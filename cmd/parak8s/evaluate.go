package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/runtime/data/loader"
	"parak8s.dev/parak8s/runtime/dataset"
	"parak8s.dev/parak8s/runtime/eval"
	"parak8s.dev/parak8s/runtime/model"
	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/schema"
)

func newEvaluateCmd(e *env) *cobra.Command {
	var f trialFlags
	var modelDir, data, split, out string
	var threads int
	cmd := &cobra.Command{
		Use:   "evaluate --model MODEL_DIR --data PATH --out METRICS.json|DIR",
		Short: "Score a model on a data set: metrics JSON, ROC and confusion plots",
		Long: `Evaluate scores a trained model directory on PATH: a prepared data set
("parak8s prepare"), or raw data of the kind the model was trained on (a WFDB
record directory, a Kaggle-style beat CSV, or an image folder), read with the
model's own preprocessing. --split picks the split (default: the model's
evaluation.split). Raw WFDB data is every record of PATH, unless --split names
a split whose records the model's config lists; an image folder may hold
SPLIT/CLASS/ or CLASS/ directly. A model refit on train + val
(training.refit) scores its own val split (its prepared set, or --split val)
with the weights of the run that chose its epochs, which never saw val.

--out ending in .json writes the metrics there; otherwise --out is a directory
that gets metrics.json, roc.svg, confusion.svg and predictions.csv.`,
		Args: noPositional,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(
				[2]string{step.FlagModel, modelDir},
				[2]string{step.FlagData, data},
				[2]string{step.FlagOut, out},
			); err != nil {
				return err
			}
			man, err := bundle.ReadManifest(modelDir)
			if err != nil {
				return err
			}
			if f.trial != "" && f.trial != man.Trial {
				return fmt.Errorf("%w: %s %s, but the model in %s is trial %s", step.ErrMismatch, step.FlagTrial, step.Short(f.trial), modelDir, step.Short(man.Trial))
			}
			cfg, err := bundle.ReadConfig(modelDir)
			if err != nil {
				return err
			}
			var exp schema.Experiment
			if err := decode(cfg, &exp); err != nil {
				return fmt.Errorf("reading model %s: %w", modelDir, err)
			}
			// Raw WFDB data: every record of PATH (say a held-out record set),
			// unless --split names a split whose records the model's config lists.
			exp.Data.Source.Records = nil
			named := split != ""
			if named {
				if exp.Data.Source.Records, err = dataset.SplitRecords(exp.Data.Split, split); err != nil {
					return fmt.Errorf("reading model %s: %w", modelDir, err)
				}
			}
			if split == "" {
				split = exp.Evaluation.Split
			}
			var set *dataset.Set
			prepared := false
			if _, statErr := os.Stat(filepath.Join(data, dataset.FileManifest)); statErr == nil {
				set, err = dataset.Open(data)
				prepared = true
			} else {
				set, err = dataset.OpenRaw(cmd.Context(), exp.Data, data, split)
			}
			if err != nil {
				return err
			}
			if dm := set.Manifest(); !slices.Equal(dm.Input, man.Input) || dm.Features != man.Features || !slices.Equal(dm.Classes, man.Classes) {
				return fmt.Errorf("data in %s (input %v + %d features, classes %v) does not fit the model in %s (input %v + %d, classes %v)",
					data, dm.Input, dm.Features, dm.Classes, modelDir, man.Input, man.Features, man.Classes)
			}
			src, err := set.Split(split, dataset.DefaultSplitOptions())
			if err != nil {
				return err
			}
			// A refit model trained on its val split: that split (the trial's
			// own prepared set, or the val records named) is scored with the
			// weights that never saw it, those the first run selected.
			weights, note := bundle.FileWeights, ""
			if man.Refit != nil && split == dataset.SplitVal && (named && !prepared || prepared && set.Manifest().DataKey == man.DataKey) {
				weights, note = bundle.FileSelection, " (selection weights: the refit model trained on val)"
			}
			rep, err := score(filepath.Join(modelDir, weights), man, exp, src, threads)
			if err != nil {
				return fmt.Errorf("evaluating %s on %s (%s): %w", modelDir, data, split, err)
			}
			if err := writeMetrics(out, rep); err != nil {
				return err
			}
			what := split
			if !named && !prepared && exp.Data.Source.Kind == "wfdb" {
				what = "every record"
			}
			fmt.Fprintf(e.stdout, "%s on %s (%s, %d samples)%s: accuracy %.4f, auc_macro %s, f1_macro %.4f, recall %s\n",
				modelDir, data, what, rep.report.N, note, rep.report.Accuracy, formatUndefined(rep.report.Macro.AUC), rep.report.Macro.F1, recalls(rep.report))
			return nil
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&modelDir, step.FlagModel[2:], "", "the model `DIR` (from parak8s train)")
	cmd.Flags().StringVar(&data, step.FlagData[2:], "", "a prepared data set, WFDB record dir, beat CSV or image folder")
	cmd.Flags().StringVar(&split, "split", "", "the split to score (default: the model's evaluation.split)")
	cmd.Flags().StringVar(&out, step.FlagOut[2:], "", "METRICS.json, or a directory for metrics.json and plots")
	cmd.Flags().IntVar(&threads, "threads", 0, "libtorch threads (default: the CPU count)")
	return cmd
}

type scored struct {
	report *eval.Report
	in     eval.Input
	curves []eval.ROCCurve
}

// score runs the model with the weights file over every sample of src.
func score(weights string, man bundle.Manifest, exp schema.Experiment, src loader.Source, threads int) (*scored, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	model.SetThreads(threads)
	net, err := model.New(model.Spec{Model: exp.Model, Classes: len(man.Classes), Input: man.Input, Features: man.Features})
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
	x, labels, err := dataset.ReadAll(src)
	if err != nil {
		return nil, err
	}
	probs, err := net.ProbsByRecord(x, dataset.RecordIDs(src), exp.Model.AdaptBatchNorm, 512)
	if err != nil {
		return nil, err
	}
	in := eval.Input{Classes: man.Classes, Labels: labels, Probs: probs}
	opts := eval.DefaultOptions()
	if t := exp.Evaluation.Threshold; t != nil && len(man.Classes) == 2 {
		opts.UseThreshold, opts.Threshold = true, *t
	}
	rep, err := eval.Compute(in, opts)
	if err != nil {
		return nil, err
	}
	curves, err := eval.ROCCurves(in, opts)
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
