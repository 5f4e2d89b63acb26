// Package eval computes classification metrics for a model's outputs and
// renders them as JSON and SVG plots (drawn by runtime/plot).
//
// # Input
//
// An [Input] holds the class names, the true label of every sample (an index
// into the class names) and the predicted scores as one row-major N×K
// []float32 slice: the score of sample i for class k is Probs[i*K+k]. float32
// is what the model step produces (libtorch tensors), and one flat slice
// avoids N small allocations. The scores are meant to be probabilities, but
// only their order matters for AUC and argmax; rows need not sum to one.
// NaN scores are rejected; ±Inf is allowed.
//
// # Decisions
//
// The predicted class of a sample is the argmax of its row; ties go to the
// lowest class index (as numpy.argmax does). For two classes,
// [Options.UseThreshold] switches to a threshold rule: the sample is predicted
// as the positive class (index 1, e.g. PNEUMONIA) when its score for class 1 is
// >= [Options.Threshold] (which must lie in [0, 1]). Malformed input gives
// an error wrapping [ErrInvalidInput].
//
// # Metrics
//
// Per class (one-vs-rest): precision, recall (sensitivity), specificity, F1,
// support, TP/FP/FN/TN and ROC AUC. AUC is exact: it equals the Mann–Whitney
// U statistic divided by P·N, counting tied positive/negative pairs as one
// half, which is the trapezoid area under the ROC curve built over distinct
// score thresholds. It is computed with integer counts after one sort per
// class. The report also holds categorical accuracy, the confusion matrix
// (rows = true class, columns = predicted class), macro averages (unweighted
// mean over classes) and weighted averages (weighted by support). For K = 2
// it adds the binary AUC of the positive class and its ROC curve, built like
// scikit-learn's roc_curve (the same points, including drop_intermediate).
//
// # Undefined values
//
// A metric with a zero denominator is undefined: precision when a class is
// never predicted, recall when it has no samples, specificity when every
// sample belongs to it, F1 when TP+FP+FN = 0, AUC when the class has no
// positive or no negative samples. In Go an undefined value is 0 and its name
// is listed in the Undefined field next to it (see the Metric* constants and
// [ClassMetrics.Defined]). In JSON, which cannot hold NaN, an undefined value
// is omitted (its key is absent) and its name is listed under "undefined".
// Averages skip undefined class values (scikit-learn's zero_division=nan
// behaviour); an average with no defined class value is itself undefined and
// is named in [Report.Undefined] ("auc_macro", "precision_weighted", "auc", …).
//
// # JSON
//
// [Report.Write] and [Read] store and load a report. Fields always appear in
// the same order; "per_class" keys follow the class order. See
// [Report.MarshalJSON] for the layout.
//
// # Plots
//
// [PlotROC] (curves from [ROCCurves]), [PlotConfusion] and [PlotTraining]
// (named series over epochs) return SVG documents drawn by runtime/plot,
// the package the HTML report draws with too; [WriteSVG] stores one. The
// same input always gives the same bytes.
package eval
