package report

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/runtime/results"
	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/runtime/tracking"
)

// Run tags `parak8s track` sets that a report reads (besides
// tracking.TagTrial and tracking.TagRunName).
const (
	tagExperiment = "parak8s.experiment" // the ParaK8s experiment name
	tagSweep      = "parak8s.sweep"      // the sweep point, a JSON object path → value
)

// The report's files among a run's artifacts (model/ and metrics/, as track
// uploads the trial's folders): only these are downloaded, not the weights.
var (
	modelFiles   = []string{bundle.FileManifest, bundle.FileHistory, bundle.FileTraining}
	metricsFiles = []string{bundle.FileMetrics, bundle.FileROC, bundle.FileConfusion}
)

// Servers says where a sweep's results are when it ran on a cluster.
type Servers struct {
	// MLflow is the tracking server (nil: not asked); MLflowExperiment the
	// MLflow experiment the runs are in (tracking.experiment, else the
	// experiment's name).
	MLflow           *tracking.Client
	MLflowExperiment string
	// Results is the results database (nil: not asked).
	Results *results.Store
	// CacheDir is where the runs' report files are downloaded, one folder
	// per trial (CacheDir/<short id>/model, …/metrics).
	CacheDir string
}

// FromServers returns the trials of an experiment as the servers hold them:
// every MLflow run tagged with the experiment (its model/ and metrics/
// report files downloaded, so the report shows the same curves and plots
// as a local one), and every trial the results database has, whose status
// it gives ("finished" for succeeded). A trial only in the database is
// listed without results. The trials are sorted by label; the overrides of
// a trial are in sweep order as its run name gives it (sorted by path for a
// trial only the database has).
func FromServers(ctx context.Context, experiment string, s Servers) ([]Trial, error) {
	byID := map[string]*Trial{}
	get := func(id string) *Trial {
		if t, ok := byID[id]; ok {
			return t
		}
		t := &Trial{ID: id}
		byID[id] = t
		return t
	}
	if s.MLflow != nil {
		runs, err := experimentRuns(ctx, s.MLflow, s.MLflowExperiment, experiment)
		if err != nil {
			return nil, err
		}
		for _, r := range runs {
			id, _ := r.Tag(tracking.TagTrial)
			t := get(id)
			t.RunID = r.Info.RunID
			t.Status = strings.ToLower(string(r.Info.Status))
			if r.Info.Status == tracking.RunFinished {
				t.Status = "finished"
			}
			if sweep, ok := r.Tag(tagSweep); ok {
				if t.Overrides, err = overrides([]byte(sweep)); err != nil {
					return nil, fmt.Errorf("run %s of trial %s: tag %s: %w", r.Info.RunID, step.Short(id), tagSweep, err)
				}
			}
			// The run name is "<short id> <label>", the label in sweep order.
			if name, _ := r.Tag(tracking.TagRunName); strings.HasPrefix(name, step.Short(id)+" ") {
				inSweepOrder(t.Overrides, strings.TrimPrefix(name, step.Short(id)+" "))
			}
			dir := filepath.Join(s.CacheDir, step.Short(id))
			t.ModelDir, t.MetricsDir = filepath.Join(dir, "model"), filepath.Join(dir, "metrics")
			if err := download(ctx, s.MLflow, r.Info.ArtifactURI, "model", t.ModelDir, modelFiles); err != nil {
				return nil, err
			}
			if err := download(ctx, s.MLflow, r.Info.ArtifactURI, "metrics", t.MetricsDir, metricsFiles); err != nil {
				return nil, err
			}
		}
	}
	if s.Results != nil {
		recs, err := s.Results.Trials(ctx, experiment)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			t := get(r.ID)
			t.Status = string(r.Status)
			if r.Status == results.StatusSucceeded {
				t.Status = "finished"
			}
			if t.Overrides == nil && len(r.SweepPoint) > 0 {
				if t.Overrides, err = overrides(r.SweepPoint); err != nil {
					return nil, fmt.Errorf("trial %s in the results database: sweep_point: %w", step.Short(r.ID), err)
				}
			}
		}
	}
	out := make([]Trial, 0, len(byID))
	for _, t := range byID {
		if t.Label == "" {
			t.Label = Label(t.Overrides)
		}
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Label != out[j].Label {
			return out[i].Label < out[j].Label
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// experimentRuns returns the active runs of the MLflow experiment that are
// ParaK8s trials of experiment.
func experimentRuns(ctx context.Context, c *tracking.Client, mlflowExperiment, experiment string) ([]tracking.Run, error) {
	exp, err := c.GetExperimentByName(ctx, mlflowExperiment)
	if tracking.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the runs of %s: %w", experiment, err)
	}
	if strings.ContainsAny(experiment, "'\\") {
		return nil, fmt.Errorf("reading the runs of %q: quote characters in the name", experiment)
	}
	runs, err := c.SearchAllRuns(ctx, tracking.SearchRunsRequest{
		ExperimentIDs: []string{exp.ExperimentID},
		Filter:        "tags.`" + tagExperiment + "` = '" + experiment + "'",
		MaxResults:    1000,
	})
	if err != nil {
		return nil, fmt.Errorf("reading the runs of %s: %w", experiment, err)
	}
	return slices.DeleteFunc(runs, func(r tracking.Run) bool {
		id, _ := r.Tag(tracking.TagTrial)
		return id == ""
	}), nil
}

// download fetches the named files of an artifact folder into dir; the
// ones the run lacks are left out.
func download(ctx context.Context, c *tracking.Client, artifactURI, folder, dir string, names []string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range names {
		local := filepath.Join(dir, name)
		os.Remove(local) // a stale copy of an earlier report must not stay
		err := c.DownloadFile(ctx, artifactURI, folder+"/"+name, local)
		if err != nil && !tracking.IsNotFound(err) {
			return err
		}
	}
	return nil
}

// overrides turns a sweep point (a JSON object path → value) into
// overrides sorted by path.
func overrides(sweep []byte) ([]step.Override, error) {
	var m map[string]any
	if err := json.Unmarshal(sweep, &m); err != nil {
		return nil, err
	}
	out := make([]step.Override, 0, len(m))
	for _, p := range slices.Sorted(maps.Keys(m)) {
		out = append(out, step.Override{Path: p, Value: m[p]})
	}
	return out, nil
}

// inSweepOrder sorts overrides (stably) by where their "name=" stands in a
// label, which lists the swept values in sweep order; the JSON object of the
// sweep tag has lost that order.
func inSweepOrder(overrides []step.Override, label string) {
	at := func(o step.Override) int {
		name := o.Path[strings.LastIndex(o.Path, ".")+1:] + "="
		if strings.HasPrefix(label, name) {
			return 0
		}
		if i := strings.Index(label, " "+name); i >= 0 {
			return i + 1
		}
		return len(label) + 1
	}
	slices.SortStableFunc(overrides, func(a, b step.Override) int { return at(a) - at(b) })
}

// Label is the readable summary of swept values the runner gives a trial:
// "lr=0.001 dropout=0.3" (the last part of each path, the value as JSON).
func Label(overrides []step.Override) string {
	parts := make([]string, 0, len(overrides))
	for _, o := range overrides {
		b, err := step.Canonical(o.Value)
		if err != nil {
			continue
		}
		parts = append(parts, o.Path[strings.LastIndex(o.Path, ".")+1:]+"="+string(b))
	}
	return strings.Join(parts, " ")
}
