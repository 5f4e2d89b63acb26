package main

import (
	"bytes"
	"context"
	"io"
	"log"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"parak8s.dev/parak8s/runtime/dataset"
	"parak8s.dev/parak8s/runtime/eval"
	"parak8s.dev/parak8s/runtime/publish"
	"parak8s.dev/parak8s/runtime/step"
)

// Tests of the steps that need no server (but an in-process registry).

// stepEnvNames are the environment variables the three steps read.
func stepEnvNames() []string {
	return []string{
		step.EnvMLflowURI, step.EnvMLflowExperiment, step.EnvMLflowToken, step.EnvMLflowUsername, step.EnvMLflowPassword,
		step.EnvDatabaseURL, step.EnvRegistry, step.EnvRegisteredModel, step.EnvPushCondition, step.EnvPushAlias, envGitCommit,
	}
}

// setStepEnv sets every step variable to its value in kv ("" when absent),
// so nothing leaks in from the environment of the test.
func setStepEnv(t *testing.T, kv map[string]string) {
	t.Helper()
	for _, k := range stepEnvNames() {
		t.Setenv(k, kv[k])
	}
	for k := range kv {
		if !slices.Contains(stepEnvNames(), k) {
			t.Fatalf("setStepEnv: %s is not a step variable", k)
		}
	}
}

// runStep runs parak8s with args in the test's process.
func runStep(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// dataRegistry starts an in-process registry holding a small data set at
// data/mitdb:v1 and returns its host:port.
func dataRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "RECORDS"), []byte("100\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := publish.PushDataset(context.Background(), publish.Dataset{Dir: dir}, host+"/data/mitdb:v1", publish.DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	return host
}

// closedAddr returns a 127.0.0.1 address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// writeConfig writes a small resolved experiment.
func writeConfig(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "config.json")
	cfg := `{"name":"ecg-aami","data":{"source":{"kind":"wfdb","path":"/data/mitdb"},"classes":["N","S","V","F","Q"]},` +
		`"model":{"kind":"deepcnn1d","dropout":0.3},"training":{"epochs":3,"seed":7},"evaluation":{"split":"val"}}`
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// writePrepareConfig writes a resolved experiment whose data section
// passes prepare's checks up to reading the source (/data/mitdb, absent).
func writePrepareConfig(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "prepare.json")
	cfg := `{"name":"ecg-aami","data":{"source":{"kind":"wfdb","path":"/data/mitdb","digest":""},"classes":["N","S","V","F","Q"],` +
		`"signal":{"lead":"MLII","sampleRate":125,"recipe":"window","before":0.5,"after":0.8,"normalize":"zscore","labels":"aami"},` +
		`"split":{"by":"fraction","seed":1,"train":0.8,"val":0.2,"test":0}},` +
		`"model":{"kind":"deepcnn1d","dropout":0.3},"training":{"epochs":3,"seed":7},"evaluation":{"split":"val"}}`
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestExitCodes checks the exit code of each kind of failure, and that a
// failed step leaves no output parameter behind.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir)
	model, metrics := filepath.Join(dir, "model"), filepath.Join(dir, "metrics")
	if err := fxWriteModel(model, fxModel{Experiment: "ecg-aami", Classes: fxECG(), Epochs: 3, Weights: 1024}); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other")
	if err := fxWriteModel(other, fxModel{Trial: strings.Repeat("ab", 32), Experiment: "ecg-aami", Classes: fxECG(), Epochs: 1, Weights: 8}); err != nil {
		t.Fatal(err)
	}
	in, _ := fxNamed("good")
	if _, err := fxWriteMetrics(metrics, in); err != nil {
		t.Fatal(err)
	}
	closed := closedAddr(t)
	reg := dataRegistry(t)
	pcfg := writePrepareConfig(t, dir)
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stderr string
		out    string // an output file that must not exist afterwards
		maxDur time.Duration
	}{
		{
			name: "track ok, locally",
			args: []string{"track", "--config", cfg, "--model", model, "--metrics", metrics, "--out", "OUT"},
			code: step.ExitOK,
		},
		{
			name: "track without --model", code: step.ExitUsage, stderr: "--model is required",
			args: []string{"track", "--config", cfg, "--metrics", metrics, "--out", "OUT"}, out: step.OutRunID,
		},
		{
			name: "publish with an argument", code: step.ExitUsage, stderr: "publish takes no arguments",
			args: []string{"publish", "--config", cfg, "--model", model, "--metrics", metrics, "--out", "OUT", "x"}, out: step.OutDigest,
		},
		{
			name: "train with an argument", code: step.ExitUsage, stderr: "train takes no arguments",
			args: []string{"train", "--config", cfg, "--out", "M", "x"},
		},
		{
			name: "train without --out", code: step.ExitUsage, stderr: "--out is required",
			args: []string{"train", "--config", cfg},
		},
		{
			name: "evaluate without --data", code: step.ExitUsage, stderr: "--data is required",
			args: []string{"evaluate", "--model", model, "--out", "M.json"},
		},
		{
			name: "evaluate with an argument", code: step.ExitUsage, stderr: "evaluate takes no arguments",
			args: []string{"evaluate", "--model", model, "--data", "d", "--out", "M.json", "x"},
		},
		{
			name: "record with a bad status", code: step.ExitUsage, stderr: `--status "done"`,
			args: []string{"record", "--config", cfg, "--metrics", metrics, "--status", "done"},
		},
		{
			name: "record with an unknown flag", code: step.ExitUsage, stderr: "unknown flag: --nope",
			args: []string{"record", "--nope"},
		},
		{
			name: "track of another trial id", code: step.ExitConfig, stderr: "config does not match",
			args: []string{"track", "--config", cfg, "--trial", strings.Repeat("0", 64), "--model", model, "--metrics", metrics, "--out", "OUT"}, out: step.OutRunID,
		},
		{
			name: "publish of another trial's model", code: step.ExitConfig, stderr: "was trained for trial abababababab",
			env:  map[string]string{step.EnvRegistry: closed + "/m"},
			args: []string{"publish", "--config", cfg, "--model", other, "--metrics", metrics, "--run-id", "r", "--out", "OUT"}, out: step.OutDigest,
		},
		{
			name: "publish with a malformed condition", code: step.ExitFailure, stderr: "PARAK8S_PUSH_WHEN: parsing condition",
			env:  map[string]string{step.EnvRegistry: closed + "/m", step.EnvPushCondition: "val_auc >> 1"},
			args: []string{"publish", "--config", cfg, "--model", model, "--metrics", metrics, "--run-id", "r", "--out", "OUT"}, out: step.OutDigest,
		},
		{
			name: "prepare of a missing path", code: step.ExitConfig, stderr: "data.source.path: /data/mitdb does not exist",
			args: []string{"prepare", "--config", pcfg, "--out", "OUT"}, out: dataset.FileIncomplete,
		},
		{
			name: "prepare of an artifact with another digest", code: step.ExitConfig, stderr: "want sha256:000",
			args: []string{"prepare", "--config", pcfg, "--set", `data.source.path="oci://` + reg + `/data/mitdb:v1"`, "--set", `data.source.digest="sha256:` + strings.Repeat("0", 64) + `"`, "--out", "OUT"}, out: dataset.FileIncomplete,
		},
		{
			name: "prepare of an artifact not there", code: step.ExitConfig, stderr: "MANIFEST_UNKNOWN",
			args: []string{"prepare", "--config", pcfg, "--set", `data.source.path="oci://` + reg + `/data/mitdb@sha256:` + strings.Repeat("0", 64) + `"`, "--out", "OUT"}, out: dataset.FileIncomplete,
		},
		{
			name: "prepare of a claim not mounted", code: step.ExitFailure, stderr: "claim ecg is not mounted at " + step.PathSource,
			args: []string{"prepare", "--config", pcfg, "--set", `data.source.path="pvc://ecg/mitdb"`, "--out", "OUT"}, out: dataset.FileIncomplete,
		},
		{
			name: "prepare with the registry unreachable", code: step.ExitTransient, stderr: "connection refused", maxDur: 30 * time.Second,
			args: []string{"prepare", "--config", pcfg, "--set", `data.source.path="oci://` + closed + `/data/mitdb@sha256:` + strings.Repeat("0", 64) + `"`, "--out", "OUT"}, out: dataset.FileIncomplete,
		},
		{
			name: "track with MLflow unreachable", code: step.ExitTransient, stderr: "tracking trial", maxDur: 30 * time.Second,
			env:  map[string]string{step.EnvMLflowURI: "http://" + closed},
			args: []string{"track", "--config", cfg, "--model", model, "--metrics", metrics, "--out", "OUT"}, out: step.OutRunID,
		},
		{
			name: "publish with the registry unreachable", code: step.ExitTransient, stderr: "pushing model of trial", maxDur: 60 * time.Second,
			env:  map[string]string{step.EnvRegistry: closed + "/parak8s/m"},
			args: []string{"publish", "--config", cfg, "--model", model, "--metrics", metrics, "--run-id", "r", "--out", "OUT"}, out: step.OutDigest,
		},
		{
			name: "record with the database unreachable", code: step.ExitTransient, stderr: "giving up after", maxDur: 30 * time.Second,
			env:  map[string]string{step.EnvDatabaseURL: "postgres://postgres@" + closed + "/parak8s?sslmode=disable&connect_timeout=2"},
			args: []string{"record", "--config", cfg, "--metrics", metrics, "--run-id", "r", "--retry-timeout", "500ms"},
		},
		{
			name: "migrate with the database unreachable", code: step.ExitTransient, stderr: "migrating the results database", maxDur: 30 * time.Second,
			env:  map[string]string{step.EnvDatabaseURL: "postgres://postgres@" + closed + "/parak8s?sslmode=disable&connect_timeout=2"},
			args: []string{"record", "--migrate", "--retry-timeout", "500ms"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setStepEnv(t, tt.env)
			out := t.TempDir()
			args := slices.Clone(tt.args)
			for i, a := range args {
				if a == "OUT" {
					args[i] = out
				}
			}
			t.Chdir(t.TempDir()) // record's local results file
			start := time.Now()
			code, _, stderr := runStep(t, args...)
			took := time.Since(start)
			if code != tt.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr does not say %q:\n%s", tt.stderr, stderr)
			}
			if tt.out != "" {
				if _, err := os.Stat(filepath.Join(out, tt.out)); err == nil {
					t.Errorf("%s was written by a failed step", tt.out)
				}
			}
			if tt.maxDur > 0 && took > tt.maxDur {
				t.Errorf("took %v, want at most %v", took, tt.maxDur)
			}
			t.Logf("exit %d in %v", code, took.Round(time.Millisecond))
		})
	}
}

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
			in, ok := fxNamed(tt.fixture)
			if !ok {
				t.Fatal("no fixture")
			}
			dir := t.TempDir()
			r, err := fxWriteMetrics(dir, in)
			if err != nil {
				t.Fatal(err)
			}
			o, err := readOutcome("", dir, tt.split, "")
			if err != nil {
				t.Fatal(err)
			}
			got, undefined := o.final()
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
				if !fxFinite(v) {
					t.Errorf("%s = %v", name, v)
				}
			}
		})
	}
}

// TestCheckCondition checks push conditions against the final metrics and
// the model's kept epoch.
func TestCheckCondition(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	if err := fxWriteModel(model, fxModel{Experiment: "ecg-aami", Classes: fxECG(), Epochs: 3, Weights: 8}); err != nil {
		t.Fatal(err)
	}
	metrics := map[string]string{}
	for _, name := range []string{"good", "poor", "silent"} {
		in, _ := fxNamed(name)
		metrics[name] = filepath.Join(dir, name)
		if _, err := fxWriteMetrics(metrics[name], in); err != nil {
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
			o, err := readOutcome(model, metrics[tt.metrics], tt.split, "")
			if err != nil {
				t.Fatal(err)
			}
			holds, why, err := checkCondition(c, o)
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
