package estimate

import (
	"encoding/json"
	"path/filepath"
	"sort"
	"time"

	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/runtime/local"
	"parak8s.dev/parak8s/runtime/step"
)

// Speed is what finished trials measured: seconds per epoch, the median
// over all of them and per data key. The zero Speed measured nothing.
type Speed struct {
	All   float64
	ByKey map[string]float64
}

// Measured reports whether any finished trial measured its speed.
func (s Speed) Measured() bool { return s.All != 0 }

// Measure reads the model.json of the finished trials in the work dir.
func Measure(l local.Layout) Speed {
	var models []string
	dirs, _ := filepath.Glob(filepath.Join(l.Trials(), "*"))
	for _, d := range dirs {
		if local.Finished(d) {
			models = append(models, filepath.Join(d, local.DirModel))
		}
	}
	return FromModels(models)
}

// FromModels reads the model.json of each model directory; directories
// without a readable manifest or without a measured speed are skipped.
func FromModels(dirs []string) Speed {
	all := []float64{}
	byKey := map[string][]float64{}
	for _, d := range dirs {
		m, err := bundle.ReadManifest(d)
		if err != nil || m.StepsPerSecond <= 0 || m.Epochs <= 0 || m.Steps <= 0 {
			continue
		}
		s := float64(m.Steps) / float64(m.Epochs) / m.StepsPerSecond
		all = append(all, s)
		byKey[m.DataKey] = append(byKey[m.DataKey], s)
	}
	sp := Speed{All: Median(all), ByKey: map[string]float64{}}
	for k, v := range byKey {
		sp.ByKey[k] = Median(v)
	}
	return sp
}

// Median is the median of v (sorted in place), 0 for none.
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// Trial is the training time of a trial with the given resolved config
// (JSON) and data key, and its training.epochs; the time is 0 when nothing
// was measured, both are 0 when the config does not parse.
func (s Speed) Trial(config []byte, dataKey string) (time.Duration, int) {
	var cfg map[string]any
	if err := json.Unmarshal(config, &cfg); err != nil {
		return 0, 0
	}
	v, _ := step.Get(cfg, "training.epochs")
	f, _ := v.(float64)
	epochs := int(f)
	per, ok := s.ByKey[dataKey]
	if !ok {
		per = s.All
	}
	return time.Duration(float64(epochs) * per * float64(time.Second)), epochs
}
