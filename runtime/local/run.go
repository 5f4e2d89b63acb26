package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/runtime/step"
)

// Options tune Run.
type Options struct {
	// Program is the step program: a path, or a name looked up in $PATH.
	Program string
	// Env is the environment steps start from (nil: the runner's own).
	Env []string
	// Force runs finished steps and units again.
	Force bool
	// Grace is how long a step may take to stop after SIGTERM before it
	// gets SIGKILL.
	Grace time.Duration
	// Kill, when closed, stops running steps at once with SIGKILL (a second
	// Ctrl-C).
	Kill <-chan struct{}
	// Observer is told what happens (nil: nobody).
	Observer Observer
}

// DefaultOptions runs `parak8s` from $PATH with the runner's environment
// and gives steps Kubernetes' default grace period of 30 seconds.
func DefaultOptions() Options {
	return Options{Program: step.Program, Grace: 30 * time.Second}
}

// Status is how a step or unit ended.
type Status string

// Statuses.
const (
	// StatusDone: it ran in this run and succeeded.
	StatusDone Status = "done"
	// StatusFinished: a run before this one finished it; it was skipped.
	StatusFinished Status = "finished"
	// StatusFailed: it failed (after its retries).
	StatusFailed Status = "failed"
	// StatusNotRun: something it depends on failed.
	StatusNotRun Status = "not run"
	// StatusCancelled: the run was interrupted or ran out of time first.
	StatusCancelled Status = "cancelled"
	// StatusUnneeded: an on-demand unit nothing needed.
	StatusUnneeded Status = "unneeded"
)

// Errors Run wraps when not every unit finished.
var (
	ErrFailed      = errors.New("steps failed")
	ErrInterrupted = errors.New("interrupted")
	ErrDeadline    = errors.New("the run's deadline passed")
	// ErrLocked: another runner holds Graph.Lock.
	ErrLocked = errors.New("another run of the same work is in progress")
)

// StepResult is how one step ended.
type StepResult struct {
	Status   Status
	Attempts int
	// ExitCode of the last attempt (-1 when it did not exit by itself).
	ExitCode int
	// Err says why the step failed.
	Err      error
	Duration time.Duration
}

// UnitResult is how one unit ended.
type UnitResult struct {
	Status   Status
	Duration time.Duration
	// Failed is the index of the step that failed (-1: none).
	Failed int
}

// Summary is the outcome of a run.
type Summary struct {
	Units   []UnitResult
	Steps   []StepResult
	Elapsed time.Duration
}

type stepState int

const (
	stSkip    stepState = iota // finished earlier, or not needed
	stWait                     // to run
	stRunning                  // running (or waiting to retry)
	stOK
	stFailed
	stNotRun
	stCancelled
)

type runner struct {
	g     *Graph
	opts  Options
	prog  string
	order []int
	index map[string]int
	// byUnit are the steps of each unit; next the steps that depend on each.
	byUnit [][]int
	next   [][]int
	state  []stepState
	res    []StepResult
	units  []unitState
	slots  int
	msgs   chan message
	start  time.Time
	stop   error // why the run is stopping (nil while it is not)
	failed bool
}

type unitState struct {
	slot     bool
	running  int
	started  time.Time
	finished bool // the unit was finished before this run
	began    bool
	result   UnitResult
}

type message struct {
	step  int
	retry *Event      // an attempt failed and the step will be retried
	start *time.Time  // the first attempt started
	res   *StepResult // the step ended
}

// Run executes the graph and returns what happened to every unit and step.
// The error wraps ErrFailed, ErrInterrupted (ctx was cancelled) or
// ErrDeadline when not every unit finished, and Summary is valid then too;
// a graph that does not check out, a missing program or ErrLocked stop Run
// before any step starts.
func Run(ctx context.Context, g *Graph, opts Options) (Summary, error) {
	order, err := g.check()
	if err != nil {
		return Summary{}, err
	}
	prog, err := exec.LookPath(opts.Program)
	if err == nil {
		// Steps run in their units' folders: a relative path would not do.
		prog, err = filepath.Abs(prog)
	}
	if err != nil {
		return Summary{}, fmt.Errorf("finding the step program %q: %w", opts.Program, err)
	}
	if g.Lock != "" {
		if err := os.MkdirAll(filepath.Dir(g.Lock), 0o755); err != nil {
			return Summary{}, fmt.Errorf("locking %s: %w", g.Lock, err)
		}
		unlock, err := lock(g.Lock)
		if err != nil {
			return Summary{}, fmt.Errorf("locking %s: %w", g.Lock, err)
		}
		defer unlock()
	}
	if opts.Env == nil {
		opts.Env = os.Environ()
	}
	if opts.Grace <= 0 {
		opts.Grace = DefaultOptions().Grace
	}
	if g.Policy.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, g.Policy.Timeout, ErrDeadline)
		defer cancel()
	}
	r := &runner{
		g: g, opts: opts, prog: prog, order: order,
		index: make(map[string]int, len(g.Steps)),
		state: make([]stepState, len(g.Steps)),
		res:   make([]StepResult, len(g.Steps)),
		units: make([]unitState, len(g.Units)),
		msgs:  make(chan message, len(g.Steps)+1),
		start: time.Now(),
	}
	r.byUnit = make([][]int, len(g.Units))
	r.next = make([][]int, len(g.Steps))
	for i, s := range g.Steps {
		r.index[s.Name] = i
		r.byUnit[s.Unit] = append(r.byUnit[s.Unit], i)
	}
	for i, s := range g.Steps {
		for _, d := range s.Deps {
			r.next[r.index[d]] = append(r.next[r.index[d]], i)
		}
	}
	r.plan()
	r.loop(ctx)
	return r.finish()
}

// plan decides which steps must run: those of units that are not finished
// (and, within a unit, every step after one that must run), and the steps of
// on-demand units that a step which must run depends on.
func (r *runner) plan() {
	g := r.g
	for i, u := range g.Units {
		r.units[i].finished = finished(u.Marker, u.Outputs)
		r.units[i].result.Failed = -1
	}
	need := make([]bool, len(g.Steps))
	for _, i := range r.order {
		s := g.Steps[i]
		u := g.Units[s.Unit]
		if u.OnDemand || (r.units[s.Unit].finished && !r.opts.Force) {
			continue
		}
		need[i] = r.opts.Force || !finished(s.Marker, s.Outputs)
		for _, d := range s.Deps {
			if j := r.index[d]; g.Steps[j].Unit == s.Unit && need[j] {
				need[i] = true
			}
		}
	}
	// On-demand steps, from the last step backwards.
	for k := len(r.order) - 1; k >= 0; k-- {
		i := r.order[k]
		if !need[i] {
			continue
		}
		for _, d := range g.Steps[i].Deps {
			j := r.index[d]
			dep := g.Steps[j]
			if g.Units[dep.Unit].OnDemand && !need[j] {
				done := !r.opts.Force && (finished(dep.Marker, dep.Outputs) || (dep.Marker == "" && r.units[dep.Unit].finished))
				need[j] = !done
			}
		}
	}
	for i := range g.Steps {
		if need[i] {
			r.state[i] = stWait
		} else {
			r.res[i].Status = StatusFinished
		}
	}
}

// finished reports whether a marker and every output exist. No marker: not
// finished.
func finished(marker string, outputs []string) bool {
	if marker == "" {
		return false
	}
	for _, p := range append([]string{marker}, outputs...) {
		if _, err := os.Stat(p); err != nil {
			return false
		}
	}
	return true
}

func (r *runner) emit(e Event) {
	if r.opts.Observer == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	r.opts.Observer.Observe(e)
}

func (r *runner) loop(ctx context.Context) {
	for i := range r.g.Units {
		if !r.unitNeeds(i) {
			r.units[i].result.Status = StatusUnneeded
			if r.units[i].finished {
				r.units[i].result.Status = StatusFinished
			}
			r.emit(Event{Type: UnitSkipped, Unit: i, Step: -1, Status: r.units[i].result.Status})
		}
	}
	done := ctx.Done()
	kill := r.opts.Kill
	running := 0
	for {
		if r.stop == nil {
			running += r.startReady(ctx)
		}
		if running == 0 {
			break
		}
		select {
		case m := <-r.msgs:
			switch {
			case m.retry != nil:
				r.emit(*m.retry)
			case m.start != nil:
				r.emit(Event{Type: StepStarted, Unit: r.g.Steps[m.step].Unit, Step: m.step, Attempt: 1, Time: *m.start})
			default:
				running--
				r.ended(m.step, *m.res, true)
			}
		case <-done:
			done = nil
			r.stop = context.Cause(ctx)
			if errors.Is(r.stop, context.Canceled) {
				r.stop = ErrInterrupted
			}
		case <-kill:
			kill = nil
		}
	}
	// What never started.
	for i := range r.g.Steps {
		if r.state[i] == stWait {
			r.state[i] = stNotRun
			r.res[i].Status = StatusNotRun
			if r.stop != nil {
				r.state[i] = stCancelled
				r.res[i].Status = StatusCancelled
			}
		}
	}
	for i := range r.g.Units {
		r.settle(i)
	}
}

// unitNeeds reports whether any step of unit u must run.
func (r *runner) unitNeeds(u int) bool {
	for _, i := range r.byUnit[u] {
		if r.state[i] != stSkip {
			return true
		}
	}
	return false
}

// ready reports whether every dependency of step i succeeded now or earlier.
func (r *runner) ready(i int) bool {
	for _, d := range r.g.Steps[i].Deps {
		if st := r.state[r.index[d]]; st != stOK && st != stSkip {
			return false
		}
	}
	return true
}

// startReady starts every step that may start and returns how many it
// started.
func (r *runner) startReady(ctx context.Context) int {
	r.releaseIdle()
	n := 0
	for _, i := range r.order {
		if r.state[i] != stWait || !r.ready(i) {
			continue
		}
		s := r.g.Steps[i]
		u := &r.units[s.Unit]
		if !u.slot {
			if p := r.g.Policy.Parallelism; p > 0 && r.slots >= p {
				continue
			}
			u.slot = true
			r.slots++
		}
		if !u.began {
			u.began = true
			u.started = time.Now()
			if err := r.begin(s.Unit); err != nil {
				r.ended(i, StepResult{Status: StatusFailed, ExitCode: -1, Err: err}, false)
				continue
			}
		}
		r.state[i] = stRunning
		u.running++
		n++
		go func() {
			res := r.run(ctx, i)
			r.msgs <- message{step: i, res: &res}
		}()
	}
	return n
}

// releaseIdle frees the slots of units with nothing running and nothing
// ready to run.
func (r *runner) releaseIdle() {
	for ui := range r.units {
		u := &r.units[ui]
		if !u.slot || u.running > 0 {
			continue
		}
		busy := false
		for _, i := range r.byUnit[ui] {
			if r.state[i] == stWait && r.ready(i) {
				busy = true
				break
			}
		}
		if !busy {
			u.slot = false
			r.slots--
		}
	}
}

// begin prepares a unit's folder before its first step: the folder, its
// files, no stale done marker, and, when a finished unit runs again, none of
// its earlier outputs.
func (r *runner) begin(ui int) error {
	u := r.g.Units[ui]
	if u.Dir != "" {
		if err := os.MkdirAll(u.Dir, 0o755); err != nil {
			return fmt.Errorf("preparing %s %s: %w", u.Kind, step.Short(u.ID), err)
		}
	}
	if u.Marker != "" {
		if err := os.Remove(u.Marker); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("preparing %s %s: %w", u.Kind, step.Short(u.ID), err)
		}
	}
	if r.opts.Force {
		for _, p := range u.Clean {
			if err := os.RemoveAll(p); err != nil {
				return fmt.Errorf("preparing %s %s: %w", u.Kind, step.Short(u.ID), err)
			}
		}
		for _, i := range r.byUnit[ui] {
			if s := r.g.Steps[i]; r.state[i] == stWait && s.Marker != "" {
				if err := os.Remove(s.Marker); err != nil && !errors.Is(err, os.ErrNotExist) {
					return fmt.Errorf("preparing %s %s: %w", u.Kind, step.Short(u.ID), err)
				}
			}
		}
	}
	for name, b := range u.Files {
		if err := writeFile(filepath.Join(u.Dir, name), b); err != nil {
			return fmt.Errorf("preparing %s %s: %w", u.Kind, step.Short(u.ID), err)
		}
	}
	return nil
}

// ended records the end of step i (which ran, or failed before it could)
// and what follows from it.
func (r *runner) ended(i int, res StepResult, ran bool) {
	s := r.g.Steps[i]
	u := &r.units[s.Unit]
	if ran {
		u.running--
	}
	if res.Status == StatusDone && s.Marker != "" {
		if err := writeFile(s.Marker, marker(s.Name)); err != nil {
			res.Status, res.Err = StatusFailed, fmt.Errorf("marking %s done: %w", s.Name, err)
		}
	}
	r.res[i] = res
	switch res.Status {
	case StatusDone:
		r.state[i] = stOK
		r.emit(Event{Type: StepSucceeded, Unit: s.Unit, Step: i, Attempt: res.Attempts, Elapsed: res.Duration})
	case StatusCancelled:
		r.state[i] = stCancelled
		r.emit(Event{Type: StepCancelled, Unit: s.Unit, Step: i, Attempt: res.Attempts, Elapsed: res.Duration})
	default:
		r.state[i] = stFailed
		r.failed = true
		if u.result.Failed < 0 {
			u.result.Failed = i
		}
		r.emit(Event{Type: StepFailed, Unit: s.Unit, Step: i, Attempt: res.Attempts, ExitCode: res.ExitCode, Err: res.Err, Elapsed: res.Duration})
		r.settle(s.Unit)
		r.block(i)
	}
	r.settle(s.Unit)
}

// block marks everything that depends on step i, directly or not, as not
// run.
func (r *runner) block(i int) {
	for _, j := range r.next[i] {
		if r.state[j] != stWait {
			continue
		}
		r.state[j] = stNotRun
		r.res[j].Status = StatusNotRun
		r.block(j)
		r.settle(r.g.Steps[j].Unit)
	}
}

// settle gives a unit its status once none of its steps runs or waits, and
// writes its done marker when all of them succeeded.
func (r *runner) settle(ui int) {
	u := &r.units[ui]
	if u.result.Status != "" {
		return
	}
	var failed, cancelled, notrun, total int
	for _, i := range r.byUnit[ui] {
		if r.state[i] == stSkip {
			continue
		}
		total++
		switch r.state[i] {
		case stWait, stRunning:
			return
		case stFailed:
			failed++
		case stCancelled:
			cancelled++
		case stNotRun:
			notrun++
		}
	}
	if total == 0 {
		return // reported as skipped at the start
	}
	if u.began {
		u.result.Duration = time.Since(u.started)
	}
	unit := r.g.Units[ui]
	switch {
	case failed > 0:
		u.result.Status = StatusFailed
	case cancelled > 0:
		u.result.Status = StatusCancelled
	case notrun > 0:
		u.result.Status = StatusNotRun
	default:
		u.result.Status = StatusDone
		if unit.Marker != "" {
			if err := writeFile(unit.Marker, marker(unit.ID)); err != nil {
				u.result.Status = StatusFailed
				r.failed = true
				r.emit(Event{Type: UnitFailed, Unit: ui, Step: -1, Err: fmt.Errorf("marking %s %s done: %w", unit.Kind, step.Short(unit.ID), err), Elapsed: u.result.Duration})
				return
			}
		}
		r.emit(Event{Type: UnitSucceeded, Unit: ui, Step: -1, Elapsed: u.result.Duration})
		return
	}
	ev := Event{Type: UnitFailed, Unit: ui, Step: -1, Status: u.result.Status, Elapsed: u.result.Duration}
	if u.result.Failed >= 0 {
		ev.Err = r.res[u.result.Failed].Err
	}
	r.emit(ev)
}

func (r *runner) finish() (Summary, error) {
	s := Summary{Steps: r.res, Elapsed: time.Since(r.start)}
	for _, u := range r.units {
		s.Units = append(s.Units, u.result)
	}
	switch {
	case r.stop != nil && errors.Is(r.stop, ErrDeadline):
		return s, fmt.Errorf("running: %w (%s)", ErrDeadline, r.g.Policy.Timeout)
	case r.stop != nil:
		return s, fmt.Errorf("running: %w", ErrInterrupted)
	case r.failed:
		n := 0
		for _, u := range s.Units {
			if u.Status == StatusFailed {
				n++
			}
		}
		return s, fmt.Errorf("running: %w in %d of %d units", ErrFailed, n, len(s.Units))
	}
	return s, nil
}

func marker(id string) []byte {
	return []byte(fmt.Sprintf("{\"id\":%q,\"finished\":%q}\n", id, time.Now().UTC().Format(time.RFC3339Nano)))
}

// writeFile writes b to path atomically (bundle.WriteFile), creating its
// folder, so a reader (or a rerun) never sees half a file.
func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return bundle.WriteFile(path, b)
}

// environ returns base with the variables of add set (KEY=VALUE), replacing
// those of the same name.
func environ(base, add []string) []string {
	out := make([]string, 0, len(base)+len(add))
	at := map[string]int{}
	for _, kv := range append(append([]string(nil), base...), add...) {
		name, _, _ := strings.Cut(kv, "=")
		if i, ok := at[name]; ok {
			out[i] = kv
			continue
		}
		at[name] = len(out)
		out = append(out, kv)
	}
	return out
}
