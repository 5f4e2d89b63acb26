// Package plan expands an experiment's sweep into trials and lays out the DAG
// every runner executes: one prepare step per distinct data configuration, then
// per trial train → evaluate → track → publish → record. Each trial carries its
// content address (see step.TrialID), the overrides that make it differ from
// the experiment, and the canonical JSON of its configuration.
//
// The plan is the single definition of the DAG: the Argo emitter and the local
// runner both read it.
package plan
