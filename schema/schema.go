package schema

import (
	"embed"
	"io/fs"
	"path/filepath"
)

// FS holds the CUE files of the schema package, so that specs load with no
// network and no checkout of this repository.
//
//go:embed *.cue
var FS embed.FS

const (
	// Module is the CUE module that holds the schema package.
	Module = "parak8s.dev/parak8s@v0"
	// ImportPath is what a spec imports to use the schema.
	ImportPath = "parak8s.dev/parak8s/schema"
	// Package is the CUE package name of the schema.
	Package = "schema"
	// Definition is the top-level definition every experiment unifies with.
	Definition = "#Experiment"
)

// VendorDir is where a CUE module rooted at root keeps a vendored copy of the
// schema, so that `cue vet` resolves the import with no registry.
func VendorDir(root string) string {
	return filepath.Join(root, "cue.mod", "pkg", filepath.FromSlash(ImportPath))
}

// EachFile calls fn with the name and contents of every schema file, in
// lexical order.
func EachFile(fn func(name string, data []byte) error) error {
	return fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := FS.ReadFile(p)
		if err != nil {
			return err
		}
		return fn(p, b)
	})
}
