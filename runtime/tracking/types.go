package tracking

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Int64 is an int64 that decodes from a JSON number or a JSON string (proto3
// JSON writes int64 as strings; MLflow's server writes numbers).
type Int64 int64

// UnmarshalJSON accepts 12, "12" and null.
func (n *Int64) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "" {
			*n = 0
			return nil
		}
		b = []byte(s)
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("decoding int64 %s: %w", b, err)
	}
	*n = Int64(v)
	return nil
}

// Float is a float64 that encodes NaN and ±Inf the way proto3 JSON (and so
// MLflow) does, as "NaN", "Infinity" and "-Infinity", and decodes them back.
type Float float64

// MarshalJSON writes a number, or a string for NaN and ±Inf.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Infinity"`), nil
	}
	return json.Marshal(v)
}

// UnmarshalJSON accepts numbers and the strings MarshalJSON writes.
func (f *Float) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		switch s {
		case "NaN", "nan":
			*f = Float(math.NaN())
		case "Infinity", "inf":
			*f = Float(math.Inf(1))
		case "-Infinity", "-inf":
			*f = Float(math.Inf(-1))
		default:
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return fmt.Errorf("decoding float %q: %w", s, err)
			}
			*f = Float(v)
		}
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = Float(v)
	return nil
}

// Millis converts a time to MLflow's milliseconds since the epoch.
func Millis(t time.Time) int64 { return t.UnixMilli() }

// Tag is a key/value tag of an experiment, run or model.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Param is a run parameter.
type Param struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Metric is one point of a metric: Timestamp in milliseconds since the epoch.
type Metric struct {
	Key       string `json:"key"`
	Value     Float  `json:"value"`
	Timestamp Int64  `json:"timestamp"`
	Step      Int64  `json:"step"`
}

// Experiment is an MLflow experiment.
type Experiment struct {
	ExperimentID     string `json:"experiment_id"`
	Name             string `json:"name"`
	ArtifactLocation string `json:"artifact_location"`
	LifecycleStage   string `json:"lifecycle_stage"`
	Tags             []Tag  `json:"tags"`
}

// RunStatus is the status of a run.
type RunStatus string

// Run statuses.
const (
	RunRunning   RunStatus = "RUNNING"
	RunScheduled RunStatus = "SCHEDULED"
	RunFinished  RunStatus = "FINISHED"
	RunFailed    RunStatus = "FAILED"
	RunKilled    RunStatus = "KILLED"
)

// RunInfo is a run's metadata.
type RunInfo struct {
	RunID          string    `json:"run_id"`
	RunName        string    `json:"run_name"`
	ExperimentID   string    `json:"experiment_id"`
	Status         RunStatus `json:"status"`
	StartTime      Int64     `json:"start_time"`
	EndTime        Int64     `json:"end_time"`
	ArtifactURI    string    `json:"artifact_uri"`
	LifecycleStage string    `json:"lifecycle_stage"`
}

// RunData is a run's latest metrics, params and tags.
type RunData struct {
	Metrics []Metric `json:"metrics"`
	Params  []Param  `json:"params"`
	Tags    []Tag    `json:"tags"`
}

// Run is an MLflow run.
type Run struct {
	Info RunInfo `json:"info"`
	Data RunData `json:"data"`
}

// Param returns the value of the param key.
func (r *Run) Param(key string) (string, bool) {
	for _, p := range r.Data.Params {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// Tag returns the value of the tag key.
func (r *Run) Tag(key string) (string, bool) {
	for _, t := range r.Data.Tags {
		if t.Key == key {
			return t.Value, true
		}
	}
	return "", false
}

// Metric returns the latest value of the metric key.
func (r *Run) Metric(key string) (Metric, bool) {
	for _, m := range r.Data.Metrics {
		if m.Key == key {
			return m, true
		}
	}
	return Metric{}, false
}

// RegisteredModel is a model of the model registry.
type RegisteredModel struct {
	Name                 string         `json:"name"`
	CreationTimestamp    Int64          `json:"creation_timestamp"`
	LastUpdatedTimestamp Int64          `json:"last_updated_timestamp"`
	Description          string         `json:"description"`
	Tags                 []Tag          `json:"tags"`
	Aliases              []ModelAlias   `json:"aliases"`
	LatestVersions       []ModelVersion `json:"latest_versions"`
}

// ModelAlias points an alias of a registered model at a version.
type ModelAlias struct {
	Alias   string `json:"alias"`
	Version string `json:"version"`
}

// Model version statuses.
const (
	VersionPending = "PENDING_REGISTRATION"
	VersionFailed  = "FAILED_REGISTRATION"
	VersionReady   = "READY"
)

// ModelVersion is one version of a registered model.
type ModelVersion struct {
	Name              string   `json:"name"`
	Version           string   `json:"version"`
	CreationTimestamp Int64    `json:"creation_timestamp"`
	Source            string   `json:"source"`
	RunID             string   `json:"run_id"`
	Status            string   `json:"status"`
	StatusMessage     string   `json:"status_message"`
	Description       string   `json:"description"`
	Tags              []Tag    `json:"tags"`
	Aliases           []string `json:"aliases"`
}

// tagList turns a map into tags sorted by key (stable requests).
func tagList(m map[string]string) []Tag {
	if len(m) == 0 {
		return nil
	}
	out := make([]Tag, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, Tag{Key: k, Value: m[k]})
	}
	return out
}
