package local

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/schema"
)

// Graph is a DAG of steps grouped into units.
type Graph struct {
	// Units are the groups of steps that finish as a whole, in the order
	// they should start.
	Units []Unit
	// Steps in a topological order is best (the runner starts ready steps
	// in this order), but any order is accepted.
	Steps []Step
	// Policy is how steps are run.
	Policy Policy
	// Lock, when set, is a file the runner holds an exclusive lock on while
	// it runs: a second runner of the same work fails at once (ErrLocked).
	Lock string
}

// Unit is a group of steps that finishes as a whole and holds one
// parallelism slot while it runs: a dataset (its prepare step) or a trial
// (its chain of steps).
type Unit struct {
	// Kind is "dataset" or "trial" (for display and counting).
	Kind string
	// ID is the data key or trial id.
	ID string
	// Label is a readable summary (the trial's swept values).
	Label string
	// Dir is the unit's folder; it is created before the unit's first step.
	Dir string
	// Files are written into Dir before the unit's first step runs (file
	// name → content).
	Files map[string][]byte
	// Marker is the done marker, written after the unit's last step
	// succeeded; Outputs must exist too for the unit to count as finished.
	Marker  string
	Outputs []string
	// Clean are removed before a finished unit is run again (Options.Force),
	// so that nothing of the earlier run is resumed.
	Clean []string
	// OnDemand units run only when a step of another unit that must run
	// depends on them (a dataset whose trials are all finished is not
	// prepared again).
	OnDemand bool
}

// Step is one process of the DAG.
type Step struct {
	// Name is unique in the graph ("train-1a2b3c4d5e6f").
	Name string
	// Kind is the step kind (for display).
	Kind string
	// Unit is the index of the step's unit in Graph.Units.
	Unit int
	// Deps are the names of the steps that must succeed first.
	Deps []string
	// Args follow the program; Env (KEY=VALUE) is added to the runner's
	// environment, replacing variables of the same name.
	Args []string
	Env  []string
	// Late maps placeholders in Args and Env to files whose content (without
	// surrounding space; an empty file is an empty value) replaces them when
	// the step starts: output parameters of the steps it depends on. A
	// missing file fails the step without retries.
	Late map[string]string
	// Dir is the working directory (the unit's folder when empty).
	Dir string
	// Mkdir are folders created before the step starts (mounted volumes on
	// a cluster, such as train's checkpoints).
	Mkdir []string
	// Log is the file the step's output is appended to, attempt by attempt.
	Log string
	// Marker is written when the step succeeded; with Outputs present, a
	// rerun skips the step. Empty: the step always runs when its unit does.
	Marker  string
	Outputs []string
}

// Policy is how the runner runs steps: the workflow's retry strategy,
// deadlines and parallelism.
type Policy struct {
	// Parallelism caps the units running at once (0: no cap).
	Parallelism int
	// Retry is the retry strategy of every step.
	Retry Retry
	// StepTimeout bounds one attempt of a step; Timeout the whole run
	// (0: no bound).
	StepTimeout, Timeout time.Duration
}

// Cap lowers the parallelism to n (parac's --parallel): a cap of n > 0
// applies when there is none or a larger one; n <= 0 changes nothing.
func (p *Policy) Cap(n int) {
	if n > 0 && (p.Parallelism == 0 || n < p.Parallelism) {
		p.Parallelism = n
	}
}

// Retry is a step's retry strategy (the contract's, see step.Retry).
type Retry = step.Retry

// Retry policies: the schema's workflow.retryPolicy values, as the
// contract's Retry.Policy carries them.
const (
	RetryOnFailure        = string(schema.RetryOnFailure)
	RetryOnError          = string(schema.RetryOnError)
	RetryAlways           = string(schema.RetryAlways)
	RetryOnTransientError = string(schema.RetryOnTransientError)
)

// check validates the graph and returns its steps' indexes in a
// topological order.
func (g *Graph) check() ([]int, error) {
	index := make(map[string]int, len(g.Steps))
	for i, s := range g.Steps {
		if s.Name == "" {
			return nil, fmt.Errorf("checking the graph: step %d has no name", i)
		}
		if _, dup := index[s.Name]; dup {
			return nil, fmt.Errorf("checking the graph: two steps are named %q", s.Name)
		}
		if s.Unit < 0 || s.Unit >= len(g.Units) {
			return nil, fmt.Errorf("checking the graph: step %q has no unit %d", s.Name, s.Unit)
		}
		if u := g.Units[s.Unit]; u.Dir != "" && !filepath.IsAbs(u.Dir) || s.Dir != "" && !filepath.IsAbs(s.Dir) {
			return nil, fmt.Errorf("checking the graph: step %q runs in a relative folder (steps need absolute paths)", s.Name)
		}
		if s.Log == "" {
			return nil, fmt.Errorf("checking the graph: step %q has no log file", s.Name)
		}
		index[s.Name] = i
	}
	indeg := make([]int, len(g.Steps))
	next := make([][]int, len(g.Steps))
	for i, s := range g.Steps {
		for _, d := range s.Deps {
			j, ok := index[d]
			if !ok {
				return nil, fmt.Errorf("checking the graph: step %q depends on unknown step %q", s.Name, d)
			}
			indeg[i]++
			next[j] = append(next[j], i)
		}
	}
	switch g.Policy.Retry.Policy {
	case "", RetryOnFailure, RetryOnError, RetryAlways, RetryOnTransientError:
	default:
		return nil, fmt.Errorf("checking the graph: unknown retry policy %q", g.Policy.Retry.Policy)
	}
	order := make([]int, 0, len(g.Steps))
	for i := range g.Steps {
		if indeg[i] == 0 {
			order = append(order, i)
		}
	}
	for k := 0; k < len(order); k++ {
		for _, j := range next[order[k]] {
			if indeg[j]--; indeg[j] == 0 {
				order = append(order, j)
			}
		}
	}
	if len(order) != len(g.Steps) {
		return nil, errors.New("checking the graph: the dependencies form a cycle")
	}
	return order, nil
}
