package schema_test

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"github.com/google/go-cmp/cmp"

	"parak8s.dev/parak8s/compiler/spec"
	"parak8s.dev/parak8s/schema"
)

// The drift tests keep the hand-written Go structs (types.go) and the enum
// constants (enums.go) in step with the CUE schema, the source of truth:
//   - TestDrift: the same fields (by JSON name, recursively, list elements
//     included), of the same kind (string, int, float, bool, list, struct,
//     map or any), optional in Go (pointer or omitempty) exactly where the
//     CUE field is optional or present only under a condition, and every
//     CUE set of strings a named Go type whose constants are that set;
//   - TestDriftRoundTrip: the schema's defaults, for each variant of a
//     complete experiment, survive a decode into schema.Experiment and an
//     encode back unchanged (so every default fits its Go type and no field
//     is lost or added).
// `cue exp gengotypes` (v0.17) was tried instead and rejected: it turns
// #Data, #Model and #Sweep (fields under `if`) into `any`, every number
// into `any`, maps into empty structs and lists into []any.

// variants make every conditional block of the schema visible.
var variants = []string{
	`data: source: kind: "wfdb"`,
	`data: source: kind: "csv"`,
	`data: source: kind: "images"`,
	`model: kind: "deepcnn1d"`,
	`model: kind: "resnet"`,
	`model: kind: "efficientnet"`,
	`data: split: by: "record"`,
	`data: split: by: "folder"`,
	`sweep: mode: "list"`,
	`sweep: {mode: "random", parameters: [{path: "model.dropout"}]}`,
}

// plainStrings are CUE sets of strings kept as Go strings, and why.
var plainStrings = map[string]string{
	// A split name, used as the key of the data sets' split maps
	// (dataset.SplitNames) like data.split's own names.
	"evaluation.split": "split name",
}

// anyEnums name the Go type of the string values of fields that may also
// hold other kinds (the Go field is any).
var anyEnums = map[string]reflect.Type{
	"training.loss.classWeights": reflect.TypeFor[schema.ClassWeightMode](),
}

// cueField is what the schema says of one field, merged over the walks
// (the definition alone and each variant).
type cueField struct {
	kind     cue.Kind // union over the walks
	isMap    bool     // a struct with a pattern constraint ({[K]: V})
	optional bool     // optional (?) in some walk
	seen     int      // walks in which the field is present
	parents  int      // walks in which its parent is present
	enum     []string // the literal strings it may be
	notEnum  bool     // some walk allows a string that is not a literal
}

// goField is what the Go structs say of one field.
type goField struct {
	typ      reflect.Type // pointers removed
	optional bool         // a pointer or omitempty
}

func schemaDef(t *testing.T) (*cue.Context, cue.Value) {
	t.Helper()
	ctx := cuecontext.New()
	root, err := spec.Schema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return ctx, root.LookupPath(cue.ParsePath(schema.Definition))
}

// TestDrift fails when the Go structs and the CUE schema disagree on the
// fields, their kinds, their optionality or their sets of values.
func TestDrift(t *testing.T) {
	cueFields, goFields := walkBoth(t)

	var missing, extra []string
	for f := range cueFields {
		if _, ok := goFields[f]; !ok {
			missing = append(missing, f)
		}
	}
	for f := range goFields {
		if _, ok := cueFields[f]; !ok {
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

	enumValues := map[reflect.Type][]string{}
	for _, p := range sortedKeys(cueFields) {
		c, g := cueFields[p], goFields[p]
		if g == nil {
			continue
		}
		if _, ok := cueFields[p+"[]"]; c.category() == "list" && !ok {
			t.Errorf("%s: found no element type of the list; the walk is broken", p)
		}
		if want, got := c.category(), category(g.typ); got != want {
			t.Errorf("%s: the schema says %s, Go has %s (%s)", p, want, got, g.typ)
		}
		if opt := c.optional || c.seen < c.parents; opt != g.optional {
			t.Errorf("%s: optional (or conditional) in the schema: %v; optional in Go (pointer or omitempty): %v", p, opt, g.optional)
		}
		if len(c.enum) == 0 || c.notEnum {
			continue
		}
		typ := g.typ
		if at, ok := anyEnums[p]; ok {
			typ = at
		}
		switch {
		case plainStrings[p] != "":
			if typ.Kind() != reflect.String {
				t.Errorf("%s: listed as a plain string but Go has %s", p, typ)
			}
		case typ.Kind() != reflect.String || typ.Name() == "string" || typ.PkgPath() != reflect.TypeFor[schema.Experiment]().PkgPath():
			t.Errorf("%s: the schema allows only %q; give it a named string type in enums.go (Go has %s)", p, c.enum, typ)
		default:
			enumValues[typ] = union(enumValues[typ], c.enum)
		}
	}

	consts := enumConsts(t)
	for typ, vals := range enumValues {
		got := consts[typ.Name()]
		if !slices.Equal(got, vals) {
			t.Errorf("%s: the constants in enums.go are %q, the schema's values %q", typ.Name(), got, vals)
		}
	}
	for name := range consts {
		if !slices.ContainsFunc(sortedTypes(enumValues), func(typ reflect.Type) bool { return typ.Name() == name }) {
			t.Errorf("enums.go: type %s is the type of no field with a set of values in the schema", name)
		}
	}
	if len(enumValues) < 15 {
		t.Errorf("found only %d enum types; the walk is broken", len(enumValues))
	}
}

// walkBoth returns the CUE fields (over the definition and every variant)
// and the Go fields, by path ("data.source.kind", "evaluation.metrics[]").
func walkBoth(t *testing.T) (map[string]*cueField, map[string]*goField) {
	t.Helper()
	ctx, def := schemaDef(t)
	cueFields := map[string]*cueField{"": {}}
	walkCUE(def, "", cueFields)
	for _, v := range variants {
		u := def.Unify(ctx.CompileString(v))
		if err := u.Err(); err != nil {
			t.Fatalf("variant %s: %v", v, err)
		}
		walkCUE(u, "", cueFields)
	}
	// The entries of the structs themselves ("data.") counted the walks
	// that reached them: a field seen in fewer is conditional.
	for p, f := range cueFields {
		if strings.HasSuffix(p, ".") || p == "" {
			continue
		}
		if strings.HasSuffix(p, "[]") {
			f.parents = f.seen // an element is never optional
			continue
		}
		parent := ""
		if i := strings.LastIndex(p, "."); i >= 0 {
			parent = p[:i+1]
		}
		f.parents = cueFields[parent].seen
	}
	for p := range cueFields {
		if strings.HasSuffix(p, ".") || p == "" {
			delete(cueFields, p)
		}
	}
	goFields := map[string]*goField{}
	walkGo(reflect.TypeFor[schema.Experiment](), "", goFields)
	return cueFields, goFields
}

// category names a CUE kind as a Go kind would be named.
func (c *cueField) category() string {
	switch c.kind {
	case cue.StringKind:
		return "string"
	case cue.IntKind:
		return "int"
	case cue.NumberKind, cue.FloatKind:
		return "float"
	case cue.BoolKind:
		return "bool"
	case cue.ListKind:
		return "list"
	case cue.StructKind:
		if c.isMap {
			return "map"
		}
		return "struct"
	}
	return "any"
}

func category(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Int, reflect.Int64:
		return "int"
	case reflect.Float64:
		return "float"
	case reflect.Bool:
		return "bool"
	case reflect.Slice:
		return "list"
	case reflect.Struct:
		return "struct"
	case reflect.Map:
		if t.Key().Kind() == reflect.String {
			return "map"
		}
	case reflect.Interface:
		return "any"
	}
	return t.String()
}

func walkCUE(v cue.Value, prefix string, out map[string]*cueField) {
	it, err := v.Fields(cue.Optional(true))
	if err != nil {
		return
	}
	out[prefix].seen++ // the struct's own entry counts the walks it is in
	for it.Next() {
		sel := it.Selector()
		name := sel.Unquoted()
		if sel.IsDefinition() || strings.HasPrefix(name, "_") {
			continue
		}
		path := prefix + name
		f, ok := out[path]
		if !ok {
			f = &cueField{}
			out[path] = f
		}
		f.seen++
		f.optional = f.optional || it.IsOptional()
		describe(it.Value(), path, f, out)
	}
}

// describe records v's kind and values in f and walks into its structs and
// list elements.
func describe(v cue.Value, path string, f *cueField, out map[string]*cueField) {
	f.kind |= kindOf(v)
	f.isMap = f.isMap || isMap(v)
	if vals, ok := literals(v); ok {
		f.enum = union(f.enum, vals)
	} else if kindOf(v)&cue.StringKind != 0 {
		f.notEnum = true
	}
	switch {
	case f.kind == cue.StructKind && !f.isMap:
		if out[path+"."] == nil {
			out[path+"."] = &cueField{}
		}
		walkCUE(v, path+".", out)
	case f.kind == cue.ListKind:
		if e, ok := element(v, 4); ok {
			ep := path + "[]"
			ef, ok := out[ep]
			if !ok {
				ef = &cueField{}
				out[ep] = ef
			}
			ef.seen++
			describe(e, ep, ef, out)
		}
	}
}

// kindOf is the kinds a value may take. It looks through disjunctions
// and conjunctions itself: IncompleteKind of a disjunction with a default
// such as *"none" | "balanced" | [...number] reports only the default's kind.
func kindOf(v cue.Value) cue.Kind {
	op, parts := v.Expr()
	switch op {
	case cue.OrOp:
		var k cue.Kind
		for _, p := range parts {
			k |= kindOf(p)
		}
		return k
	case cue.AndOp:
		k := cue.TopKind
		for _, p := range parts {
			if pk := kindOf(p); pk != cue.BottomKind {
				k &= pk
			}
		}
		return k
	}
	return v.IncompleteKind()
}

// literals returns the strings a value may be when its string part is a
// set of literals ("adam" | "adamw" | "sgd"; "crossentropy").
func literals(v cue.Value) ([]string, bool) {
	op, parts := v.Expr()
	if op != cue.OrOp {
		if root, ref := v.ReferencePath(); len(ref.Selectors()) > 0 {
			return literals(root.LookupPath(ref)) // a reference such as #Metric
		}
		parts = []cue.Value{v}
	}
	var out []string
	for _, p := range parts {
		if kindOf(p)&cue.StringKind == 0 {
			continue
		}
		if !p.IsConcrete() || p.Kind() != cue.StringKind {
			return nil, false
		}
		s, _ := p.String()
		out = union(out, []string{s})
	}
	return out, len(out) > 0
}

// element finds the element type of a list, looking through conjunctions
// and disjunctions such as [...#T] & list.MinItems(1) | *[]. The first
// element of a concrete list (a default) is the last resort.
func element(v cue.Value, depth int) (cue.Value, bool) {
	if e, ok := anyElement(v, depth); ok {
		return e, true
	}
	if e := v.LookupPath(cue.MakePath(cue.Index(0))); e.Exists() && kindOf(e) != cue.BottomKind {
		return e, true
	}
	return v, false
}

func anyElement(v cue.Value, depth int) (cue.Value, bool) {
	if e := v.LookupPath(cue.MakePath(cue.AnyIndex)); e.Exists() && kindOf(e) != cue.BottomKind {
		return e, true
	}
	if depth == 0 {
		return v, false
	}
	_, parts := v.Expr()
	for _, p := range parts {
		if e, ok := anyElement(p, depth-1); ok {
			return e, true
		}
	}
	return v, false
}

// isMap reports whether a struct has a pattern constraint such as
// {[#LabelKey]: #LabelValue} (labels, nodeSelector, sweep points): it then
// allows fields a closed definition does not.
func isMap(v cue.Value) bool {
	return v.IncompleteKind() == cue.StructKind && (v.Allows(cue.Str("app")) || v.Allows(cue.Str("model.probe")))
}

func walkGo(t reflect.Type, prefix string, out map[string]*goField) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		path := prefix + name
		ft := f.Type
		g := &goField{optional: ft.Kind() == reflect.Pointer || slices.Contains(strings.Split(opts, ","), "omitempty")}
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		g.typ = ft
		out[path] = g
		switch {
		case ft.Kind() == reflect.Struct:
			walkGo(ft, path+".", out)
		case ft.Kind() == reflect.Slice:
			et := ft.Elem()
			for et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			out[path+"[]"] = &goField{typ: et}
			if et.Kind() == reflect.Struct {
				walkGo(et, path+"[].", out)
			}
		}
	}
}

// enumConsts reads enums.go: the values of the constants of each named
// type, sorted.
func enumConsts(t *testing.T) map[string][]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "enums.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			typ, ok := vs.Type.(*ast.Ident)
			if !ok {
				t.Errorf("enums.go: constant %s has no named type", vs.Names[0])
				continue
			}
			for _, v := range vs.Values {
				lit, ok := v.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Errorf("enums.go: constant %s is not a string literal", vs.Names[0])
					continue
				}
				s, _ := strconv.Unquote(lit.Value)
				if slices.Contains(out[typ.Name], s) {
					t.Errorf("enums.go: two constants of type %s are %q", typ.Name, s)
				}
				out[typ.Name] = union(out[typ.Name], []string{s})
			}
		}
	}
	return out
}

func union(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedTypes(m map[reflect.Type][]string) []reflect.Type {
	out := make([]reflect.Type, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// complete are experiments that, with the schema's defaults, fill every
// block of it. Optional booleans (rrIrregularity, rrAverage, refit) are
// set true: Go reads an absent one as false and drops an explicit false
// (omitempty), which means the same.
var complete = []string{
	`data: source: {kind: "wfdb", path: "/data/mitdb", records: ["101", "106"], digest: "sha256:` + strings.Repeat("a", 64) + `"}
	 data: split: {by: "record", train: ["101"], val: ["106"]}
	 data: signal: {rrIrregularity: true, rrAverage: true}
	 model: {kind: "deepcnn1d", adaptBatchNorm: 0.5, deepcnn1d: rrExpert: weight: 0.3}
	 training: {refit: true, earlyStopping: {}}
	 evaluation: threshold: 0.4
	 tracking: {uri: "http://mlflow:5000", experiment: "e", token: {name: "t", key: "k"}, username: {name: "u", key: "k"}, password: {name: "p", key: "k"}}
	 results: dsn: {name: "db", key: "dsn"}
	 registry: {repository: "registry.local/models", model: "m", when: "val_auc >= 0.9", auth: "regcred"}
	 resources: {tolerations: [{key: "gpu", value: "x", effect: "NoSchedule"}], nodeSelector: pool: "gpu", priorityClass: "high"}
	 workflow: namespace: "ml"
	 images: gpu: "ghcr.io/parak8s/parak8s:gpu"
	 labels: team: "ml"
	 description: "every optional block"
	 sweep: parameters: [{path: "training.optimizer.lr", range: {min: 0.0001, max: 0.1, count: 3, scale: "log"}}, {path: "model.dropout", values: [0.1, 0.2]}]`,
	`data: source: {kind: "csv", path: "/data/mitbih"}
	 data: split: by: "folder"
	 model: kind: "deepcnn1d"
	 training: loss: classWeights: [1, 2.5, 1, 1, 1]
	 sweep: {mode: "random", samples: 4, parameters: [{path: "training.optimizer.lr", range: {min: 0.0001, max: 0.01}}]}`,
	`data: source: {kind: "images", path: "/data/xray"}
	 data: split: {by: "folder", test: "test"}
	 model: {kind: "resnet", frozen: ["layer1"], pretrained: "/weights/r18.safetensors"}
	 training: loss: classWeights: "balanced"
	 sweep: {mode: "list", points: [{"training.optimizer.lr": 0.01}, {"model.dropout": 0.2}]}`,
	`data: source: {kind: "images", path: "/data/xray"}
	 data: classes: ["NORMAL", "PNEUMONIA"]
	 model: kind: "efficientnet"`,
}

// TestDriftRoundTrip fails when an experiment the schema resolves does not
// survive a decode into schema.Experiment and an encode back unchanged: a
// default of the wrong Go type, a field Go drops, an omitempty that hides a
// value the schema sets, or a field Go adds.
func TestDriftRoundTrip(t *testing.T) {
	ctx, def := schemaDef(t)
	for i, src := range complete {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			v := def.Unify(ctx.CompileString(`name: "drift"` + "\n" + src))
			if err := v.Validate(cue.Concrete(true), cue.All()); err != nil {
				t.Fatalf("the test's experiment is invalid: %v", err)
			}
			want, err := v.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			var e schema.Experiment
			dec := json.NewDecoder(strings.NewReader(string(want)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&e); err != nil {
				t.Fatalf("decoding the schema's experiment into schema.Experiment: %v", err)
			}
			got, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			var w, g any
			if err := json.Unmarshal(want, &w); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(w, g); d != "" {
				t.Errorf("schema.Experiment changes the resolved experiment (-schema +Go):\n%s", d)
			}
		})
	}
}
