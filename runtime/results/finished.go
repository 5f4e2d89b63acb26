package results

import (
	"context"
	"fmt"
	"os"
	"time"

	"parak8s.dev/parak8s/runtime/step"
)

// FinishedFromEnv returns the trials of an experiment that the results
// database at DATABASE_URL holds as succeeded, as a set; nil (and no
// error) when DATABASE_URL is not set. It waits at most 30 seconds, and
// retries an unreachable server for 3: parac plan asks it for a summary.
func FinishedFromEnv(ctx context.Context, experiment string) (map[string]bool, error) {
	if os.Getenv(step.EnvDatabaseURL) == "" {
		return nil, nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	opts := DefaultOptions()
	opts.RetryTimeout = 3 * time.Second
	store, err := Open(ctx, "", opts)
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
