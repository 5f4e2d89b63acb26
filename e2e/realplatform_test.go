//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"parak8s.dev/parak8s/platform"
)

// TestRealPlatform runs the whole of `parac platform` on the real node — PostgreSQL
// and MLflow from the images built here from Debian's packages and PyPI, the
// registry, the S3 store — and a demo sweep that tracks to that MLflow, records
// to that PostgreSQL and publishes to that registry and MLflow's model registry,
// while the PostgreSQL and MLflow pods are deleted under it. Then it reads
// everything back with clients ParaK8s did not write: the Python mlflow client,
// psql, and go-containerregistry's remote package.
func TestRealPlatform(t *testing.T) {
	rc := setupReal(t, true)
	t.Cleanup(func() { rc.stopServers(t) })
	t.Logf("platform Ready on %s %v after applying it (PostgreSQL, MLflow, registry, S3)", rc.node, rc.ready.Round(time.Second))
	ctx := context.Background()
	digest := rc.pushDemoRecords(t, demoRecords)
	svc := func(n string) string { return n + "." + rc.ns + ".svc.cluster.local" }
	repo := svc(platform.Registry) + ":5000/models/ecg-demo"
	sets := []string{
		"--set", fmt.Sprintf("images.step=%q", rc.stepImage),
		"--set", fmt.Sprintf("data.source.path=%q", "oci://"+svc(platform.Registry)+":5000/data/mitdb-demo@"+digest),
		"--set", fmt.Sprintf("data.source.digest=%q", digest),
		"--set", fmt.Sprintf("tracking.uri=%q", "http://"+svc(platform.MLflow)+":5000"),
		"--set", fmt.Sprintf("results.dsn={\"name\":%q,\"key\":\"dsn\"}", platform.Postgres),
		"--set", fmt.Sprintf("registry.repository=%q", repo),
		"--set", `registry.model="ecg-demo"`,
		// The servers take 1.1 of the node's 2 cores: two trains at a time fit.
		"--set", `resources.cpu="400m"`,
		// Retries outlast a server's restart.
		"--set", `workflow={"retries":6,"backoff":"5s"}`,
	}
	yaml := compile(t, append([]string{"examples/demo"}, sets...)...)
	var restarted []string
	sub := rc.submitAndWatch(t, yaml, 25*time.Minute, func(wf string) {
		// The servers go away while trials track and record.
		waitFor(t, 10*time.Minute, "the first track pod", func() (bool, error) {
			pods, err := env.kube.CoreV1().Pods(rc.ns).List(ctx, metav1.ListOptions{LabelSelector: "workflows.argoproj.io/workflow=" + wf + ",parak8s.dev/step=track"})
			return err == nil && len(pods.Items) > 0, err
		})
		for _, sel := range []string{"app.kubernetes.io/name=" + platform.Postgres, "app.kubernetes.io/name=" + platform.MLflow} {
			if err := env.kube.CoreV1().Pods(rc.ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: sel}); err != nil {
				t.Fatal(err)
			}
			restarted = append(restarted, sel)
		}
		t.Logf("deleted the PostgreSQL and MLflow pods while the first trial tracks")
	})
	wf := workflowIn(t, rc.ns, sub.names[0])
	if sub.err != nil || wf.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("workflow %s: %s (%s): %v", wf.Name, wf.Status.Phase, wf.Status.Message, sub.err)
	}
	retried := map[string]int{}
	for _, n := range wf.Status.Nodes {
		if n.Type == wfv1.NodeTypeRetry && len(n.Children) > 1 {
			retried[n.TemplateName] += len(n.Children) - 1
		}
	}
	t.Logf("demo sweep with the platform: %v wall; retries by step %v after deleting %v", sub.wall.Round(time.Second), retried, restarted)
	trials := map[string]bool{}
	for _, n := range wf.Status.Nodes {
		if n.TemplateName == "train" && n.Type == wfv1.NodeTypePod && n.Phase == wfv1.NodeSucceeded {
			trials[param(n, "trial")] = true
		}
	}
	if len(trials) != 4 {
		t.Fatalf("%d trials trained, want 4", len(trials))
	}

	// MLflow, through the Python client: one run per trial, its params, per-epoch
	// metrics, downloadable artifacts, and the model versions with the alias on
	// the best trial.
	ml := rc.mlflowReadBack(t, "http://"+serviceAddr(t, rc.ns, platform.MLflow), "ecg-demo", "ecg-demo", "champion")
	runs := map[string]int{}
	best, bestF1 := "", -1.0
	for _, r := range ml.Runs {
		runs[r.Trial]++
		if r.Status != "FINISHED" || r.Params < 20 || len(r.Artifacts) == 0 || r.Downloaded == 0 {
			t.Errorf("run of trial %s: status %s, %d params, artifacts %v (%d files downloaded)", r.Trial, r.Status, r.Params, r.Artifacts, r.Downloaded)
		}
		if r.History["train_loss"] != 3 {
			t.Errorf("run of trial %s: train_loss history of %d epochs, want 3 (histories %v)", r.Trial, r.History["train_loss"], r.History)
		}
		if f1 := r.Metrics["val_f1_macro"]; f1 > bestF1 || (f1 == bestF1 && r.Trial < best) {
			best, bestF1 = r.Trial, f1
		}
	}
	for trial := range trials {
		if runs[trial] != 1 {
			t.Errorf("trial %s has %d MLflow runs, want exactly 1 (all: %v)", trial, runs[trial], runs)
		}
	}
	t.Logf("MLflow: %d runs, %d model versions, alias champion on trial %s (best val_f1_macro %.4f: %s)", len(ml.Runs), len(ml.Versions), ml.Champion.Trial, bestF1, best)
	if ml.Champion.Trial != best {
		t.Errorf("the champion alias is on trial %s, want the best trial %s", ml.Champion.Trial, best)
	}

	// PostgreSQL, through psql: one succeeded row per trial, per-epoch metrics, the
	// model artifact pinned by digest.
	pod, err := env.kube.CoreV1().Pods(rc.ns).Get(ctx, platform.Postgres+"-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dsn := fmt.Sprintf("postgres://parak8s:%s@%s:5432/parak8s?sslmode=disable", rc.opts.PostgresPassword, pod.Status.PodIP)
	rows := psql(t, dsn, `SELECT id, status, started_at IS NOT NULL,
		(SELECT count(*) FROM metrics m WHERE m.trial_id = t.id AND m.step >= 0),
		(SELECT string_agg(ref, ' ') FROM artifacts a WHERE a.trial_id = t.id AND a.kind = 'model')
		FROM trials t WHERE experiment = 'ecg-demo' ORDER BY id`)
	if len(rows) != 4 {
		t.Errorf("PostgreSQL has %d trial rows, want 4: %v", len(rows), rows)
	}
	models := map[string]string{}
	for _, r := range rows {
		if !trials[r[0]] || r[1] != "succeeded" || r[2] != "t" || r[3] == "0" || !strings.Contains(r[4], "@sha256:") || strings.Contains(r[4], " ") {
			t.Errorf("PostgreSQL row %q: want a trial of the sweep, succeeded, started_at set, per-epoch metrics, one model ref repo@digest", r)
		}
		models[r[0]] = r[4]
	}
	t.Logf("PostgreSQL: %d rows, e.g. %q", len(rows), rows[0])

	// The registry, through go-containerregistry: each model artifact pulled by
	// its digest holds the files train wrote (as Argo archived them in the store).
	for _, n := range wf.Status.Nodes {
		if n.TemplateName != "train" || n.Type != wfv1.NodeTypePod || n.Outputs == nil {
			continue
		}
		for _, a := range n.Outputs.Artifacts {
			if a.Name != "model" || a.S3 == nil {
				continue
			}
			trial := param(n, "trial")
			ref := strings.Replace(models[trial], svc(platform.Registry)+":5000", serviceAddr(t, rc.ns, platform.Registry), 1)
			got := pullFiles(t, ref)
			want := untgz(t, rc.s3, a.S3.Key)
			if len(got) == 0 || !equalFiles(want, got) {
				t.Errorf("trial %s: the registry's %s holds %v, the store's model.tgz %v", trial, ref, fileSums(got), fileSums(want))
			}
		}
	}
	rc.checkResubmit(t, dsn, sets, trials)
}

// checkResubmit reads the sweep back as a user of the cluster does, with
// DATABASE_URL and MLFLOW_TRACKING_URI naming the cluster's servers: `parac
// report` lists every trial; with one trial's row gone from the results
// database, `parac compile --skip-finished` emits that trial alone, and
// running it leaves one row and one MLflow run per trial again.
func (rc *realCluster) checkResubmit(t *testing.T, dsn string, sets []string, trials map[string]bool) {
	t.Setenv("DATABASE_URL", dsn)
	t.Setenv("MLFLOW_TRACKING_URI", "http://"+serviceAddr(t, rc.ns, platform.MLflow))
	html := filepath.Join(t.TempDir(), "report.html")
	out, err := run(t, context.Background(), nil, env.parac, "report", "--source", "servers", "--experiment", "ecg-demo",
		"--workdir", t.TempDir(), "-o", html)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	for trial := range trials {
		if !bytes.Contains(b, []byte(trial[:12])) {
			t.Errorf("the report from the cluster's servers does not list trial %s", trial[:12])
		}
	}
	t.Logf("parac report --source servers: %s (%d KB)", strings.TrimSpace(string(out)), len(b)>>10)

	victim := ""
	for trial := range trials {
		victim = max(victim, trial)
	}
	psql(t, dsn, "DELETE FROM trials WHERE id = '"+victim+"'")
	yaml := compile(t, append([]string{"examples/demo", "--skip-finished"}, sets...)...)
	for trial := range trials {
		if got, want := bytes.Contains(yaml, []byte(trial)), trial == victim; got != want {
			t.Errorf("compile --skip-finished: trial %s in the workflow: %v, want %v", trial[:12], got, want)
		}
	}
	sub := rc.submitAndWatch(t, yaml, 15*time.Minute, nil)
	wf := workflowIn(t, rc.ns, sub.names[0])
	if sub.err != nil || wf.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("resubmitted workflow %s: %s (%s): %v", wf.Name, wf.Status.Phase, wf.Status.Message, sub.err)
	}
	trained := 0
	for _, n := range wf.Status.Nodes {
		if n.TemplateName == "train" && n.Type == wfv1.NodeTypePod {
			trained++
		}
	}
	rows := psql(t, dsn, "SELECT count(*), count(DISTINCT id) FROM trials WHERE experiment = 'ecg-demo' AND status = 'succeeded'")
	ml := rc.mlflowReadBack(t, os.Getenv("MLFLOW_TRACKING_URI"), "ecg-demo", "ecg-demo", "champion")
	t.Logf("resubmitted with --skip-finished: %d train pod(s) in %v; PostgreSQL %v; %d MLflow runs", trained, sub.wall.Round(time.Second), rows, len(ml.Runs))
	if trained != 1 || len(rows) != 1 || rows[0][0] != "4" || rows[0][1] != "4" || len(ml.Runs) != 4 {
		t.Errorf("after the resubmission: %d trains, rows %v, %d MLflow runs; want 1 train, 4 succeeded rows, 4 runs", trained, rows, len(ml.Runs))
	}
}

// stopServers removes PostgreSQL and MLflow again: the node's two cores are for
// the tests after this one.
func (rc *realCluster) stopServers(t *testing.T) {
	ctx := context.Background()
	if err := env.kube.AppsV1().StatefulSets(rc.ns).Delete(ctx, platform.Postgres, metav1.DeleteOptions{}); err != nil {
		t.Logf("deleting %s: %v", platform.Postgres, err)
	}
	if err := env.kube.AppsV1().Deployments(rc.ns).Delete(ctx, platform.MLflow, metav1.DeleteOptions{}); err != nil {
		t.Logf("deleting %s: %v", platform.MLflow, err)
	}
}

// mlflowView is what the Python mlflow client read.
type mlflowView struct {
	Runs []struct {
		Trial      string             `json:"trial"`
		Status     string             `json:"status"`
		Params     int                `json:"params"`
		Metrics    map[string]float64 `json:"metrics"`
		History    map[string]int     `json:"history"`
		Artifacts  []string           `json:"artifacts"`
		Downloaded int                `json:"downloaded"`
	} `json:"runs"`
	Versions []struct {
		Version string            `json:"version"`
		Tags    map[string]string `json:"tags"`
	} `json:"versions"`
	Champion struct {
		Trial string `json:"trial"`
	} `json:"champion"`
}

// mlflowClient is the Python mlflow client's read of an experiment and its
// registered model.
const mlflowClient = `
import json, sys, tempfile, os
import mlflow
from mlflow import MlflowClient
uri, experiment, model, alias = sys.argv[1:5]
mlflow.set_tracking_uri(uri)
c = MlflowClient(uri)
exp = c.get_experiment_by_name(experiment)
out = {"runs": [], "versions": [], "champion": {}}
trial_of = {}
for r in c.search_runs([exp.experiment_id], max_results=1000):
    rid = r.info.run_id
    trial = r.data.tags.get("parak8s.trial", "")
    trial_of[rid] = trial
    arts = [a.path for a in c.list_artifacts(rid)]
    downloaded = 0
    if arts:
        d = c.download_artifacts(rid, arts[0], tempfile.mkdtemp())
        downloaded = sum(len(f) for _, _, f in os.walk(d)) if os.path.isdir(d) else 1
    out["runs"].append({"trial": trial, "status": r.info.status, "params": len(r.data.params),
        "metrics": r.data.metrics, "artifacts": arts, "downloaded": downloaded,
        "history": {k: len(c.get_metric_history(rid, k)) for k in r.data.metrics}})
for v in c.search_model_versions("name='%s'" % model):
    out["versions"].append({"version": v.version, "tags": v.tags})
mv = c.get_model_version_by_alias(model, alias)
out["champion"] = {"trial": trial_of.get(mv.run_id, "")}
print(json.dumps(out))
`

func (rc *realCluster) mlflowReadBack(t *testing.T, uri, experiment, model, alias string) mlflowView {
	t.Helper()
	venv := os.Getenv("MLFLOW_VENV")
	if venv == "" {
		cache := os.Getenv("PARAK8S_CACHE")
		if cache == "" {
			home, _ := os.UserHomeDir()
			cache = filepath.Join(home, ".cache", "parak8s")
		}
		venv = filepath.Join(cache, "mlflow-venv")
	}
	cmd := exec.Command(filepath.Join(venv, "bin", "python"), "-c", mlflowClient, uri, experiment, model, alias)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("the Python mlflow client (%s; make e2e runs scripts/mlflow.sh install): %v\n%s", venv, err, stderr.String())
	}
	var v mlflowView
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("the mlflow client's output: %v\n%s", err, out)
	}
	return v
}

// psql runs a query with the psql client and returns its rows' fields.
func psql(t *testing.T, dsn, query string) [][]string {
	t.Helper()
	out, err := exec.Command("psql", dsn, "-X", "-A", "-t", "-F", "\t", "-c", query).CombinedOutput()
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
	var rows [][]string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			rows = append(rows, strings.Split(l, "\t"))
		}
	}
	return rows
}

// pullFiles pulls an artifact by its digest with go-containerregistry and reads
// the files of its (tar+gzip) layers: base name → bytes.
func pullFiles(t *testing.T, ref string) map[string][]byte {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatalf("%s: %v", ref, err)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatalf("pulling %s: %v", ref, err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(rc)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		tr := tar.NewReader(zr)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.Typeflag == tar.TypeReg {
				b, _ := io.ReadAll(tr)
				files[filepath.Base(h.Name)] = b
			}
		}
		rc.Close()
	}
	return files
}

func fileSums(files map[string][]byte) []string {
	var out []string
	for n, b := range files {
		s := sha256.Sum256(b)
		out = append(out, n+"="+hex.EncodeToString(s[:6]))
	}
	slices.Sort(out)
	return out
}

func equalFiles(a, b map[string][]byte) bool {
	return slices.Equal(fileSums(a), fileSums(b))
}
