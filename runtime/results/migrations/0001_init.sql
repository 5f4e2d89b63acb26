-- 0001: experiments, trials, metrics, artifacts.

CREATE TABLE experiments (
	name       text        PRIMARY KEY,
	created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE trials (
	id             text        PRIMARY KEY,           -- the trial id (sha256 hex)
	experiment     text        NOT NULL REFERENCES experiments (name),
	config         jsonb       NOT NULL DEFAULT '{}', -- the resolved trial config
	sweep_point    jsonb       NOT NULL DEFAULT '{}', -- the sweep overrides of this trial
	status         text        NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed')),
	image          text        NOT NULL DEFAULT '',
	dataset_digest text        NOT NULL DEFAULT '',
	mlflow_run_id  text        NOT NULL DEFAULT '',
	model_digest   text        NOT NULL DEFAULT '',
	started_at     timestamptz,
	finished_at    timestamptz,
	updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX trials_experiment_status ON trials (experiment, status);

CREATE TABLE metrics (
	trial_id text             NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
	name     text             NOT NULL,
	step     bigint           NOT NULL CHECK (step >= -1), -- -1 = the final value
	value    double precision NOT NULL,
	PRIMARY KEY (trial_id, name, step)
);

CREATE INDEX metrics_final ON metrics (name, value) WHERE step = -1;

CREATE TABLE artifacts (
	trial_id text NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
	kind     text NOT NULL, -- e.g. model, dataset, checkpoint
	ref      text NOT NULL, -- e.g. an OCI reference
	digest   text NOT NULL DEFAULT '',
	PRIMARY KEY (trial_id, kind, ref)
);
