// Package results stores ParaK8s trials, their metrics and artifacts in
// PostgreSQL (pgx v5, pgxpool). It is what the `record` step writes and what
// the runner reads to skip finished trials and to rank them.
//
// The schema is a set of versioned SQL files embedded in the binary
// (migrations/NNNN_name.sql). Migrate applies the missing ones, each in its
// own transaction together with its row in schema_migrations; every
// transaction takes one transaction-scoped advisory lock first, so any number
// of concurrent migrators (parallel record pods, tests) apply each migration
// exactly once. A store migrates itself on first use unless
// Options.AutoMigrate is off.
//
// Tables:
//
//	experiments (name pk, created_at)
//	trials      (id pk = trial id, experiment, config jsonb, sweep_point jsonb, status,
//	             image, dataset_digest, mlflow_run_id, model_digest,
//	             started_at, finished_at, updated_at)
//	metrics     (trial_id, name, step, value; pk (trial_id, name, step); step -1 = final)
//	artifacts   (trial_id, kind, ref, digest; pk (trial_id, kind, ref))
//
// RecordTrial writes one trial in one transaction with upserts keyed on the
// trial id (and the metric and artifact keys), so recording the same trial
// again changes nothing and never duplicates rows; a record's metrics (and
// its artifacts of a kind) replace the stored ones, so recording a retrained
// trial leaves its new epochs and its new model, not a mix with the old. Because every write is
// idempotent, a call whose connection is lost (server restart, failover,
// network reset) is simply run again on a new connection until it succeeds
// or Options.RetryTimeout has passed: nothing is lost and nothing is written
// twice, even when the commit reached the server but its answer did not.
//
// Open honours DATABASE_URL (step.EnvDatabaseURL) when given an empty DSN.
package results
