package argo_test

import (
	"testing"

	"parak8s.dev/parak8s/compiler/argo"
	"parak8s.dev/parak8s/runtime/step"
)

func TestFootprintOf(t *testing.T) {
	for _, tc := range []struct {
		name                    string
		opts                    argo.Options
		extra                   string
		wantWorkflows, wantPeak int
		wantChained             bool
		wantShardParallelism    int
	}{
		// 1,000 trials on one dataset, sweep.parallelism 7.
		{"one workflow", argo.DefaultOptions(), "workflow: maxTrialsPerWorkflow: 1000", 1, 7, false, 7},
		{"side by side", argo.DefaultOptions(), "", 4, 4, false, 1},
		{"chained", argo.Options{MaxBytes: 1 << 20, MaxTrials: 100}, "", 10, 7, true, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, wfs := compile(t, sweepSpec(10, 10, 10, tc.extra), tc.opts)
			f := argo.FootprintOf(p, wfs)
			bytes := 0
			for _, w := range wfs {
				bytes += len(w.YAML)
			}
			want := argo.Footprint{
				Workflows: tc.wantWorkflows, Bytes: bytes,
				Pods:        len(p.Datasets) + len(step.TrialKinds())*1000,
				Peak:        tc.wantPeak,
				Parallelism: 7, ShardParallelism: tc.wantShardParallelism,
				Chained: tc.wantChained, Mutex: argo.ShardMutex("big"),
			}
			if f != want {
				t.Errorf("FootprintOf = %+v, want %+v", f, want)
			}
		})
	}
}
