// Package spec loads ParaK8s experiment specs: CUE files or packages that
// unify with the embedded #Experiment schema. Load resolves the schema import
// with no network (the schema is embedded and served to the loader as if it
// were vendored under cue.mod/pkg), validates every experiment of the package
// (all problems, each with the position of the user's file where CUE has one;
// a few rules across sections, such as an RR expert needing RR features, are
// checked in Go on the decoded experiment and placed the same way), and
// decodes the resolved experiment into schema.Experiment and its generic JSON
// form, which the plan package expands into trials. Loading is bounded
// (bounds.go): oversized files and literal ranges are refused before
// evaluation and an evaluation deadline catches the rest, so every spec is
// accepted or refused within seconds.
package spec
