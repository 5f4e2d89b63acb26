// Package estimate predicts how long trials will train from what finished
// trials measured: each finished trial's model.json records its steps, its
// epochs and its steps per second, so seconds per epoch is
// steps / epochs / steps-per-second. The medians of these, per data key and
// overall, times a new trial's training.epochs give its estimate.
//
// parac plan reads the finished trials of the work directory (Measure) or,
// for a sweep that ran on a cluster, the model directories downloaded from
// the MLflow server (FromModels).
package estimate
