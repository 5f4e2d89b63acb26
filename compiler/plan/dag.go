package plan

import (
	"parak8s.dev/parak8s/runtime/step"
)

// After returns the step kind a step waits for within its trial (prepare for
// train, which waits for its dataset); "" for prepare. The DAG is a chain:
// prepare → train → evaluate → track → publish → record. Publish waits for
// track because the MLflow model version points at the tracked run; record
// waits for publish because it stores the pushed digests.
func After(k step.Kind) step.Kind {
	kinds := step.Kinds()
	for i, x := range kinds {
		if x == k && i > 0 {
			return kinds[i-1]
		}
	}
	return ""
}

// Node is one step of the plan's DAG.
type Node struct {
	// Name is unique in the plan: "prepare-<data key>" or
	// "<kind>-<trial short id>".
	Name string
	// Kind of step.
	Kind step.Kind
	// Trial is the index of the node's trial (-1 for prepare).
	Trial int
	// Dataset is the index of the node's dataset.
	Dataset int
	// Deps are the names of the nodes this one waits for.
	Deps []string
}

// NodeName names a trial's step or a dataset's prepare step.
func NodeName(k step.Kind, id string) string { return string(k) + "-" + step.Short(id) }

// Nodes returns the DAG in a topological order: each dataset's prepare step,
// then its trials' chains.
func (p *Plan) Nodes() []Node {
	var out []Node
	for di, d := range p.Datasets {
		prep := NodeName(step.Prepare, d.Key)
		out = append(out, Node{Name: prep, Kind: step.Prepare, Trial: -1, Dataset: di})
		for _, ti := range d.Trials {
			t := p.Trials[ti]
			for _, k := range step.TrialKinds() {
				dep := NodeName(After(k), t.ID)
				if After(k) == step.Prepare {
					dep = prep
				}
				out = append(out, Node{Name: NodeName(k, t.ID), Kind: k, Trial: ti, Dataset: di, Deps: []string{dep}})
			}
		}
	}
	return out
}
