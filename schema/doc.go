// Package schema is the ParaK8s experiment schema: CUE definitions embedded in
// the binary (the source of truth, see FS) and the Go structs that mirror them
// (Experiment and its parts). A drift test keeps the two in step.
//
// Both the compiler and the step programs decode resolved experiments into
// these structs, so they are the one Go name for every field of a spec.
package schema
