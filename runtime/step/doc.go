// Package step is the contract between the compiler and the step programs:
// the step kinds, the command line of `parak8s <step>`, the environment
// variable names, the artifact names and paths inside a pod, the exit codes,
// and the functions both sides must agree on bit for bit (trial ids, data keys,
// sweep overrides and push conditions).
//
// It is the only runtime package the compiler may import, and it needs no cgo.
package step
