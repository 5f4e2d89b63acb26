package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/rogpeppe/go-internal/testscript"

	"parak8s.dev/parak8s/compiler"
	"parak8s.dev/parak8s/compiler/argo"
	"parak8s.dev/parak8s/internal/testenv"
	"parak8s.dev/parak8s/runtime/local"
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
func fromLocal(t *testing.T, g *local.Graph, l local.Layout) map[string]command {
	t.Helper()
	out := map[string]command{}
	for _, s := range g.Steps {
		u := g.Units[s.Unit]
		back := map[string]string{l.Config(): step.PathConfig}
		var datasetDir string
		if u.Kind == "dataset" {
			datasetDir = u.Dir
		} else {
			var info local.TrialInfo
			if err := json.Unmarshal(u.Files[local.FileTrial], &info); err != nil {
				t.Fatal(err)
			}
			datasetDir = l.Dataset(info.DataKey)
			for dir, pod := range map[string]string{
				local.DirModel: step.PathModel, local.DirMetrics: step.PathMetrics,
				local.DirCheckpoints: step.PathCheckpoint, local.DirOut: step.PathOut,
			} {
				back[filepath.Join(u.Dir, dir)] = pod
			}
		}
		back[filepath.Join(datasetDir, local.DirData)] = step.PathDataset
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
	for _, ex := range []string{"ecg", "pneumonia"} {
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

			l := local.Layout{Root: t.TempDir(), Experiment: p.Experiment.Name}
			sel, err := selectTrials(p, nil)
			if err != nil {
				t.Fatal(err)
			}
			noEnv := func(string) (string, bool) { return "", false }
			g, err := localGraph(p, l, sel, noEnv)
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

func TestLocalGraphEnvironment(t *testing.T) {
	res, err := compiler.Plan(filepath.Join("..", "..", "examples", "ecg"), compiler.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	p := res[0].Plan
	p.Experiment.Tracking.URI = "http://mlflow.cluster:5000"
	sel, err := selectTrials(p, []string{p.Trials[3].Short()})
	if err != nil {
		t.Fatal(err)
	}
	l := local.Layout{Root: t.TempDir(), Experiment: p.Experiment.Name}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string // MLFLOW_TRACKING_URI given to track, "" for none
	}{
		{"spec", nil, "http://mlflow.cluster:5000"},
		{"user wins", map[string]string{step.EnvMLflowURI: "http://127.0.0.1:5000"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := localGraph(p, l, sel, func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
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
	if _, err := selectTrials(p, []string{"ffffffffffff0"}); err == nil {
		t.Error("--only with an unknown trial should fail")
	}
}

func TestFindProgram(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, step.Program)
	if err := os.WriteFile(prog, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", t.TempDir())
	if _, err := findProgram(""); err == nil || !strings.Contains(err.Error(), "--parak8s") {
		t.Errorf("no program anywhere: %v", err)
	}
	if got, err := findProgram(prog); err != nil || got != prog {
		t.Errorf("--parak8s: %s, %v", got, err)
	}
	if _, err := findProgram(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing --parak8s should fail")
	}
	t.Setenv("PATH", dir)
	if got, err := findProgram(""); err != nil || got != prog {
		t.Errorf("from $PATH: %s, %v", got, err)
	}
}

// TestRunScripts runs the scripts of testdata/run (parac run, plan and
// report) with the test double of the step program
// (runtime/local/testdata/fakestep) in $PATH as fakestep.
func TestRunScripts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the fake step program")
	}
	bin := t.TempDir()
	if err := testenv.GoBuild(nil, "-o", filepath.Join(bin, "fakestep"), "parak8s.dev/parak8s/runtime/local/testdata/fakestep"); err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "run"),
		Setup: func(e *testscript.Env) error {
			e.Setenv("PATH", bin+string(os.PathListSeparator)+e.Getenv("PATH"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitfor": waitFor,
			"noprocs": noProcs,
		},
	})
}

// waitFor waits (up to 30s) until FILE matches REGEXP: waitfor FILE REGEXP.
func waitFor(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitfor FILE REGEXP")
	}
	re := regexp.MustCompile(args[1])
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		b, _ := os.ReadFile(ts.MkAbs(args[0]))
		if re.Match(b) {
			return
		}
	}
	ts.Fatalf("%s never matched %s", args[0], args[1])
}

// noProcs checks that no process the fake step program logged (steps and
// the children they started) is alive: noprocs LOG.
func noProcs(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: noprocs LOG")
	}
	f, err := os.Open(ts.MkAbs(args[0]))
	ts.Check(err)
	defer f.Close()
	var pids []int
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e struct{ PID, Child int }
		ts.Check(json.Unmarshal(sc.Bytes(), &e))
		pids = append(pids, e.PID)
		if e.Child > 0 {
			pids = append(pids, e.Child)
		}
	}
	if len(pids) == 0 {
		ts.Fatalf("%s names no process", args[0])
	}
	for _, pid := range pids {
		for end := time.Now().Add(5 * time.Second); alive(pid) && time.Now().Before(end); {
			time.Sleep(10 * time.Millisecond)
		}
		if alive(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
			ts.Fatalf("process %d outlived parac run", pid)
		}
	}
}

// alive reports whether a process exists and is not a zombie.
func alive(pid int) bool {
	if runtime.GOOS == "linux" {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return false
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndex(s, ")")+1:])
		return len(f) > 0 && f[0] != "Z" && f[0] != "X"
	}
	return syscall.Kill(pid, 0) == nil
}
