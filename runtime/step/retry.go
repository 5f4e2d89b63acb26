package step

import "time"

// Retry is a step's retry strategy as a compiled workflow states it (Argo's
// retryStrategy) and as the local runner applies it.
type Retry struct {
	// Limit is the number of retries after the first attempt (0: none).
	Limit int
	// Policy is workflow.retryPolicy: "OnFailure" and "Always" retry a
	// non-zero exit (and a timed-out attempt), "OnError" and "Always" a
	// step that could not be started; every policy retries ExitTransient,
	// none ExitConfig or ExitUsage.
	Policy string
	// Backoff is the first wait; each further wait is Factor times longer,
	// and no retry starts later than MaxDuration after the first attempt (0:
	// no bound).
	Backoff     time.Duration
	Factor      int
	MaxDuration time.Duration
}
