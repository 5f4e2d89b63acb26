package spec

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	cueerrors "cuelang.org/go/cue/errors"
	"k8s.io/apimachinery/pkg/util/validation"

	"parak8s.dev/parak8s/schema"
)

// checkRules reports what the schema cannot say in CUE without its
// comprehensions depending on the fields they would flag: rules across
// sections of the (base) experiment. A sweep that breaks one for some
// trials is caught by that trial's step.
func checkRules(s *Spec) error {
	e := s.Experiment
	for _, k := range slices.Sorted(maps.Keys(e.Labels)) {
		if strings.HasPrefix(k, ReservedLabelPrefix) {
			return s.Errorf("labels."+strconv.Quote(k), "key %q is reserved: parac sets the %s labels itself (experiment, trial, step, data, shard)", k, ReservedLabelPrefix)
		}
	}
	var errs cueerrors.Error
	for _, p := range e.Problems() {
		errs = cueerrors.Append(errs, cueerrors.Promote(s.Errorf(p.Path, "%s", p.Msg), ""))
	}
	if errs != nil {
		return errs
	}
	if err := checkKube(s); err != nil {
		return err
	}
	return checkClaims(s)
}

// checkKube checks what the API server would refuse in the objects parac
// emits from the spec, with Kubernetes' own validation where it exists:
// label keys and values (workflow labels, the train pod's nodeSelector) and
// tolerations.
func checkKube(s *Spec) error {
	e := s.Experiment
	var errs cueerrors.Error
	add := func(path, format string, args ...any) {
		errs = cueerrors.Append(errs, cueerrors.Promote(s.Errorf(path, format, args...), ""))
	}
	for _, m := range []struct {
		field string
		m     map[string]string
	}{{"labels", e.Labels}, {"resources.nodeSelector", e.Resources.NodeSelector}} {
		for _, k := range slices.Sorted(maps.Keys(m.m)) {
			at := m.field + "." + strconv.Quote(k)
			if msgs := validation.IsQualifiedName(k); len(msgs) > 0 {
				shown := strconv.Quote(k)
				if len(k) > 60 {
					shown = fmt.Sprintf("%q… (%d characters)", k[:40], len(k))
				}
				errs = cueerrors.Append(errs, cueerrors.Newf(s.checker.at(at), "%s: invalid key %s: %s", s.checker.name(m.field), shown, strings.Join(msgs, "; ")))
			}
			if msgs := validation.IsValidLabelValue(m.m[k]); len(msgs) > 0 {
				add(at, "invalid value %q: %s", m.m[k], strings.Join(msgs, "; "))
			}
		}
	}
	for i, t := range e.Resources.Tolerations {
		at := fmt.Sprintf("resources.tolerations[%d]", i)
		switch {
		case t.Operator == schema.TolerationExists && t.Value != "":
			add(at+".value", "operator Exists matches every value of the taint: leave value out (the API server refuses it)")
		case t.Operator == schema.TolerationEqual && t.Key == "":
			add(at+".operator", "operator Equal needs a key (an empty key with operator Exists tolerates every taint)")
		}
	}
	return errs
}

// ReservedLabelPrefix starts the labels parac puts on workflows and pods
// (parak8s.dev/experiment, parak8s.dev/trial…); a spec's labels may not use
// it, or they would replace them.
const ReservedLabelPrefix = "parak8s.dev/"

// sourcePath is the sweepable path of the data source.
const sourcePath = "data.source.path"

// checkClaims checks every pvc://CLAIM/PATH value of data.source.path, the
// experiment's and the sweep's: a well-formed claim name and a clean
// relative path. prepare's template mounts one claim, the experiment's, so
// a sweep may change the PATH inside it but not the claim.
func checkClaims(s *Spec) error {
	e := s.Experiment
	base, _, isClaim, err := e.Data.Source.Claim()
	if err != nil {
		return s.Errorf(sourcePath, "%v", err)
	}
	sw := e.Sweep
	if sw == nil {
		return nil
	}
	check := func(where string, v any) error {
		p, ok := v.(string)
		if !ok {
			return nil // the schema refuses it
		}
		claim, _, ok, err := schema.Source{Path: p}.Claim()
		switch {
		case err != nil:
			return s.Errorf(where, "%v", err)
		case ok && (!isClaim || claim != base):
			return s.Errorf(where, "a sweep may change the path inside the claim of %s, not the claim: prepare mounts one claim (want %s%s/…)", sourcePath, schema.ClaimScheme, base)
		}
		return nil
	}
	for i, p := range sw.Parameters {
		if p.Path != sourcePath {
			continue
		}
		for j, v := range p.Values {
			if err := check(fmt.Sprintf("sweep.parameters[%d].values[%d]", i, j), v); err != nil {
				return err
			}
		}
	}
	for i, pt := range sw.Points {
		if v, ok := pt[sourcePath]; ok {
			if err := check(fmt.Sprintf("sweep.points[%d].%q", i, sourcePath), v); err != nil {
				return err
			}
		}
	}
	return nil
}
