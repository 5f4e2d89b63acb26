// Command fakestep is a test double of the `parak8s` step program for the
// local runner's tests. It obeys the step contract of runtime/step: it reads
// the experiment's config and the trial's --set overrides, recomputes the
// trial id and data key and exits 3 when they do not match, checks that the
// artifacts it is given exist, and writes the outputs the real steps write
// (a model directory with model.json and history.json, a metrics directory
// with a real eval report, the output parameters under --out). Instead of
// training it draws synthetic predictions whose quality depends on the trial.
//
// Environment (each list is comma-separated KIND:VALUE, KIND may be "*"):
//
//	FAKESTEP_LOG          append one JSON line per event (start, end, term, child) here
//	FAKESTEP_STATE        folder for attempt counters (needed by FAKESTEP_FAIL)
//	FAKESTEP_FAIL         KIND:N:CODE fail the first N attempts (N may be "all") with exit code CODE
//	FAKESTEP_SLEEP        KIND:DURATION sleep before writing outputs
//	FAKESTEP_IGNORE_TERM  KIND:1 ignore SIGTERM
//	FAKESTEP_CHILD        KIND:1 start a child process that sleeps (and log its pid)
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/runtime/eval"
	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/schema"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "sleep-child" {
		time.Sleep(time.Hour)
		return
	}
	os.Exit(run(os.Args[1:]))
}

type flags struct {
	kind  string
	one   map[string]string
	sets  []string
	other []string
}

func parse(args []string) (flags, error) {
	f := flags{one: map[string]string{}}
	if len(args) == 0 {
		return f, fmt.Errorf("no step kind")
	}
	f.kind = args[0]
	for i := 1; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "--") || i+1 >= len(args) {
			return f, fmt.Errorf("bad argument %q", a)
		}
		v := args[i+1]
		i++
		if a == step.FlagSet {
			f.sets = append(f.sets, v)
			continue
		}
		if _, dup := f.one[a]; dup {
			return f, fmt.Errorf("flag %s given twice", a)
		}
		f.one[a] = v
	}
	return f, nil
}

// setting returns the VALUE of KIND:VALUE for this kind in an env list.
func setting(env, kind string) (string, bool) {
	for _, item := range strings.Split(os.Getenv(env), ",") {
		k, v, ok := strings.Cut(item, ":")
		if ok && (k == kind || k == "*") {
			return v, true
		}
	}
	return "", false
}

type logger struct{ path string }

func (l logger) event(ev map[string]any) {
	if l.path == "" {
		return
	}
	ev["pid"] = os.Getpid()
	ev["t"] = time.Now().UnixNano()
	b, _ := json.Marshal(ev)
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	f.Write(append(b, '\n'))
	f.Close()
}

func run(args []string) int {
	f, err := parse(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakestep:", err)
		return step.ExitUsage
	}
	log := logger{os.Getenv("FAKESTEP_LOG")}
	id := f.one[step.FlagTrial]
	if f.kind == string(step.Prepare) {
		id = f.one[step.FlagDataKey]
	}
	cwd, _ := os.Getwd()
	log.event(map[string]any{"event": "start", "kind": f.kind, "id": id, "args": args, "cwd": cwd,
		"env": map[string]string{
			step.EnvTrial:      os.Getenv(step.EnvTrial),
			step.EnvExperiment: os.Getenv(step.EnvExperiment),
			step.EnvMLflowURI:  os.Getenv(step.EnvMLflowURI),
			step.EnvThreads:    os.Getenv(step.EnvThreads),
		}})
	code := work(f, id, log)
	log.event(map[string]any{"event": "end", "kind": f.kind, "id": id, "code": code})
	return code
}

func work(f flags, id string, log logger) int {
	fail := func(code int, format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "fakestep %s: %s\n", f.kind, fmt.Sprintf(format, args...))
		return code
	}
	// The contract: the config and overrides give the trial id (or data key).
	exp, err := step.ReadExperiment(f.one[step.FlagConfig])
	if err != nil {
		return fail(step.ExitUsage, "%v", err)
	}
	var overrides []step.Override
	for _, s := range f.sets {
		o, err := step.ParseSet(s)
		if err != nil {
			return fail(step.ExitUsage, "%v", err)
		}
		overrides = append(overrides, o)
	}
	r, err := step.Resolve(exp, overrides, f.one[step.FlagImage], schema.TrialRoots())
	if err != nil {
		return fail(step.ExitFailure, "%v", err)
	}
	if err := r.Check(f.one[step.FlagTrial], f.one[step.FlagDataKey]); err != nil {
		return fail(step.ExitConfig, "%v", err)
	}
	if f.kind != string(step.Prepare) && os.Getenv(step.EnvTrial) != r.ID {
		return fail(step.ExitConfig, "%s is %q, want the trial id", step.EnvTrial, os.Getenv(step.EnvTrial))
	}

	// Scripted behaviour.
	term := make(chan os.Signal, 1)
	if _, ok := setting("FAKESTEP_IGNORE_TERM", f.kind); ok {
		signal.Ignore(syscall.SIGTERM)
	} else {
		signal.Notify(term, syscall.SIGTERM)
	}
	if _, ok := setting("FAKESTEP_CHILD", f.kind); ok {
		self, _ := os.Executable()
		c := exec.Command(self, "sleep-child")
		if err := c.Start(); err != nil {
			return fail(step.ExitFailure, "starting a child: %v", err)
		}
		log.event(map[string]any{"event": "child", "kind": f.kind, "id": id, "child": c.Process.Pid})
	}
	if v, ok := setting("FAKESTEP_FAIL", f.kind); ok {
		n, code := attempts(f.kind, id), step.ExitFailure
		parts := strings.Split(v, ":")
		limit := -1
		if parts[0] != "all" {
			limit, _ = strconv.Atoi(parts[0])
		}
		if len(parts) > 1 {
			code, _ = strconv.Atoi(parts[1])
		}
		if limit < 0 || n <= limit {
			return fail(code, "failing attempt %d as told", n)
		}
	}
	if v, ok := setting("FAKESTEP_SLEEP", f.kind); ok {
		d, _ := time.ParseDuration(v)
		select {
		case <-time.After(d):
		case <-term:
			log.event(map[string]any{"event": "term", "kind": f.kind, "id": id})
			if dir := f.one[step.FlagCheckpoint]; dir != "" {
				os.WriteFile(filepath.Join(dir, "term.ckpt"), []byte("checkpoint on SIGTERM\n"), 0o644)
			}
			return 143
		}
	}

	switch step.Kind(f.kind) {
	case step.Prepare:
		return write(f.one[step.FlagOut], "data.json", map[string]string{"dataKey": r.DataKey})
	case step.Train:
		var data map[string]string
		if err := readJSON(filepath.Join(f.one[step.FlagData], "data.json"), &data); err != nil || data["dataKey"] != r.DataKey {
			return fail(step.ExitFailure, "--data %s is not the trial's prepared data set (%v)", f.one[step.FlagData], err)
		}
		if st, err := os.Stat(f.one[step.FlagCheckpoint]); err != nil || !st.IsDir() {
			return fail(step.ExitFailure, "--checkpoints %s is not a folder", f.one[step.FlagCheckpoint])
		}
		os.WriteFile(filepath.Join(f.one[step.FlagCheckpoint], "last.ckpt"), []byte("epoch\n"), 0o644)
		return train(f.one[step.FlagOut], r)
	case step.Evaluate:
		if _, err := bundle.ReadManifest(f.one[step.FlagModel]); err != nil {
			return fail(step.ExitFailure, "%v", err)
		}
		return evaluate(f.one[step.FlagOut], r)
	case step.Track:
		if _, err := eval.Read(filepath.Join(f.one[step.FlagMetrics], bundle.FileMetrics)); err != nil {
			return fail(step.ExitFailure, "%v", err)
		}
		return writeText(f.one[step.FlagOut], step.OutRunID, "run"+step.Short(r.ID))
	case step.Publish:
		if f.one[step.FlagRunID] != "run"+step.Short(r.ID) {
			return fail(step.ExitFailure, "--run-id %q is not track's", f.one[step.FlagRunID])
		}
		h := sha256.Sum256([]byte(r.ID))
		return writeText(f.one[step.FlagOut], step.OutDigest, "sha256:"+hex.EncodeToString(h[:]))
	case step.Record:
		if f.one[step.FlagRunID] == "" || !strings.HasPrefix(f.one[step.FlagDigest], "sha256:") {
			return fail(step.ExitFailure, "record needs --run-id and --model-digest, got %q %q", f.one[step.FlagRunID], f.one[step.FlagDigest])
		}
		// Like the real step's local fallback: a file in the working folder.
		return write(".", "record.json", map[string]string{"trial": r.ID, "runId": f.one[step.FlagRunID], "digest": f.one[step.FlagDigest]})
	}
	return fail(step.ExitUsage, "unknown step %q", f.kind)
}

// attempts counts this step's attempts in FAKESTEP_STATE.
func attempts(kind, id string) int {
	dir := os.Getenv("FAKESTEP_STATE")
	if dir == "" {
		return 1
	}
	p := filepath.Join(dir, kind+"-"+step.Short(id))
	b, _ := os.ReadFile(p)
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	n++
	os.WriteFile(p, []byte(strconv.Itoa(n)), 0o644)
	return n
}

// quality is a number in [0.55, 0.95) that depends on the trial.
func quality(id string) float64 {
	h := sha256.Sum256([]byte(id))
	return 0.55 + 0.4*float64(h[0])/256
}

func classes(r step.Resolved) []string {
	var out []string
	if v, ok := step.Get(r.Experiment, "data.classes"); ok {
		for _, c := range v.([]any) {
			out = append(out, c.(string))
		}
	}
	if len(out) < 2 {
		out = []string{"a", "b"}
	}
	return out
}

func train(out string, r step.Resolved) int {
	epochs := 3
	if v, ok := step.Get(r.Experiment, "training.epochs"); ok {
		epochs = min(int(v.(float64)), 5)
	}
	q := quality(r.ID)
	var h bundle.History
	var loss, acc []float64
	for e := 1; e <= epochs; e++ {
		a := q * float64(e) / float64(epochs)
		h.Epochs = append(h.Epochs, bundle.Epoch{Epoch: e, Steps: int64(10 * e), LR: 0.001, TrainLoss: 1 - a, ValLoss: 1.1 - a, Val: map[string]float64{"accuracy": a}, Seconds: 0.01})
		loss = append(loss, 1-a)
		acc = append(acc, a)
	}
	m := bundle.Manifest{
		Format: bundle.Format, Trial: r.ID, Kind: "fake", Classes: classes(r), Input: []int{1, 8},
		DataKey: r.DataKey, Dataset: r.Dataset, Image: r.Image, Seed: r.Seed, Overrides: r.Overrides,
		Epochs: epochs, BestEpoch: epochs, Monitor: "accuracy", Val: map[string]float64{"accuracy": q},
		Steps: int64(10 * epochs), StepsPerSecond: 20, Threads: 1, Created: time.Now().UTC(),
	}
	if name, ok := r.Experiment["name"].(string); ok {
		m.Experiment = name
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return step.ExitFailure
	}
	if err := bundle.WriteJSON(filepath.Join(out, bundle.FileHistory), h); err != nil {
		return step.ExitFailure
	}
	img, err := eval.PlotTraining([]eval.Series{{Name: "loss", Values: loss}, {Name: "accuracy", Values: acc}}, eval.DefaultPlotOptions())
	if err == nil {
		err = eval.WriteSVG(filepath.Join(out, bundle.FileTraining), img)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return step.ExitFailure
	}
	// The manifest last: a model directory with one is complete.
	if err := bundle.WriteJSON(filepath.Join(out, bundle.FileManifest), m); err != nil {
		return step.ExitFailure
	}
	return step.ExitOK
}

func evaluate(out string, r step.Resolved) int {
	cls := classes(r)
	k := len(cls)
	rng := rand.New(rand.NewPCG(uint64(len(r.ID)), uint64(quality(r.ID)*1e6)))
	q := quality(r.ID)
	in := eval.Input{Classes: cls}
	for i := 0; i < 200; i++ {
		y := i % k
		in.Labels = append(in.Labels, y)
		row := make([]float32, k)
		for j := range row {
			row[j] = float32(rng.Float64() * (1 - q))
		}
		row[y] += float32(q * rng.Float64() * 1.2)
		in.Probs = append(in.Probs, row...)
	}
	rep, err := eval.Compute(in, eval.DefaultOptions())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return step.ExitFailure
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return step.ExitFailure
	}
	img, err := eval.PlotConfusion(rep.Confusion, eval.DefaultPlotOptions())
	if err == nil {
		err = eval.WriteSVG(filepath.Join(out, bundle.FileConfusion), img)
	}
	if err == nil {
		var curves []eval.ROCCurve
		if curves, err = eval.ROCCurves(in, eval.DefaultOptions()); err == nil {
			if img, err = eval.PlotROC(curves, eval.DefaultPlotOptions()); err == nil {
				err = eval.WriteSVG(filepath.Join(out, bundle.FileROC), img)
			}
		}
	}
	if err == nil {
		err = rep.Write(filepath.Join(out, bundle.FileMetrics))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return step.ExitFailure
	}
	return step.ExitOK
}

func write(dir, name string, v any) int {
	b, _ := json.Marshal(v)
	return writeText(dir, name, string(b))
}

func writeText(dir, name, s string) int {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return step.ExitFailure
	}
	if err := bundle.WriteFile(filepath.Join(dir, name), []byte(s+"\n")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return step.ExitFailure
	}
	return step.ExitOK
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
