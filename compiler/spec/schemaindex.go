package spec

import (
	"io/fs"
	"strings"
	"sync"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/parser"

	"parak8s.dev/parak8s/schema"
)

// schemaFields is what the checks read from the schema's own syntax, by
// field label: the fields it declares under a condition and those whose
// validity may depend on another field. The schema is embedded, so both
// are built once, on first use, and never change after.
type schemaFields struct {
	conditional map[string]bool
	dependent   map[string]bool
}

var indexSchema = sync.OnceValue(func() schemaFields {
	walk := walkerOf(parseSchema())
	cond := conditionalOf(walk)
	return schemaFields{conditional: cond, dependent: dependentOf(walk, cond)}
})

// conditionalFields returns the labels of the fields the schema declares
// inside comprehensions (`if source.kind == "wfdb" { signal: … }`).
func conditionalFields() map[string]bool { return indexSchema().conditional }

// dependentFields returns the labels of the schema's fields whose validity
// may depend on another field or decide another's: every name an
// expression of the schema reads (`if by == "fraction"`, `train+val+test`),
// every field declared under a condition, and every field whose own
// constraint reads a field. A swept field whose label is none of these is
// valid in every trial exactly when its value satisfies its own constraint
// (its label is matched by name across the schema, which over-approximates).
func dependentFields() map[string]bool { return indexSchema().dependent }

// conditionalOf walks the schema for conditionalFields.
func conditionalOf(walkSchema walker) map[string]bool {
	fields := map[string]bool{}
	walkSchema(func(n ast.Node) bool {
		c, ok := n.(*ast.Comprehension)
		if !ok {
			return true
		}
		if st, ok := c.Value.(*ast.StructLit); ok {
			for _, e := range st.Elts {
				if fd, ok := e.(*ast.Field); ok {
					if name, _, err := ast.LabelName(fd.Label); err == nil {
						fields[name] = true
					}
				}
			}
		}
		return true
	})
	return fields
}

// parseSchema parses every file of the schema (files that do not parse
// are left out: the schema's own tests parse them all).
func parseSchema() []*ast.File {
	var files []*ast.File
	_ = fs.WalkDir(schema.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := schema.FS.ReadFile(p)
		if err != nil {
			return err
		}
		if f, err := parser.ParseFile(p, b); err == nil {
			files = append(files, f)
		}
		return nil
	})
	return files
}

// walker walks the syntax of files, calling visit on every node.
type walker func(visit func(ast.Node) bool)

func walkerOf(files []*ast.File) walker {
	return func(visit func(ast.Node) bool) {
		for _, f := range files {
			ast.Walk(f, visit, nil)
		}
	}
}

// dependentOf walks the schema for dependentFields; conditional are the
// conditional fields.
func dependentOf(walkSchema walker, conditional map[string]bool) map[string]bool {
	names := map[string]bool{}
	for name := range conditional {
		names[name] = true
	}
	walkSchema(func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Field:
			name, _, err := ast.LabelName(n.Label)
			if err != nil || n.Value == nil {
				return true
			}
			if _, isStruct := n.Value.(*ast.StructLit); !isStruct && len(fieldRefs(n.Value)) > 0 {
				names[name] = true // its constraint reads a field
			}
		case *ast.Comprehension:
			for _, c := range n.Clauses {
				for k := range fieldRefs(c) {
					names[k] = true
				}
			}
		case *ast.BinaryExpr, *ast.Interpolation, *ast.CallExpr:
			for k := range fieldRefs(n) {
				names[k] = true
			}
			return false
		}
		return true
	})
	return names
}

// fieldRefs returns the names of fields an expression reads (the labels
// of the fields it declares are not reads).
func fieldRefs(x ast.Node) map[string]bool {
	out := map[string]bool{}
	ast.Walk(x, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Field:
			if n.Value != nil {
				for k := range fieldRefs(n.Value) {
					out[k] = true
				}
			}
			return false
		case *ast.Ident:
			if readsField(n.Name) {
				out[n.Name] = true
			}
		case *ast.SelectorExpr:
			if pkg, ok := n.X.(*ast.Ident); ok && !readsField(pkg.Name) {
				return false // strings.MaxRunes, #Def.field
			}
			if name, _, err := ast.LabelName(n.Sel); err == nil && readsField(name) {
				out[name] = true
			}
		}
		return true
	}, nil)
	return out
}

// readsField reports whether an identifier may name a field: not a
// definition, a hidden field's rule (_sum), a package or a predeclared
// identifier.
func readsField(name string) bool {
	if strings.HasPrefix(name, "#") || strings.HasPrefix(name, "_") {
		return false
	}
	switch name {
	case "int", "number", "float", "string", "bool", "bytes", "null", "true", "false", "len", "close", "and", "or", "div", "mod", "quo", "rem", "error",
		"list", "strings", "math", "regexp", "struct", "net", "time":
		return false
	}
	return true
}
