// Package bundle is the on-disk form of a trained model and of its
// evaluation: a model directory is self-describing (weights, the resolved
// trial config with its preprocessing, class names, input shape, dataset
// digest, training history), so `parak8s evaluate`, track and publish need
// nothing else. It needs no cgo: the weights are a safetensors file that any
// tool can read.
package bundle
