package results

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"parak8s.dev/parak8s/runtime/step"
)

// Options configure a Store.
type Options struct {
	// MaxConns caps the pool's connections (0: pgxpool's default).
	MaxConns int32
	// ConnectTimeout bounds one connection attempt.
	ConnectTimeout time.Duration
	// RetryTimeout is how long a call keeps retrying after connection
	// losses and other transient server errors; 0 disables retries.
	RetryTimeout time.Duration
	// RetryInitial and RetryMax bound the exponential backoff between tries.
	RetryInitial time.Duration
	RetryMax     time.Duration
	// AutoMigrate applies missing migrations on the first call that needs
	// the schema.
	AutoMigrate bool
}

// DefaultOptions returns the options used by the step programs.
func DefaultOptions() Options {
	return Options{
		MaxConns:       4,
		ConnectTimeout: 5 * time.Second,
		RetryTimeout:   60 * time.Second,
		RetryInitial:   50 * time.Millisecond,
		RetryMax:       time.Second,
		AutoMigrate:    true,
	}
}

// Store is a results database. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	opts Options

	migrateMu sync.Mutex
	migrated  bool

	retries atomic.Int64
}

// Stats are counters of a Store.
type Stats struct {
	// Retries counts the tries that were repeated after a transient error.
	Retries int64
}

// Open returns a Store for dsn (a postgres:// URL or key=value string; the
// value of DATABASE_URL when empty). It does not connect: the first call
// connects (retrying while the server is unreachable) and, with
// opts.AutoMigrate, migrates.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	if dsn == "" {
		dsn = os.Getenv(step.EnvDatabaseURL)
		if dsn == "" {
			return nil, fmt.Errorf("opening results database: no DSN given and %s is not set", step.EnvDatabaseURL)
		}
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgconn redacts the password in its parse errors
		return nil, fmt.Errorf("opening results database: parsing the DSN: %w", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if opts.ConnectTimeout > 0 {
		cfg.ConnConfig.ConnectTimeout = opts.ConnectTimeout
	}
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "parak8s"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("opening results database %s: %w", cfg.ConnConfig.Host, err)
	}
	return &Store{pool: pool, opts: opts}, nil
}

// Close closes the pool's connections.
func (s *Store) Close() { s.pool.Close() }

// Stats returns the store's counters.
func (s *Store) Stats() Stats { return Stats{Retries: s.retries.Load()} }

// ensureMigrated migrates once per Store when AutoMigrate is set; a failed
// migration is tried again by the next call.
func (s *Store) ensureMigrated(ctx context.Context) error {
	if !s.opts.AutoMigrate {
		return nil
	}
	s.migrateMu.Lock()
	defer s.migrateMu.Unlock()
	if s.migrated {
		return nil
	}
	if err := s.Migrate(ctx); err != nil {
		return err
	}
	s.migrated = true
	return nil
}

// retry runs f until it succeeds, fails with an error that is not
// transient, or opts.RetryTimeout has passed since the first try.
func (s *Store) retry(ctx context.Context, f func(context.Context) error) error {
	deadline := time.Now().Add(s.opts.RetryTimeout)
	delay := s.opts.RetryInitial
	if delay <= 0 {
		delay = 50 * time.Millisecond
	}
	maxDelay := s.opts.RetryMax
	if maxDelay < delay {
		maxDelay = delay
	}
	for attempt := 1; ; attempt++ {
		err := f(ctx)
		if err == nil {
			return nil
		}
		if !retryable(err) || ctx.Err() != nil {
			return err
		}
		if !time.Now().Add(delay).Before(deadline) {
			return fmt.Errorf("giving up after %d tries in %s: %w", attempt, s.opts.RetryTimeout, err)
		}
		s.retries.Add(1)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, maxDelay)
	}
}
