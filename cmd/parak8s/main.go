package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"parak8s.dev/parak8s/runtime/step"
)

// version is set by the linker (-X main.version=…).
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole program: it returns the exit code (see the package doc).
// SIGINT and SIGTERM cancel the command's context, so train can write a
// checkpoint before it exits.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return step.ExitOK
	}
	code := exitCode(err)
	fmt.Fprintf(stderr, "parak8s: %v\n", err)
	return code
}

// env is what every subcommand shares: its output streams and logger.
type env struct {
	stdout, stderr io.Writer
	log            *slog.Logger
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	e := &env{stdout: stdout, stderr: stderr, log: slog.New(slog.NewTextHandler(stderr, nil))}
	root := &cobra.Command{
		Use:           step.Program,
		Short:         "The ParaK8s step program: prepare, train, evaluate, track, publish, record",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newPrepareCmd(e),
		newTrainCmd(e),
		newEvaluateCmd(e),
		newTrackCmd(e),
		newPublishCmd(e),
		newRecordCmd(e),
	)
	return root
}

// usageError is a command-line mistake (exit code 2).
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

// noPositional refuses positional arguments as a usage error.
func noPositional(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("%s takes no arguments, got %q", cmd.Name(), args[0])}
	}
	return nil
}

// requireFlags returns a usage error naming the first flag whose value is empty.
func requireFlags(flags ...[2]string) error {
	for _, f := range flags {
		if f[1] == "" {
			return usageError{fmt.Errorf("%s is required", f[0])}
		}
	}
	return nil
}

// transientError is a failure worth retrying: a server was unreachable
// (exit code 75). The step's outputs are kept for the rerun.
type transientError struct{ error }

func (t transientError) Unwrap() error { return t.error }

func exitCode(err error) int {
	var u usageError
	var t transientError
	switch {
	case errors.As(err, &u):
		return step.ExitUsage
	case errors.Is(err, step.ErrMismatch):
		return step.ExitConfig
	case errors.As(err, &t):
		return step.ExitTransient
	default:
		return step.ExitFailure
	}
}
