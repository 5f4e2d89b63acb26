package tracking

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"
)

// TagTrial is the run tag that names the ParaK8s trial of a run.
const TagTrial = "parak8s.trial"

// TagRunName is MLflow's tag for a run's display name.
const TagRunName = "mlflow.runName"

// CreateRunOptions describe a new run.
type CreateRunOptions struct {
	Name      string            // run name; empty lets the server choose one
	StartTime time.Time         // zero means now
	Tags      map[string]string // initial tags (values truncated to TagValueLimit)
}

// CreateRun creates a run in an experiment.
func (c *Client) CreateRun(ctx context.Context, experimentID string, o CreateRunOptions) (*Run, error) {
	start := o.StartTime
	if start.IsZero() {
		start = time.Now()
	}
	tags := tagList(o.Tags)
	for i := range tags {
		tags[i].Value = truncate(tags[i].Value, c.opts.TagValueLimit)
	}
	in := struct {
		ExperimentID string `json:"experiment_id"`
		RunName      string `json:"run_name,omitempty"`
		StartTime    int64  `json:"start_time"`
		Tags         []Tag  `json:"tags,omitempty"`
	}{experimentID, o.Name, Millis(start), tags}
	var out struct {
		Run Run `json:"run"`
	}
	if err := c.call(ctx, "POST", apiPrefix+"/runs/create", nil, in, &out); err != nil {
		return nil, fmt.Errorf("creating run in experiment %s: %w", experimentID, err)
	}
	return &out.Run, nil
}

// GetRun returns a run with its latest metrics, params and tags.
func (c *Client) GetRun(ctx context.Context, runID string) (*Run, error) {
	var out struct {
		Run Run `json:"run"`
	}
	if err := c.call(ctx, "GET", apiPrefix+"/runs/get", url.Values{"run_id": {runID}}, nil, &out); err != nil {
		return nil, fmt.Errorf("getting run %s: %w", runID, err)
	}
	return &out.Run, nil
}

// UpdateRun sets a run's status and, when end is not zero, its end time.
func (c *Client) UpdateRun(ctx context.Context, runID string, status RunStatus, end time.Time) (*RunInfo, error) {
	in := struct {
		RunID   string    `json:"run_id"`
		Status  RunStatus `json:"status,omitempty"`
		EndTime int64     `json:"end_time,omitempty"`
	}{RunID: runID, Status: status}
	if !end.IsZero() {
		in.EndTime = Millis(end)
	}
	var out struct {
		RunInfo RunInfo `json:"run_info"`
	}
	if err := c.call(ctx, "POST", apiPrefix+"/runs/update", nil, in, &out); err != nil {
		return nil, fmt.Errorf("updating run %s to %s: %w", runID, status, err)
	}
	return &out.RunInfo, nil
}

// DeleteRun marks a run deleted.
func (c *Client) DeleteRun(ctx context.Context, runID string) error {
	in := struct {
		RunID string `json:"run_id"`
	}{runID}
	if err := c.call(ctx, "POST", apiPrefix+"/runs/delete", nil, in, nil); err != nil {
		return fmt.Errorf("deleting run %s: %w", runID, err)
	}
	return nil
}

// SetTag sets one tag of a run (value truncated to TagValueLimit).
func (c *Client) SetTag(ctx context.Context, runID, key, value string) error {
	if err := checkKey("tag", key); err != nil {
		return fmt.Errorf("setting tag on run %s: %w", runID, err)
	}
	in := struct {
		RunID string `json:"run_id"`
		Key   string `json:"key"`
		Value string `json:"value"`
	}{runID, key, truncate(value, c.opts.TagValueLimit)}
	if err := c.call(ctx, "POST", apiPrefix+"/runs/set-tag", nil, in, nil); err != nil {
		return fmt.Errorf("setting tag %q on run %s: %w", key, runID, err)
	}
	return nil
}

// SearchRunsRequest is a runs/search query.
type SearchRunsRequest struct {
	ExperimentIDs []string `json:"experiment_ids"`
	Filter        string   `json:"filter,omitempty"`
	// RunViewType is ACTIVE_ONLY (default), DELETED_ONLY or ALL.
	RunViewType string   `json:"run_view_type,omitempty"`
	MaxResults  int      `json:"max_results,omitempty"`
	OrderBy     []string `json:"order_by,omitempty"`
	PageToken   string   `json:"page_token,omitempty"`
}

// SearchRuns returns one page of runs and the token of the next page ("" at
// the end).
func (c *Client) SearchRuns(ctx context.Context, req SearchRunsRequest) ([]Run, string, error) {
	var out struct {
		Runs          []Run  `json:"runs"`
		NextPageToken string `json:"next_page_token"`
	}
	if err := c.call(ctx, "POST", apiPrefix+"/runs/search", nil, req, &out); err != nil {
		return nil, "", fmt.Errorf("searching runs in experiments %v (filter %q): %w", req.ExperimentIDs, req.Filter, err)
	}
	return out.Runs, out.NextPageToken, nil
}

// SearchAllRuns follows the pages of a search and returns every run.
func (c *Client) SearchAllRuns(ctx context.Context, req SearchRunsRequest) ([]Run, error) {
	var all []Run
	for {
		runs, next, err := c.SearchRuns(ctx, req)
		if err != nil {
			return nil, err
		}
		all = append(all, runs...)
		if next == "" || len(runs) == 0 {
			return all, nil
		}
		req.PageToken = next
	}
}

// TrialFilter is the runs/search filter for the runs of a trial.
func TrialFilter(trialID string) (string, error) {
	if trialID == "" {
		return "", fmt.Errorf("empty trial id")
	}
	if strings.ContainsAny(trialID, "'\"`\\\n") {
		return "", fmt.Errorf("trial id %q contains quote characters", trialID)
	}
	return "tags.`" + TagTrial + "` = '" + trialID + "'", nil
}

// FindTrialRuns returns the active runs tagged with the trial, oldest
// first (start time, then run id).
func (c *Client) FindTrialRuns(ctx context.Context, experimentID, trialID string) ([]Run, error) {
	filter, err := TrialFilter(trialID)
	if err != nil {
		return nil, fmt.Errorf("finding runs of trial: %w", err)
	}
	runs, err := c.SearchAllRuns(ctx, SearchRunsRequest{
		ExperimentIDs: []string{experimentID},
		Filter:        filter,
		MaxResults:    100,
	})
	if err != nil {
		return nil, fmt.Errorf("finding runs of trial %s: %w", trialID, err)
	}
	slices.SortFunc(runs, func(a, b Run) int {
		if a.Info.StartTime != b.Info.StartTime {
			if a.Info.StartTime < b.Info.StartTime {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Info.RunID, b.Info.RunID)
	})
	return runs, nil
}

// EnsureRun returns the run of a trial in an experiment, creating it (named
// after the trial unless tags set mlflow.runName, tagged parak8s.trial =
// trialID plus tags) when there is none. created says whether this call made
// it. Tags are applied only on creation. See the package doc on races.
func (c *Client) EnsureRun(ctx context.Context, experimentID, trialID string, tags map[string]string) (run *Run, created bool, err error) {
	runs, err := c.FindTrialRuns(ctx, experimentID, trialID)
	if err != nil {
		return nil, false, fmt.Errorf("ensuring run of trial %s: %w", trialID, err)
	}
	if len(runs) > 0 {
		return &runs[0], false, nil
	}
	all := maps.Clone(tags)
	if all == nil {
		all = map[string]string{}
	}
	all[TagTrial] = trialID
	name := all[TagRunName]
	if name == "" {
		name = trialID
	}
	mine, err := c.CreateRun(ctx, experimentID, CreateRunOptions{Name: name, Tags: all})
	if err != nil {
		return nil, false, fmt.Errorf("ensuring run of trial %s: %w", trialID, err)
	}
	// A concurrent caller, or an earlier attempt of our create whose answer
	// was lost, may have made another run: keep the oldest.
	runs, err = c.FindTrialRuns(ctx, experimentID, trialID)
	if err != nil {
		return nil, false, fmt.Errorf("ensuring run of trial %s: checking for duplicates: %w", trialID, err)
	}
	if len(runs) == 0 {
		return mine, true, nil
	}
	winner := runs[0]
	// Delete our own run when it lost, and the orphans of our own create:
	// a retried runs/create sends the same start time. Runs of other callers
	// are theirs to delete.
	for _, r := range runs[1:] {
		if r.Info.RunID != mine.Info.RunID && r.Info.StartTime != mine.Info.StartTime {
			continue
		}
		if err := c.DeleteRun(ctx, r.Info.RunID); err != nil {
			return nil, false, fmt.Errorf("ensuring run of trial %s: removing duplicate: %w", trialID, err)
		}
	}
	return &winner, winner.Info.RunID == mine.Info.RunID, nil
}
