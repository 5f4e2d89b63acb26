package loader

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"runtime"
	"sync"
	"sync/atomic"

	"parak8s.dev/parak8s/runtime/data/splitmix"
)

// Source is an indexed collection of fixed-size samples.
type Source interface {
	// Len returns the number of samples.
	Len() int
	// SampleSize returns the number of float32 values of one sample.
	SampleSize() int
	// Get writes sample i, as prepared for epoch (augmentation may depend on
	// it), into dst, which holds exactly SampleSize values, and returns its
	// label. It is called from several goroutines at once.
	Get(i, epoch int, dst []float32) (label int, err error)
}

// Options configures a Loader.
type Options struct {
	// BatchSize is the number of samples per batch.
	BatchSize int
	// Workers is the number of goroutines building batches.
	Workers int
	// Prefetch is the most batches built or being built ahead of the
	// consumer, counting the one it holds; it bounds memory to Prefetch
	// batches. Fewer than Workers leaves workers idle.
	Prefetch int
	// Shuffle permutes the samples every epoch with a generator seeded by
	// (Seed, epoch).
	Shuffle bool
	// Seed seeds the shuffle.
	Seed uint64
	// DropLast drops the last batch when it would be short.
	DropLast bool
}

// DefaultOptions returns batches of 32, one worker per CPU, a prefetch of
// two batches per worker, shuffling with seed 0, and the last short batch
// kept.
func DefaultOptions() Options {
	w := runtime.GOMAXPROCS(0)
	return Options{BatchSize: 32, Workers: w, Prefetch: 2 * w, Shuffle: true}
}

// Batch is a batch of samples: X holds N samples of SampleSize values each,
// one after the other, and Y their labels.
type Batch struct {
	X []float32
	Y []int64
	N int
	// Index is the batch's position in the epoch, Epoch the epoch.
	Index, Epoch int
}

// Loader turns a Source into batches. Its methods are safe for concurrent
// use.
type Loader struct {
	src  Source
	opts Options
	size int          // SampleSize
	free chan *Batch  // recycled batch buffers
	live atomic.Int64 // goroutines started and not yet exited, for tests
}

// New makes a Loader over src.
func New(src Source, opts Options) (*Loader, error) {
	if src == nil {
		return nil, errors.New("making batch loader: nil source")
	}
	var errs []error
	if opts.BatchSize < 1 {
		errs = append(errs, fmt.Errorf("batch size must be >= 1, got %d", opts.BatchSize))
	}
	if opts.Workers < 1 {
		errs = append(errs, fmt.Errorf("workers must be >= 1, got %d", opts.Workers))
	}
	if opts.Prefetch < 1 {
		errs = append(errs, fmt.Errorf("prefetch must be >= 1, got %d", opts.Prefetch))
	}
	size := src.SampleSize()
	if size < 1 {
		errs = append(errs, fmt.Errorf("source sample size must be >= 1, got %d", size))
	}
	if src.Len() < 0 {
		errs = append(errs, fmt.Errorf("source length must be >= 0, got %d", src.Len()))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("making batch loader: %w", err)
	}
	return &Loader{src: src, opts: opts, size: size, free: make(chan *Batch, opts.Prefetch)}, nil
}

// NumBatches returns the number of batches in an epoch.
func (l *Loader) NumBatches() int {
	n, b := l.src.Len(), l.opts.BatchSize
	if l.opts.DropLast {
		return n / b
	}
	return (n + b - 1) / b
}

// Order returns the order in which an epoch visits the samples.
func (l *Loader) Order(epoch int) []int {
	n := l.src.Len()
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	if !l.opts.Shuffle {
		return order
	}
	r := splitmix.New(l.opts.Seed, uint64(int64(epoch)))
	for i := n - 1; i > 0; i-- {
		j := r.Intn(i + 1)
		order[i], order[j] = order[j], order[i]
	}
	return order
}

type result struct {
	b   *Batch
	err error
}

func (l *Loader) getBatch() *Batch {
	select {
	case b := <-l.free:
		return b
	default:
		return &Batch{X: make([]float32, l.opts.BatchSize*l.size), Y: make([]int64, l.opts.BatchSize)}
	}
}

func (l *Loader) putBatch(b *Batch) {
	if b == nil {
		return
	}
	select {
	case l.free <- b:
	default: // free list full (concurrent epochs): let the GC have it
	}
}

// Epoch returns the batches of one epoch in order. After an error (from
// Source.Get, wrapped with the sample and batch, or ctx's error) the
// sequence ends. Each batch is valid until the loop body returns.
func (l *Loader) Epoch(ctx context.Context, epoch int) iter.Seq2[*Batch, error] {
	return func(yield func(*Batch, error) bool) {
		nb := l.NumBatches()
		if nb == 0 {
			return
		}
		order := l.Order(epoch)
		ctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		defer func() {
			cancel()
			wg.Wait()
		}()
		p := min(l.opts.Prefetch, nb)
		// tokens bounds claimed-but-unconsumed batches to p. Claimed batch
		// indices are therefore always the contiguous range
		// [next, next+p), so slot k%p is never shared by two live batches.
		tokens := make(chan struct{}, p)
		for range p {
			tokens <- struct{}{}
		}
		slots := make([]chan result, p)
		for i := range slots {
			slots[i] = make(chan result, 1)
		}
		var claim atomic.Int64
		for range min(l.opts.Workers, p) {
			wg.Add(1)
			l.live.Add(1)
			go func() {
				defer wg.Done()
				defer l.live.Add(-1)
				for {
					select {
					case <-ctx.Done():
						return
					case <-tokens:
					}
					k := int(claim.Add(1) - 1)
					if k >= nb {
						return
					}
					b, err := l.build(ctx, order, k, epoch)
					slots[k%p] <- result{b, err} // never blocks: slot is free
					if err != nil {
						return
					}
				}
			}()
		}
		for k := range nb {
			var r result
			select {
			case <-ctx.Done():
				yield(nil, fmt.Errorf("loading batch %d of epoch %d: %w", k, epoch, context.Cause(ctx)))
				return
			case r = <-slots[k%p]:
			}
			if r.err != nil {
				yield(nil, r.err)
				return
			}
			more := yield(r.b, nil)
			l.putBatch(r.b)
			if !more {
				return
			}
			tokens <- struct{}{}
		}
	}
}

// build fills batch k of the epoch.
func (l *Loader) build(ctx context.Context, order []int, k, epoch int) (*Batch, error) {
	bs := l.opts.BatchSize
	idx := order[k*bs : min((k+1)*bs, len(order))]
	b := l.getBatch()
	b.N, b.Index, b.Epoch = len(idx), k, epoch
	b.X = b.X[:len(idx)*l.size]
	b.Y = b.Y[:len(idx)]
	for j, i := range idx {
		if err := ctx.Err(); err != nil {
			l.putBatch(b)
			return nil, fmt.Errorf("loading batch %d of epoch %d: %w", k, epoch, err)
		}
		y, err := l.src.Get(i, epoch, b.X[j*l.size:(j+1)*l.size])
		if err != nil {
			l.putBatch(b)
			return nil, fmt.Errorf("loading sample %d for batch %d of epoch %d: %w", i, k, epoch, err)
		}
		b.Y[j] = int64(y)
	}
	return b, nil
}
