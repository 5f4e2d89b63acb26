// Command train is the training half of `make bench`: steps per second of the ECG example's
// network (examples/ecg: deepcnn1d, batch, Adam, class-weighted cross-entropy) trained with
// gotch (runtime/model, in this process) against the same network in PyTorch-Python on the
// same torch 2.1.2 build (bench/train/pytorch.py, one subprocess) and, when a Keras venv is
// given, Keras 3 on TensorFlow (bench/train/keras.py, one subprocess per thread count); and
// WFDB→beats throughput of runtime/data/ecg.Load on the MIT-BIH records. It merges its
// figures into the JSON file that bench/main.go writes.
//
// The sides run interleaved: after a warm-up, each round runs -steps timed steps of every
// side at every thread count (the order of the sides alternating between rounds), so load
// from other processes on the machine hits all sides alike; figures are medians over rounds.
// Batches are synthetic (standard-normal samples of the real flat layout, uniform random
// labels, generated before timing) so that only the framework differs.
//
// libtorch's OpenMP threads spin while they wait (libgomp's default), which collapses
// multi-threaded throughput when other processes compete for the CPUs (both libtorch sides
// alike; TensorFlow's own pool does not spin): OMP_WAIT_POLICY=PASSIVE in the environment,
// which the Python workers inherit, changes that for both libtorch sides.
//
// It needs cgo and libtorch (scripts/libtorch.sh, scripts/cgo-env.sh); bench/main.go stays
// pure Go.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	gotchpkg "github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"

	"parak8s.dev/parak8s/compiler/spec"
	"parak8s.dev/parak8s/internal/testenv"
	"parak8s.dev/parak8s/runtime/data/ecg"
	"parak8s.dev/parak8s/runtime/dataset"
	"parak8s.dev/parak8s/runtime/model"
	"parak8s.dev/parak8s/schema"
)

func init() { runtime.LockOSThread() } // libtorch's grad mode and gotch's error slot are per OS thread

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

type config struct {
	specPath, mitdb, python, keras, out, script, profile string
	threads                                              []int
	rounds, steps, warmup, wfdbRuns, batches             int
	segment                                              float64
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench-train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	var threads string
	fs.StringVar(&c.specPath, "spec", "examples/ecg", "the experiment whose model, batch size, optimizer and loss are measured")
	fs.StringVar(&c.mitdb, "mitdb", defaultMITDB(), "MIT-BIH directory (with RECORDS) for the WFDB→beats figure ($PARAK8S_MITDB, else shared/data/mitdb above the working directory)")
	fs.StringVar(&c.python, "python", "", "python of the torch venv (scripts/torch-venv.sh); empty skips PyTorch")
	fs.StringVar(&c.keras, "keras", "", "python of a venv with Keras/TensorFlow (scripts/torch-venv.sh --keras); empty skips Keras")
	fs.StringVar(&c.script, "scripts", "bench/train", "directory of pytorch.py and keras.py")
	fs.StringVar(&c.out, "out", "out/bench.json", "JSON file to merge the figures into")
	fs.StringVar(&threads, "threads", "", "comma-separated thread counts (default 1 and the number of CPUs); the last is the headline")
	fs.IntVar(&c.rounds, "rounds", 5, "interleaved rounds")
	fs.IntVar(&c.steps, "steps", 0, "timed training steps per side, thread count and round (0: about -segment seconds of gotch at the warm-up's speed)")
	fs.Float64Var(&c.segment, "segment", 3, "seconds per timed segment when -steps is 0")
	fs.IntVar(&c.warmup, "warmup", 10, "untimed steps per side and thread count before the rounds")
	fs.IntVar(&c.wfdbRuns, "wfdb-runs", 5, "timed ecg.Load runs (median)")
	fs.IntVar(&c.batches, "batches", 8, "distinct synthetic batches per side, cycled")
	fs.StringVar(&c.profile, "cpuprofile", "", "write a CPU profile of this process (the gotch side) during the rounds")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var err error
	if c.threads, err = parseThreads(threads); err != nil {
		fmt.Fprintf(stderr, "bench-train: -threads: %v\n", err)
		return 2
	}
	if err := bench(c, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "bench-train: %v\n", err)
		return 1
	}
	return 0
}

func defaultMITDB() string {
	if d := os.Getenv("PARAK8S_MITDB"); d != "" {
		return d
	}
	return testenv.FindData("mitdb", "RECORDS")
}

func parseThreads(s string) ([]int, error) {
	if s == "" {
		return slices.Compact([]int{1, runtime.NumCPU()}), nil
	}
	var out []int
	for _, w := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(w))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive thread count", w)
		}
		out = append(out, n)
	}
	return out, nil
}

// setup is what both sides build their network and step from.
type setup struct {
	exp      schema.Experiment
	spec     model.Spec
	batch    int
	weights  []float32
	features int
}

func bench(c config, stdout, stderr io.Writer) error {
	specs, err := spec.Load(c.specPath, spec.DefaultOptions())
	if err != nil {
		return err
	}
	if len(specs) != 1 {
		return fmt.Errorf("%s holds %d experiments, want 1", c.specPath, len(specs))
	}
	exp := specs[0].Experiment
	if exp.Model.Kind != schema.ModelDeepCNN1D || exp.Data.Signal == nil {
		return fmt.Errorf("%s: want a deepcnn1d model on a signal data set, got %q", c.specPath, exp.Model.Kind)
	}
	figs := map[string]float64{}

	// WFDB → beats, which also gives the exact sample shape and the class counts.
	if c.mitdb == "" {
		return errors.New("no MIT-BIH data (set -mitdb or PARAK8S_MITDB)")
	}
	opt, err := dataset.ECGOptions(exp.Data.Signal)
	if err != nil {
		return err
	}
	records, err := readRecords(c.mitdb)
	if err != nil {
		return err
	}
	var ds *ecg.Dataset
	var loads []float64
	for i := 0; i < c.wfdbRuns; i++ {
		start := time.Now()
		ds, _, err = ecg.Load(c.mitdb, records, opt)
		if err != nil {
			return err
		}
		loads = append(loads, time.Since(start).Seconds())
	}
	if len(ds.Beats) == 0 {
		return fmt.Errorf("%s: no beats", c.mitdb)
	}
	load := median(loads)
	figs["wfdb_beats_per_s"] = float64(len(ds.Beats)) / load
	figs["wfdb_beats"] = float64(len(ds.Beats))
	figs["wfdb_records"] = float64(len(records))
	figs["wfdb_load_s"] = load
	fmt.Fprintf(stdout, "WFDB→beats: ecg.Load of %d records (%s, %s's signal options) → %d beats in %.3fs (median of %d, GOMAXPROCS %d): %.0f beats/s\n\n",
		len(records), c.mitdb, c.specPath, len(ds.Beats), load, c.wfdbRuns, runtime.GOMAXPROCS(0), figs["wfdb_beats_per_s"])

	s := setup{exp: exp, batch: exp.Data.Loader.BatchSize, features: len(ds.Beats[0].RR)}
	ch := opt.Channels() // with data.signal.recordTemplate, Beat.Signal holds two channels
	s.spec = model.Spec{Model: exp.Model, Classes: len(ds.Classes), ClassNames: ds.Classes, Input: []int{ch, len(ds.Beats[0].Signal) / ch}, Features: s.features}
	train := ds
	if recs := strs(exp.Data.Split.Train); exp.Data.Split.By == schema.SplitByRecord && len(recs) > 0 {
		train = ds.Subset(recs)
	}
	if s.weights, err = dataset.ClassWeights(train.Counts(), exp.Training.Loss.ClassWeights); err != nil {
		return err
	}
	if s.weights == nil {
		s.weights = slices.Repeat([]float32{1}, s.spec.Classes)
	}
	if exp.Training.Optimizer.Kind != schema.OptimizerAdam {
		return fmt.Errorf("optimizer %q: the bench compares Adam", exp.Training.Optimizer.Kind)
	}

	sides, err := startSides(c, s, stderr)
	defer func() {
		for _, sd := range sides {
			sd.close()
		}
	}()
	if err != nil {
		return err
	}
	steps := map[int]int{} // threads → timed steps per segment
	for _, sd := range sides {
		for _, t := range c.threads {
			if sd.serves(t) {
				secs, err := sd.run(t, c.warmup)
				if err != nil {
					return fmt.Errorf("%s warm-up: %w", sd.name(), err)
				}
				if sd.name() == "gotch" {
					steps[t] = c.steps
					if c.steps <= 0 {
						steps[t] = min(max(int(math.Round(c.segment*float64(c.warmup)/secs)), 5), 500)
					}
				}
			}
		}
	}
	if c.profile != "" {
		f, err := os.Create(c.profile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	load0 := loadavg()
	rates := map[string]map[int][]float64{} // side → threads → steps/s per round
	for r := 0; r < c.rounds; r++ {
		order := slices.Clone(sides)
		if r%2 == 1 {
			slices.Reverse(order)
		}
		for _, t := range c.threads {
			for _, sd := range order {
				if !sd.serves(t) {
					continue
				}
				secs, err := sd.run(t, steps[t])
				if err != nil {
					return fmt.Errorf("%s, %d threads, round %d: %w", sd.name(), t, r+1, err)
				}
				if rates[sd.name()] == nil {
					rates[sd.name()] = map[int][]float64{}
				}
				rates[sd.name()][t] = append(rates[sd.name()][t], float64(steps[t])/secs)
			}
		}
	}
	if c.profile != "" {
		pprof.StopCPUProfile()
	}

	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	names := []string{"gotch", "pytorch", "keras"}
	var per []string
	for _, t := range c.threads {
		per = append(per, fmt.Sprintf("%d steps at %d thread(s)", steps[t], t))
	}
	fmt.Fprintf(stdout, "Training steps/s, %s model (deepcnn1d %v, input %v + %d RR features, batch %d, Adam, class-weighted CE);\n",
		c.specPath, exp.Model.DeepCNN1D.Filters, s.spec.Input, s.features, s.batch)
	fmt.Fprintf(stdout, "synthetic batches of the real shapes (random normal x, random labels) so only the framework differs;\n")
	fmt.Fprintf(stdout, "gotch and PyTorch-Python on the same torch 2.1.2 libtorch; %d interleaved rounds of %s, after %d warm-up steps.\n",
		c.rounds, strings.Join(per, ", "), c.warmup)
	fmt.Fprintf(stdout, "steps/s: median over rounds; ratio: median of the per-round ratios (sides measured back to back).\n")
	if dev := sides[0].(*gotch).net.Device(); dev != gotchpkg.CPU {
		fmt.Fprintf(stdout, "NOTE: gotch trains on %v here, PyTorch and Keras on the CPU: the ratios compare devices, not frameworks.\n", dev)
	}
	load1 := loadavg()
	fmt.Fprintf(stdout, "%d CPUs; 1-min load average %.2f at the start of the rounds, %.2f at the end (other processes share the CPUs).\n", runtime.NumCPU(), load0, load1)
	figs["train_loadavg_start"], figs["train_loadavg_end"] = load0, load1
	hdr := "threads\tgotch\tpytorch\tgotch/pytorch\t"
	if rates["keras"] != nil {
		hdr += "keras\tgotch/keras\t"
	}
	fmt.Fprintln(tw, hdr)
	headline := c.threads[len(c.threads)-1]
	set := func(key string, t int, v float64) {
		figs[fmt.Sprintf("%s_%dt", key, t)] = v
		if t == headline {
			figs[key] = v
		}
	}
	for _, t := range c.threads {
		med := map[string]float64{}
		for _, n := range names {
			if v := rates[n][t]; len(v) > 0 {
				med[n] = median(v)
				set("train_steps_s_"+n, t, med[n])
			}
		}
		// ratio is the median of a's and b's per-round ratios ("-" when either is missing).
		ratio := func(a, b string) string {
			ra, rb := rates[a][t], rates[b][t]
			if len(ra) == 0 || len(ra) != len(rb) {
				return "-"
			}
			q := make([]float64, len(ra))
			for i := range ra {
				q[i] = ra[i] / rb[i]
			}
			set(fmt.Sprintf("train_%s_vs_%s_ratio", a, b), t, median(q))
			return fmt.Sprintf("%.2fx", median(q))
		}
		row := fmt.Sprintf("%d\t%s\t%s\t%s\t", t, cell(med["gotch"]), cell(med["pytorch"]), ratio("gotch", "pytorch"))
		if rates["keras"] != nil {
			row += fmt.Sprintf("%s\t%s\t", cell(med["keras"]), ratio("gotch", "keras"))
		}
		fmt.Fprintln(tw, row)
	}
	tw.Flush()
	for _, n := range names {
		for _, t := range c.threads {
			if v := rates[n][t]; len(v) > 0 {
				fmt.Fprintf(stdout, "  %s, %d threads, per round: %s\n", n, t, fmtRates(v))
			}
		}
	}
	figs["train_threads"] = float64(headline)
	figs["train_batch"] = float64(s.batch)
	figs["train_rounds"] = float64(c.rounds)
	for t, n := range steps {
		figs[fmt.Sprintf("train_steps_per_round_%dt", t)] = float64(n)
	}
	if err := merge(c.out, figs); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "figures merged into %s\n", c.out)
	return nil
}

// loadavg is the 1-minute load average (NaN where /proc/loadavg is missing;
// merge leaves NaN figures out).
func loadavg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		if v, err := strconv.ParseFloat(f[0], 64); err == nil {
			return v
		}
	}
	return math.NaN()
}

func cell(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", v)
}

func fmtRates(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprintf("%.1f", x)
	}
	return strings.Join(s, " ")
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// merge adds figs to the JSON object in path (created when missing).
func merge(path string, figs map[string]float64) error {
	all := map[string]any{}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &all); err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for k, v := range figs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		all[k] = v
	}
	b, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func readRecords(dir string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "RECORDS"))
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(b)), nil
}

func strs(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// side is one framework's trainer.
type side interface {
	name() string
	serves(threads int) bool
	// run trains steps steps at threads threads and returns their wall time.
	run(threads, steps int) (float64, error)
	close()
}

func startSides(c config, s setup, stderr io.Writer) ([]side, error) {
	g, err := newGotch(s, c.batches)
	if err != nil {
		return nil, err
	}
	sides := []side{g}
	if c.python == "" {
		fmt.Fprintln(stderr, "bench-train: no -python: PyTorch skipped")
	} else {
		p, err := startWorker("pytorch", c.python, []string{filepath.Join(c.script, "pytorch.py"), s.json(c.batches)}, 0, g.net.Parameters(), stderr)
		if err != nil {
			return sides, err
		}
		sides = append(sides, p)
	}
	if c.keras != "" {
		for _, t := range c.threads {
			k, err := startWorker("keras", c.keras, []string{filepath.Join(c.script, "keras.py"), s.json(c.batches), strconv.Itoa(t)}, t, g.net.Parameters(), stderr)
			if err != nil {
				return sides, err
			}
			sides = append(sides, k)
		}
	}
	return sides, nil
}

// json is the configuration pytorch.py and keras.py read.
func (s setup) json(batches int) string {
	e := s.exp
	b, _ := json.Marshal(map[string]any{
		"deepcnn1d": e.Model.DeepCNN1D, "dropout": e.Model.Dropout, "classes": s.spec.Classes,
		"channels": s.spec.Input[0], "length": s.spec.Input[1], "features": s.features,
		"batch": s.batch, "batches": batches, "optimizer": e.Training.Optimizer,
		"classWeights": s.weights, "labelSmoothing": e.Training.Loss.LabelSmoothing, "seed": e.Training.Seed,
	})
	return string(b)
}

// gotch trains runtime/model's network in this process, with the step of runtime/train.
type gotch struct {
	net     *model.Net
	opt     *nn.Optimizer
	weights *ts.Tensor
	smooth  float64
	xs      [][]float32
	ys      [][]int64
	n, i    int
}

func newGotch(s setup, batches int) (*gotch, error) {
	model.Seed(int64(s.exp.Training.Seed))
	net, err := model.New(s.spec)
	if err != nil {
		return nil, err
	}
	o := s.exp.Training.Optimizer
	opt, err := nn.NewAdamConfig(0.9, 0.999, o.WeightDecay).Build(net.VarStore(), o.LR)
	if err != nil {
		net.Close()
		return nil, err
	}
	g := &gotch{net: net, opt: opt, weights: net.Tensor(s.weights), smooth: s.exp.Training.Loss.LabelSmoothing, n: s.batch}
	rng := rand.New(rand.NewPCG(uint64(s.exp.Training.Seed), 1))
	size := s.spec.SampleSize()
	for b := 0; b < batches; b++ {
		x := make([]float32, s.batch*size)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		y := make([]int64, s.batch)
		for i := range y {
			y[i] = int64(rng.IntN(s.spec.Classes))
		}
		g.xs, g.ys = append(g.xs, x), append(g.ys, y)
	}
	return g, nil
}

func (g *gotch) name() string    { return "gotch" }
func (g *gotch) serves(int) bool { return true }
func (g *gotch) close()          { g.weights.MustDrop(); g.net.Close() }
func (g *gotch) run(threads, steps int) (float64, error) {
	model.SetThreads(threads)
	start := time.Now()
	for k := 0; k < steps; k++ {
		if _, err := g.step(); err != nil {
			return 0, err
		}
	}
	return time.Since(start).Seconds(), nil
}

// step is runtime/train's (*run).step on a synthetic batch.
func (g *gotch) step() (float64, error) {
	b := g.i % len(g.xs)
	g.i++
	x, err := g.net.Batch(g.xs[b], g.n)
	if err != nil {
		return 0, err
	}
	y := g.net.Tensor(g.ys[b])
	loss := g.net.Loss(x, y, g.weights, g.smooth)
	g.opt.MustZeroGrad()
	loss.MustBackward()
	g.opt.MustStep()
	v := loss.Float64Values()[0]
	x.MustDrop()
	y.MustDrop()
	loss.MustDrop()
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return v, fmt.Errorf("loss is %v", v)
	}
	return v, nil
}

// worker is a Python process speaking the "THREADS STEPS" → "SECONDS LOSS" protocol.
type worker struct {
	label   string
	threads int // 0: any
	cmd     *exec.Cmd
	in      io.WriteCloser
	out     *bufio.Scanner
}

// startWorker starts a worker and checks that its network has params trainable values.
func startWorker(label, python string, args []string, threads int, params int64, stderr io.Writer) (*worker, error) {
	cmd := exec.Command(python, args...)
	cmd.Stderr = stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", label, err)
	}
	w := &worker{label: label, threads: threads, cmd: cmd, in: in, out: bufio.NewScanner(out)}
	line, err := w.line()
	if err != nil || !strings.HasPrefix(line, "ready") {
		w.close()
		return nil, fmt.Errorf("%s did not start (%q): %v", label, line, err)
	}
	if want := fmt.Sprintf("ready params=%d ", params); !strings.HasPrefix(line, want) {
		w.close()
		return nil, fmt.Errorf("%s's network differs from gotch's (%d trainable values): %q", label, params, line)
	}
	fmt.Fprintf(stderr, "bench-train: %s: %s\n", label, line)
	return w, nil
}

func (w *worker) line() (string, error) {
	if !w.out.Scan() {
		if err := w.out.Err(); err != nil {
			return "", err
		}
		return "", io.ErrUnexpectedEOF
	}
	return w.out.Text(), nil
}

func (w *worker) name() string { return w.label }
func (w *worker) serves(t int) bool {
	return w.threads == 0 || w.threads == t
}

func (w *worker) run(threads, steps int) (float64, error) {
	if _, err := fmt.Fprintf(w.in, "%d %d\n", threads, steps); err != nil {
		return 0, err
	}
	line, err := w.line()
	if err != nil {
		return 0, err
	}
	f := strings.Fields(line)
	if len(f) != 2 {
		return 0, fmt.Errorf("%s answered %q", w.label, line)
	}
	secs, err := strconv.ParseFloat(f[0], 64)
	if err != nil || secs <= 0 {
		return 0, fmt.Errorf("%s answered %q", w.label, line)
	}
	if loss, err := strconv.ParseFloat(f[1], 64); err != nil || math.IsNaN(loss) {
		return 0, fmt.Errorf("%s: loss %q", w.label, f[1])
	}
	return secs, nil
}

func (w *worker) close() {
	fmt.Fprintln(w.in, "quit")
	w.in.Close()
	done := make(chan struct{})
	go func() { w.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		w.cmd.Process.Kill()
		<-done
	}
}
