// Package steps is the step program as a library: one function per step
// kind of a compiled workflow (Prepare, Train, Evaluate, Track, Publish,
// Record), each over a typed Trial (the resolved config of the
// runtime/step contract and the same experiment as schema.Experiment) and
// directories. cmd/parak8s is only its flags and exit codes.
//
// A step writes its report lines to Env.Stdout, its notes to Env.Stderr and
// its structured log to Env.Log, and returns its result. Errors are typed:
// ExitCode maps any error a step returns to the program's exit code (0 ok,
// 1 failure, 2 usage, 3 the config does not match the trial id or data key
// given, 75 a server was unreachable: rerun the step, its outputs are
// kept), the only place that mapping lives.
//
// Train and Evaluate run libtorch (cgo, through runtime/model); the metric
// names the later steps share are runtime/outcome's.
package steps
