// Package train runs one trial's training loop on libtorch (through gotch):
// optimizer (adam, adamw, sgd), learning-rate schedule (step, cosine with
// warm-up, plateau), class-weighted cross entropy with label smoothing,
// validation every epoch, early stopping on a validation metric with the
// best epoch's weights kept, checkpoints every N steps and when the context
// is cancelled (SIGTERM), and resumption from the last checkpoint, so a
// killed trial that is retried continues where it stopped. It writes the
// model directory of runtime/bundle.
//
// A checkpoint holds the weights, the best weights so far and the loop's
// state (epoch, batches done, step, learning rate, history, early-stopping
// counters). The optimizer's moment estimates are not in it (gotch does not
// expose them): a resumed Adam run rebuilds them within a few steps.
package train
