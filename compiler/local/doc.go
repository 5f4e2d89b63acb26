// Package local lowers a plan to the local runner's graph (runtime/local):
// the same DAG as the compiled workflow (plan.Nodes) and the same step
// commands (templates.StepCommand), rendered with the trial's values in
// place of the input parameters and the work directory's folders in place
// of the pod paths. It is the local sibling of compiler/argo, which renders
// the same commands as Argo templates; `parac run` runs what it returns.
package local
