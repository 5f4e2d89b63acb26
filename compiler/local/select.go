package local

import (
	"fmt"
	"strings"

	"parak8s.dev/parak8s/compiler/plan"
)

// Select returns the indexes of the plan's trials whose id starts with one
// of the prefixes (parac's --only), every trial without prefixes; a prefix
// that matches no trial is an error.
func Select(p *plan.Plan, prefixes []string) (map[int]bool, error) {
	sel := map[int]bool{}
	for i := range p.Trials {
		sel[i] = len(prefixes) == 0
	}
	for _, prefix := range prefixes {
		found := false
		for i, t := range p.Trials {
			if prefix != "" && strings.HasPrefix(t.ID, prefix) {
				sel[i], found = true, true
			}
		}
		if !found {
			return nil, fmt.Errorf("--only %s: %s has no trial with that id", prefix, p.Experiment.Name)
		}
	}
	return sel, nil
}
