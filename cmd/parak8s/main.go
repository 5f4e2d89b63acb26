package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/runtime/steps"
)

// version is set by the linker (-X main.version=…).
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole program: it returns the exit code (steps.ExitCode).
// SIGINT and SIGTERM cancel the command's context, so train can write a
// checkpoint before it exits.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "parak8s: %v\n", err)
	}
	return steps.ExitCode(err)
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	e := steps.Env{Stdout: stdout, Stderr: stderr, Log: slog.New(slog.NewTextHandler(stderr, nil))}
	root := &cobra.Command{
		Use:           step.Program,
		Short:         "The ParaK8s step program: prepare, train, evaluate, track, publish, record",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return steps.Usage(err) })
	root.AddCommand(newPrepareCmd(e), newTrainCmd(e), newEvaluateCmd(e), newTrackCmd(e), newPublishCmd(e), newRecordCmd(e))
	return root
}

// noPositional refuses positional arguments as a usage error.
func noPositional(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return steps.Usage(fmt.Errorf("%s takes no arguments, got %q", cmd.Name(), args[0]))
	}
	return nil
}

// requireFlags returns a usage error naming the first flag whose value is empty.
func requireFlags(flags ...[2]string) error {
	for _, f := range flags {
		if f[1] == "" {
			return steps.Usage(fmt.Errorf("%s is required", f[0]))
		}
	}
	return nil
}

// registerTrial adds the flags every step shares (runtime/step's contract).
func registerTrial(fs *pflag.FlagSet, a *steps.TrialArgs) {
	fs.StringVar(&a.Config, step.FlagConfig[2:], "", "the resolved experiment (JSON): the compiled config artifact or a trial config")
	fs.StringArrayVar(&a.Sets, step.FlagSet[2:], nil, "a swept value of the trial, PATH=JSON (repeatable)")
	fs.StringVar(&a.Trial, step.FlagTrial[2:], "", "the trial id the config and overrides must give (checked when set)")
	fs.StringVar(&a.Image, step.FlagImage[2:], "", "the image reference the trial id was computed with")
}
