// Package loader builds batches of samples in parallel ahead of the code
// that consumes them: the Go counterpart of a PyTorch DataLoader or of a
// Keras PyDataset with workers.
//
// A Source says how many samples it has, how many float32 values one sample
// takes and how to write sample i of an epoch into a slice. A Loader cuts the
// epoch's sample order (shuffled with a generator seeded by (Seed, epoch), or
// 0..Len-1) into batches of BatchSize, the last one shorter unless DropLast,
// and Workers goroutines fill whole batches while at most Prefetch batches are
// claimed but not yet handed back by the consumer.
//
// # Determinism
//
// Batch k of an epoch always holds the same samples, in the same order, and
// batches are delivered in order 0, 1, 2, …, so the stream depends only on
// the Source, the options other than Workers and Prefetch, and the epoch:
// the same seed gives the same batches whatever the number of workers. This
// holds as long as Source.Get is itself a function of (i, epoch), as
// images.Dataset is.
//
// # Iteration and buffers
//
//	for b, err := range l.Epoch(ctx, epoch) {
//		if err != nil {
//			return err // a Get error, or ctx's error
//		}
//		use(b.X, b.Y, b.N) // b is valid until the next iteration
//	}
//
// Batch buffers come from a free list owned by the Loader and go back to it
// as soon as the loop body returns, so a steady-state epoch allocates no
// batch memory; copy what must outlive the iteration. Leaving the loop early
// (break, return, or an error) cancels the workers and waits for all of them
// to exit before the loop statement ends: no goroutine outlives an epoch.
// iter.Pull works too; call its stop function when done. Workers check for
// cancellation between samples; a Get already running is waited for, so a
// Source should not block indefinitely.
//
// An error from Get ends the epoch: the consumer receives it, wrapped with
// the sample and batch, after every earlier batch, and the workers stop.
package loader
