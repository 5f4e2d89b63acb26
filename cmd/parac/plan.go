package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"parak8s.dev/parak8s/compiler/argo"
	lowering "parak8s.dev/parak8s/compiler/local"
	"parak8s.dev/parak8s/compiler/plan"
	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/runtime/local"
	"parak8s.dev/parak8s/runtime/results"
	"parak8s.dev/parak8s/runtime/step"
)

func planCmd(stdout, stderr io.Writer) *cobra.Command {
	var f localFlags
	cmd := &cobra.Command{
		Use:   "plan FILE|DIR",
		Short: "Show which trials are new and which are finished, with time and size estimates",
		Long: `Plan shows what parac run would do, and what the compiled workflow holds:
which trials are new and which are finished (in the work directory, and in
the results database when DATABASE_URL is set), the estimated training time
(epochs × the speed measured by finished trials, from their model.json in the
work directory, else on the MLflow server when MLFLOW_TRACKING_URI is set),
the datasets to prepare, and the workflow's size in bytes and pods.`,
		Args: args1,
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := f.plans(args[0])
			if err != nil {
				return err
			}
			for i, r := range res {
				if i > 0 {
					fmt.Fprintln(stdout)
				}
				if err := showPlan(cmd.Context(), stdout, stderr, r.Plan, &f); err != nil {
					return err
				}
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

// speed is what finished trials measured: seconds per epoch, overall and
// per data key (medians).
type speed struct {
	all   float64
	byKey map[string]float64
}

// measure reads the manifests of the finished trials in the work dir.
func measure(l local.Layout) speed {
	all := []float64{}
	byKey := map[string][]float64{}
	dirs, _ := filepath.Glob(filepath.Join(l.Trials(), "*"))
	for _, d := range dirs {
		if !local.Finished(d) {
			continue
		}
		m, err := bundle.ReadManifest(filepath.Join(d, local.DirModel))
		if err != nil || m.StepsPerSecond <= 0 || m.Epochs <= 0 || m.Steps <= 0 {
			continue
		}
		s := float64(m.Steps) / float64(m.Epochs) / m.StepsPerSecond
		all = append(all, s)
		byKey[m.DataKey] = append(byKey[m.DataKey], s)
	}
	sp := speed{all: median(all), byKey: map[string]float64{}}
	for k, v := range byKey {
		sp.byKey[k] = median(v)
	}
	return sp
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// estimate is the training time of a trial, 0 when nothing was measured.
func (s speed) estimate(t plan.Trial) (time.Duration, int) {
	var cfg map[string]any
	if err := json.Unmarshal(t.Config, &cfg); err != nil {
		return 0, 0
	}
	v, _ := step.Get(cfg, "training.epochs")
	f, _ := v.(float64)
	epochs := int(f)
	per, ok := s.byKey[t.DataKey]
	if !ok {
		per = s.all
	}
	return time.Duration(float64(epochs) * per * float64(time.Second)), epochs
}

// finishedInDB returns the trials the results database holds as succeeded;
// nil without DATABASE_URL.
func finishedInDB(ctx context.Context, experiment string) (map[string]bool, error) {
	if os.Getenv(step.EnvDatabaseURL) == "" {
		return nil, nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	opts := results.DefaultOptions()
	opts.RetryTimeout = 3 * time.Second
	store, err := results.Open(ctx, "", opts)
	if err != nil {
		return nil, fmt.Errorf("reading finished trials from %s: %w", step.EnvDatabaseURL, err)
	}
	defer store.Close()
	ids, err := store.FinishedTrials(ctx, experiment)
	if err != nil {
		return nil, fmt.Errorf("reading finished trials from %s: %w", step.EnvDatabaseURL, err)
	}
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

func showPlan(ctx context.Context, stdout, stderr io.Writer, p *plan.Plan, f *localFlags) error {
	sel, err := selectTrials(p, f.only)
	if err != nil {
		return err
	}
	l := local.Layout{Root: f.workdir, Experiment: p.Experiment.Name}
	db, err := finishedInDB(ctx, p.Experiment.Name)
	if err != nil {
		return err
	}
	warnUnpinned(stderr, p)
	sp := measure(l)
	if sp.all == 0 {
		// nothing measured here: a sweep that ran on a cluster
		if sp, err = measureServers(ctx, p, f.workdir); err != nil {
			fmt.Fprintf(stderr, "warning: %v; no time estimate from the servers\n", err)
		}
	}
	pol, err := lowering.Policy(p.Experiment)
	if err != nil {
		return err
	}
	capParallel(&pol, f.parallel)

	fmt.Fprintf(stdout, "%s: %s in %s (work dir %s)\n", p.Experiment.Name, plural(len(p.Trials), "trial"), plural(len(p.Datasets), "dataset"), l.Dir())
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TRIAL\tSTATUS\tEPOCHS\tEST.\tSWEPT")
	var newTrials, inDir, inDB int
	var total time.Duration
	unknown := 0
	prepare := map[string]bool{}
	for i, t := range p.Trials {
		if !sel[i] {
			continue
		}
		est, epochs := sp.estimate(t)
		status, shown := "new", "?"
		switch {
		case local.Finished(l.Trial(t.ID)):
			status, shown = "finished", ""
			inDir++
		case db[t.ID]:
			status, shown = "finished (database)", ""
			inDB++
		default:
			newTrials++
			if est > 0 {
				total += est
				shown = "~" + local.Round(est).String()
			} else {
				unknown++
			}
			ds := l.Dataset(t.DataKey)
			if _, err := os.Stat(filepath.Join(ds, local.FileDone)); err != nil {
				prepare[t.DataKey] = true
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", t.Short(), status, epochs, shown, t.Label())
	}
	tw.Flush()

	at := newTrials
	if pol.Parallelism > 0 {
		at = min(at, pol.Parallelism)
	}
	line := fmt.Sprintf("new: %s, %s to prepare", plural(newTrials, "trial"), plural(len(prepare), "dataset"))
	switch {
	case newTrials == 0:
	case unknown == newTrials:
		line += "; no time estimate yet (no finished trial measured its speed)"
	default:
		line += fmt.Sprintf("; ~%s of training, ~%s at %d at once", local.Round(total), local.Round(total/time.Duration(max(at, 1))), at)
		if unknown > 0 {
			line += fmt.Sprintf(" (%d trials without an estimate)", unknown)
		}
	}
	fmt.Fprintln(stdout, "\n"+line)
	fmt.Fprintf(stdout, "finished: %d (work dir %d, database %s)\n", inDir+inDB, inDir, dbCount(db, inDB))

	wfs, err := argo.Emit(p, f.compiler.Argo)
	if err != nil {
		return err
	}
	size := 0
	for _, w := range wfs {
		size += len(w.YAML)
	}
	pods := len(p.Datasets) + len(step.TrialKinds())*len(p.Trials)
	peak, how := atOnce(p, wfs)
	fmt.Fprintf(stdout, "cluster: %s, %s bytes of YAML; %d pods, at most %d at once%s\n", plural(len(wfs), "workflow"), thousands(size), pods, peak, how)
	if db != nil {
		line, err := resubmitLine(p, db, f.compiler.Argo)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, line)
	}
	return nil
}

// atOnce is the most pods the workflows run at the same time, in total (a
// trial runs its steps one after another, each prepare is one pod), and how
// the shards share sweep.parallelism.
func atOnce(p *plan.Plan, wfs []argo.Workflow) (int, string) {
	par := 0
	if sw := p.Experiment.Sweep; sw != nil {
		par = sw.Parallelism
	}
	chained := argo.Chained(par, len(wfs))
	total := 0
	for _, w := range wfs {
		// One workflow runs its prepare steps and its trials, at most its
		// share of the parallelism at once.
		keys := map[string]bool{}
		for _, i := range w.Trials {
			keys[p.Trials[i].DataKey] = true
		}
		n := max(len(keys), len(w.Trials))
		if par > 0 {
			n = min(n, argo.ShardParallelism(par, len(wfs)))
		}
		if chained {
			total = max(total, n)
		} else {
			total += n
		}
	}
	switch {
	case len(wfs) <= 1:
		return total, ""
	case chained:
		return total, fmt.Sprintf(" (more shards than sweep.parallelism %d: the workflows run one at a time, through the Argo mutex %s)", par, argo.ShardMutex(p.Experiment.Name))
	default:
		return total, fmt.Sprintf(" in total (the workflows run side by side, each at most %d of sweep.parallelism %d)", argo.ShardParallelism(par, len(wfs)), par)
	}
}

func dbCount(db map[string]bool, n int) string {
	if db == nil {
		return "not asked: no " + step.EnvDatabaseURL
	}
	return fmt.Sprint(n)
}

// thousands writes n with comma separators.
func thousands(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
