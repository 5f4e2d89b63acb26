// Package argolint runs Argo's own workflow validator offline, as `argo lint
// --offline` does. It is for tests only: the validator links client-go and
// Argo's controller packages (28 of parac's 85 MB, and 17 of its 36 ms of
// start-up), so parac does not carry it. What it checks
// in a compiled workflow is the emitter's own wiring (templates, DAG,
// parameters), which the compiler's and the examples' tests validate for
// every shape the corpus of valid specs reaches; user text that Argo would
// evaluate ("{{") is refused by the schema, at the spec's position.
package argolint
