// Package report renders an experiment's trials as one static HTML file that
// needs no network and no scripts: a leaderboard ranked by a metric, the
// sweep's metric-against-parameter plots, and per trial its training curves,
// ROC curve, confusion matrix and per-class metrics, with a link to its
// MLflow run when it was tracked on a server.
//
// It reads what the steps leave in a trial's folders: the model directory
// (runtime/bundle: model.json, history.json, training.png) and the metrics
// directory (metrics.json as runtime/eval writes it, roc.png,
// confusion.png). Curves are drawn as inline SVG from the JSON files; the
// PNGs are embedded as data: URIs where no SVG can be drawn (no history, or
// the one-vs-rest ROC curves of more than two classes).
package report
