//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"parak8s.dev/parak8s/internal/browser"
)

// EnvArgoServer is the base URL of `argo server` with its web UI
// (scripts/cluster/argo-ui.sh builds it; scripts/cluster.sh starts it).
const EnvArgoServer = "PARAK8S_ARGO_SERVER"

// TestArgoUI looks at a submitted sweep in Argo's real web UI, in headless
// Chromium, as a person watching it would: the DAG renders, the trial nodes
// are named by their swept values, a failed step shows its message, and
// the workflow's MLflow link (Argo's links config, scope workflow) opens
// the trials' MLflow experiment. Screenshots go to out/screenshots/.
func TestArgoUI(t *testing.T) {
	base := strings.TrimSuffix(os.Getenv(EnvArgoServer), "/")
	if base == "" {
		t.Skipf("%s is not set: no argo server with its UI to look at (scripts/cluster.sh starts one)", EnvArgoServer)
	}
	exe := browser.Need(t)

	// The links argo server serves (GET /api/v1/info), from the
	// controller's ConfigMap: one must take a workflow to MLflow.
	var info struct {
		Links []struct{ Name, Scope, URL string }
	}
	res, err := http.Get(base + "/api/v1/info")
	if err != nil {
		t.Fatalf("argo server at %s: %v", base, err)
	}
	err = json.NewDecoder(res.Body).Decode(&info)
	res.Body.Close()
	if err != nil {
		t.Fatalf("argo server's /api/v1/info: %v", err)
	}
	var mlflowLink string
	for _, l := range info.Links {
		if l.Scope == "workflow" && strings.Contains(strings.ToLower(l.Name), "mlflow") {
			mlflowLink = l.URL
		}
	}
	if mlflowLink == "" {
		t.Errorf("argo server has no workflow link to MLflow (links: %+v)", info.Links)
	}

	// Two trials over training.seed whose train pods all fail
	// (scripts/cluster/stages.yaml): retried twice each, then failed.
	s := submit(t, compile(t, "--experiment", "fails", "e2e/testdata/sweeps"), 5*time.Minute)
	wf := workflow(t, s.names[0])
	var trials []wfv1.NodeStatus
	var failed wfv1.NodeStatus
	for _, n := range wf.Status.Nodes {
		if n.Type == wfv1.NodeTypeDAG && n.TemplateName == "trial" {
			trials = append(trials, n)
		}
		if n.Type == wfv1.NodeTypePod && n.Phase == wfv1.NodeFailed && strings.HasPrefix(n.DisplayName, "train") && failed.ID == "" {
			failed = n
		}
	}
	if len(trials) != 2 || failed.ID == "" || failed.Message == "" {
		t.Fatalf("%s: %d trial nodes and failed train pod %q (%q); want 2 and one with a message", wf.Name, len(trials), failed.DisplayName, failed.Message)
	}
	for _, n := range trials {
		if !regexp.MustCompile(`training-seed:[12]\b`).MatchString(n.DisplayName) {
			t.Errorf("trial node %q is not named by its swept value (training-seed)", n.DisplayName)
		}
	}

	b, err := browser.Start(exe, browser.Options{Width: 1600, Height: 1000, Timeout: 90 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// The UI's first-use and feedback modals, dismissed as a returning user
	// has them (its localStorage keys; the version modal wants major.minor).
	version := regexp.MustCompile(`^v\d+\.\d+`).FindString(argoVersion())
	if err := b.BeforeLoad(fmt.Sprintf(`localStorage.setItem("modal/ftu", JSON.stringify("dismissed"));
localStorage.setItem("modal/feedback", JSON.stringify(9e15));
localStorage.setItem("modal/version", JSON.stringify(%q));`, version)); err != nil {
		t.Fatal(err)
	}
	root := env.root
	page := base + "/workflows/" + namespace + "/" + url.PathEscape(wf.Name)

	t.Run("DAG", func(t *testing.T) {
		took, err := b.Open(page + "?tab=workflow")
		if err != nil {
			t.Fatal(err)
		}
		var titles []string
		if err := b.WaitFor(`(() => { const t = [...document.querySelectorAll(".graph svg g > title")].map(e => e.textContent); return t.length > 0 && document.querySelectorAll(".graph g.edge").length > 0 && t; })()`, &titles); err != nil {
			t.Fatalf("the DAG did not render: %v", err)
		}
		t.Logf("the DAG of %s rendered %d nodes in %v", wf.Name, len(titles), took.Round(time.Millisecond))
		all := strings.Join(titles, "\n")
		for _, n := range trials {
			if !strings.Contains(all, n.DisplayName) {
				t.Errorf("the DAG has no node %q (nodes: %q)", n.DisplayName, titles)
			}
		}
		// The UI shows labels longer than 28 characters as their first 12
		// and last 13 characters; the whole name is the node's tooltip.
		var shown []string
		if err := b.Eval(`[...document.querySelectorAll(".graph text.node-label")].map(e => [...e.querySelectorAll("tspan")].map(s => s.textContent).join(" ") || e.textContent)`, &shown); err != nil {
			t.Fatal(err)
		}
		t.Logf("node labels as shown: %q", shown)
		if err := b.Screenshot(filepath.Join(root, "out", "screenshots", "argo-dag.png")); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("failed step", func(t *testing.T) {
		if _, err := b.Open(page + "?tab=workflow&nodeId=" + url.QueryEscape(failed.ID)); err != nil {
			t.Fatal(err)
		}
		msg, _ := json.Marshal(failed.Message)
		if err := b.WaitFor(`document.body.innerText.includes(`+string(msg)+`)`, nil); err != nil {
			t.Errorf("the page of the failed step %s does not show its message %q: %v", failed.DisplayName, failed.Message, err)
		}
		if err := b.Screenshot(filepath.Join(root, "out", "screenshots", "argo-failed-step.png")); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("MLflow link", func(t *testing.T) {
		if mlflowLink == "" {
			t.Skip("no MLflow link configured (see above)")
		}
		if _, err := b.Open(page + "?tab=workflow"); err != nil {
			t.Fatal(err)
		}
		// The link is a toolbar button; a ctrl-click opens it in a new
		// window, caught here instead.
		var opened string
		err := b.WaitFor(`(() => {
  const btn = [...document.querySelectorAll("button")].find(e => /mlflow/i.test(e.textContent));
  if (!btn) return "";
  window.open = u => { window.__opened = u; return null; };
  btn.dispatchEvent(new MouseEvent("click", {bubbles: true, ctrlKey: true}));
  return window.__opened || "";
})()`, &opened)
		if err != nil {
			t.Fatalf("no MLflow button opens a link on the workflow's page: %v", err)
		}
		exp := wf.Labels["parak8s.dev/experiment"]
		if exp == "" || !strings.Contains(opened, exp) {
			t.Errorf("the MLflow link opens %q, which does not name the experiment %q (configured: %s)", opened, exp, mlflowLink)
		}
		t.Logf("MLflow link: %s", opened)
	})
}

// argoVersion is the version of Argo Workflows in go.mod, which the test
// cluster runs (scripts/cluster/versions.sh pins the same).
func argoVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/argoproj/argo-workflows/v3" {
				return d.Version
			}
		}
	}
	return ""
}
