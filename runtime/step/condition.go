package step

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Condition is a parsed push condition such as "val_auc >= 0.95".
type Condition struct {
	Metric string // e.g. "val_auc"
	Op     string // one of >=, <=, >, <, ==
	Value  float64
}

// ParseCondition parses "<split>_<metric> <op> <number>". An empty string is the
// condition that always holds.
func ParseCondition(s string) (Condition, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Condition{}, nil
	}
	for _, op := range []string{">=", "<=", "==", ">", "<"} {
		i := strings.Index(s, op)
		if i < 0 {
			continue
		}
		metric := strings.TrimSpace(s[:i])
		num := strings.TrimSpace(s[i+len(op):])
		if !validMetricName(metric) {
			return Condition{}, fmt.Errorf("parsing condition %q: %q is not a metric name such as val_auc", s, metric)
		}
		v, err := strconv.ParseFloat(num, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return Condition{}, fmt.Errorf("parsing condition %q: %q is not a finite number", s, num)
		}
		return Condition{Metric: metric, Op: op, Value: v}, nil
	}
	return Condition{}, fmt.Errorf("parsing condition %q: no comparison (>=, <=, ==, >, <)", s)
}

func validMetricName(s string) bool {
	split, metric, ok := strings.Cut(s, "_")
	if !ok {
		return false
	}
	switch split {
	case "train", "val", "test":
	default:
		return false
	}
	switch metric {
	case "accuracy", "auc", "precision", "recall", "f1", "loss":
		return true
	}
	return false
}

// Holds reports whether the condition holds for the metrics (name → value). The
// always-true condition holds for any metrics; a missing metric is an error.
func (c Condition) Holds(metrics map[string]float64) (bool, error) {
	if c.Metric == "" {
		return true, nil
	}
	v, ok := metrics[c.Metric]
	if !ok {
		return false, fmt.Errorf("checking %s: metric %q was not computed", c, c.Metric)
	}
	switch c.Op {
	case ">=":
		return v >= c.Value, nil
	case "<=":
		return v <= c.Value, nil
	case ">":
		return v > c.Value, nil
	case "<":
		return v < c.Value, nil
	default:
		return v == c.Value, nil
	}
}

// String returns the condition in its canonical form.
func (c Condition) String() string {
	if c.Metric == "" {
		return "always"
	}
	return c.Metric + " " + c.Op + " " + strconv.FormatFloat(c.Value, 'g', -1, 64)
}
