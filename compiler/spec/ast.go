package spec

import (
	"strconv"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/token"
)

// fieldPos returns the position of the label of the field at path in the
// user's syntax trees, searching through embeddings and conjunctions such as
// `schema.#Experiment & {…}`; NoPos when the user did not write that field.
func fieldPos(files []*ast.File, path []string) token.Pos {
	for _, f := range files {
		var nodes []ast.Node
		for _, d := range f.Decls {
			nodes = append(nodes, d)
		}
		if p := findPath(nodes, path); p.IsValid() {
			return p
		}
	}
	return token.NoPos
}

func findPath(nodes []ast.Node, path []string) token.Pos {
	if len(path) == 0 {
		return token.NoPos
	}
	for _, n := range nodes {
		f := findField(n, path[0])
		if f == nil {
			continue
		}
		if len(path) == 1 {
			return f.Label.Pos()
		}
		if i, err := strconv.Atoi(path[1]); err == nil {
			if l, ok := f.Value.(*ast.ListLit); ok && i < len(l.Elts) {
				if len(path) == 2 {
					return l.Elts[i].Pos()
				}
				if p := findPath([]ast.Node{l.Elts[i]}, path[2:]); p.IsValid() {
					return p
				}
			}
			continue
		}
		if p := findPath([]ast.Node{f.Value}, path[1:]); p.IsValid() {
			return p
		}
	}
	return token.NoPos
}

// findField finds the field named label directly inside n.
func findField(n ast.Node, label string) *ast.Field {
	switch x := n.(type) {
	case *ast.Field:
		if name, _, err := ast.LabelName(x.Label); err == nil && name == label {
			return x
		}
		// A field with a single-field struct shorthand (`a: b: 1`) is found by
		// the caller descending into x.Value.
	case *ast.EmbedDecl:
		return findField(x.Expr, label)
	case *ast.BinaryExpr:
		if f := findField(x.X, label); f != nil {
			return f
		}
		return findField(x.Y, label)
	case *ast.ParenExpr:
		return findField(x.X, label)
	case *ast.StructLit:
		for _, e := range x.Elts {
			if f := findField(e, label); f != nil {
				return f
			}
		}
	}
	return nil
}
