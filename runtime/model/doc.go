// Package model holds the networks ParaK8s trains, on libtorch through
// github.com/sugarme/gotch: deepcnn1d (a deep 1-D CNN for heartbeats, with
// optional RR-interval features joined before the classifier, and optionally
// a second classifier on the RR features alone whose log-probabilities are
// mixed with the CNN's by rrExpert.weight), resnet (ResNet-18/34 for images, torchvision
// parameter names, configurable input channels, stem and width) and efficientnet
// (EfficientNet-Lite0 for images, with the parameter names, TensorFlow "same" padding,
// ReLU6 and batch-norm epsilon of the ImageNet checkpoint that scripts/pretrained.sh
// converts, so that it loads exactly). A Net takes
// flat samples as the data loaders make them ([batch, sample size]) and
// returns logits; Net.Loss is the training loss (one cross entropy per
// classifier, summed). With model.ensemble a Net holds several networks of
// one kind (members.I.…) and returns the log of their mean probabilities.
//
// Weights are saved as safetensors (runtime/bundle), so a model trained here
// loads in PyTorch and the reverse; pretrained weights load by name, skipping
// tensors whose shape differs (a new head), and named layers can be frozen.
//
// libtorch keeps grad mode and gotch its last error per OS thread: call a
// Net's methods from one goroutine locked to its thread (runtime.LockOSThread).
package model
