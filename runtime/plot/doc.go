// Package plot draws ParaK8s's charts as small, self-contained SVG
// documents: line and point charts ([Chart]: training curves, ROC curves,
// a metric against a swept parameter) and shaded grids ([Heatmap]: a
// confusion matrix). The evaluate and train steps write them as files
// (runtime/eval: roc.svg, confusion.svg, training.svg), MLflow's artifact
// viewer and browsers show them, and the HTML report (runtime/report)
// inlines the same drawings, so there is one look and one implementation.
//
// Output is deterministic: the same input always gives the same bytes
// (numbers are printed with one decimal, no maps are iterated). Text is
// HTML-escaped, so names from a user's spec (class names, swept paths) can
// neither break the document nor inject markup. Colours follow
// matplotlib's tab10 palette ([Color]).
//
// The helpers the report's own parallel-coordinates drawing shares
// ([Ticks], [LogTicks], [Num], [Esc], [Clip], [Widen], [Finite],
// [FontStyle]) are exported for it.
package plot
