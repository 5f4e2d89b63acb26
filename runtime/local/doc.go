// Package local is the one-machine runner: it executes a compiled plan's DAG
// as local processes of the step program (`parak8s <step>`), with the same
// arguments, parameters and artifacts the Argo workflow gives the pods.
//
// The runner does not know how a step's command line is made: it receives a
// Graph of steps whose arguments and environment are already filled in (parac
// builds it from the plan and the templates package, the single definition
// of both the Argo templates and the local commands). What it adds is what
// Argo's controller does on a cluster:
//
//   - dependencies: a step starts when every step it depends on succeeded;
//   - a parallelism cap on units (a dataset's prepare step, a trial's chain):
//     a unit holds one slot from its first step to its last, as a trial's
//     DAG node holds one of the workflow's parallelism slots;
//   - retries by exit code and retry policy, with exponential backoff
//     (step.ExitTransient is always worth a retry, step.ExitConfig and
//     step.ExitUsage never are);
//   - per-step and whole-run deadlines;
//   - cancellation: every step runs in its own process group; on
//     cancellation (Ctrl-C) or a deadline the group gets SIGTERM, then
//     SIGKILL after a grace period, and a finished step's group is killed
//     too, so no process outlives its step;
//   - a log file per step, and events for a progress view (Progress);
//   - one run at a time: Graph.Lock is held (flock) while a run goes on;
//   - skipping on a rerun: a step or unit whose done marker and outputs are
//     present is not run again (Options.Force runs it anyway). Markers are
//     written after the outputs, so an interrupted step never looks done.
//
// Layout names the folders of a work directory (.parak8s by default).
package local
