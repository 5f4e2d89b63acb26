package report

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/runtime/local"
	"parak8s.dev/parak8s/runtime/step"
)

// writeTrial makes the folder the runner leaves for info; a finished trial
// has its outputs, done marker and MLflow run id.
func writeTrial(t *testing.T, l local.Layout, info local.TrialInfo, finished bool) string {
	t.Helper()
	dir := l.Trial(info.ID)
	files := map[string]string{local.FileTrial: ""}
	if finished {
		for _, f := range local.TrialOutputs(dir) {
			rel, _ := filepath.Rel(dir, f)
			files[rel] = "{}"
		}
		files[local.FileDone] = ""
		files[filepath.Join(local.DirOut, step.OutRunID)] = "run-1\n"
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := bundle.WriteJSON(filepath.Join(dir, local.FileTrial), info); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestFromWorkDirAndPlan(t *testing.T) {
	root := t.TempDir()
	l := local.Layout{Root: root, Experiment: "e"}
	lr := step.Override{Path: "training.optimizer.lr", Value: 0.1}
	drop := step.Override{Path: "model.dropout", Value: 0.2}
	done := local.TrialInfo{ID: "1111111111111111", Experiment: "e", Label: "lr=0.1", Overrides: []step.Override{lr}}
	open := local.TrialInfo{ID: "2222222222222222", Experiment: "e", Label: "dropout=0.2 lr=0.1", Overrides: []step.Override{drop, lr}}
	doneDir := writeTrial(t, l, done, true)
	openDir := writeTrial(t, l, open, false)
	trial := func(dir string, info local.TrialInfo, status, runID string) Trial {
		return Trial{ID: info.ID, Label: info.Label, Overrides: info.Overrides, Status: status, RunID: runID,
			ModelDir: filepath.Join(dir, local.DirModel), MetricsDir: filepath.Join(dir, local.DirMetrics)}
	}
	wantDone, wantOpen := trial(doneDir, done, "finished", "run-1"), trial(openDir, open, "incomplete", "")

	for _, experiment := range []string{"", "e"} {
		in, err := FromWorkDir(root, experiment)
		if err != nil {
			t.Fatalf("FromWorkDir(%q): %v", experiment, err)
		}
		want := Input{Experiment: "e", Params: []string{lr.Path, drop.Path}, Trials: []Trial{wantOpen, wantDone}}
		if !reflect.DeepEqual(in, want) {
			t.Errorf("FromWorkDir(%q) =\n%+v, want\n%+v", experiment, in, want)
		}
		if n := WithResults(in); n != 1 {
			t.Errorf("WithResults = %d, want 1", n)
		}
	}

	// A plan lists its trials in sweep order; one without a folder is left out.
	p := Plan{Experiment: "e", Params: []string{drop.Path, lr.Path}, TrackingURI: "http://mlflow",
		Trials: []local.TrialInfo{done, {ID: "3333333333333333", Label: "none"}, open}}
	want := Input{Experiment: "e", Params: p.Params, TrackingURI: "http://mlflow", Trials: []Trial{wantDone, wantOpen}}
	if in := FromPlan(p, root); !reflect.DeepEqual(in, want) {
		t.Errorf("FromPlan =\n%+v, want\n%+v", in, want)
	}
}

func TestFromWorkDirErrors(t *testing.T) {
	root := t.TempDir()
	if _, err := FromWorkDir(root, ""); err == nil || err.Error() != "reporting: no trials in "+root+" (run parac run first, or pass --workdir)" {
		t.Errorf("empty work dir: error = %v", err)
	}
	for _, e := range []string{"a", "b"} {
		writeTrial(t, local.Layout{Root: root, Experiment: e}, local.TrialInfo{ID: "1111111111111111", Experiment: e}, false)
	}
	_, err := FromWorkDir(root, "")
	var several *SeveralExperimentsError
	if !errors.As(err, &several) || err.Error() != root+" holds several experiments (a, b): pick one with --experiment" {
		t.Errorf("two experiments: error = %v, want a SeveralExperimentsError", err)
	}
	if _, err := FromWorkDir(root, "c"); err == nil || err.Error() != "reporting: no trials of c in "+root {
		t.Errorf("unknown experiment: error = %v", err)
	}
}

func TestMLflowExperiment(t *testing.T) {
	for _, tc := range []struct{ env, fromSpec, want string }{
		{"", "", "exp"},
		{"from-env", "", "from-env"},
		{"from-env", "from-spec", "from-spec"},
	} {
		t.Setenv(step.EnvMLflowExperiment, tc.env)
		if got := MLflowExperiment("exp", tc.fromSpec); got != tc.want {
			t.Errorf("MLflowExperiment(exp, %q) with %s=%q = %q, want %q", tc.fromSpec, step.EnvMLflowExperiment, tc.env, got, tc.want)
		}
	}
}
