// Package templates says how each step kind runs: its command (StepCommand:
// arguments and environment as typed values of literal text, input
// parameters and pod paths, the artifacts it reads and writes) and, for
// Argo, its container (Template: image, the command rendered with Argo's
// placeholders, environment with secrets by reference only, volumes,
// resources, retry strategy, deadlines, security context, inputs and
// outputs). It is the one place that knows; the Argo emitter wires these
// templates into a DAG, and the local lowering (compiler/local) renders the
// same commands for parac run.
package templates
