package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"parak8s.dev/parak8s/compiler"
	lowering "parak8s.dev/parak8s/compiler/local"
	"parak8s.dev/parak8s/compiler/plan"
	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/runtime/local"
	"parak8s.dev/parak8s/runtime/report"
	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/schema"
)

// localFlags are the flags run and plan share.
type localFlags struct {
	compiler compiler.Options
	workdir  string
	only     []string
	sets     []string
	parallel int
}

func (f *localFlags) register(cmd *cobra.Command) {
	f.compiler = compiler.DefaultOptions()
	fl := cmd.Flags()
	fl.StringVar(&f.compiler.Spec.Experiment, "experiment", "", "only the experiment `NAME` of a package with several")
	fl.StringVar(&f.workdir, "workdir", local.DefaultWorkDir, "the work `DIR`: datasets, trials, logs")
	fl.StringArrayVar(&f.only, "only", nil, "only the trial with this id or id `PREFIX` (repeatable)")
	fl.StringArrayVar(&f.sets, "set", nil, "override a field of the experiment, `PATH=JSON` (repeatable; changes the trial ids)")
	fl.IntVar(&f.parallel, "parallel", 0, "run at most `N` trials at once (default: the sweep's parallelism)")
}

// plans loads the spec, applies the --set overrides and plans every
// experiment in it.
func (f *localFlags) plans(path string) ([]compiler.Result, error) {
	opts := f.compiler
	sets, err := parseSets(f.sets)
	if err != nil {
		return nil, err
	}
	opts.Sets = sets
	return compiler.Plan(path, opts)
}

// parseSets parses --set flags.
func parseSets(flags []string) ([]step.Override, error) {
	overrides := make([]step.Override, 0, len(flags))
	for _, s := range flags {
		o, err := step.ParseSet(s)
		if err != nil {
			return nil, usageError{err}
		}
		overrides = append(overrides, o)
	}
	return overrides, nil
}

// selectTrials returns the indexes of the trials --only names (all of them
// without --only).
func selectTrials(p *plan.Plan, only []string) (map[int]bool, error) {
	sel, err := lowering.Select(p, only)
	if err != nil {
		return nil, usageError{err}
	}
	return sel, nil
}

// findProgram finds the step program: --parak8s, else next to parac, else
// in $PATH.
func findProgram(flag string) (string, error) {
	if flag != "" {
		p, err := exec.LookPath(flag)
		if err != nil {
			return "", fmt.Errorf("finding the step program: --parak8s %s: %w", flag, err)
		}
		return p, nil
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), step.Program)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if p, err := exec.LookPath(step.Program); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("finding the step program: no %s next to parac or in $PATH (build it with make build, or pass --parak8s PATH)", step.Program)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func runCmd(stdout io.Writer) *cobra.Command {
	var f localFlags
	var program string
	var force bool
	grace := local.DefaultOptions().Grace
	cmd := &cobra.Command{
		Use:   "run FILE|DIR",
		Short: "Run a spec's trials on this machine, as the compiled workflow would on a cluster",
		Long: `Run executes the plan parac compile emits — the same DAG, the same step
programs with the same arguments and artifacts — as local processes of the
step program parak8s: prepare once per dataset, then per trial train,
evaluate, track, publish and record, at most the sweep's parallelism (or
--parallel) trials at once, with the workflow's retries and deadlines.

Everything lands in the work directory (--workdir, default .parak8s):
EXPERIMENT/trials/TRIAL/{model,metrics,out,checkpoints,logs} and
EXPERIMENT/datasets/DATAKEY/{data,logs}. A trial whose done marker and
outputs are there is not run again (--force runs it); an interrupted trial
resumes from its last finished step, and train from its checkpoints.

The steps get the environment parac runs in: MLFLOW_TRACKING_URI (it wins
over the spec's tracking.uri) and DATABASE_URL send track and record to
those servers; without them the steps keep their records in the trial's
folder. Ctrl-C stops the steps (SIGTERM, then SIGKILL after --grace); a
second Ctrl-C kills them at once.`,
		Args: args1,
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := f.plans(args[0])
			if err != nil {
				return err
			}
			for _, r := range res {
				// A sweep changes only the PATH inside the experiment's claim.
				if src := r.Plan.Experiment.Data.Source; strings.HasPrefix(src.Path, schema.ClaimScheme) {
					return fmt.Errorf("%s: data.source.path %q is a claim, which only a cluster mounts: run on this machine with a local path (--set 'data.source.path=\"DIR\"') or an oci:// reference", r.Plan.Experiment.Name, src.Path)
				}
			}
			prog, err := findProgram(program)
			if err != nil {
				return err
			}
			ctx, kill, stop := interrupts()
			defer stop()
			var failed error
			for _, r := range res {
				err := runExperiment(ctx, r.Plan, &f, local.Options{Program: prog, Force: force, Grace: grace, Kill: kill}, stdout)
				if errors.Is(err, local.ErrInterrupted) {
					return err
				}
				if err != nil {
					if !errors.Is(err, local.ErrFailed) && !errors.Is(err, local.ErrDeadline) {
						return err
					}
					failed = err
				}
			}
			return failed
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&program, "parak8s", "", "the step program (default: parak8s next to parac, else in $PATH)")
	cmd.Flags().BoolVar(&force, "force", false, "run finished trials again")
	cmd.Flags().DurationVar(&grace, "grace", grace, "how long steps may take to stop after SIGTERM")
	return cmd
}

// interrupts returns a context cancelled by the first SIGINT or SIGTERM and
// a channel closed by the second.
func interrupts() (context.Context, <-chan struct{}, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	kill := make(chan struct{})
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		n := 0
		for {
			select {
			case <-sig:
				n++
				if n == 1 {
					cancel()
				} else {
					close(kill)
					return
				}
			case <-done:
				return
			}
		}
	}()
	return ctx, kill, func() {
		signal.Stop(sig)
		close(done)
		cancel()
	}
}

func runExperiment(ctx context.Context, p *plan.Plan, f *localFlags, opts local.Options, stdout io.Writer) error {
	sel, err := selectTrials(p, f.only)
	if err != nil {
		return err
	}
	root, err := filepath.Abs(f.workdir)
	if err != nil {
		return fmt.Errorf("finding the work dir: %w", err)
	}
	l := local.Layout{Root: root, Experiment: p.Experiment.Name}
	g, err := lowering.Lower(p, l, sel, os.LookupEnv)
	if err != nil {
		return fmt.Errorf("planning %s: %w", p.Experiment.Name, err)
	}
	g.Policy.Cap(f.parallel)
	g.Lock = filepath.Join(l.Dir(), ".lock")
	if err := writeConfig(l.Config(), p.Config); err != nil {
		return err
	}
	trials := 0
	for _, u := range g.Units {
		if u.Kind == "trial" {
			trials++
		}
	}
	par := "no limit"
	if g.Policy.Parallelism > 0 {
		par = fmt.Sprint(g.Policy.Parallelism)
	}
	fmt.Fprintf(stdout, "%s: %s in %s, at most %s at once; work dir %s; step program %s\n",
		p.Experiment.Name, plural(trials, "trial"), plural(len(g.Units)-trials, "dataset"), par, filepath.Join(f.workdir, p.Experiment.Name), opts.Program)
	progress := local.NewProgress(stdout, g, isTerminal(stdout))
	opts.Observer = progress
	s, err := local.Run(ctx, g, opts)
	progress.Close()
	if s.Units != nil {
		report.RunSummary(stdout, g, s)
	}
	return err
}

// writeConfig writes the experiment's resolved config: the compiled
// workflow's config artifact.
func writeConfig(path string, config []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("writing the config: %w", err)
	}
	if err := bundle.WriteFile(path, append(append([]byte(nil), config...), '\n')); err != nil {
		return fmt.Errorf("writing the config: %w", err)
	}
	return nil
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
