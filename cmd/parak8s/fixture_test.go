package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

	"parak8s.dev/parak8s/internal/stepfixture"
)

// Test fixtures: a model directory and a metrics directory in the formats
// of runtime/bundle, as train and evaluate write them, built from made-up
// predictions with the real metric and plot code.

// cmdFixture is the `fixture` script command:
//
//	fixture model DIR [TRIAL]    a 3-epoch 5-class model directory
//	fixture metrics DIR NAME     a metrics directory (good, poor, binary, silent)
func cmdFixture(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! fixture")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: fixture model DIR [TRIAL] | fixture metrics DIR NAME")
	}
	dir := ts.MkAbs(args[1])
	switch args[0] {
	case "model":
		m := stepfixture.Model{Experiment: "ecg-aami", Classes: stepfixture.ECG(), Epochs: 3, Weights: 4096}
		if len(args) > 2 {
			m.Trial = args[2]
		}
		ts.Check(stepfixture.WriteModel(dir, m))
	case "metrics":
		if len(args) != 3 {
			ts.Fatalf("usage: fixture metrics DIR NAME")
		}
		in, ok := stepfixture.Named(args[2])
		if !ok {
			ts.Fatalf("no metrics fixture %q", args[2])
		}
		_, err := stepfixture.WriteMetrics(dir, in)
		ts.Check(err)
	default:
		ts.Fatalf("fixture %s: want model or metrics", args[0])
	}
}

// scriptCmds are the commands the CLI scripts may use besides parak8s.
func scriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"fixture": cmdFixture,
		"jsonget": cmdJSONGet,
	}
}

// cmdJSONGet is `jsonget FILE PATH WANT`: the JSON value at a dotted path
// (object keys, list indexes) of FILE, compact, must equal WANT.
func cmdJSONGet(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: jsonget FILE PATH WANT")
	}
	var v any
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &v))
	for _, p := range strings.Split(args[1], ".") {
		switch t := v.(type) {
		case map[string]any:
			v = t[p]
		case []any:
			var i int
			if _, err := fmt.Sscan(p, &i); err != nil || i < 0 || i >= len(t) {
				ts.Fatalf("%s: no element %q", args[1], p)
			}
			v = t[i]
		default:
			ts.Fatalf("%s: %q is inside a %T", args[1], p, v)
		}
	}
	b, err := json.Marshal(v)
	ts.Check(err)
	got := string(b)
	if (got == args[2]) == neg {
		ts.Fatalf("%s %s = %s, want %s%s", args[0], args[1], got, map[bool]string{true: "not "}[neg], args[2])
	}
}
