package tracking

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// GetRegisteredModel returns a registered model; the error satisfies
// IsNotFound when there is none.
func (c *Client) GetRegisteredModel(ctx context.Context, name string) (*RegisteredModel, error) {
	var out struct {
		RegisteredModel RegisteredModel `json:"registered_model"`
	}
	if err := c.call(ctx, "GET", apiPrefix+"/registered-models/get", url.Values{"name": {name}}, nil, &out); err != nil {
		return nil, fmt.Errorf("getting registered model %q: %w", name, err)
	}
	return &out.RegisteredModel, nil
}

// CreateRegisteredModel creates a registered model; the error satisfies
// IsAlreadyExists when the name is taken.
func (c *Client) CreateRegisteredModel(ctx context.Context, name, description string, tags map[string]string) (*RegisteredModel, error) {
	in := struct {
		Name        string `json:"name"`
		Description string `json:"description,omitempty"`
		Tags        []Tag  `json:"tags,omitempty"`
	}{name, description, tagList(tags)}
	var out struct {
		RegisteredModel RegisteredModel `json:"registered_model"`
	}
	if err := c.call(ctx, "POST", apiPrefix+"/registered-models/create", nil, in, &out); err != nil {
		return nil, fmt.Errorf("creating registered model %q: %w", name, err)
	}
	return &out.RegisteredModel, nil
}

// GetOrCreateRegisteredModel returns the registered model called name,
// creating it when missing (a concurrent creation is resolved by reading
// it again).
func (c *Client) GetOrCreateRegisteredModel(ctx context.Context, name string) (*RegisteredModel, error) {
	if name == "" {
		return nil, fmt.Errorf("getting or creating registered model: empty name")
	}
	m, err := c.GetRegisteredModel(ctx, name)
	if err == nil || !IsNotFound(err) {
		return m, err
	}
	m, err = c.CreateRegisteredModel(ctx, name, "", nil)
	if err == nil || !IsAlreadyExists(err) {
		return m, err
	}
	m, err = c.GetRegisteredModel(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("re-reading registered model %q after a concurrent create: %w", name, err)
	}
	return m, nil
}

// CreateModelVersion registers source (the artifact URI of a model
// directory, see ArtifactSource) as a new version of a registered model,
// linked to runID.
func (c *Client) CreateModelVersion(ctx context.Context, name, source, runID string, tags map[string]string) (*ModelVersion, error) {
	in := struct {
		Name   string `json:"name"`
		Source string `json:"source"`
		RunID  string `json:"run_id,omitempty"`
		Tags   []Tag  `json:"tags,omitempty"`
	}{name, source, runID, tagList(tags)}
	var out struct {
		ModelVersion ModelVersion `json:"model_version"`
	}
	if err := c.call(ctx, "POST", apiPrefix+"/model-versions/create", nil, in, &out); err != nil {
		return nil, fmt.Errorf("creating a version of model %q from %s: %w", name, source, err)
	}
	return &out.ModelVersion, nil
}

// GetModelVersion returns one version of a registered model.
func (c *Client) GetModelVersion(ctx context.Context, name, version string) (*ModelVersion, error) {
	var out struct {
		ModelVersion ModelVersion `json:"model_version"`
	}
	q := url.Values{"name": {name}, "version": {version}}
	if err := c.call(ctx, "GET", apiPrefix+"/model-versions/get", q, nil, &out); err != nil {
		return nil, fmt.Errorf("getting version %s of model %q: %w", version, name, err)
	}
	return &out.ModelVersion, nil
}

// FindModelVersions returns the versions of a registered model made from
// a run (model-versions/search).
func (c *Client) FindModelVersions(ctx context.Context, name, runID string) ([]ModelVersion, error) {
	if strings.ContainsAny(name+runID, "'\\") {
		return nil, fmt.Errorf("finding versions of model %q from run %s: quote characters in the name or run id", name, runID)
	}
	return c.searchModelVersions(ctx, fmt.Sprintf("name='%s' and run_id='%s'", name, runID), fmt.Sprintf("finding versions of model %q from run %s", name, runID))
}

// ModelVersions returns every version of a registered model, with its tags
// (none when the model does not exist).
func (c *Client) ModelVersions(ctx context.Context, name string) ([]ModelVersion, error) {
	if strings.ContainsAny(name, "'\\") {
		return nil, fmt.Errorf("listing versions of model %q: quote characters in the name", name)
	}
	return c.searchModelVersions(ctx, fmt.Sprintf("name='%s'", name), fmt.Sprintf("listing versions of model %q", name))
}

// SetModelVersionTag sets one tag of a model version.
func (c *Client) SetModelVersionTag(ctx context.Context, name, version, key, value string) error {
	in := struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		Key     string `json:"key"`
		Value   string `json:"value"`
	}{name, version, key, value}
	if err := c.call(ctx, "POST", apiPrefix+"/model-versions/set-tag", nil, in, nil); err != nil {
		return fmt.Errorf("setting tag %q of version %s of model %q: %w", key, version, name, err)
	}
	return nil
}

// DeleteModelVersion deletes a model version (and the aliases on it).
func (c *Client) DeleteModelVersion(ctx context.Context, name, version string) error {
	in := struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}{name, version}
	if err := c.call(ctx, "DELETE", apiPrefix+"/model-versions/delete", nil, in, nil); err != nil {
		return fmt.Errorf("deleting version %s of model %q: %w", version, name, err)
	}
	return nil
}

func (c *Client) searchModelVersions(ctx context.Context, filter, what string) ([]ModelVersion, error) {
	q := url.Values{"filter": {filter}, "max_results": {"1000"}}
	var all []ModelVersion
	for {
		var out struct {
			ModelVersions []ModelVersion `json:"model_versions"`
			NextPageToken string         `json:"next_page_token"`
		}
		if err := c.call(ctx, "GET", apiPrefix+"/model-versions/search", q, nil, &out); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		all = append(all, out.ModelVersions...)
		if out.NextPageToken == "" || len(out.ModelVersions) == 0 {
			return all, nil
		}
		q.Set("page_token", out.NextPageToken)
	}
}

// WaitModelVersionReady polls a version until its status is READY, and
// fails when it is FAILED_REGISTRATION or RegistrationTimeout passes.
func (c *Client) WaitModelVersionReady(ctx context.Context, name, version string) (*ModelVersion, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.RegistrationTimeout)
	defer cancel()
	for polls := 1; ; polls++ {
		mv, err := c.GetModelVersion(ctx, name, version)
		if err != nil {
			return nil, fmt.Errorf("waiting for version %s of model %q: %w", version, name, err)
		}
		switch mv.Status {
		case VersionReady:
			return mv, nil
		case VersionFailed:
			return nil, fmt.Errorf("waiting for version %s of model %q: registration failed: %s", version, name, mv.StatusMessage)
		}
		if err := c.opts.Sleep(ctx, c.opts.PollInterval); err != nil {
			return nil, fmt.Errorf("waiting for version %s of model %q: still %s after %d polls: %w", version, name, mv.Status, polls, err)
		}
	}
}

// SetAlias points alias of a registered model at version.
func (c *Client) SetAlias(ctx context.Context, name, alias, version string) error {
	in := struct {
		Name    string `json:"name"`
		Alias   string `json:"alias"`
		Version string `json:"version"`
	}{name, alias, version}
	var err error
	for range aliasAttempts {
		if err = c.call(ctx, "POST", apiPrefix+"/registered-models/alias", nil, in, nil); !lostInsertRace(err) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("setting alias %q of model %q to version %s: %w", alias, name, version, err)
	}
	return nil
}

// aliasAttempts bounds SetAlias's tries when it loses the race to create an
// alias: a second try updates the row the other writer inserted.
const aliasAttempts = 3

// lostInsertRace reports whether err is MLflow's answer to two writers
// inserting the same row at once: its SQL store reads, finds nothing and
// inserts, and the slower insert breaks the unique key ("BAD_REQUEST:
// (sqlite3.IntegrityError) UNIQUE constraint failed: …", or psycopg2's
// UniqueViolation on PostgreSQL). Publishing the trials of a sweep at once
// meets it when the first of them set the champion alias.
func lostInsertRace(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusBadRequest {
		return false
	}
	return strings.Contains(ae.Message, "IntegrityError") || strings.Contains(ae.Message, "UniqueViolation")
}

// GetModelVersionByAlias returns the version alias points at; the error
// satisfies IsNotFound when the model or the alias does not exist.
func (c *Client) GetModelVersionByAlias(ctx context.Context, name, alias string) (*ModelVersion, error) {
	var out struct {
		ModelVersion ModelVersion `json:"model_version"`
	}
	q := url.Values{"name": {name}, "alias": {alias}}
	if err := c.call(ctx, "GET", apiPrefix+"/registered-models/alias", q, nil, &out); err != nil {
		// MLflow answers a missing alias with INVALID_PARAMETER_VALUE
		// "Registered model alias X not found.".
		var ae *APIError
		if errors.As(err, &ae) && ae.Code == CodeInvalidParameterValue && strings.Contains(ae.Message, "not found") {
			return nil, fmt.Errorf("getting alias %q of model %q: %w: %w", alias, name, ErrNotFound, err)
		}
		return nil, fmt.Errorf("getting alias %q of model %q: %w", alias, name, err)
	}
	return &out.ModelVersion, nil
}

// RegisterOptions describe one registration by RegisterModel.
type RegisterOptions struct {
	Name   string            // registered model name
	Source string            // model directory's artifact URI (ArtifactSource)
	RunID  string            // the run that made the model
	Tags   map[string]string // version tags
	Alias  string            // alias to point at the version; empty for none
}

// RegisterModel gets or creates the registered model, reuses the version
// already made from the same run and source (so a rerun of the publish
// step adds no version) or creates one, waits until it is READY and sets
// the alias. created says whether a new version was made.
func (c *Client) RegisterModel(ctx context.Context, o RegisterOptions) (mv *ModelVersion, created bool, err error) {
	if _, err := c.GetOrCreateRegisteredModel(ctx, o.Name); err != nil {
		return nil, false, fmt.Errorf("registering model %q: %w", o.Name, err)
	}
	if o.RunID != "" {
		existing, err := c.FindModelVersions(ctx, o.Name, o.RunID)
		if err != nil {
			return nil, false, fmt.Errorf("registering model %q: %w", o.Name, err)
		}
		for i := range existing {
			if existing[i].Source == o.Source && existing[i].Status != VersionFailed {
				mv = &existing[i]
				break
			}
		}
	}
	if mv == nil {
		if mv, err = c.CreateModelVersion(ctx, o.Name, o.Source, o.RunID, o.Tags); err != nil {
			return nil, false, fmt.Errorf("registering model %q: %w", o.Name, err)
		}
		created = true
	} else {
		// A reused version takes the tags of this registration (a retrained
		// model's new digest, say), so none of them is stale.
		have := map[string]string{}
		for _, t := range mv.Tags {
			have[t.Key] = t.Value
		}
		for _, k := range sortedKeys(o.Tags) {
			if v, ok := have[k]; ok && v == o.Tags[k] {
				continue
			}
			if err := c.SetModelVersionTag(ctx, o.Name, mv.Version, k, o.Tags[k]); err != nil {
				return nil, false, fmt.Errorf("registering model %q: %w", o.Name, err)
			}
		}
	}
	if mv.Status != VersionReady {
		if mv, err = c.WaitModelVersionReady(ctx, o.Name, mv.Version); err != nil {
			return nil, created, fmt.Errorf("registering model %q: %w", o.Name, err)
		}
	}
	if o.Alias != "" {
		if err := c.SetAlias(ctx, o.Name, o.Alias, mv.Version); err != nil {
			return mv, created, fmt.Errorf("registering model %q: %w", o.Name, err)
		}
	}
	return mv, created, nil
}
