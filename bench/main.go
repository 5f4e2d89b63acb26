package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"text/tabwriter"
	"time"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	parac := fs.String("parac", "bin/parac", "the parac binary")
	cue := fs.String("cue", "bin/cue", "the cue binary")
	runs := fs.Int("runs", 15, "runs per single-spec measurement")
	out := fs.String("out", "out/bench.json", "where to write the figures")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	figs, rows, err := measure(*parac, *cue, *runs)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "measurement\tparac wall\tparac cpu\tcue export wall\tcue export cpu\tratio wall\tratio cpu\tyaml bytes\tworkflows\t")
	for _, r := range rows {
		fmt.Fprintln(tw, r)
	}
	tw.Flush()
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	b, _ := json.MarshalIndent(figs, "", "  ")
	if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "figures written to %s\n", *out)
	return 0
}

// timing is one run's wall time and CPU time (user + system): on a shared
// machine the CPU time is the steadier figure.
type timing struct{ wall, cpu time.Duration }

// timeCmd runs a command and returns its timing and stdout.
func timeCmd(env []string, name string, args ...string) (timing, []byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	t := timing{wall: time.Since(start)}
	if cmd.ProcessState != nil {
		t.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if err != nil {
		return t, nil, fmt.Errorf("%s %v: %w\n%s", name, args, err, errb.Bytes())
	}
	return t, out.Bytes(), nil
}

// medians returns the median wall and CPU times of runs.
func medians(ts []timing) (wall, cpu float64) {
	var w, c []time.Duration
	for _, t := range ts {
		w, c = append(w, t.wall), append(c, t.cpu)
	}
	return median(w).Seconds(), median(c).Seconds()
}

func median(ds []time.Duration) time.Duration {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2]
}

func measure(parac, cue string, runs int) (map[string]float64, []string, error) {
	figs := map[string]float64{}
	var rows []string
	spec := "examples/ecg"

	// One spec: interleave the two tools so both see the same machine load.
	var pc, ce []timing
	for i := 0; i < runs; i++ {
		d, _, err := timeCmd([]string{"CUE_REGISTRY=none"}, cue, "export", "./"+spec)
		if err != nil {
			return nil, nil, err
		}
		ce = append(ce, d)
		d, _, err = timeCmd(nil, parac, "compile", "-o", os.DevNull, spec)
		if err != nil {
			return nil, nil, err
		}
		pc = append(pc, d)
	}
	p, pcpu := medians(pc)
	c, ccpu := medians(ce)
	figs["compile_one_s"], figs["cue_export_one_s"], figs["compile_vs_cue_ratio"] = p, c, p/c
	figs["compile_one_cpu_s"], figs["cue_export_one_cpu_s"], figs["compile_vs_cue_cpu_ratio"] = pcpu, ccpu, pcpu/max(ccpu, 1e-3)
	rows = append(rows, fmt.Sprintf("one spec (%s, median of %d)\t%.3fs\t%.3fs\t%.3fs\t%.3fs\t%.2fx\t%.2fx\t\t\t", spec, runs, p, pcpu, c, ccpu, p/c, pcpu/max(ccpu, 1e-3)))

	dir, err := os.MkdirTemp("", "parak8s-bench-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	for _, n := range []int{1000, 10000} {
		f := filepath.Join(dir, fmt.Sprintf("sweep%d.cue", n))
		if err := os.WriteFile(f, []byte(sweep(n)), 0o644); err != nil {
			return nil, nil, err
		}
		var ds []timing
		var y []byte
		for i := 0; i < 3; i++ {
			d, out, err := timeCmd(nil, parac, "compile", f)
			if err != nil {
				return nil, nil, err
			}
			ds = append(ds, d)
			y = out
		}
		wfs := bytes.Count(y, []byte("\nkind: Workflow\n")) + bytes.Count(y[:min(len(y), 40)], []byte("kind: Workflow\n"))
		t, cpu := medians(ds)
		key := fmt.Sprintf("compile_%d", n)
		figs[key+"_s"], figs[key+"_cpu_s"], figs[key+"_bytes"], figs[key+"_workflows"] = t, cpu, float64(len(y)), float64(wfs)
		figs[key+"_max_workflow_bytes"] = float64(largestDoc(y))
		rows = append(rows, fmt.Sprintf("%d-trial sweep (median of 3)\t%.3fs\t%.3fs\t\t\t\t\t%d\t%d\t", n, t, cpu, len(y), wfs))
	}
	return figs, rows, nil
}

// largestDoc is the size of the largest YAML document in a stream.
func largestDoc(y []byte) int {
	largest := 0
	for _, d := range bytes.Split(y, []byte("\n---\n")) {
		largest = max(largest, len(d))
	}
	return largest
}

// sweep is a spec with a grid of n trials (n = 1000 or 10000).
func sweep(n int) string {
	extra := ""
	if n == 10000 {
		extra = `{path: "training.seed", values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]},`
	}
	return fmt.Sprintf(`name: "bench"
data: source: {kind: "wfdb", path: "/data/mitdb"}
model: kind: "deepcnn1d"
resources: gpus: 1
sweep: {
	parallelism: 64
	parameters: [
		{path: "training.optimizer.lr", range: {min: 1e-5, max: 1e-1, count: 10, scale: "log"}},
		{path: "model.dropout", range: {min: 0, max: 0.9, count: 10}},
		{path: "data.loader.batchSize", values: [16, 32, 64, 128, 256, 512, 768, 1024, 2048, 4096]},
		%s
	]
}
`, extra)
}
