package outcome

import (
	"fmt"
	"slices"

	"parak8s.dev/parak8s/runtime/step"
)

// Check reports whether the push condition c holds for the outcome, and
// why, in words. A metric that exists but is undefined makes it false; one
// that does not exist is an error.
func (o Outcome) Check(c step.Condition) (holds bool, why string, err error) {
	if c.Metric == "" {
		return true, "no condition", nil
	}
	values, undefined := o.ConditionMetrics()
	if _, ok := values[c.Metric]; !ok && slices.Contains(undefined, c.Metric) {
		return false, c.Metric + " is undefined", nil
	}
	holds, err = c.Holds(values)
	if err != nil {
		return false, "", err
	}
	return holds, fmt.Sprintf("%s = %g", c.Metric, values[c.Metric]), nil
}
