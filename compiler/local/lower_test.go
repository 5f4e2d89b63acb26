package local_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"parak8s.dev/parak8s/compiler"
	"parak8s.dev/parak8s/compiler/argo"
	"parak8s.dev/parak8s/compiler/local"
	runner "parak8s.dev/parak8s/runtime/local"
	"parak8s.dev/parak8s/runtime/step"
)

// command is one step as a runner would start it: its arguments and
// environment (secrets left out), with pod paths, and what it waits for.
type command struct {
	Args []string
	Env  []string
	Deps []string
}

var expr = regexp.MustCompile(`\{\{([^{}]+)\}\}`)

// resolve fills in Argo's {{…}} expressions from vars; it fails on one vars
// lacks.
func resolve(t *testing.T, s string, vars map[string]string) string {
	t.Helper()
	return expr.ReplaceAllStringFunc(s, func(m string) string {
		v, ok := vars[m[2:len(m)-2]]
		if !ok {
			t.Fatalf("no value for %s in %q", m, s)
		}
		return v
	})
}

// fromArgo walks a compiled workflow as Argo's controller would: the main
// DAG's prepare tasks and fan-outs (one trial DAG per item), the trial DAG's
// tasks and their parameters, down to each step template's container. An
// output parameter becomes "<file PATH>", PATH being where its template
// says the step writes it.
func fromArgo(t *testing.T, wf *wfv1.Workflow) map[string]command {
	t.Helper()
	tpl := map[string]wfv1.Template{}
	for _, x := range wf.Spec.Templates {
		tpl[x.Name] = x
	}
	container := func(name string, params map[string]string, deps []string) command {
		x := tpl[name]
		vars := map[string]string{}
		for _, p := range x.Inputs.Parameters {
			v, ok := params[p.Name]
			if !ok {
				t.Fatalf("template %s: no argument for input %s", name, p.Name)
			}
			vars["inputs.parameters."+p.Name] = v
		}
		c := command{Deps: deps}
		if got := x.Container.Command; !slices.Equal(got, []string{step.Program}) {
			t.Fatalf("template %s runs %v", name, got)
		}
		for _, a := range x.Container.Args {
			c.Args = append(c.Args, resolve(t, a, vars))
		}
		for _, e := range x.Container.Env {
			if e.ValueFrom != nil || e.Value == step.PathDocker {
				continue
			}
			c.Env = append(c.Env, e.Name+"="+resolve(t, e.Value, vars))
		}
		return c
	}
	params := func(ps []wfv1.Parameter, vars map[string]string) map[string]string {
		out := map[string]string{}
		for _, p := range ps {
			out[p.Name] = resolve(t, p.Value.String(), vars)
		}
		return out
	}
	out := map[string]command{}
	trial := tpl[argo.TrialTemplate]
	for _, task := range tpl[argo.EntryTemplate].DAG.Tasks {
		if task.Template == string(step.Prepare) {
			out[task.Name] = container(task.Template, params(task.Arguments.Parameters, nil), nil)
			continue
		}
		for _, it := range task.WithItems {
			var item map[string]string
			if err := json.Unmarshal(it.Value, &item); err != nil {
				t.Fatal(err)
			}
			vars := map[string]string{}
			for k, v := range item {
				vars["item."+k] = v
			}
			trialParams := params(task.Arguments.Parameters, vars)
			inner := map[string]string{}
			for k, v := range trialParams {
				inner["inputs.parameters."+k] = v
			}
			for _, x := range wf.Spec.Templates {
				for _, o := range x.Outputs.Parameters {
					inner["tasks."+x.Name+".outputs.parameters."+o.Name] = "<file " + o.ValueFrom.Path + ">"
				}
			}
			for _, st := range trial.DAG.Tasks {
				deps := []string{task.Depends}
				if st.Depends != "" {
					deps = []string{st.Depends + "-" + item["short"]}
				}
				out[st.Name+"-"+item["short"]] = container(st.Template, params(st.Arguments.Parameters, inner), deps)
			}
		}
	}
	return out
}

// fromLocal is the local runner's graph in the same terms: local folders
// mapped back to the pod paths they stand for, late values as "<file PATH>".
func fromLocal(t *testing.T, g *runner.Graph, l runner.Layout) map[string]command {
	t.Helper()
	out := map[string]command{}
	for _, s := range g.Steps {
		u := g.Units[s.Unit]
		back := map[string]string{l.Config(): step.PathConfig}
		var datasetDir string
		if u.Kind == "dataset" {
			datasetDir = u.Dir
		} else {
			var info runner.TrialInfo
			if err := json.Unmarshal(u.Files[runner.FileTrial], &info); err != nil {
				t.Fatal(err)
			}
			datasetDir = l.Dataset(info.DataKey)
			for dir, pod := range map[string]string{
				runner.DirModel: step.PathModel, runner.DirMetrics: step.PathMetrics,
				runner.DirCheckpoints: step.PathCheckpoint, runner.DirOut: step.PathOut,
			} {
				back[filepath.Join(u.Dir, dir)] = pod
			}
		}
		back[filepath.Join(datasetDir, runner.DirData)] = step.PathDataset
		toPod := func(p string) string {
			if pod, ok := back[p]; ok {
				return pod
			}
			if pod, ok := back[filepath.Dir(p)]; ok {
				return pod + "/" + filepath.Base(p)
			}
			return p
		}
		late := map[string]string{}
		for ph, file := range s.Late {
			late[ph] = "<file " + toPod(file) + ">"
		}
		fill := func(a string) string {
			for ph, v := range late {
				a = strings.ReplaceAll(a, ph, v)
			}
			return a
		}
		c := command{Deps: s.Deps}
		for _, a := range s.Args {
			c.Args = append(c.Args, fill(toPod(a)))
		}
		for _, e := range s.Env {
			c.Env = append(c.Env, fill(e))
		}
		out[s.Name] = c
	}
	return out
}

// TestLocalRunsTheCompiledPlan compares, for every example, the tasks,
// dependencies, arguments and environment of the compiled Argo workflow
// with the commands the local runner plans.
func TestLocalRunsTheCompiledPlan(t *testing.T) {
	for _, ex := range []string{"ecg", "pneumonia", "demo", "ecg-cv"} {
		t.Run(ex, func(t *testing.T) {
			res, err := compiler.Compile(filepath.Join("..", "..", "examples", ex), compiler.DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			p := res[0].Plan
			if len(res[0].Workflows) != 1 {
				t.Fatalf("%d workflows", len(res[0].Workflows))
			}
			want := fromArgo(t, res[0].Workflows[0].Workflow)

			l := runner.Layout{Root: t.TempDir(), Experiment: p.Experiment.Name}
			sel := map[int]bool{}
			for i := range p.Trials {
				sel[i] = true
			}
			noEnv := func(string) (string, bool) { return "", false }
			g, err := local.Lower(p, l, sel, noEnv)
			if err != nil {
				t.Fatal(err)
			}
			got := fromLocal(t, g, l)

			if len(got) != len(want) || len(want) != len(p.Datasets)+5*len(p.Trials) {
				t.Fatalf("local runner plans %d steps, the workflow has %d (plan: %d datasets, %d trials)", len(got), len(want), len(p.Datasets), len(p.Trials))
			}
			names := make([]string, 0, len(want))
			for n := range want {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				w, ok := got[n]
				if !ok {
					t.Errorf("the local runner lacks step %s", n)
					continue
				}
				a, b := fmt.Sprint(want[n]), fmt.Sprint(w)
				if a != b {
					t.Errorf("step %s:\nargo:  %s\nlocal: %s", n, a, b)
				}
			}
			// Every trial step's output parameters are read from files an
			// earlier step of the same trial writes.
			for _, s := range g.Steps {
				for _, f := range s.Late {
					if !strings.HasPrefix(f, g.Units[s.Unit].Dir+string(os.PathSeparator)) {
						t.Errorf("%s reads %s outside its trial", s.Name, f)
					}
				}
			}
		})
	}
}

// TestLowerEnvironment: the user's MLFLOW_TRACKING_URI wins over the
// spec's; secrets are never passed on.
func TestLowerEnvironment(t *testing.T) {
	res, err := compiler.Plan(filepath.Join("..", "..", "examples", "ecg"), compiler.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	p := res[0].Plan
	p.Experiment.Tracking.URI = "http://mlflow.cluster:5000"
	sel := map[int]bool{3: true}
	l := runner.Layout{Root: t.TempDir(), Experiment: p.Experiment.Name}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string // MLFLOW_TRACKING_URI given to track, "" for none
	}{
		{"spec", nil, "http://mlflow.cluster:5000"},
		{"user wins", map[string]string{step.EnvMLflowURI: "http://127.0.0.1:5000"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := local.Lower(p, l, sel, func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if err != nil {
				t.Fatal(err)
			}
			if len(g.Units) != 2 || len(g.Steps) != 6 {
				t.Fatalf("--only one trial: %d units, %d steps", len(g.Units), len(g.Steps))
			}
			for _, s := range g.Steps {
				var uri string
				for _, e := range s.Env {
					if v, ok := strings.CutPrefix(e, step.EnvMLflowURI+"="); ok {
						uri = v
					}
					if strings.HasPrefix(e, step.EnvDatabaseURL+"=") {
						t.Errorf("%s: DATABASE_URL is a secret; it must come from the user's environment", s.Name)
					}
				}
				if s.Kind == string(step.Track) && uri != tc.want {
					t.Errorf("track gets %s=%q, want %q", step.EnvMLflowURI, uri, tc.want)
				}
			}
		})
	}
}
