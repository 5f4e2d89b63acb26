package tracking

import (
	"context"
	"fmt"
	"net/url"
)

const apiPrefix = "/api/2.0/mlflow"

// GetExperimentByName returns the experiment called name; the error
// satisfies IsNotFound when there is none.
func (c *Client) GetExperimentByName(ctx context.Context, name string) (*Experiment, error) {
	var out struct {
		Experiment Experiment `json:"experiment"`
	}
	err := c.call(ctx, "GET", apiPrefix+"/experiments/get-by-name", url.Values{"experiment_name": {name}}, nil, &out)
	if err != nil {
		return nil, fmt.Errorf("getting experiment %q: %w", name, err)
	}
	return &out.Experiment, nil
}

// GetExperiment returns the experiment with the given id.
func (c *Client) GetExperiment(ctx context.Context, id string) (*Experiment, error) {
	var out struct {
		Experiment Experiment `json:"experiment"`
	}
	err := c.call(ctx, "GET", apiPrefix+"/experiments/get", url.Values{"experiment_id": {id}}, nil, &out)
	if err != nil {
		return nil, fmt.Errorf("getting experiment %s: %w", id, err)
	}
	return &out.Experiment, nil
}

// CreateExperiment creates an experiment and returns its id; the error
// satisfies IsAlreadyExists when the name is taken.
func (c *Client) CreateExperiment(ctx context.Context, name string, tags map[string]string) (string, error) {
	in := struct {
		Name string `json:"name"`
		Tags []Tag  `json:"tags,omitempty"`
	}{name, tagList(tags)}
	var out struct {
		ExperimentID string `json:"experiment_id"`
	}
	if err := c.call(ctx, "POST", apiPrefix+"/experiments/create", nil, in, &out); err != nil {
		return "", fmt.Errorf("creating experiment %q: %w", name, err)
	}
	if out.ExperimentID == "" {
		return "", fmt.Errorf("creating experiment %q: the server returned no experiment id", name)
	}
	return out.ExperimentID, nil
}

// GetOrCreateExperiment returns the id of the experiment called name,
// creating it when missing. A concurrent creation by someone else is
// resolved by reading the experiment again. A deleted experiment of that
// name is an error (MLflow keeps the name reserved until it is purged).
func (c *Client) GetOrCreateExperiment(ctx context.Context, name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("getting or creating experiment: empty name")
	}
	exp, err := c.GetExperimentByName(ctx, name)
	if err == nil {
		return activeExperiment(exp)
	}
	if !IsNotFound(err) {
		return "", err
	}
	id, err := c.CreateExperiment(ctx, name, nil)
	if err == nil {
		return id, nil
	}
	if !IsAlreadyExists(err) {
		return "", err
	}
	exp, err = c.GetExperimentByName(ctx, name)
	if err != nil {
		return "", fmt.Errorf("re-reading experiment %q after a concurrent create: %w", name, err)
	}
	return activeExperiment(exp)
}

func activeExperiment(exp *Experiment) (string, error) {
	if exp.LifecycleStage == "deleted" {
		return "", fmt.Errorf("experiment %q (id %s) is deleted; restore it or use another name", exp.Name, exp.ExperimentID)
	}
	return exp.ExperimentID, nil
}
