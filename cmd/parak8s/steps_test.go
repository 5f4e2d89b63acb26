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

	"parak8s.dev/parak8s/internal/stepfixture"
	"parak8s.dev/parak8s/runtime/dataset"
	"parak8s.dev/parak8s/runtime/publish"
	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/runtime/steps"
)

// Tests of the steps that need no server (but an in-process registry).

// stepEnvNames are the environment variables the three steps read.
func stepEnvNames() []string {
	return []string{
		step.EnvMLflowURI, step.EnvMLflowExperiment, step.EnvMLflowToken, step.EnvMLflowUsername, step.EnvMLflowPassword,
		step.EnvDatabaseURL, step.EnvRegistry, step.EnvRegisteredModel, step.EnvPushCondition, step.EnvPushAlias, steps.EnvGitCommit,
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
	if err := stepfixture.WriteModel(model, stepfixture.Model{Experiment: "ecg-aami", Classes: stepfixture.ECG(), Epochs: 3, Weights: 1024}); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other")
	if err := stepfixture.WriteModel(other, stepfixture.Model{Trial: strings.Repeat("ab", 32), Experiment: "ecg-aami", Classes: stepfixture.ECG(), Epochs: 1, Weights: 8}); err != nil {
		t.Fatal(err)
	}
	in, _ := stepfixture.Named("good")
	if _, err := stepfixture.WriteMetrics(metrics, in); err != nil {
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
