package train

import (
	"math"

	"parak8s.dev/parak8s/schema"
)

// schedule gives the learning rate of each epoch.
type schedule struct {
	cfg    schema.Schedule
	base   float64
	epochs int
	// plateau state: the current rate and epochs without improvement.
	lr  float64
	bad int
}

func newSchedule(cfg schema.Schedule, base float64, epochs int) *schedule {
	return &schedule{cfg: cfg, base: base, epochs: epochs, lr: base}
}

// at returns the learning rate of epoch e (0-based) for the schedules that
// depend on the epoch only; plateau returns its current rate.
func (s *schedule) at(e int) float64 {
	if w := s.cfg.WarmupEpochs; w > 0 && e < w {
		return s.base * float64(e+1) / float64(w+1)
	}
	switch s.cfg.Kind {
	case schema.ScheduleStep:
		return s.base * math.Pow(s.cfg.Gamma, float64(e/max(s.cfg.StepEpochs, 1)))
	case schema.ScheduleCosine:
		span := s.epochs - s.cfg.WarmupEpochs
		t := float64(e-s.cfg.WarmupEpochs) / float64(max(span, 1))
		return s.cfg.MinLR + (s.base-s.cfg.MinLR)*(1+math.Cos(math.Pi*t))/2
	case schema.SchedulePlateau:
		return s.lr
	default:
		return s.base
	}
}

// observe tells a plateau schedule whether the monitored metric improved.
func (s *schedule) observe(improved bool) {
	if s.cfg.Kind != schema.SchedulePlateau {
		return
	}
	if improved {
		s.bad = 0
		return
	}
	s.bad++
	if s.bad >= s.cfg.Patience {
		s.lr = math.Max(s.lr*s.cfg.Gamma, s.cfg.MinLR)
		s.bad = 0
	}
}
