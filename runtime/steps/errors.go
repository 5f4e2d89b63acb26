package steps

import (
	"context"
	"errors"
	"net"
	"syscall"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/jackc/pgx/v5/pgconn"

	"parak8s.dev/parak8s/runtime/step"
)

// UsageError is a command-line mistake (exit code 2).
type UsageError struct{ Err error }

func (u UsageError) Error() string { return u.Err.Error() }
func (u UsageError) Unwrap() error { return u.Err }

// Usage marks err as a command-line mistake.
func Usage(err error) error { return UsageError{err} }

// TransientError is a failure worth retrying: a server was unreachable
// (exit code 75). The step's outputs are kept for the rerun.
type TransientError struct{ Err error }

func (t TransientError) Error() string { return t.Err.Error() }
func (t TransientError) Unwrap() error { return t.Err }

// ExitCode is the exit code of the step program for err (step.ExitOK for
// nil): a UsageError is step.ExitUsage, an error that is step.ErrMismatch
// step.ExitConfig, a TransientError step.ExitTransient, anything else
// step.ExitFailure.
func ExitCode(err error) int {
	var u UsageError
	var t TransientError
	switch {
	case err == nil:
		return step.ExitOK
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

// sourceMismatch is a source that does not give what the config asks for
// (dataset.ErrSource): a config problem, exit code 3, not retried.
type sourceMismatch struct{ error }

func (s sourceMismatch) Unwrap() error        { return s.error }
func (s sourceMismatch) Is(target error) bool { return target == step.ErrMismatch }

// registryUnreachable reports whether a push failed because the registry
// could not be reached or was overloaded (worth a rerun), not because it
// refused the push.
func registryUnreachable(err error) bool {
	var te *transport.Error
	if errors.As(err, &te) {
		return te.StatusCode >= 500 || te.StatusCode == 429
	}
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &op) || errors.As(err, &dns) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, context.DeadlineExceeded)
}

// dbError marks a database that stayed unreachable as transient (exit 75).
func dbError(err error) error {
	var ce *pgconn.ConnectError
	var op *net.OpError
	var dns *net.DNSError
	if errors.As(err, &ce) || errors.As(err, &op) || errors.As(err, &dns) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || pgconn.Timeout(err) {
		return TransientError{err}
	}
	return err
}
