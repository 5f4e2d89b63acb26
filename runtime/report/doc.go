// Package report renders an experiment's trials as one static HTML file that
// needs no network and no scripts: the best trial first, open (its ROC curve,
// confusion matrix and summary), the sweep as parallel coordinates (one axis
// per swept parameter and the ranking metric, one line per trial, the best in
// red, each linked to its trial) and as metric-against-parameter plots, a
// leaderboard with one column per metric (the ranking one first) and the best
// row highlighted, and per trial its training curves, ROC curve, confusion
// matrix and per-class metrics, with a link to its MLflow run when it was
// tracked on a server.
//
// It reads what the steps leave in a trial's folders: the model directory
// (runtime/bundle: model.json, history.json, training.svg) and the metrics
// directory (metrics.json as runtime/eval writes it, roc.svg,
// confusion.svg). Curves are drawn inline with runtime/plot from the JSON
// files; the steps' SVG files, drawn by the same package, are embedded as
// data: URIs where the JSON files cannot give the drawing (no history, or
// the one-vs-rest ROC curves of more than two classes).
//
// The package also assembles a report's Input — from the work directory
// parac run leaves (FromWorkDir), from a compiled plan (FromPlan), or from
// the servers a cluster sweep wrote to (FromServers, and TrialsFromEnv with
// the servers the environment names) — and writes the console summary of
// a local run (RunSummary).
package report
