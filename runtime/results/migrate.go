package results

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrateLockKey is the pg_advisory_xact_lock key every migration
// transaction takes ("parak8s results" in 8 bytes).
const migrateLockKey int64 = 0x7061726b38735253

// Migration is one embedded schema change.
type Migration struct {
	Version  int    // from the file name's NNNN_ prefix
	Name     string // the file name
	SQL      string
	Checksum string // sha256 hex of SQL
}

// Migrations returns the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("reading embedded migrations: %w", err)
	}
	var ms []Migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		prefix, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("reading embedded migrations: %q does not start with a positive NNNN_ version", name)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("reading embedded migrations: %q and %q have the same version %d", other, name, v)
		}
		seen[v] = name
		b, err := migrationFiles.ReadFile(path.Join("migrations", name))
		if err != nil {
			return nil, fmt.Errorf("reading embedded migration %q: %w", name, err)
		}
		sum := sha256.Sum256(b)
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(b), Checksum: hex.EncodeToString(sum[:])})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    integer     PRIMARY KEY,
	name       text        NOT NULL,
	checksum   text        NOT NULL,
	applied_at timestamptz NOT NULL DEFAULT now()
)`

// Migrate applies the embedded migrations the database lacks, each in its
// own transaction, and checks that the applied ones have not changed. It is
// safe to run concurrently from any number of processes.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := Migrations()
	if err != nil {
		return err
	}
	err = s.retry(ctx, func(ctx context.Context) error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLockKey); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, createMigrationsTable)
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("migrating results database: creating schema_migrations: %w", err)
	}
	for _, m := range ms {
		err := s.retry(ctx, func(ctx context.Context) error {
			return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return applyMigration(ctx, tx, m) })
		})
		if err != nil {
			return fmt.Errorf("migrating results database: %s: %w", m.Name, err)
		}
	}
	return nil
}

// applyMigration applies m in tx unless it is recorded as applied already.
func applyMigration(ctx context.Context, tx pgx.Tx, m Migration) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLockKey); err != nil {
		return fmt.Errorf("taking the migration lock: %w", err)
	}
	var checksum string
	err := tx.QueryRow(ctx, `SELECT checksum FROM schema_migrations WHERE version = $1`, m.Version).Scan(&checksum)
	switch {
	case err == nil:
		if checksum != m.Checksum {
			return fmt.Errorf("version %d was applied with checksum %s, the embedded file has %s: migrations must not change once released",
				m.Version, checksum, m.Checksum)
		}
		return nil
	case err != pgx.ErrNoRows:
		return fmt.Errorf("reading schema_migrations: %w", err)
	}
	if _, err := tx.Exec(ctx, m.SQL); err != nil {
		return fmt.Errorf("applying: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)`,
		m.Version, m.Name, m.Checksum); err != nil {
		return fmt.Errorf("recording in schema_migrations: %w", err)
	}
	return nil
}

// SchemaVersion returns the highest applied migration version (0 when none).
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.retry(ctx, func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	})
	if err != nil {
		return 0, fmt.Errorf("reading the results schema version: %w", err)
	}
	return v, nil
}
