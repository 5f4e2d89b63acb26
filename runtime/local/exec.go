package local

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"parak8s.dev/parak8s/runtime/step"
)

// attempt is how one attempt of a step ended.
type attempt struct {
	code      int   // exit code; -1 when killed or never started
	startErr  error // the process could not be started
	timedOut  bool  // the step's deadline passed
	cancelled bool  // the run was stopped
	final     bool  // not worth a retry whatever the policy
	err       error
}

// run runs step i until it succeeds, fails for good or the run stops.
func (r *runner) run(ctx context.Context, i int) StepResult {
	s := r.g.Steps[i]
	pol := r.g.Policy.Retry
	first := time.Now()
	r.msgs <- message{step: i, start: &first}
	wait := pol.Backoff
	for n := 1; ; n++ {
		a := r.attempt(ctx, s, n)
		res := StepResult{Status: StatusDone, Attempts: n, ExitCode: a.code, Err: a.err, Duration: time.Since(first)}
		switch {
		case a.cancelled:
			res.Status = StatusCancelled
			return res
		case a.err == nil:
			return res
		}
		res.Status = StatusFailed
		if n > pol.Limit || !retryable(pol.Policy, a) {
			return res
		}
		if pol.MaxDuration > 0 && time.Since(first)+wait > pol.MaxDuration {
			return res
		}
		r.msgs <- message{step: i, retry: &Event{Type: StepRetrying, Unit: s.Unit, Step: i, Attempt: n, ExitCode: a.code, Err: a.err, Wait: wait, Time: time.Now()}}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			res.Status = StatusCancelled
			return res
		}
		if pol.Factor > 1 {
			wait *= time.Duration(pol.Factor)
		}
	}
}

// retryable reports whether a failed attempt is worth another under the
// policy.
func retryable(policy string, a attempt) bool {
	switch {
	case a.final || a.code == step.ExitConfig || a.code == step.ExitUsage:
		return false
	case a.code == step.ExitTransient:
		return true
	case a.startErr != nil:
		return policy == RetryOnError || policy == RetryAlways
	default:
		return policy == RetryOnFailure || policy == RetryAlways || policy == ""
	}
}

// attempt runs the step's process once, its output appended to the step's
// log.
func (r *runner) attempt(ctx context.Context, s Step, n int) attempt {
	fail := func(err error) attempt {
		return attempt{code: -1, startErr: err, err: fmt.Errorf("starting: %w", err)}
	}
	args, env, err := late(s)
	if err != nil {
		return attempt{code: -1, final: true, err: err}
	}
	for _, d := range s.Mkdir {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fail(err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(s.Log), 0o755); err != nil {
		return fail(err)
	}
	log, err := os.OpenFile(s.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fail(err)
	}
	defer log.Close()
	dir := s.Dir
	if dir == "" {
		dir = r.g.Units[s.Unit].Dir
	}
	fmt.Fprintf(log, "=== %s attempt %d of %d, %s\n=== %s %s\n", s.Name, n, r.g.Policy.Retry.Limit+1, time.Now().Format(time.RFC3339), r.prog, quote(args))
	cmd := exec.Command(r.prog, args...)
	cmd.Env = environ(r.opts.Env, env)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = log, log
	ownGroup(cmd)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(log, "=== could not start: %v\n", err)
		return fail(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	var deadline <-chan time.Time
	if d := r.g.Policy.StepTimeout; d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		deadline = t.C
	}
	var a attempt
	var werr error
	select {
	case werr = <-exited:
	case <-deadline:
		a.timedOut = true
		werr = r.stopProcess(cmd, exited, log, "the step's deadline passed")
	case <-ctx.Done():
		a.cancelled = true
		werr = r.stopProcess(cmd, exited, log, "the run is stopping")
	case <-r.opts.Kill:
		a.cancelled = true
		werr = r.stopProcess(cmd, exited, log, "killing")
	}
	// Whatever the step started and left behind goes with it.
	_ = kill(cmd)
	a.code = cmd.ProcessState.ExitCode()
	took := time.Since(start).Round(time.Millisecond)
	switch {
	case a.timedOut:
		a.err = fmt.Errorf("its deadline of %s passed (log: %s)", r.g.Policy.StepTimeout, s.Log)
	case werr == nil:
	case a.code >= 0:
		a.err = fmt.Errorf("exit code %d (log: %s)", a.code, s.Log)
	default:
		a.err = fmt.Errorf("%w (log: %s)", werr, s.Log)
	}
	if a.err != nil {
		fmt.Fprintf(log, "=== failed after %s: %v\n", took, a.err)
	} else {
		fmt.Fprintf(log, "=== done after %s\n", took)
	}
	return a
}

// stopProcess sends the step's process group SIGTERM, then SIGKILL after
// the grace period (or at once when Options.Kill closes), and waits for the
// step to exit.
func (r *runner) stopProcess(cmd *exec.Cmd, exited <-chan error, log io.Writer, why string) error {
	killNow := r.opts.Kill
	if why != "killing" {
		fmt.Fprintf(log, "=== %s: SIGTERM, SIGKILL in %s\n", why, r.opts.Grace)
		_ = terminate(cmd)
		t := time.NewTimer(r.opts.Grace)
		defer t.Stop()
		select {
		case err := <-exited:
			return err
		case <-t.C:
		case <-killNow:
		}
	}
	fmt.Fprintf(log, "=== SIGKILL\n")
	_ = kill(cmd)
	return <-exited
}

// late fills in the step's late placeholders from the files that hold their
// values.
func late(s Step) (args, env []string, err error) {
	if len(s.Late) == 0 {
		return s.Args, s.Env, nil
	}
	pairs := make([]string, 0, 2*len(s.Late))
	for ph, path := range s.Late {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, fmt.Errorf("reading an output of an earlier step: %w", err)
		}
		// An empty file is an empty value, as Argo reads it.
		pairs = append(pairs, ph, strings.TrimSpace(string(b)))
	}
	rep := strings.NewReplacer(pairs...)
	args = make([]string, len(s.Args))
	for i, a := range s.Args {
		args[i] = rep.Replace(a)
	}
	env = make([]string, len(s.Env))
	for i, e := range s.Env {
		env[i] = rep.Replace(e)
	}
	return args, env, nil
}

// quote writes arguments as a shell would need them, for the log.
func quote(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n\"'\\$`{}[]*?;&|<>()#~") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}
