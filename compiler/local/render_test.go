package local

import (
	"path/filepath"
	"strings"
	"testing"

	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/templates"
)

// TestRenderer covers how one value is rendered on this machine: the node's
// parameters, an earlier step's output as a late value read from its file,
// pod paths as local folders, and the errors for what has no local form.
func TestRenderer(t *testing.T) {
	out := templates.Path{Dir: step.PathOut, File: step.OutRunID}
	r := &renderer{
		params:  map[string]string{templates.ParamTrial: "abc", "training-optimizer-lr": "0.01"},
		dirs:    map[string]string{step.PathModel: "/w/model", step.PathOut: "/w/out"},
		results: map[string]templates.Path{step.OutRunID: out},
	}
	for _, tc := range []struct {
		name string
		in   templates.Value
		want string
		late map[string]string
		err  string
	}{
		{"literal", templates.Lit("--trial"), "--trial", nil, ""},
		{"parameter", templates.In(templates.ParamTrial), "abc", nil, ""},
		{"set", templates.Join(templates.Lit("training.optimizer.lr="), templates.In("training-optimizer-lr")), "training.optimizer.lr=0.01", nil, ""},
		{"folder", templates.At(templates.Path{Dir: step.PathModel}), "/w/model", nil, ""},
		{"file", templates.At(out), filepath.Join("/w/out", step.OutRunID), nil, ""},
		{"output of an earlier step", templates.In(step.OutRunID), LateValue(step.OutRunID), map[string]string{LateValue(step.OutRunID): filepath.Join("/w/out", step.OutRunID)}, ""},
		{"unknown parameter", templates.In("nope"), "", nil, `no value for parameter "nope"`},
		{"cluster-only path", templates.At(templates.Path{Dir: step.PathDocker}), "", nil, "no local folder for the pod path " + step.PathDocker},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r.late = nil
			got, err := tc.in.Render(r)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
			if len(r.late) != len(tc.late) {
				t.Fatalf("late values %v, want %v", r.late, tc.late)
			}
			for k, v := range tc.late {
				if r.late[k] != v {
					t.Errorf("late %s = %q, want %q", k, r.late[k], v)
				}
			}
		})
	}
}
