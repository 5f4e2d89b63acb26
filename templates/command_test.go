package templates

import (
	"fmt"
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
			var args []string
			for _, a := range c.Args {
				args = append(args, ArgoText(a))
			}
			if !slices.Equal(tpl.Container.Args, args) || tpl.Container.Image != c.Image {
				t.Errorf("container %s %v, command %s %v", tpl.Container.Image, tpl.Container.Args, c.Image, args)
			}
			if len(tpl.Container.Env) != len(c.Env) {
				t.Fatalf("%d env vars in the container, %d in the command", len(tpl.Container.Env), len(c.Env))
			}
			for i, e := range c.Env {
				got := tpl.Container.Env[i]
				if got.Name != e.Name || got.Value != ArgoText(e.Value) || (got.ValueFrom != nil) != (e.Secret != nil) {
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
			// Every parameter a value refers to is an input parameter.
			values := append([]Value(nil), c.Args...)
			for _, e := range c.Env {
				values = append(values, e.Value)
			}
			for _, v := range values {
				for _, p := range v.Params() {
					if !slices.Contains(c.Params, p) {
						t.Errorf("%q refers to %s, not an input parameter %v", ArgoText(v), p, c.Params)
					}
				}
			}
			// Every pod path is the step contract's: a folder below step.Root.
			for _, v := range values {
				for _, p := range v {
					if p.Kind == PodPath && !strings.HasPrefix(p.Path.Dir, step.Root+"/") {
						t.Errorf("%q: pod path %s outside %s", ArgoText(v), p.Path.Dir, step.Root)
					}
				}
			}
			if k == step.Publish && !slices.ContainsFunc(c.Env, func(e Env) bool { return e.Name == step.EnvDockerConfig && e.Mounted }) {
				t.Error("publish's DOCKER_CONFIG must be marked as a mounted path")
			}
		})
	}
}

// mapRenderer renders parameters from a map and paths with a prefix.
type mapRenderer map[string]string

func (m mapRenderer) Param(name string) (string, error) {
	v, ok := m[name]
	if !ok {
		return "", fmt.Errorf("no value for parameter %q", name)
	}
	return v, nil
}

func (m mapRenderer) Path(p Path) (string, error) { return "/local" + p.Pod(), nil }

func TestRender(t *testing.T) {
	r := mapRenderer{"a": "1", "b-c": "[2,3]"}
	out := Path{Dir: step.PathOut, File: step.OutRunID}
	for _, tc := range []struct {
		in              Value
		argo, want, err string
	}{
		{Lit("plain"), "plain", "plain", ""},
		{In("a"), "{{inputs.parameters.a}}", "1", ""},
		{Join(Lit("x="), In("b-c"), Lit(","), In("a")), "x={{inputs.parameters.b-c}},{{inputs.parameters.a}}", "x=[2,3],1", ""},
		{At(out), step.PathOut + "/" + step.OutRunID, "/local" + step.PathOut + "/" + step.OutRunID, ""},
		{At(Path{Dir: step.PathModel}), step.PathModel, "/local" + step.PathModel, ""},
		{Join(Lit("{{inputs.parameters.a"), Lit("}}")), "{{inputs.parameters.a}}", "{{inputs.parameters.a}}", ""},
		{In("zz"), "{{inputs.parameters.zz}}", "", `no value for parameter "zz"`},
		{Value{{Kind: PartKind(9)}}, "", "", "unknown part kind 9"},
	} {
		if tc.err != "unknown part kind 9" {
			if got := ArgoText(tc.in); got != tc.argo {
				t.Errorf("ArgoText(%v) = %q, want %q", tc.in, got, tc.argo)
			}
		}
		got, err := tc.in.Render(r)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Render(%v): error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Render(%v) = %q, %v; want %q", tc.in, got, err, tc.want)
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
