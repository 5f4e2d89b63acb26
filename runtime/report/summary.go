package report

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/runtime/eval"
	"parak8s.dev/parak8s/runtime/local"
	"parak8s.dev/parak8s/runtime/step"
)

// RunSummary writes the console summary of a local run (parac run): one
// line per trial (and per dataset that did not succeed) with its status,
// time, accuracy and macro F1, swept values, and for a failure the step,
// its error and its attempts; then the count of trials by status and the
// time the run took.
func RunSummary(w io.Writer, g *local.Graph, s local.Summary) {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TRIAL\tSTATUS\tTIME\tACCURACY\tF1\tSWEPT\tNOTE")
	for i, u := range g.Units {
		r := s.Units[i]
		if u.Kind != "trial" && (r.Status == local.StatusDone || r.Status == local.StatusFinished || r.Status == local.StatusUnneeded) {
			continue
		}
		name := step.Short(u.ID)
		if u.Kind != "trial" {
			name = u.Kind + " " + name
		}
		var acc, f1, took, note string
		if r.Duration > 0 {
			took = local.Round(r.Duration).String()
		}
		if rep, err := eval.Read(filepath.Join(u.Dir, local.DirMetrics, bundle.FileMetrics)); err == nil && (r.Status == local.StatusDone || r.Status == local.StatusFinished) {
			acc = fmt.Sprintf("%.4f", rep.Accuracy)
			if !slices.Contains(rep.Undefined, "f1_macro") {
				f1 = fmt.Sprintf("%.4f", rep.Macro.F1)
			}
		}
		if r.Failed >= 0 {
			st := s.Steps[r.Failed]
			note = fmt.Sprintf("%s: %v", g.Steps[r.Failed].Name, st.Err)
			if st.Attempts > 1 {
				note += fmt.Sprintf(" (%d attempts)", st.Attempts)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, r.Status, took, acc, f1, u.Label, note)
	}
	tw.Flush()
	counts := map[local.Status]int{}
	for i, u := range g.Units {
		if u.Kind == "trial" {
			counts[s.Units[i].Status]++
		}
	}
	var parts []string
	for _, st := range []local.Status{local.StatusDone, local.StatusFinished, local.StatusFailed, local.StatusNotRun, local.StatusCancelled} {
		if counts[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[st], st))
		}
	}
	fmt.Fprintf(w, "\ntrials: %s · %s\n", strings.Join(parts, ", "), local.Round(s.Elapsed))
}
