package loader

import "fmt"

// Concat serves the samples of several sources one after the other, as one
// source: sample i of the second comes after all of the first. The sources
// must have the same sample size. Training on train and val together
// (training.refit) uses it.
func Concat(srcs ...Source) (Source, error) {
	if len(srcs) == 0 {
		return nil, fmt.Errorf("concatenating sources: none given")
	}
	c := &concat{srcs: srcs, size: srcs[0].SampleSize()}
	for i, s := range srcs {
		if s.SampleSize() != c.size {
			return nil, fmt.Errorf("concatenating sources: source %d has samples of %d values, source 0 of %d", i, s.SampleSize(), c.size)
		}
		c.n += s.Len()
	}
	return c, nil
}

type concat struct {
	srcs []Source
	size int
	n    int
}

func (c *concat) Len() int        { return c.n }
func (c *concat) SampleSize() int { return c.size }

func (c *concat) Get(i, epoch int, dst []float32) (int, error) {
	if i < 0 || i >= c.n {
		return 0, fmt.Errorf("sample %d of %d", i, c.n)
	}
	for _, s := range c.srcs {
		if i < s.Len() {
			return s.Get(i, epoch, dst)
		}
		i -= s.Len()
	}
	panic("unreachable: i < c.n")
}
