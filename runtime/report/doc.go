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
// (runtime/bundle: model.json, history.json, training.png) and the metrics
// directory (metrics.json as runtime/eval writes it, roc.png,
// confusion.png). Curves are drawn as inline SVG from the JSON files; the
// PNGs are embedded as data: URIs where no SVG can be drawn (no history, or
// the one-vs-rest ROC curves of more than two classes).
package report
