package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/jackc/pgx/v5"

	"parak8s.dev/parak8s/compiler"
	"parak8s.dev/parak8s/internal/stepfixture"
	"parak8s.dev/parak8s/internal/testenv"
	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/runtime/eval"
	"parak8s.dev/parak8s/runtime/outcome"
	"parak8s.dev/parak8s/runtime/publish"
	"parak8s.dev/parak8s/runtime/results"
	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/runtime/steps"
	"parak8s.dev/parak8s/runtime/tracking"
	"parak8s.dev/parak8s/schema"
)

// Integration tests: track, publish and record against a real MLflow server,
// a real PostgreSQL and a real OCI registry, started with the scripts in
// scripts/ on ports of their own (or the servers named by
// MLFLOW_TRACKING_URI, DATABASE_URL and OCI_REGISTRY). With
// PARAK8S_SKIP_SERVERS=1 they are skipped when a server cannot be had.
// `make integration` runs them with every other server-backed test.

// envOCIRegistry names a running registry (host:port), as in runtime/publish.
const envOCIRegistry = "OCI_REGISTRY"

// testServers are the addresses of the three servers.
type testServers struct {
	mlflow   string // tracking URI
	database string // DSN
	registry string // host:port
}

// serverSpec says how to start one server through its script.
type serverSpec struct {
	name, script, export string
	portVar, stateVar    string
	state                func(port int) string
	extra                []string
}

// startServers starts the servers the environment does not name, at once,
// and stops them when the test ends.
func startServers(t *testing.T) testServers {
	t.Helper()
	specs := []serverSpec{
		{name: "MLflow", script: "mlflow.sh", export: step.EnvMLflowURI, portVar: "MLFLOW_PORT", stateVar: "MLFLOW_STATE",
			extra: []string{"MLFLOW_WORKERS=2"}},
		{name: "PostgreSQL", script: "postgres.sh", export: step.EnvDatabaseURL, portVar: "PGPORT", stateVar: "PARAK8S_PG_STATE",
			// the server runs as the postgres user, who cannot enter a private temp dir
			state: func(port int) string { return fmt.Sprintf("%s/parak8s-pg-cmdtest-%d", os.TempDir(), port) }},
		{name: "registry", script: "registry.sh", export: envOCIRegistry, portVar: "REGISTRY_PORT", stateVar: "PARAK8S_REGISTRY_STATE"},
	}
	values := make([]string, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var stops []func()
	for i, s := range specs {
		if values[i] = os.Getenv(s.export); values[i] != "" {
			continue
		}
		port := freePort(t)
		state := t.TempDir()
		if s.state != nil {
			state = s.state(port)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			env := append([]string{s.portVar + "=" + strconv.Itoa(port), s.stateVar + "=" + state}, s.extra...)
			v, stop, err := testenv.Server{Script: s.script, Env: env, Export: s.export}.Start()
			if err != nil {
				errs[i] = fmt.Errorf("starting %s with scripts/%s: %w", s.name, s.script, err)
				return
			}
			values[i] = v
			mu.Lock()
			stops = append(stops, func() {
				if err := stop(); err != nil {
					t.Errorf("stopping %s: %v", s.name, err)
				}
				if s.state != nil {
					os.RemoveAll(state)
					os.Remove(state + ".lock")
				}
			})
			mu.Unlock()
			t.Logf("%s at %s ready in %v", s.name, v, time.Since(t0).Round(time.Millisecond))
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, stop := range stops {
			stop()
		}
	})
	for _, err := range errs {
		if err == nil {
			continue
		}
		if testenv.SkipServers() {
			t.Skipf("%s=1 and a server could not be started: %v", testenv.EnvSkipServers, err)
		}
		t.Fatalf("%v\n(set %s, %s and %s to running servers, or %s=1 to skip)", err,
			step.EnvMLflowURI, step.EnvDatabaseURL, envOCIRegistry, testenv.EnvSkipServers)
	}
	return testServers{mlflow: values[0], database: values[1], registry: values[2]}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// chain is one experiment of the integration test: the ECG example with a
// name of its own (so trial ids, runs, rows and tags are new on shared
// servers), its config file, and three of its trials.
type chain struct {
	name       string // experiment, MLflow experiment, registered model
	config     string // the config file every step reads
	experiment map[string]any
	image      string
	repo       string // the OCI repository of the models
	trials     []chainTrial
}

type chainTrial struct {
	step.Resolved
	sets    []string // --set arguments
	model   string
	metrics string
	report  map[string]float64 // final metrics as the steps name them
}

func newChain(t *testing.T, srv testServers) *chain {
	t.Helper()
	var ins []eval.Input
	for _, name := range []string{"good", "poor", "good"} {
		in, _ := stepfixture.Named(name)
		ins = append(ins, in)
	}
	return newChainOf(t, srv, ins)
}

// newChainOf is newChain with one trial per evaluation input.
func newChainOf(t *testing.T, srv testServers, inputs []eval.Input) *chain {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	res, err := compiler.Plan(filepath.Join(root, "examples", "ecg"), compiler.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	p := res[0].Plan
	c := &chain{name: fmt.Sprintf("ecg-it-%s", strconv.FormatInt(time.Now().UnixNano(), 36)), image: p.TrainImage}
	if err := json.Unmarshal(p.Config, &c.experiment); err != nil {
		t.Fatal(err)
	}
	c.experiment["name"] = c.name
	c.experiment["tracking"].(map[string]any)["experiment"] = c.name
	dir := t.TempDir()
	c.config = filepath.Join(dir, "experiment.json")
	if err := bundle.WriteJSON(c.config, c.experiment); err != nil {
		t.Fatal(err)
	}
	c.repo = srv.registry + "/parak8s-it/" + c.name + "/ecg"
	for i, in := range inputs {
		pt := p.Trials[i*7%len(p.Trials)]
		r, err := step.Resolve(c.experiment, pt.Overrides, c.image, schema.TrialRoots())
		if err != nil {
			t.Fatal(err)
		}
		ct := chainTrial{Resolved: r}
		for _, o := range pt.Overrides {
			s, err := step.FormatSet(o)
			if err != nil {
				t.Fatal(err)
			}
			ct.sets = append(ct.sets, step.FlagSet, s)
		}
		ct.model = filepath.Join(dir, fmt.Sprintf("model-%d", i))
		if err := stepfixture.WriteModel(ct.model, stepfixture.Model{Trial: r.ID, Experiment: c.name, Classes: stepfixture.ECG(), Config: r.Experiment, Epochs: 3, Weights: 256 << 10}); err != nil {
			t.Fatal(err)
		}
		ct.metrics = filepath.Join(dir, fmt.Sprintf("metrics-%d", i))
		if _, err := stepfixture.WriteMetrics(ct.metrics, in); err != nil {
			t.Fatal(err)
		}
		o, err := outcome.Read("", ct.metrics, "val", "")
		if err != nil {
			t.Fatal(err)
		}
		ct.report, _ = o.Final()
		c.trials = append(c.trials, ct)
	}
	return c
}

// args returns the command line the compiled workflow gives a step of the
// trial (see templates.StepCommand), plus extra.
func (c *chain) args(k step.Kind, tr chainTrial, extra ...string) []string {
	a := []string{string(k), step.FlagConfig, c.config, step.FlagTrial, tr.ID, step.FlagImage, c.image}
	a = append(a, tr.sets...)
	return append(a, extra...)
}

// env sets what the compiled workflow gives a step (tracking for track and
// publish, the registry for publish and record, the DSN for record), and only that.
func (c *chain) env(t *testing.T, srv testServers, k step.Kind, mlflow string) {
	t.Helper()
	kv := map[string]string{}
	if k == step.Track || k == step.Publish {
		kv[step.EnvMLflowURI] = mlflow
		kv[step.EnvMLflowExperiment] = c.name
		kv[steps.EnvGitCommit] = "0123456789abcdef0123456789abcdef01234567"
	}
	if k == step.Publish {
		kv[step.EnvRegistry] = c.repo
		kv[step.EnvRegisteredModel] = c.name
		kv[step.EnvPushCondition] = "val_f1 >= 0.80" // as in examples/ecg
		kv[step.EnvPushAlias] = "champion"
	}
	if k == step.Record {
		kv[step.EnvDatabaseURL] = srv.database
		kv[step.EnvRegistry] = c.repo
	}
	setStepEnv(t, kv)
}

// mustRun runs a step and fails the test unless it exits 0.
func mustRun(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	start := time.Now()
	code, stdout, stderr := runStep(t, args...)
	if code != 0 {
		t.Fatalf("parak8s %s: exit %d\n%s", args[0], code, stderr)
	}
	t.Logf("parak8s %s: %v", args[0], time.Since(start).Round(time.Millisecond))
	return stdout, stderr
}

func readOutFile(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// dirFiles maps the relative paths of the files below dir to their bytes.
func dirFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		out[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameFiles(t *testing.T, what, got, want string) {
	t.Helper()
	g, w := dirFiles(t, got), dirFiles(t, want)
	if len(g) != len(w) {
		t.Errorf("%s: %d files, want %d", what, len(g), len(w))
	}
	for name, b := range w {
		if !bytes.Equal(g[name], b) {
			t.Errorf("%s: %s differs from the original (%d bytes, want %d)", what, name, len(g[name]), len(b))
		}
	}
}

// TestIntegration runs the three steps of trials of the ECG example against
// real servers, twice, and reads everything back.
func TestIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	srv := startServers(t)
	c := newChain(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ml, err := tracking.New(tracking.Config{TrackingURI: srv.mlflow}, tracking.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	store, err := results.Open(ctx, srv.database, results.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	db, err := pgx.Connect(ctx, srv.database)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	count := func(t *testing.T, query string, args ...any) int {
		t.Helper()
		var n int
		if err := db.QueryRow(ctx, query, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// outputs of the first trial, checked again after the rerun
	a := c.trials[0]
	var runA, digestA, versionA string

	t.Run("RealChain", func(t *testing.T) { testRealChain(t, srv, c, ml, store) })

	t.Run("Migrate", func(t *testing.T) {
		setStepEnv(t, map[string]string{step.EnvDatabaseURL: srv.database})
		_, stderr := mustRun(t, "record", "--migrate")
		if !strings.Contains(stderr, "schema version") {
			t.Errorf("stderr: %s", stderr)
		}
	})

	t.Run("Track", func(t *testing.T) {
		c.env(t, srv, step.Track, srv.mlflow)
		out := t.TempDir()
		stdout, _ := mustRun(t, c.args(step.Track, a, step.FlagModel, a.model, step.FlagMetrics, a.metrics, step.FlagOut, out)...)
		runA = readOutFile(t, out, step.OutRunID)
		if stdout != runA+"\n" {
			t.Errorf("stdout %q, want the run id %q", stdout, runA)
		}
		checkRun(ctx, t, ml, c, a, runA)
	})
	if runA == "" {
		t.FailNow()
	}

	t.Run("Publish", func(t *testing.T) {
		c.env(t, srv, step.Publish, srv.mlflow)
		out := t.TempDir()
		stdout, _ := mustRun(t, c.args(step.Publish, a, step.FlagModel, a.model, step.FlagMetrics, a.metrics, step.FlagRunID, runA, step.FlagOut, out)...)
		digestA = readOutFile(t, out, step.OutDigest)
		if !strings.HasPrefix(digestA, "sha256:") || stdout != c.repo+"@"+digestA+"\n" {
			t.Fatalf("digest %q, stdout %q", digestA, stdout)
		}
		// the artifact by its trial tag, byte for byte, with its annotations
		pulled := filepath.Join(t.TempDir(), "model")
		res, err := publish.Pull(ctx, c.repo+":"+a.ID, pulled, publish.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		if res.Digest != digestA {
			t.Errorf("pulled digest %s, want %s", res.Digest, digestA)
		}
		sameFiles(t, "pulled model", pulled, a.model)
		for k, want := range map[string]string{
			publish.AnnotationTrial: a.ID, publish.AnnotationExperiment: c.name, publish.AnnotationMLflowRun: runA,
			publish.AnnotationDataset: a.Dataset, publish.AnnotationImage: c.image,
			publish.AnnotationCreated: stepfixture.Created().Format(time.RFC3339),
		} {
			if got := res.Annotations[k]; got != want {
				t.Errorf("annotation %s = %q, want %q", k, got, want)
			}
		}
		var metrics map[string]float64
		if err := json.Unmarshal([]byte(res.Annotations[publish.AnnotationMetrics]), &metrics); err != nil || !reflect.DeepEqual(metrics, a.report) {
			t.Errorf("metrics annotation %v (%v), want %v", metrics, err, a.report)
		}
		// the condition holds (val_f1 0.89 >= 0.80): the moving tags point at it
		for _, tag := range []string{c.name, "champion"} {
			if d := headDigest(ctx, t, c.repo+":"+tag); d != digestA {
				t.Errorf("tag %s -> %s, want %s", tag, d, digestA)
			}
		}
		// and the run's model/ is a version of the registered model, with the alias
		mv, err := ml.GetModelVersionByAlias(ctx, c.name, "champion")
		if err != nil {
			t.Fatal(err)
		}
		run, err := ml.GetRun(ctx, runA)
		if err != nil {
			t.Fatal(err)
		}
		source, _ := tracking.ArtifactSource(run.Info.ArtifactURI, "model")
		versionA = mv.Version
		if mv.RunID != runA || mv.Source != source || mv.Status != tracking.VersionReady {
			t.Errorf("model version %+v, want run %s source %s READY", mv, runA, source)
		}
		if tagValue(mv.Tags, steps.VersionTagOCI) != c.repo+"@"+digestA || tagValue(mv.Tags, steps.VersionTagTrial) != a.ID {
			t.Errorf("model version tags %v", mv.Tags)
		}
	})

	t.Run("Record", func(t *testing.T) {
		c.env(t, srv, step.Record, "")
		mustRun(t, c.args(step.Record, a, step.FlagMetrics, a.metrics, step.FlagRunID, runA, step.FlagDigest, digestA)...)
		rec, err := store.Trial(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkRecord(t, c, a, rec, runA, digestA, false)
	})

	// The same three steps again, as a retried workflow would run them:
	// the same run, digest, model version and row, nothing twice.
	t.Run("Rerun", func(t *testing.T) {
		before := historyLengths(ctx, t, ml, runA)
		metricRows := count(t, "SELECT count(*) FROM metrics WHERE trial_id = $1", a.ID)

		c.env(t, srv, step.Track, srv.mlflow)
		out := t.TempDir()
		mustRun(t, c.args(step.Track, a, step.FlagModel, a.model, step.FlagMetrics, a.metrics, step.FlagOut, out)...)
		if got := readOutFile(t, out, step.OutRunID); got != runA {
			t.Errorf("rerun gave run %s, want %s", got, runA)
		}
		run, err := ml.GetRun(ctx, runA)
		if err != nil {
			t.Fatal(err)
		}
		if runs, err := ml.FindTrialRuns(ctx, run.Info.ExperimentID, a.ID); err != nil || len(runs) != 1 {
			t.Errorf("runs of the trial: %d (%v), want 1", len(runs), err)
		}
		if after := historyLengths(ctx, t, ml, runA); !reflect.DeepEqual(after, before) {
			t.Errorf("metric history lengths after the rerun %v, before %v", after, before)
		}

		c.env(t, srv, step.Publish, srv.mlflow)
		mustRun(t, c.args(step.Publish, a, step.FlagModel, a.model, step.FlagMetrics, a.metrics, step.FlagRunID, runA, step.FlagOut, out)...)
		if got := readOutFile(t, out, step.OutDigest); got != digestA {
			t.Errorf("republished digest %s, want %s", got, digestA)
		}
		if vs, err := ml.FindModelVersions(ctx, c.name, runA); err != nil || len(vs) != 1 || vs[0].Version != versionA {
			t.Errorf("model versions of the run: %+v (%v), want only version %s", vs, err, versionA)
		}

		c.env(t, srv, step.Record, "")
		mustRun(t, c.args(step.Record, a, step.FlagMetrics, a.metrics, step.FlagRunID, runA, step.FlagDigest, digestA)...)
		if n := count(t, "SELECT count(*) FROM trials WHERE id = $1", a.ID); n != 1 {
			t.Errorf("%d rows of the trial, want 1", n)
		}
		if n := count(t, "SELECT count(*) FROM metrics WHERE trial_id = $1", a.ID); n != metricRows {
			t.Errorf("%d metric rows after the rerun, want %d", n, metricRows)
		}
		if n := count(t, "SELECT count(*) FROM artifacts WHERE trial_id = $1", a.ID); n != 1 {
			t.Errorf("%d artifact rows, want 1", n)
		}
	})

	// A trial below the condition is pushed under its own tag only.
	t.Run("ConditionFails", func(t *testing.T) {
		b := c.trials[1]
		c.env(t, srv, step.Track, srv.mlflow)
		out := t.TempDir()
		mustRun(t, c.args(step.Track, b, step.FlagModel, b.model, step.FlagMetrics, b.metrics, step.FlagOut, out)...)
		runB := readOutFile(t, out, step.OutRunID)
		c.env(t, srv, step.Publish, srv.mlflow)
		_, stderr := mustRun(t, c.args(step.Publish, b, step.FlagModel, b.model, step.FlagMetrics, b.metrics, step.FlagRunID, runB, step.FlagOut, out)...)
		if !strings.Contains(stderr, "holds=false") || !strings.Contains(stderr, "val_f1 = 0.5") {
			t.Errorf("stderr does not say why the condition failed:\n%s", stderr)
		}
		digestB := readOutFile(t, out, step.OutDigest)
		if d := headDigest(ctx, t, c.repo+":"+b.ID); d != digestB || digestB == digestA {
			t.Errorf("trial tag -> %s, want %s (not %s)", d, digestB, digestA)
		}
		for _, tag := range []string{c.name, "champion"} {
			if d := headDigest(ctx, t, c.repo+":"+tag); d != digestA {
				t.Errorf("tag %s moved to %s, want it left at %s", tag, d, digestA)
			}
		}
		if vs, err := ml.FindModelVersions(ctx, c.name, runB); err != nil || len(vs) != 0 {
			t.Errorf("model versions of the failing run: %+v (%v), want none", vs, err)
		}
		if mv, err := ml.GetModelVersionByAlias(ctx, c.name, "champion"); err != nil || mv.Version != versionA {
			t.Errorf("alias -> %+v (%v), want version %s", mv, err, versionA)
		}
		c.env(t, srv, step.Record, "")
		mustRun(t, c.args(step.Record, b, step.FlagMetrics, b.metrics, step.FlagRunID, runB, step.FlagDigest, digestB)...)
		board, err := store.Leaderboard(ctx, c.name, "val_f1", true, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(board) != 2 || board[0].TrialID != a.ID || board[1].TrialID != b.ID || board[0].ModelDigest != digestA {
			t.Errorf("leaderboard %+v, want %s then %s", board, step.Short(a.ID), step.Short(b.ID))
		}
	})

	// MLflow unreachable for a while: track's retries get through, one run.
	t.Run("MLflowDownThenUp", func(t *testing.T) {
		cc := c.trials[2]
		const down = 700 * time.Millisecond
		proxy, firstServed := delayedProxy(t, srv.mlflow, down)
		c.env(t, srv, step.Track, proxy)
		out := t.TempDir()
		start := time.Now()
		mustRun(t, c.args(step.Track, cc, step.FlagModel, cc.model, step.FlagMetrics, cc.metrics, step.FlagOut, out)...)
		if served := firstServed(); served.Sub(start) < down {
			t.Errorf("the first request was served %v after the start, before the server came up (%v)", served.Sub(start), down)
		}
		runC := readOutFile(t, out, step.OutRunID)
		checkRun(ctx, t, ml, c, cc, runC)

		// record with the model's history: per-epoch rows too
		c.env(t, srv, step.Record, "")
		mustRun(t, c.args(step.Record, cc, step.FlagMetrics, cc.metrics, step.FlagModel, cc.model, step.FlagRunID, runC, step.FlagDigest, "")...)
		rec, err := store.Trial(ctx, cc.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkRecord(t, c, cc, rec, runC, "", true)
	})

	// A registry that refuses the push (read-only): a clear error, exit 1,
	// no digest.
	t.Run("RegistryRefuses", func(t *testing.T) {
		ro := readOnlyRegistry(t)
		c.env(t, srv, step.Publish, srv.mlflow)
		t.Setenv(step.EnvRegistry, ro+"/parak8s/refused")
		out := t.TempDir()
		code, _, stderr := runStep(t, c.args(step.Publish, a, step.FlagModel, a.model, step.FlagMetrics, a.metrics, step.FlagRunID, runA, step.FlagOut, out)...)
		if code != step.ExitFailure || !strings.Contains(stderr, "pushing model of trial") || !strings.Contains(stderr, "405 Method Not Allowed") {
			t.Errorf("exit %d, want %d with the registry's answer; stderr:\n%s", code, step.ExitFailure, stderr)
		}
		if _, err := os.Stat(filepath.Join(out, step.OutDigest)); err == nil {
			t.Error("a digest was written for a refused push")
		}
	})
}

// checkRun reads the trial's run back from MLflow.
func checkRun(ctx context.Context, t *testing.T, ml *tracking.Client, c *chain, tr chainTrial, runID string) {
	t.Helper()
	run, err := ml.GetRun(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	if run.Info.Status != tracking.RunFinished {
		t.Errorf("run status %s", run.Info.Status)
	}
	exp, err := ml.GetExperimentByName(ctx, c.name)
	if err != nil || exp.ExperimentID != run.Info.ExperimentID {
		t.Errorf("experiment %q: %+v (%v), run in %s", c.name, exp, err, run.Info.ExperimentID)
	}
	sweep, _ := outcome.SweepPoint(tr.Overrides)
	for k, want := range map[string]string{
		tracking.TagTrial: tr.ID, steps.TagExperiment: c.name, steps.TagSweep: string(sweep), steps.TagImage: c.image,
		steps.TagDataset: tr.Dataset, steps.TagDataKey: tr.DataKey, steps.TagSeed: fmt.Sprint(tr.Seed), steps.TagModelKind: "deepcnn1d",
		steps.TagBestEpoch: "3", steps.TagGitCommit: "0123456789abcdef0123456789abcdef01234567",
	} {
		if got, _ := run.Tag(k); got != want {
			t.Errorf("tag %s = %q, want %q", k, got, want)
		}
	}
	if name, _ := run.Tag(tracking.TagRunName); !strings.HasPrefix(name, step.Short(tr.ID)+" ") || run.Info.RunName != name {
		t.Errorf("run name %q / %q", name, run.Info.RunName)
	}
	// params: every leaf of the trial config
	var cfg map[string]any
	if err := json.Unmarshal(tr.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	want := tracking.Flatten(cfg)
	got := map[string]string{}
	for _, p := range run.Data.Params {
		got[p.Key] = p.Value
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("params differ: got %d, want %d", len(got), len(want))
		for k, v := range want {
			if got[k] != v {
				t.Errorf("param %s = %q, want %q", k, got[k], v)
			}
		}
	}
	if len(want) < 30 || want["training.optimizer.lr"] == "" {
		t.Errorf("too few params: %v", want)
	}
	// metric history: three epochs, and the final value a millisecond after the last
	end := tracking.Millis(stepfixture.Created())
	for _, k := range []string{"train_loss", "val_loss", "lr", "val_accuracy"} {
		h, err := ml.GetMetricHistory(ctx, runID, k)
		if err != nil {
			t.Fatal(err)
		}
		wantLen := 3
		if k == "val_accuracy" {
			wantLen = 4
		}
		if len(h) != wantLen {
			t.Errorf("%s: %d points, want %d", k, len(h), wantLen)
			continue
		}
		for i, p := range h[:3] {
			if p.Step != tracking.Int64(i+1) || p.Timestamp > tracking.Int64(end) {
				t.Errorf("%s point %d: step %d at %d (model created at %d)", k, i, p.Step, p.Timestamp, end)
			}
		}
		if h[2].Timestamp != tracking.Int64(end) {
			t.Errorf("%s: the last epoch at %d, want the model's creation %d", k, h[2].Timestamp, end)
		}
	}
	if m, ok := run.Metric("train_loss"); !ok || float64(m.Value) != 1.0/3 {
		t.Errorf("latest train_loss %v", m)
	}
	for name, v := range tr.report {
		m, ok := run.Metric(name)
		if !ok || float64(m.Value) != v || m.Step != 3 || m.Timestamp != tracking.Int64(end+1) {
			t.Errorf("final %s = %+v, want %v at step 3, %d", name, m, v, end+1)
		}
	}
	// artifacts: the model and metrics directories, byte for byte
	for local, dir := range map[string]string{tr.model: "model", tr.metrics: "metrics"} {
		got := filepath.Join(t.TempDir(), dir)
		if _, err := ml.DownloadDir(ctx, run.Info.ArtifactURI, dir, got); err != nil {
			t.Fatal(err)
		}
		sameFiles(t, "artifacts "+dir+"/", got, local)
	}
	top, err := ml.ListArtifacts(ctx, run.Info.ArtifactURI, "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range top {
		names = append(names, f.Path)
	}
	if slices.Sort(names); !slices.Equal(names, []string{"metrics", "model"}) {
		t.Errorf("artifact root holds %v", names)
	}
}

// historyLengths returns how many points each metric of a run has.
func historyLengths(ctx context.Context, t *testing.T, ml *tracking.Client, runID string) map[string]int {
	t.Helper()
	run, err := ml.GetRun(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, m := range run.Data.Metrics {
		h, err := ml.GetMetricHistory(ctx, runID, m.Key)
		if err != nil {
			t.Fatal(err)
		}
		out[m.Key] = len(h)
	}
	return out
}

// checkRecord compares the stored row with the trial.
func checkRecord(t *testing.T, c *chain, tr chainTrial, rec results.TrialRecord, runID, digest string, epochs bool) {
	t.Helper()
	if rec.Experiment != c.name || rec.Status != results.StatusSucceeded || rec.MLflowRunID != runID ||
		rec.ModelDigest != digest || rec.Image != c.image || rec.DatasetDigest != tr.Dataset || rec.FinishedAt.IsZero() {
		t.Errorf("row %+v", rec)
	}
	var gotCfg, wantCfg, gotSweep map[string]any
	if err := json.Unmarshal(rec.Config, &gotCfg); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(tr.Config, &wantCfg); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotCfg, wantCfg) {
		t.Errorf("config differs:\n%s\nwant\n%s", rec.Config, tr.Config)
	}
	if err := json.Unmarshal(rec.SweepPoint, &gotSweep); err != nil {
		t.Fatal(err)
	}
	for _, o := range tr.Overrides {
		if !reflect.DeepEqual(gotSweep[o.Path], o.Value) {
			t.Errorf("sweep point %s = %v, want %v", o.Path, gotSweep[o.Path], o.Value)
		}
	}
	if len(gotSweep) != len(tr.Overrides) || len(gotSweep) == 0 {
		t.Errorf("sweep point %s, want %d values", rec.SweepPoint, len(tr.Overrides))
	}
	final := map[string]float64{}
	perEpoch := 0
	for _, m := range rec.Metrics {
		if m.Step == results.FinalStep {
			final[m.Name] = m.Value
		} else {
			perEpoch++
		}
	}
	if !reflect.DeepEqual(final, tr.report) {
		t.Errorf("final metrics %v, want %v", final, tr.report)
	}
	wantEpoch := 0
	if epochs {
		wantEpoch = 3 * 6 // train_loss, val_loss, lr, val_accuracy, val_f1, val_auc
	}
	if perEpoch != wantEpoch {
		t.Errorf("%d per-epoch metric rows, want %d", perEpoch, wantEpoch)
	}
	if digest != "" {
		if len(rec.Artifacts) != 1 || rec.Artifacts[0] != (results.Artifact{Kind: "model", Ref: c.repo + "@" + digest, Digest: digest}) {
			t.Errorf("artifacts %+v", rec.Artifacts)
		}
	} else if len(rec.Artifacts) != 0 {
		t.Errorf("artifacts %+v, want none", rec.Artifacts)
	}
}

func headDigest(ctx context.Context, t *testing.T, ref string) string {
	t.Helper()
	r, err := publish.ParseRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(r, remote.WithContext(ctx))
	if err != nil {
		t.Fatalf("HEAD %s: %v", ref, err)
	}
	return d.Digest.String()
}

// delayedProxy returns the URL of a reverse proxy to target that refuses
// connections (nothing listens) for the first down, and a function giving
// the time it served its first request.
func delayedProxy(t *testing.T, target string, down time.Duration) (string, func() time.Time) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	var mu sync.Mutex
	var first time.Time
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if first.IsZero() {
			first = time.Now()
		}
		mu.Unlock()
		rp.ServeHTTP(w, r)
	})}
	done := make(chan error, 1)
	go func() {
		time.Sleep(down)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			done <- err
			return
		}
		done <- srv.Serve(l)
	}()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil && err != http.ErrServerClosed {
			t.Errorf("proxy: %v", err)
		}
	})
	return "http://" + addr, func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return first
	}
}

// readOnlyRegistry starts the registry binary scripts/registry.sh uses in
// read-only maintenance mode, which answers every push with 405, and
// returns its host:port.
func readOnlyRegistry(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("REGISTRY_BIN")
	for _, name := range []string{"docker-registry", "registry"} {
		if bin != "" {
			break
		}
		bin, _ = exec.LookPath(name)
	}
	if bin == "" {
		if testenv.SkipServers() {
			t.Skip("no registry binary (docker-registry, registry, REGISTRY_BIN)")
		}
		t.Fatal("no registry binary (docker-registry or registry on PATH, or REGISTRY_BIN); scripts/registry.sh installs one")
	}
	dir := t.TempDir()
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n  maintenance:\n    readonly:\n      enabled: true\nhttp:\n  addr: %s\n", filepath.Join(dir, "storage"), addr)
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "serve", filepath.Join(dir, "config.yml"))
	cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			return addr
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logFile.Name())
			t.Fatalf("read-only registry did not start: %v\n%s", err, b)
		}
	}
}
