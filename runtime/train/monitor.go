package train

import (
	"fmt"
	"math"

	"parak8s.dev/parak8s/runtime/eval"
	"parak8s.dev/parak8s/schema"
)

// Metric names of the validation results, as early stopping and push
// conditions name them (without the "val_" prefix): the schema's, as the
// keys of the results' maps.
const (
	MetricLoss      = string(schema.MetricLoss)
	MetricAccuracy  = string(schema.MetricAccuracy)
	MetricAUC       = string(schema.MetricAUC)
	MetricF1        = string(schema.MetricF1)
	MetricPrecision = string(schema.MetricPrecision)
	MetricRecall    = string(schema.MetricRecall)
)

// Summary returns the headline metrics of an evaluation: accuracy and the
// macro averages (the binary AUC for two classes). Undefined values are NaN.
func Summary(r *eval.Report) map[string]float64 {
	m := map[string]float64{
		MetricAccuracy:  r.Accuracy,
		MetricAUC:       r.Macro.AUC,
		MetricF1:        r.Macro.F1,
		MetricPrecision: r.Macro.Precision,
		MetricRecall:    r.Macro.Recall,
	}
	if r.Binary != nil {
		m[MetricAUC] = r.Binary.AUC
	}
	return m
}

// monitor tracks the best value of the early-stopping metric.
type monitor struct {
	metric   string
	minDelta float64
	best     float64
	bad      int
}

func newMonitor(metric string, minDelta float64) (*monitor, error) {
	switch metric {
	case MetricLoss, MetricAccuracy, MetricAUC, MetricF1, MetricPrecision, MetricRecall:
	default:
		return nil, fmt.Errorf("early stopping on %q: not a validation metric", metric)
	}
	m := &monitor{metric: metric, minDelta: minDelta, best: math.Inf(1)}
	if metric != MetricLoss {
		m.best = math.Inf(-1)
	}
	return m, nil
}

// improved records an epoch's value and reports whether it is the best so
// far by more than minDelta. NaN never improves.
func (m *monitor) improved(v float64) bool {
	if math.IsNaN(v) {
		m.bad++
		return false
	}
	better := v < m.best-m.minDelta
	if m.metric != MetricLoss {
		better = v > m.best+m.minDelta
	}
	if better {
		m.best = v
		m.bad = 0
		return true
	}
	m.bad++
	return false
}
