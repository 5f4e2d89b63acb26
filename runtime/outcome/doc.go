// Package outcome is the metric-name contract of the steps after evaluate:
// what train and evaluate left (the model directory's manifest and history,
// the evaluation report) read back as named metrics, the same names for the
// MLflow run (track), the push condition and ranking (publish) and the
// results database (record).
//
// Metric names (S is the evaluated split, evaluation.split: "val" or "test"):
//
//	S_accuracy                          categorical accuracy
//	S_auc, S_precision, S_recall, S_f1  two classes: of the positive class (the second);
//	                                    more classes: the macro average
//	S_<m>_macro, S_<m>_weighted         averages, m = auc|precision|recall|specificity|f1
//	S_<class>_<m>                       per class (class name with other characters than
//	                                    letters, digits, '-', '.' as '_')
//	train_loss, val_loss, lr, val_<k>   per epoch, step = epoch, from history.json
//	                                    (k = a key of the epoch's "val" map)
//	refit_train_loss                    per epoch of a refit model's second run
//
// An undefined value (a zero denominator) is never recorded. The package is
// pure Go (no libtorch).
package outcome
