package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"parak8s.dev/parak8s/compiler"
	"parak8s.dev/parak8s/compiler/plan"
	"parak8s.dev/parak8s/compiler/spec"
	"parak8s.dev/parak8s/images"
	"parak8s.dev/parak8s/schema"
)

// version is set by the linker (-X main.version=…).
var version = "dev"

// errReported is returned after problems were already printed.
var errReported = errors.New("reported")

// run is the whole CLI: it returns the exit code (0 ok, 1 problems found or
// a failure, 2 usage).
func run(args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errReported):
		return 1
	case isUsage(err):
		fmt.Fprintf(stderr, "parac: %v\n", err)
		return 2
	default:
		printError(stderr, err)
		return 1
	}
}

type usageError struct{ error }

func isUsage(err error) bool {
	var u usageError
	return errors.As(err, &u)
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "parac",
		Short:         "Compile ParaK8s experiments into Argo Workflows",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(compileCmd(stdout, stderr), vetCmd(stdout, stderr), trialsCmd(stdout), schemaCmd(stdout), configCmd(stdout),
		runCmd(stdout), planCmd(stdout, stderr), reportCmd(stdout), syncCmd(stdout), imagesCmd(stdout), platformCmd(stdout, stderr))
	root.AddCommand(dataCmd(stdout))
	return root
}

func args1(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usageError{fmt.Errorf("%s takes one FILE or DIR, got %d arguments", cmd.Name(), len(args))}
	}
	return nil
}

func compileCmd(stdout, stderr io.Writer) *cobra.Command {
	opts := compiler.DefaultOptions()
	var out string
	var resolve bool
	var sets []string
	var skipFinished bool
	cmd := &cobra.Command{
		Use:   "compile FILE|DIR",
		Short: "Compile a spec into Argo Workflow YAML (several documents when sharded)",
		Long: `Compile loads a spec, expands its sweep and writes one Argo Workflow per
experiment, every trial's configuration checked against the schema and the
runtime's rules first (argo submit then runs Argo's validator). A sweep that would not fit
into one workflow (etcd's object limit, or workflow.maxTrialsPerWorkflow) is
split into shards, written as several YAML documents separated by "---";
argo submit accepts them all at once.

With --resolve every image tag is looked up in its registry (a HEAD request,
credentials from the Docker config like docker and crane use) and the
workflows name the image by digest, repo@sha256:…; trial ids then change
whenever the image does. Without it a tag-only image compiles with a
warning and trial ids use the tag.

--set PATH=JSON overrides a field, checked against the schema again, exactly
as parac run --set does: the same flags give the same trial ids on a cluster
and on one machine.

--skip-finished leaves out the trials the results database (DATABASE_URL)
holds as finished, so resubmitting a half-finished sweep runs exactly the
rest; parac plan shows the same count.`,
		Args: args1,
		RunE: func(cmd *cobra.Command, args []string) error {
			if resolve {
				opts.Plan.ResolveImage = images.Resolver(cmd.Context())
			}
			var err error
			if opts.Sets, err = parseSets(sets); err != nil {
				return err
			}
			compile := func() ([]compiler.Result, error) { return compiler.Compile(args[0], opts) }
			if skipFinished {
				compile = func() ([]compiler.Result, error) { return compileSkipping(cmd.Context(), args[0], opts, stderr) }
			}
			res, err := compile()
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			for _, r := range res {
				warnUnpinned(stderr, r.Plan)
				for _, w := range r.Workflows {
					if buf.Len() > 0 {
						buf.WriteString("---\n")
					}
					buf.Write(w.YAML)
				}
			}
			if out == "" || out == "-" {
				_, err = stdout.Write(buf.Bytes())
				return err
			}
			if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
				return fmt.Errorf("writing %s: %w", out, err)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the YAML to `FILE` instead of stdout")
	cmd.Flags().BoolVar(&resolve, "resolve", false, "pin every image tag to its digest (asks the registries)")
	cmd.Flags().BoolVar(&skipFinished, "skip-finished", false, "leave out the trials DATABASE_URL's results database holds as finished")
	cmd.Flags().StringArrayVar(&sets, "set", nil, "override a field of the experiment, `PATH=JSON` (repeatable; the same as parac run's, so both run the same trials)")
	cmd.Flags().StringVar(&opts.Spec.Experiment, "experiment", "", "compile only the experiment `NAME` of a package with several")
	cmd.Flags().IntVar(&opts.Argo.MaxBytes, "shard-bytes", opts.Argo.MaxBytes, "split the sweep when a workflow would exceed `N` bytes of YAML")
	cmd.Flags().IntVar(&opts.Argo.MaxTrials, "shard", 0, "at most `N` trials per workflow (default: the spec's workflow.maxTrialsPerWorkflow)")
	return cmd
}

// warnUnpinned flags images and datasets that trial ids cannot pin.
func warnUnpinned(stderr io.Writer, p *plan.Plan) {
	for _, img := range slices.Compact([]string{p.StepImage, p.TrainImage}) {
		if !strings.Contains(img, "@sha256:") {
			fmt.Fprintf(stderr, "warning: %s: image %s is not pinned by digest; trial ids use the tag\n", p.Experiment.Name, img)
		}
	}
	// Datasets differ only in preprocessing; they share one source.
	if len(p.Datasets) > 0 && !p.Datasets[0].Pinned {
		fmt.Fprintf(stderr, "warning: %s: data.source has no digest; trial ids use its path %s\n", p.Experiment.Name, strings.TrimPrefix(p.Datasets[0].Ref, "unpinned:"))
	}
}

func vetCmd(stdout, stderr io.Writer) *cobra.Command {
	var opts compiler.Options = compiler.DefaultOptions()
	cmd := &cobra.Command{
		Use:   "vet FILE|DIR",
		Short: "Check a spec: print every problem as file:line:col: message",
		Args:  args1,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := compiler.Plan(args[0], opts); err != nil {
				printError(stdout, err)
				return errReported
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.Spec.Experiment, "experiment", "", "vet only the experiment `NAME`")
	return cmd
}

func trialsCmd(stdout io.Writer) *cobra.Command {
	opts := compiler.DefaultOptions()
	var full, resolve bool
	cmd := &cobra.Command{
		Use:   "trials FILE|DIR",
		Short: "List the trials of a spec: id, dataset and swept values",
		Long: `Trials lists every trial of a spec with its id. The ids include the image
reference: with --resolve they are the ids "parac compile --resolve" gives.`,
		Args: args1,
		RunE: func(cmd *cobra.Command, args []string) error {
			if resolve {
				opts.Plan.ResolveImage = images.Resolver(cmd.Context())
			}
			res, err := compiler.Plan(args[0], opts)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "EXPERIMENT\tTRIAL\tDATA\tSWEPT")
			for _, r := range res {
				for _, t := range r.Plan.Trials {
					id := t.Short()
					if full {
						id = t.ID
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Plan.Experiment.Name, id, t.DataKey[:12], t.Label())
				}
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&opts.Spec.Experiment, "experiment", "", "list only the experiment `NAME`")
	cmd.Flags().BoolVar(&full, "full", false, "print full 64-digit trial ids")
	cmd.Flags().BoolVar(&resolve, "resolve", false, "pin image tags to their digests first, as compile --resolve does")
	return cmd
}

func schemaCmd(stdout io.Writer) *cobra.Command {
	var vendor string
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Print the experiment schema, or vendor it into a CUE module with --vendor",
		Long: `Schema prints the CUE schema specs are checked against. With --vendor DIR
it writes the schema to DIR/cue.mod/pkg/` + schema.ImportPath + `, so that
editors and "cue vet" resolve: import "` + schema.ImportPath + `".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if vendor != "" {
				return vendorSchema(vendor)
			}
			return schema.EachFile(func(name string, b []byte) error {
				fmt.Fprintf(stdout, "// %s/%s\n", schema.ImportPath, name)
				_, err := stdout.Write(b)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&vendor, "vendor", "", "write the schema into the CUE module rooted at `DIR`")
	return cmd
}

func vendorSchema(root string) error {
	mod := filepath.Join(root, "cue.mod", "module.cue")
	if _, err := os.Stat(mod); err != nil {
		return fmt.Errorf("vendoring the schema: %s is not a CUE module root (no cue.mod/module.cue; run cue mod init)", root)
	}
	dir := schema.VendorDir(root)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("vendoring the schema: %w", err)
	}
	return schema.EachFile(func(name string, b []byte) error {
		return os.WriteFile(filepath.Join(dir, name), b, 0o644)
	})
}

// printError prints CUE errors one per line as file:line:col: message (paths
// relative to the working directory), and other errors as they are.
func printError(w io.Writer, err error) {
	cwd, _ := os.Getwd()
	lines := spec.Lines(err, cwd)
	if lines == nil {
		fmt.Fprintf(w, "parac: %v\n", err)
		return
	}
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}
