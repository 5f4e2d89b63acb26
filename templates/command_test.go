package templates

import (
	"slices"
	"strings"
	"testing"
	"time"

	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/schema"
)

// The Argo container of every step kind is its Command as it is.
func TestTemplateIsTheCommand(t *testing.T) {
	exp := experiment()
	exp.Tracking = &schema.Tracking{URI: "http://mlflow:5000", Token: &schema.SecretRef{Name: "ml", Key: "token"}}
	exp.Registry = &schema.Registry{Repository: "r/models", Auth: "regcred"}
	in := Input{Experiment: exp, Swept: []string{"data.signal.sampleRate", "training.optimizer.lr"}, StepImage: "r/step:1", TrainImage: "r/gpu:1"}
	for _, k := range step.Kinds() {
		t.Run(string(k), func(t *testing.T) {
			c, err := StepCommand(k, in)
			if err != nil {
				t.Fatal(err)
			}
			tpl, err := Template(k, in)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(tpl.Container.Args, c.Args) || tpl.Container.Image != c.Image {
				t.Errorf("container %s %v, command %s %v", tpl.Container.Image, tpl.Container.Args, c.Image, c.Args)
			}
			if len(tpl.Container.Env) != len(c.Env) {
				t.Fatalf("%d env vars in the container, %d in the command", len(tpl.Container.Env), len(c.Env))
			}
			for i, e := range c.Env {
				got := tpl.Container.Env[i]
				if got.Name != e.Name || got.Value != e.Value || (got.ValueFrom != nil) != (e.Secret != nil) {
					t.Errorf("env %d: container %+v, command %+v", i, got, e)
				}
			}
			var params []string
			for _, p := range tpl.Inputs.Parameters {
				params = append(params, p.Name)
			}
			if !slices.Equal(params, c.Params) {
				t.Errorf("template inputs %v, command params %v", params, c.Params)
			}
			// Every placeholder names an input parameter.
			vals := map[string]string{}
			for _, p := range c.Params {
				vals[p] = "v"
			}
			for _, a := range c.Args {
				if _, err := Substitute(a, vals); err != nil {
					t.Errorf("argument %q: %v", a, err)
				}
			}
			if k == step.Publish && !slices.ContainsFunc(c.Env, func(e Env) bool { return e.Name == step.EnvDockerConfig && e.Mounted }) {
				t.Error("publish's DOCKER_CONFIG must be marked as a mounted path")
			}
		})
	}
}

func TestSubstitute(t *testing.T) {
	params := map[string]string{"a": "1", "b-c": "[2,3]"}
	for _, tc := range []struct {
		in, want, err string
	}{
		{"plain", "plain", ""},
		{Placeholder("a"), "1", ""},
		{"x=" + Placeholder("b-c") + "," + Placeholder("a"), "x=[2,3],1", ""},
		{"{{inputs.parameters.a", "{{inputs.parameters.a", ""},
		{Placeholder("zz"), "", `no value for parameter "zz"`},
	} {
		got, err := Substitute(tc.in, params)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Substitute(%q): error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Substitute(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestRetryPolicy(t *testing.T) {
	for _, tc := range []struct {
		w    schema.Workflow
		want Retry
		err  bool
	}{
		{schema.Workflow{Retries: 0, RetryPolicy: "Always"}, Retry{Policy: "Always"}, false},
		{schema.Workflow{Retries: 2, RetryPolicy: "OnFailure", Backoff: "30s"}, Retry{Limit: 2, Policy: "OnFailure", Backoff: 30 * time.Second, Factor: 2, MaxDuration: time.Hour}, false},
		{schema.Workflow{Retries: 1, Backoff: "soon"}, Retry{}, true},
	} {
		got, err := RetryPolicy(tc.w)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("RetryPolicy(%+v) = %+v, %v; want %+v", tc.w, got, err, tc.want)
		}
	}
	for d, want := range map[time.Duration]string{time.Hour: "1h", 90 * time.Minute: "1h30m", 30 * time.Second: "30s", 2 * time.Minute: "2m"} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%s) = %q, want %q", d, got, want)
		}
	}
}
