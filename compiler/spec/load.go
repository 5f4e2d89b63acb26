package spec

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/build"
	"cuelang.org/go/cue/cuecontext"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/load"
	"cuelang.org/go/cue/token"

	"parak8s.dev/parak8s/schema"
)

// Options tune Load.
type Options struct {
	// Experiment selects one experiment by name when a package defines several
	// (under `experiments:`). Empty selects all of them.
	Experiment string
	// Overlay adds or replaces files by absolute path, for specs that are not
	// on disk (tests, fuzzing, stdin).
	Overlay map[string][]byte
	// Timeout bounds loading: 0 is DefaultTimeout, a negative value none.
	Timeout time.Duration
}

// DefaultOptions returns the options of `parac compile FILE`.
func DefaultOptions() Options { return Options{} }

// Spec is one validated experiment.
type Spec struct {
	// Experiment is the resolved experiment, defaults filled in.
	Experiment schema.Experiment
	// Resolved is the same experiment as generic JSON (objects, arrays,
	// float64s, strings, bools).
	Resolved map[string]any
	// Path is the CUE path of the experiment inside its package ("" when the
	// package is the experiment, "experiments.NAME" otherwise).
	Path string
	// Files are the user's files the experiment was loaded from.
	Files []string

	checker *checker
}

// ExperimentsField is the package field that holds several experiments.
const ExperimentsField = "experiments"

// virtualModule is the module a spec outside any CUE module is loaded in.
const virtualModule = "module: \"parak8s.local/spec@v0\"\nlanguage: version: \"v0.17.0\"\n"

// Load loads, validates and decodes the experiments of a CUE file or a
// directory (a CUE package). Every problem is returned, as a CUE error list
// whose positions point into the user's files where possible.
func Load(path string, opts Options) ([]*Spec, error) {
	limit := opts.Timeout
	if limit == 0 {
		limit = DefaultTimeout
	}
	if limit < 0 {
		return loadSpec(path, opts, nil)
	}
	return withTimeout(path, limit, func(at *atomic.Pointer[token.Pos]) ([]*Spec, error) {
		return loadSpec(path, opts, at)
	})
}

// loadSpec is Load without its time limit; it stores the start of the user's
// first file in at (when not nil) before evaluating.
func loadSpec(path string, opts Options, at *atomic.Pointer[token.Pos]) ([]*Spec, error) {
	// The schema builds on another core while the spec's files are read,
	// then its syntax index for the sweep's checks.
	type envResult struct {
		env *env
		err error
	}
	envc := make(chan envResult, 1)
	go func() {
		e, err := getEnv()
		envc <- envResult{e, err}
		indexSchema()
	}()
	received := false
	defer func() {
		if !received { // returned before evaluating: keep the schema for the next load
			if r := <-envc; r.err == nil {
				putEnv(r.env)
			}
		}
	}()
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("loading spec %q: %w", path, err)
	}
	dir, arg := abs, "."
	isDir, err := isDirectory(abs, opts.Overlay)
	if err != nil {
		return nil, fmt.Errorf("loading spec %q: %w", path, err)
	}
	if !isDir {
		dir, arg = filepath.Dir(abs), abs
	}
	overlay := map[string]load.Source{}
	for name, src := range opts.Overlay {
		overlay[name] = load.FromBytes(src)
	}
	root := findModuleRoot(dir, opts.Overlay)
	if root == "" {
		root = dir
		overlay[filepath.Join(root, "cue.mod", "module.cue")] = load.FromString(virtualModule)
	}
	if !isSchemaModule(root, opts.Overlay) {
		if err := vendorSchema(root, overlay); err != nil {
			return nil, fmt.Errorf("loading spec %q: %w", path, err)
		}
	}
	cfg := &load.Config{
		Dir:        dir,
		ModuleRoot: root,
		Overlay:    overlay,
		Env:        []string{"CUE_REGISTRY=none"},
	}
	insts := load.Instances([]string{arg}, cfg)
	if len(insts) != 1 {
		return nil, fmt.Errorf("loading spec %q: found %d packages, want 1", path, len(insts))
	}
	inst := insts[0]
	if inst.Err != nil {
		return nil, flatten(inst.Err)
	}
	if at != nil && len(inst.Files) > 0 {
		p := inst.Files[0].Pos()
		at.Store(&p)
	}
	if err := checkBounds(inst.Files); err != nil {
		return nil, err
	}
	er := <-envc
	received = true
	if er.err != nil {
		return nil, er.err
	}
	env := er.env
	defer putEnv(env)
	ctx, schemaRoot := env.ctx, env.schema
	v := ctx.BuildInstance(inst)
	files := userFiles(inst)
	cands, err := candidates(v, opts.Experiment)
	if err != nil {
		return nil, err
	}
	var specs []*Spec
	var errs cueerrors.Error
	for _, c := range cands {
		s, err := decodeOne(ctx, schemaRoot, c.value, c.path, files, inst.Files)
		if err != nil {
			errs = cueerrors.Append(errs, cueerrors.Promote(err, ""))
			continue
		}
		specs = append(specs, s)
	}
	errs = cueerrors.Append(errs, duplicateNames(specs, inst.Files))
	if errs != nil {
		return nil, errs
	}
	return specs, nil
}

// duplicateNames reports experiments of a package that share a name: their
// workflows, trial ids and results would collide.
func duplicateNames(specs []*Spec, syntax []*ast.File) cueerrors.Error {
	var errs cueerrors.Error
	first := map[string]string{}
	for _, s := range specs {
		name := s.Experiment.Name
		other, dup := first[name]
		if !dup {
			first[name] = s.Path
			continue
		}
		path := s.Path + ".name"
		pos := s.checker.user.LookupPath(cue.ParsePath("name")).Pos()
		if !isUserPos(pos, s.Files) {
			pos = s.checker.at("name")
		}
		errs = cueerrors.Append(errs, cueerrors.Newf(pos, "%s: experiment name %q is also used by %s", path, name, other))
	}
	return errs
}

// env is a CUE context with the embedded schema built in it, reused by
// later loads: building the schema is two thirds of loading a small spec.
// A context is not safe for concurrent use: a load takes one from idle (or
// builds one) and puts it back when done. A context keeps every label it
// has seen, so it is dropped after renewAfter loads.
type env struct {
	ctx    *cue.Context
	schema cue.Value
	loads  int
}

const renewAfter = 500

var idle = make(chan *env, 1)

func getEnv() (*env, error) {
	select {
	case e := <-idle:
		return e, nil
	default:
	}
	ctx := cuecontext.New()
	root, err := Schema(ctx)
	if err != nil {
		return nil, err
	}
	return &env{ctx: ctx, schema: root}, nil
}

func putEnv(e *env) {
	if e.loads++; e.loads >= renewAfter {
		return
	}
	select {
	case idle <- e:
	default:
	}
}

// Schema builds the embedded schema package in ctx.
func Schema(ctx *cue.Context) (cue.Value, error) {
	insts := load.Instances([]string{"."}, &load.Config{FS: schema.FS, Dir: "/", Package: schema.Package})
	if len(insts) != 1 || insts[0].Err != nil {
		return cue.Value{}, fmt.Errorf("loading embedded schema: %v", insts[0].Err)
	}
	v := ctx.BuildInstance(insts[0])
	if err := v.Err(); err != nil {
		return cue.Value{}, fmt.Errorf("building embedded schema: %w", err)
	}
	return v, nil
}

type candidate struct {
	path  string
	value cue.Value
}

// candidates returns the experiments of a package: the fields of
// `experiments:` when present, else the package value itself.
func candidates(v cue.Value, want string) ([]candidate, error) {
	exps := v.LookupPath(cue.ParsePath(ExperimentsField))
	if !exps.Exists() {
		if want != "" {
			name, _ := v.LookupPath(cue.ParsePath("name")).String()
			if name != want {
				return nil, fmt.Errorf("no experiment named %q (the spec defines %q)", want, name)
			}
		}
		return []candidate{{value: v}}, nil
	}
	it, err := exps.Fields()
	if err != nil {
		return nil, err
	}
	var out []candidate
	var names []string
	for it.Next() {
		name := it.Selector().Unquoted()
		names = append(names, name)
		if want != "" && name != want {
			continue
		}
		out = append(out, candidate{path: ExperimentsField + "." + name, value: it.Value()})
	}
	if len(out) == 0 {
		if want != "" {
			return nil, fmt.Errorf("no experiment named %q (the spec defines %s)", want, strings.Join(names, ", "))
		}
		return nil, cueerrors.Newf(exps.Pos(), "%s: no experiments defined", ExperimentsField)
	}
	return out, nil
}

func decodeOne(ctx *cue.Context, root, user cue.Value, path string, files []string, syntax []*ast.File) (*Spec, error) {
	def := root.LookupPath(cue.ParsePath(schema.Definition))
	chk := &checker{ctx: ctx, root: root, def: def, user: user, prefix: path, files: files, syntax: syntax}
	v, raw, ok := unifyData(ctx, def, user)
	if !ok {
		v = def.Unify(user)
		if err := v.Validate(cue.Concrete(true), cue.All()); err != nil {
			return nil, chk.invalid(err)
		}
		if exps := user.LookupPath(cue.ParsePath(ExperimentsField)); path == "" && exps.Exists() {
			return nil, chk.rewrite(v.Err())
		}
		var err error
		if raw, err = v.MarshalJSON(); err != nil {
			return nil, chk.rewrite(err)
		}
	}
	s := &Spec{Path: path, Files: files, checker: chk}
	if err := json.Unmarshal(raw, &s.Resolved); err != nil {
		return nil, fmt.Errorf("decoding experiment: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s.Experiment); err != nil {
		return nil, fmt.Errorf("decoding experiment into Go (schema drift?): %w", err)
	}
	chk.full, chk.sweep = v, s.Experiment.Sweep
	if err := chk.checkSweep(s); err != nil {
		return nil, err
	}
	if err := checkRules(s); err != nil {
		return nil, err
	}
	return s, nil
}

func isDirectory(path string, overlay map[string][]byte) (bool, error) {
	if _, ok := overlay[path]; ok {
		return false, nil
	}
	info, err := os.Stat(path)
	if err != nil {
		for name := range overlay {
			if strings.HasPrefix(name, path+string(filepath.Separator)) {
				return true, nil
			}
		}
		return false, err
	}
	return info.IsDir(), nil
}

func exists(path string, overlay map[string][]byte) bool {
	if _, ok := overlay[path]; ok {
		return true
	}
	_, err := os.Stat(path)
	return err == nil
}

func findModuleRoot(dir string, overlay map[string][]byte) string {
	for d := dir; ; d = filepath.Dir(d) {
		if exists(filepath.Join(d, "cue.mod", "module.cue"), overlay) {
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

var moduleLine = regexp.MustCompile(`(?m)^\s*module:\s*"([^"]+)"`)

// isSchemaModule reports whether root is the module that defines the schema
// (this repository), where the import resolves without vendoring.
func isSchemaModule(root string, overlay map[string][]byte) bool {
	name := filepath.Join(root, "cue.mod", "module.cue")
	b, ok := overlay[name]
	if !ok {
		var err error
		if b, err = os.ReadFile(name); err != nil {
			return false
		}
	}
	m := moduleLine.FindSubmatch(b)
	return m != nil && string(m[1]) == schema.Module
}

// vendorSchema serves the embedded schema at root/cue.mod/pkg/<import path>,
// unless the user vendored a copy there.
func vendorSchema(root string, overlay map[string]load.Source) error {
	dir := schema.VendorDir(root)
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	return schema.EachFile(func(name string, b []byte) error {
		overlay[filepath.Join(dir, filepath.FromSlash(name))] = load.FromBytes(b)
		return nil
	})
}

func userFiles(inst *build.Instance) []string {
	var out []string
	for _, f := range inst.BuildFiles {
		out = append(out, f.Filename)
	}
	sort.Strings(out)
	return out
}

func isUserPos(p token.Pos, files []string) bool {
	if !p.IsValid() {
		return false
	}
	i := sort.SearchStrings(files, p.Filename())
	return i < len(files) && files[i] == p.Filename()
}

// flatten turns wrapped loader errors ("import failed" wrapping "cannot find
// package …") into one message each, at the innermost position.
func flatten(err error) error {
	var out cueerrors.Error
	for _, e := range cueerrors.Errors(err) {
		ps := cueerrors.Positions(e)
		msg := e.Error()
		for _, p := range ps {
			msg = strings.ReplaceAll(msg, p.String()+": ", "")
		}
		pos := e.Position()
		if len(ps) > 0 {
			pos = ps[len(ps)-1]
		}
		out = cueerrors.Append(out, cueerrors.Newf(pos, "%s", msg))
	}
	return out
}

// Errorf returns a problem of the field at path (relative to the experiment,
// e.g. "images.step"), positioned where the user wrote it (or at the
// experiment when the value is a default) and printed by Lines like every
// other spec problem.
func (s *Spec) Errorf(path, format string, args ...any) error {
	return cueerrors.Newf(s.checker.at(path), "%s: %s", s.checker.name(path), fmt.Sprintf(format, args...))
}

// unifyData is the quick way to def & user: when the user's value is
// already concrete, its data (not its expressions) is unified with the
// schema, which skips evaluating the spec's constraints a second time. It
// reports false when the quick way does not apply or finds a problem; the
// caller then unifies the values themselves, whose errors carry positions.
func unifyData(ctx *cue.Context, def, user cue.Value) (cue.Value, []byte, bool) {
	data, err := user.MarshalJSON() // fails when user is not concrete
	if err != nil {
		return cue.Value{}, nil, false
	}
	v := def.Unify(ctx.CompileBytes(data))
	if v.Validate(cue.Concrete(true), cue.All()) != nil {
		return cue.Value{}, nil, false
	}
	raw, err := v.MarshalJSON()
	if err != nil {
		return cue.Value{}, nil, false
	}
	return v, raw, true
}
