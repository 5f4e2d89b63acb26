package schema

import "embed"

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
