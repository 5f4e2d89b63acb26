package argo

import (
	"parak8s.dev/parak8s/compiler/plan"
	"parak8s.dev/parak8s/runtime/step"
)

// Footprint is what a plan's workflows put on a cluster.
type Footprint struct {
	// Workflows is how many workflows (shards) there are; Bytes the size
	// of their YAML together.
	Workflows, Bytes int
	// Pods is how many pods they run: one per dataset's prepare, one per
	// step of each trial.
	Pods int
	// Peak is the most pods running at the same time, in total: a trial
	// runs its steps one after another, each prepare is one pod, and a
	// workflow runs at most its share of sweep.parallelism at once.
	Peak int
	// Parallelism is sweep.parallelism (0: unset); ShardParallelism each
	// shard's share of it; Chained whether the shards run one at a time,
	// taking the Argo mutex Mutex in turn.
	Parallelism, ShardParallelism int
	Chained                       bool
	Mutex                         string
}

// FootprintOf measures the workflows Emit made from p.
func FootprintOf(p *plan.Plan, wfs []Workflow) Footprint {
	par := 0
	if sw := p.Experiment.Sweep; sw != nil {
		par = sw.Parallelism
	}
	f := Footprint{
		Workflows:        len(wfs),
		Pods:             len(p.Datasets) + len(step.TrialKinds())*len(p.Trials),
		Parallelism:      par,
		ShardParallelism: ShardParallelism(par, len(wfs)),
		Chained:          Chained(par, len(wfs)),
		Mutex:            ShardMutex(p.Experiment.Name),
	}
	for _, w := range wfs {
		f.Bytes += len(w.YAML)
		// One workflow runs its prepare steps and its trials, at most its
		// share of the parallelism at once.
		keys := map[string]bool{}
		for _, i := range w.Trials {
			keys[p.Trials[i].DataKey] = true
		}
		n := max(len(keys), len(w.Trials))
		if par > 0 {
			n = min(n, f.ShardParallelism)
		}
		if f.Chained {
			f.Peak = max(f.Peak, n)
		} else {
			f.Peak += n
		}
	}
	return f
}
