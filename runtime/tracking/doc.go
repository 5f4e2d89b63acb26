// Package tracking is a client for the MLflow REST API 2.0, written on
// net/http: experiments, runs, batched logging, metric history, proxied
// artifacts (`mlflow server --serve-artifacts`) and the model registry.
//
// The track and publish steps use it to record one trial as one MLflow run,
// found by the tag "parak8s.trial" (see [Client.EnsureRun]), so rerunning a
// step never creates a second run for the same trial.
//
// # Configuration
//
// [ConfigFromEnv] reads the variables MLflow's own clients read, named in
// package step: MLFLOW_TRACKING_URI (an http or https URL; a path prefix such
// as https://host/mlflow is kept), MLFLOW_TRACKING_TOKEN (sent as a bearer
// token) or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (basic auth;
// the token wins when both are set), and MLFLOW_EXPERIMENT_NAME.
//
// # Retries
//
// Every request is retried on connection errors, per-attempt timeouts, HTTP
// 5xx and 429, with exponential backoff and "equal jitter": before attempt
// n+1 the client sleeps a random duration in [b/2, b], b = min(MaxBackoff,
// BaseBackoff·2^(n-1)), and at least a 429/503 Retry-After (capped at
// MaxBackoff). Other 4xx answers are returned at once as *[APIError]. When
// the last attempt fails the error is a *[RetryError] that names the method,
// the URL and the number of attempts; [IsTransient] reports it so that a step
// can exit with step.ExitTransient. Request bodies are replayable (files are
// reopened), so uploads are retried too.
//
// # Limits of the pinned server (mlflow 2.22.1, scripts/mlflow.sh)
//
// runs/log-batch accepts at most 1000 metrics, 100 params and 100 tags, 1000
// entities in all, and 1,000,000 bytes of JSON per call; [Client.LogBatch]
// splits any batch into calls within these limits. Param values longer than
// 6000 characters (500 before MLflow 1.29 and 2.0) and tag values longer than
// 8000 characters (5000 before 2.x) are truncated on the client, by Unicode
// code points as the server counts them, to [Options.ParamValueLimit] and
// [Options.TagValueLimit]: a 2.x server would truncate them itself unless
// MLFLOW_TRUNCATE_LONG_VALUES=false, an older one would reject the batch.
// Keys longer than 250 characters are an error before anything is sent.
// Metric values NaN and ±Inf are sent as proto3 JSON does ("NaN",
// "Infinity"); the SQL store keeps NaN and clamps ±Inf to ±math.MaxFloat64.
//
// # Artifacts
//
// A run of a server started with --serve-artifacts has an artifact_uri like
// mlflow-artifacts:/<experiment_id>/<run_id>/artifacts (or
// mlflow-artifacts://host:port/..., or an http(s) URL of the
// /api/2.0/mlflow-artifacts/artifacts/ route). [Client.ArtifactURL] resolves
// it against the tracking URI; files are uploaded with PUT and read back with
// GET on that route. Other artifact stores (s3:, gs:, file:) are not
// reachable through the tracking server and are reported as an error.
// MLflow answers a missing artifact with 500 INTERNAL_ERROR and a missing
// alias with 400 INVALID_PARAMETER_VALUE; the client recognises both, does
// not retry them, and wraps [ErrNotFound] so that [IsNotFound] holds.
//
// # Races
//
// MLflow has no conditional writes. [Client.GetOrCreateExperiment] and
// [Client.GetOrCreateRegisteredModel] re-read after RESOURCE_ALREADY_EXISTS,
// which makes them safe against concurrent callers. [Client.EnsureRun]
// searches before creating and searches again after creating: when it then
// sees more than one active run for the trial it keeps the earliest (by
// start time, then run id) and deletes its own if that is not the one, so
// sequential reruns and retried creates never leave duplicates; two truly
// concurrent first creates can still briefly both win within a few
// milliseconds of clock skew between the callers.
package tracking
