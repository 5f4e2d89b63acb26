package schema_test

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"

	"parak8s.dev/parak8s/compiler/spec"
	"parak8s.dev/parak8s/schema"
)

// variants make every conditional block of the schema visible.
var variants = []string{
	`data: source: kind: "wfdb"`,
	`data: source: kind: "images"`,
	`model: kind: "deepcnn1d"`,
	`model: kind: "resnet"`,
	`model: kind: "efficientnet"`,
	`data: split: by: "record"`,
	`data: split: by: "folder"`,
	`sweep: mode: "list"`,
	`sweep: {mode: "random", parameters: [{path: "model.dropout"}]}`,
}

// TestDrift fails when the Go structs and the CUE schema disagree on the set
// of fields (by JSON name, recursively).
func TestDrift(t *testing.T) {
	ctx := cuecontext.New()
	root, err := spec.Schema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	def := root.LookupPath(cue.ParsePath(schema.Definition))
	cueFields := map[string]bool{}
	walkCUE(def, "", cueFields)
	for _, v := range variants {
		walkCUE(def.Unify(ctx.CompileString(v)), "", cueFields)
	}
	goFields := map[string]bool{}
	walkGo(reflect.TypeOf(schema.Experiment{}), "", goFields)

	var missing, extra []string
	for f := range cueFields {
		if !goFields[f] {
			missing = append(missing, f)
		}
	}
	for f := range goFields {
		if !cueFields[f] {
			extra = append(extra, f)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("in the CUE schema but not in the Go structs:\n  %s", strings.Join(missing, "\n  "))
	}
	if len(extra) > 0 {
		t.Errorf("in the Go structs but not in the CUE schema:\n  %s", strings.Join(extra, "\n  "))
	}
	if len(cueFields) < 100 {
		t.Errorf("walked only %d CUE fields; the walk is broken", len(cueFields))
	}
}

func walkCUE(v cue.Value, prefix string, out map[string]bool) {
	it, err := v.Fields(cue.Optional(true))
	if err != nil {
		return
	}
	for it.Next() {
		sel := it.Selector()
		if sel.IsDefinition() || sel.PkgPath() != "" && strings.HasPrefix(sel.String(), "_") {
			continue
		}
		name := sel.Unquoted()
		if strings.HasPrefix(name, "_") {
			continue
		}
		path := prefix + name
		out[path] = true
		fv := it.Value()
		if fv.IncompleteKind() == cue.StructKind && !isMap(fv) {
			walkCUE(fv, path+".", out)
		}
		if fv.IncompleteKind() == cue.ListKind {
			if e, ok := element(fv, 3); ok {
				walkCUE(e, path+"[].", out)
			}
		}
	}
}

// element finds the struct element type of a list, looking through
// conjunctions and disjunctions such as [...#T] & list.MinItems(1) | *[].
func element(v cue.Value, depth int) (cue.Value, bool) {
	for _, sel := range []cue.Selector{cue.AnyIndex, cue.Index(0)} {
		if e := v.LookupPath(cue.MakePath(sel)); e.Exists() && e.IncompleteKind() == cue.StructKind && !isMap(e) {
			return e, true
		}
	}
	if depth == 0 {
		return v, false
	}
	_, parts := v.Expr()
	for _, p := range parts {
		if e, ok := element(p, depth-1); ok {
			return e, true
		}
	}
	return v, false
}

// isMap reports whether a struct is a map with a pattern constraint such as
// {[string]: string} (labels, nodeSelector, sweep points).
func isMap(v cue.Value) bool {
	return v.LookupPath(cue.MakePath(cue.AnyString)).Exists()
}

func walkGo(t reflect.Type, prefix string, out map[string]bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		path := prefix + name
		out[path] = true
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft.Kind() == reflect.Struct:
			walkGo(ft, path+".", out)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			walkGo(ft.Elem(), path+"[].", out)
		}
	}
}
