package spec

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"cuelang.org/go/cue/ast"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/literal"
	"cuelang.org/go/cue/token"

	"parak8s.dev/parak8s/compiler/plan"
)

// Bounds on what a spec may ask of the evaluator, so that every spec is
// accepted or refused within seconds (parac vet answers within 10 s).
const (
	// MaxSpecBytes bounds the size of the user's CUE files together.
	MaxSpecBytes = 1 << 20
	// MaxItems bounds the lists a spec builds with list.Range, list.Repeat
	// or strings.Repeat (items or repetitions): a sweep has at most
	// plan.MaxTrials trials, and no field needs more.
	MaxItems = plan.MaxTrials
	// DefaultTimeout bounds the evaluation of a spec whose cost no static
	// check sees (a comprehension over a computed range, say).
	DefaultTimeout = 8 * time.Second
)

// checkBounds refuses, before evaluation, the user's files that are too
// large and the calls that would build lists or strings beyond MaxItems
// when their arguments are literals.
func checkBounds(files []*ast.File) error {
	var errs cueerrors.Error
	size := 0
	for _, f := range files {
		if tf := f.Pos().File(); tf != nil {
			size += tf.Size()
		}
		if size > MaxSpecBytes {
			errs = cueerrors.Append(errs, cueerrors.Newf(f.Pos(), "the spec's files hold more than %d bytes together: a spec this large is not one experiment", MaxSpecBytes))
			return errs
		}
	}
	for _, f := range files {
		ast.Walk(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			name := calleeName(call.Fun)
			var items float64
			switch name {
			case "list.Range":
				if len(call.Args) != 3 {
					return true
				}
				from, ok1 := number(call.Args[0])
				to, ok2 := number(call.Args[1])
				step, ok3 := number(call.Args[2])
				if !ok1 || !ok2 || !ok3 || step == 0 {
					return true
				}
				items = math.Abs((to - from) / step)
			case "list.Repeat", "strings.Repeat":
				if len(call.Args) != 2 {
					return true
				}
				n, ok := number(call.Args[1])
				if !ok {
					return true
				}
				items = n
			default:
				return true
			}
			if items > MaxItems {
				errs = cueerrors.Append(errs, cueerrors.Newf(call.Pos(), "%s asks for %.0f items: at most %d (a sweep has at most %d trials)", name, items, MaxItems, plan.MaxTrials))
			}
			return true
		}, nil)
	}
	if errs != nil {
		return errs
	}
	return nil
}

// calleeName is "pkg.Func" for a call of a package function, else "".
func calleeName(fun ast.Expr) string {
	sel, ok := fun.(*ast.SelectorExpr)
	if !ok {
		return ""
	}
	pkg, ok := sel.X.(*ast.Ident)
	if !ok {
		return ""
	}
	name, _, err := ast.LabelName(sel.Sel)
	if err != nil {
		return ""
	}
	return pkg.Name + "." + name
}

// number is the value of a numeric literal (with an optional sign).
func number(x ast.Expr) (float64, bool) {
	sign := 1.0
	if u, ok := x.(*ast.UnaryExpr); ok && (u.Op == token.SUB || u.Op == token.ADD) {
		if u.Op == token.SUB {
			sign = -1
		}
		x = u.X
	}
	lit, ok := x.(*ast.BasicLit)
	if !ok || (lit.Kind != token.INT && lit.Kind != token.FLOAT) {
		return 0, false
	}
	var n literal.NumInfo
	if err := literal.ParseNum(lit.Value, &n); err != nil {
		return 0, false
	}
	f, err := strconv.ParseFloat(n.String(), 64)
	return sign * f, err == nil
}

// withTimeout runs load and returns its result, or an error once limit
// has passed (the load goes on in the background until it ends; its
// context is its own). at is where the error is placed: the start of the
// user's first file once load has read it.
func withTimeout(path string, limit time.Duration, load func(at *atomic.Pointer[token.Pos]) ([]*Spec, error)) ([]*Spec, error) {
	type result struct {
		specs []*Spec
		err   error
	}
	var at atomic.Pointer[token.Pos]
	done := make(chan result, 1)
	go func() {
		s, err := load(&at)
		done <- result{s, err}
	}()
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case r := <-done:
		return r.specs, r.err
	case <-t.C:
	}
	msg := fmt.Sprintf("evaluating the spec took longer than %v: look for a comprehension over a large list or a deep recursion", limit)
	if p := at.Load(); p != nil {
		return nil, cueerrors.Newf(*p, "%s", msg)
	}
	return nil, fmt.Errorf("loading spec %q: %s", path, msg)
}

// independent reports whether the swept field at path is valid in every
// trial exactly when its value satisfies the field's own constraint: no
// label on its path (below the section) is a dependent field.
func independent(path string) bool {
	parts := strings.Split(path, ".")
	for _, p := range parts[1:] {
		if dependentFields()[p] {
			return false
		}
	}
	return true
}
