// Package score runs a network over a split and scores its predictions with
// runtime/eval. It is the one scoring function behind training's validation
// (runtime/train, every epoch) and the evaluate step (runtime/steps), so
// both score with the same network call and the experiment's decision rule
// (evaluation.threshold for a binary model, argmax otherwise) and the same
// test-time views (evaluation.testTimeViews: an image's probabilities are
// their mean over the image and fixed warps of it).
package score
