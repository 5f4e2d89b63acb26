package local

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"parak8s.dev/parak8s/runtime/step"
)

// EventType says what happened.
type EventType int

// Event types.
const (
	StepStarted EventType = iota
	StepRetrying
	StepSucceeded
	StepFailed
	StepCancelled
	UnitSkipped // the unit needs no step to run (Event.Status says why)
	UnitSucceeded
	UnitFailed // failed, not run or cancelled (Event.Status says which)
)

// Event is one thing that happened in a run.
type Event struct {
	Type EventType
	Time time.Time
	// Unit is the index of the unit; Step of the step (-1 for unit events).
	Unit, Step int
	// Attempt is the attempt that started, ended or failed.
	Attempt int
	// ExitCode and Err of a failed attempt or step.
	ExitCode int
	Err      error
	// Wait is the backoff before a retry; Elapsed the time a step or unit
	// took.
	Wait, Elapsed time.Duration
	// Status of a skipped or failed unit.
	Status Status
}

// Observer is told about a run as it happens. Run calls it from one
// goroutine at a time.
type Observer interface {
	Observe(Event)
}

// Progress is an Observer that shows a run on a terminal or in a log: on a
// terminal, a status line (units done, running, failed) redrawn under the
// lines of finished units and failures; elsewhere, one plain line per event.
type Progress struct {
	mu      sync.Mutex
	w       io.Writer
	g       *Graph
	tty     bool
	start   time.Time
	total   map[string]int
	count   map[string]map[Status]int
	running map[int]bool
	skipped map[string]int
	told    bool // the skipped units were reported
	drawn   bool // a status line is on the screen
	stop    chan struct{}
	stopped chan struct{}
}

// NewProgress returns a Progress for the graph writing to w; tty selects
// the status line. Close it when the run ends.
func NewProgress(w io.Writer, g *Graph, tty bool) *Progress {
	p := &Progress{
		w: w, g: g, tty: tty, start: time.Now(),
		total:   map[string]int{},
		count:   map[string]map[Status]int{},
		running: map[int]bool{},
		skipped: map[string]int{},
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	for _, u := range g.Units {
		p.total[u.Kind]++
		p.count[u.Kind] = map[Status]int{}
	}
	if tty {
		go p.tick()
	} else {
		close(p.stopped)
	}
	return p
}

func (p *Progress) tick() {
	defer close(p.stopped)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			p.draw()
			p.mu.Unlock()
		}
	}
}

// Close stops redrawing and clears the status line.
func (p *Progress) Close() {
	select {
	case <-p.stop:
		return
	default:
		close(p.stop)
	}
	<-p.stopped
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tellSkipped()
	p.clear()
}

// Observe implements Observer.
func (p *Progress) Observe(e Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	u := p.g.Units[e.Unit]
	name := u.Kind + " " + step.Short(u.ID)
	if e.Step >= 0 {
		name = p.g.Steps[e.Step].Name
	}
	if e.Type == UnitSkipped {
		p.count[u.Kind][e.Status]++
		p.skipped[u.Kind+" "+string(e.Status)]++
		return
	}
	p.tellSkipped()
	var line string
	switch e.Type {
	case StepStarted:
		p.running[e.Unit] = true
		if !p.tty {
			line = fmt.Sprintf("start   %s", name)
		}
	case StepRetrying:
		line = fmt.Sprintf("retry   %s: %v; attempt %d of %d failed, next in %s", name, e.Err, e.Attempt, p.g.Policy.Retry.Limit+1, e.Wait)
	case StepSucceeded:
		if !p.tty {
			line = fmt.Sprintf("done    %s (%s)", name, Round(e.Elapsed))
		}
	case StepFailed:
		line = fmt.Sprintf("FAILED  %s: %v", name, e.Err)
		for _, l := range tail(p.g.Steps[e.Step].Log, 3) {
			line += "\n        | " + l
		}
	case StepCancelled:
		line = fmt.Sprintf("stopped %s (%s)", name, Round(e.Elapsed))
	case UnitSucceeded, UnitFailed:
		delete(p.running, e.Unit)
		st := StatusDone
		if e.Type == UnitFailed {
			st = e.Status
			if st == "" {
				st = StatusFailed
			}
		}
		p.count[u.Kind][st]++
		line = fmt.Sprintf("%-7s %s %s", strings.ToUpper(string(st)), name, p.progress(u.Kind))
		if st == StatusDone {
			line = fmt.Sprintf("%-7s %s %s", "ok", name, p.progress(u.Kind))
		}
		if u.Label != "" {
			line += "  " + u.Label
		}
		if e.Elapsed > 0 {
			line += fmt.Sprintf("  (%s)", Round(e.Elapsed))
		}
	}
	if line != "" {
		p.println(e.Time, line)
	}
	p.draw()
}

// tail is the last n lines the last attempt wrote to a step's log (the
// runner's own "===" lines left out): usually the step's error.
func tail(path string, n int) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, "=== ") && strings.Contains(l, " attempt "):
			lines = lines[:0]
		case l != "" && !strings.HasPrefix(l, "=== "):
			lines = append(lines, l)
		}
	}
	return lines[max(0, len(lines)-n):]
}

// progress is "[3/12]": the units of a kind settled out of all of them.
func (p *Progress) progress(kind string) string {
	n := 0
	for _, c := range p.count[kind] {
		n += c
	}
	return fmt.Sprintf("[%d/%d]", n, p.total[kind])
}

func (p *Progress) tellSkipped() {
	if p.told {
		return
	}
	p.told = true
	var parts []string
	for _, kind := range []string{"dataset", "trial"} {
		if n := p.skipped[kind+" "+string(StatusFinished)]; n > 0 {
			parts = append(parts, plural(n, kind))
		}
	}
	if len(parts) > 0 {
		p.println(time.Now(), "skip    "+strings.Join(parts, " and ")+" finished earlier (--force runs them again)")
	}
}

func (p *Progress) println(t time.Time, line string) {
	p.clear()
	fmt.Fprintf(p.w, "%s %s\n", t.Format("15:04:05"), line)
}

func (p *Progress) clear() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}

// draw redraws the status line on a terminal.
func (p *Progress) draw() {
	if !p.tty {
		return
	}
	select {
	case <-p.stop:
		return
	default:
	}
	var parts []string
	for _, kind := range []string{"trial", "dataset"} {
		total := p.total[kind]
		if total == 0 {
			continue
		}
		c := p.count[kind]
		running := 0
		for u := range p.running {
			if p.g.Units[u].Kind == kind {
				running++
			}
		}
		s := fmt.Sprintf("%ss %d/%d done", kind, c[StatusDone]+c[StatusFinished], total)
		if running > 0 {
			s += fmt.Sprintf(", %d running", running)
		}
		if f := c[StatusFailed] + c[StatusNotRun]; f > 0 {
			s += fmt.Sprintf(", %d failed", f)
		}
		parts = append(parts, s)
	}
	p.clear()
	fmt.Fprintf(p.w, "%s · %s", strings.Join(parts, " · "), Round(time.Since(p.start)))
	p.drawn = true
}

// Round shortens a duration for people: tenths of a second below a minute,
// whole seconds above.
func Round(d time.Duration) time.Duration {
	if d < time.Minute {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
