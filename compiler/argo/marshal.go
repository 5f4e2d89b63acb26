package argo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/validate"
	"sigs.k8s.io/yaml"

	"parak8s.dev/parak8s/internal/kyaml"
)

// Marshal writes a workflow as YAML the way a person would: no status, no
// null timestamps, no empty objects or lists, keys sorted (deterministic).
func Marshal(wf *wfv1.Workflow) ([]byte, error) {
	c := *wf
	c.Status = wfv1.WorkflowStatus{}
	y, err := kyaml.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("encoding workflow: %w", err)
	}
	return y, nil
}

// notFound answers every template lookup of the offline validator with "not
// found": compiled workflows never refer to templates outside themselves.
type notFound struct{}

func (notFound) Get(name string) (*wfv1.WorkflowTemplate, error) {
	return nil, fmt.Errorf("workflow template %q not found (offline)", name)
}

type clusterNotFound struct{}

func (clusterNotFound) Get(name string) (*wfv1.ClusterWorkflowTemplate, error) {
	return nil, fmt.Errorf("cluster workflow template %q not found (offline)", name)
}

// Validate parses workflow YAML strictly (unknown fields fail, as in `argo
// lint`) and runs Argo's own validation on it, as `argo lint --offline` does.
func Validate(y []byte) (err error) {
	var wf wfv1.Workflow
	if err := yaml.UnmarshalStrict(y, &wf); err != nil {
		return fmt.Errorf("parsing workflow: %w", err)
	}
	// Argo v3.7.3's validator dereferences a nil template when a task names
	// an undefined one and the workflow has podMetadata: check names first.
	defined := map[string]bool{}
	for _, t := range wf.Spec.Templates {
		defined[t.Name] = true
	}
	for _, t := range wf.Spec.Templates {
		if t.DAG == nil {
			continue
		}
		for _, task := range t.DAG.Tasks {
			if task.TemplateRef == nil && !defined[task.Template] {
				return fmt.Errorf("argo validation: templates.%s.tasks.%s: template name '%s' undefined", t.Name, task.Name, task.Template)
			}
		}
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("argo validation crashed: %v", r)
		}
	}()
	if err := validate.ValidateWorkflow(notFound{}, clusterNotFound{}, &wf, nil, validate.ValidateOpts{Lint: true}); err != nil {
		return fmt.Errorf("argo validation: %w", err)
	}
	return nil
}

// validateShape validates wf as Validate does its YAML, on its shape: Argo's
// validator reads the items of a fan-out only for the keys they put in
// scope ({{item.KEY}}) and for {{…}} references in their text, and of the
// workflow's labels and annotations only the keys (generateName not at
// all). So it validates a copy where each withItems holds one item per
// distinct key set, its values blanked, plus every item with braces in it,
// verbatim, and where those metadata values are blanked; shapes already in
// validated (the shards of one sweep share theirs) are not validated again.
// A sweep's workflows are then checked in time independent of its trials.
func validateShape(wf *wfv1.Workflow, validated map[string]bool) error {
	c := *wf
	c.ObjectMeta = *wf.ObjectMeta.DeepCopy()
	c.GenerateName = ""
	for _, m := range []map[string]string{c.Labels, c.Annotations} {
		for k := range m {
			m[k] = ""
		}
	}
	c.Spec.Templates = make([]wfv1.Template, len(wf.Spec.Templates))
	for i, t := range wf.Spec.Templates {
		c.Spec.Templates[i] = t
		if t.DAG == nil {
			continue
		}
		dag := *t.DAG
		dag.Tasks = make([]wfv1.DAGTask, len(t.DAG.Tasks))
		for j, task := range t.DAG.Tasks {
			items, err := shapes(task.WithItems)
			if err != nil {
				return fmt.Errorf("templates.%s.tasks.%s: %w", t.Name, task.Name, err)
			}
			task.WithItems = items
			dag.Tasks[j] = task
		}
		c.Spec.Templates[i].DAG = &dag
	}
	y, err := Marshal(&c)
	if err != nil {
		return err
	}
	if validated[string(y)] {
		return nil
	}
	if err := Validate(y); err != nil {
		return err
	}
	validated[string(y)] = true
	return nil
}

// shapes are the items that stand for all of items before Argo's
// validator: every item whose text holds "{{" or "}}", as it is, and the
// first item of each distinct key set (objects, their values blanked) or
// type (anything else), in their order.
func shapes(items []wfv1.Item) ([]wfv1.Item, error) {
	var out []wfv1.Item
	seen := map[string]bool{}
	for _, it := range items {
		if bytes.Contains(it.Value, []byte("{{")) || bytes.Contains(it.Value, []byte("}}")) {
			out = append(out, it)
			continue
		}
		if it.GetType() != wfv1.Map {
			if shape := fmt.Sprint(it.GetType()); !seen[shape] {
				seen[shape] = true
				out = append(out, it)
			}
			continue
		}
		shape, ok := flatShape(it.Value)
		if !ok {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(it.Value, &m); err != nil {
				return nil, fmt.Errorf("item %s: %w", it.Value, err)
			}
			for k := range m {
				m[k] = json.RawMessage(`""`)
			}
			b, err := json.Marshal(m) // sorted keys: one text per key set
			if err != nil {
				return nil, err
			}
			shape = string(b)
		}
		if !seen[shape] {
			seen[shape] = true
			out = append(out, wfv1.Item{Value: json.RawMessage(shape)})
		}
	}
	return out, nil
}

// flatShape is, for a JSON object of strings with no space and plain ASCII
// keys (the items Emit writes), the object with the same keys in
// sorted order and empty values, as json.Marshal writes it; ok is false for
// any other text, left to encoding/json. It spares a sweep's items a JSON
// decoding each.
func flatShape(b []byte) (_ string, ok bool) {
	i := 0
	// str reads the string at b[i] and leaves i after it.
	str := func() (s string, escaped, ok bool) {
		if i >= len(b) || b[i] != '"' {
			return "", false, false
		}
		start := i + 1
		for i++; i < len(b); i++ {
			switch c := b[i]; {
			case c == '\\':
				escaped = true
				i++
			case c < 0x20:
				return "", false, false
			case c == '"':
				i++
				return string(b[start : i-1]), escaped, true
			}
		}
		return "", false, false
	}
	if len(b) < 2 || b[0] != '{' {
		return "", false
	}
	var keys []string
	for i = 1; i < len(b) && b[i] != '}'; {
		if len(keys) > 0 {
			if b[i] != ',' {
				return "", false
			}
			i++
		}
		k, escaped, ok := str()
		if !ok || escaped || strings.ContainsFunc(k, func(r rune) bool { return r > 0x7e || strings.ContainsRune("<>&", r) }) || i >= len(b) || b[i] != ':' {
			return "", false
		}
		i++
		if _, _, ok := str(); !ok {
			return "", false
		}
		keys = append(keys, k)
	}
	if i != len(b)-1 {
		return "", false
	}
	slices.Sort(keys)
	for n := 1; n < len(keys); n++ {
		if keys[n] == keys[n-1] {
			return "", false
		}
	}
	var sb strings.Builder
	sb.WriteByte('{')
	for n, k := range keys {
		if n > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`"` + k + `":""`)
	}
	sb.WriteByte('}')
	return sb.String(), true
}
