package steps

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"parak8s.dev/parak8s/runtime/outcome"
	"parak8s.dev/parak8s/runtime/publish"
	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/runtime/tracking"
)

// Tags of the MLflow model versions publish creates.
const (
	VersionTagTrial = tracking.TagTrial
	VersionTagOCI   = "parak8s.oci" // the pushed artifact, repo@sha256:…
)

// PublishArgs are the directories and run of the trial to publish.
type PublishArgs struct {
	Model, Metrics string // the model and metrics directories
	// RunID is the trial's MLflow run id from Track (local:… when tracked
	// without a server).
	RunID string
	Out   string // where model-digest is written
}

// Publish pushes the model directory to the OCI repository
// $PARAK8S_REGISTRY as one artifact tagged with the trial id and writes its
// digest to a.Out/model-digest (empty without a registry: nothing is
// pushed). When the push condition $PARAK8S_PUSH_WHEN holds, the model is
// ranked and registered as a version of $PARAK8S_REGISTERED_MODEL in
// MLflow; then the moving tags and alias are pointed at the experiment's
// best model. It prints the pushed reference and returns the push result
// (nil without a registry). An unreachable registry or MLflow server is a
// TransientError.
func Publish(ctx context.Context, e Env, t Trial, a PublishArgs) (*publish.Result, error) {
	modelDir, metricsDir, runID, outDir := a.Model, a.Metrics, a.RunID, a.Out
	repo := os.Getenv(step.EnvRegistry)
	if repo == "" {
		if err := writeOutParam(outDir, step.OutDigest, ""); err != nil {
			return nil, err
		}
		fmt.Fprintf(e.Stderr, "parak8s publish: no registry configured; nothing pushed (%s is not set)\n", step.EnvRegistry)
		return nil, nil
	}
	o, err := outcome.Read(modelDir, metricsDir, t.Exp.Evaluation.Split, t.ID)
	if err != nil {
		return nil, err
	}
	cond, err := step.ParseCondition(os.Getenv(step.EnvPushCondition))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", step.EnvPushCondition, err)
	}
	holds, why, err := o.Check(cond)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", step.EnvPushCondition, err)
	}
	alias := os.Getenv(step.EnvPushAlias)
	var tags []string
	for _, tag := range []string{t.Exp.Name, alias} {
		switch {
		case tag == "" || slices.Contains(tags, tag):
		case !publish.ValidTag(tag):
			e.Log.Warn("not a valid OCI tag; the artifact is not tagged with it", "tag", tag)
		default:
			tags = append(tags, tag)
		}
	}
	final, _ := o.Final()
	m := publish.Model{
		Dir:        modelDir,
		Trial:      t.ID,
		Experiment: t.Exp.Name,
		Metrics:    final,
		Dataset:    t.Dataset,
		Image:      t.Image,
	}
	rk := rankingOf(cond, o.Split)
	if holds {
		values, _ := o.ConditionMetrics()
		if v, ok := values[rk.Metric]; ok {
			rk.Value = v
			m.Rank = &rk
		} else {
			e.Log.Warn("the ranking metric is undefined; the model cannot hold the moving tags", "metric", rk.Metric)
		}
	}
	if !strings.HasPrefix(runID, LocalRunPrefix) {
		m.MLflowRun = runID
	}
	if o.Manifest != nil {
		m.Created = o.Manifest.Created
	}
	res, err := publish.PushModel(ctx, repo, m, publish.DefaultOptions())
	if err != nil {
		if registryUnreachable(err) {
			return nil, TransientError{err}
		}
		return nil, err
	}
	if err := writeOutParam(outDir, step.OutDigest, res.Digest); err != nil {
		return nil, err
	}
	e.Log.Info("pushed", "ref", res.Ref, "tags", strings.Join(res.Tags, ","), "condition", cond.String(), "holds", holds, "because", why)
	registered := ""
	if holds {
		if registered, err = registerModel(ctx, e, t, runID, res); err != nil {
			return nil, err
		}
	}
	if err := crown(ctx, e, t, repo, rk, tags, registered, alias); err != nil {
		return nil, err
	}
	fmt.Fprintln(e.Stdout, res.Ref)
	return &res, nil
}

// rankingOf is the experiment's ranking metric: the push condition's metric
// (higher is better for >= and >, lower for <= and <; for == and without a
// condition, lower for losses), <split>_f1 without a condition.
func rankingOf(c step.Condition, split string) publish.Rank {
	r := publish.Rank{Metric: c.Metric}
	if r.Metric == "" {
		r.Metric = split + "_f1"
	}
	switch c.Op {
	case ">=", ">":
		r.Higher = true
	case "<=", "<":
		r.Higher = false
	default:
		r.Higher = !strings.Contains(r.Metric, "loss")
	}
	return r
}

// maxCrownRounds bounds how often crown re-reads after moving something.
const maxCrownRounds = 5

// crown points the moving OCI tags and the registered model's alias at the
// best model of the experiment in the repository: the one ranking highest
// on the ranking metric among those that met the push condition, ties to
// the smaller trial id. It reads every candidate rather than comparing with
// the current holder, and reads again after each change until a round
// changes nothing: whatever order concurrent publishes (or a later sync,
// or a forced rerun of a worse trial) run in, the last one to move
// something sees every model pushed before it and leaves the best.
func crown(ctx context.Context, e Env, t Trial, repo string, rk publish.Rank, tags []string, model, alias string) error {
	fail := func(err error) error {
		err = fmt.Errorf("pointing %s at the best model of %s: %w", strings.Join(append(slices.Clone(tags), alias), ", "), t.Exp.Name, err)
		if registryUnreachable(err) || tracking.IsTransient(err) {
			return TransientError{err}
		}
		return err
	}
	var ml *tracking.Client
	if model != "" && alias != "" {
		c, err := tracking.NewFromEnv(tracking.DefaultOptions())
		if err != nil {
			return err
		}
		ml = c
	}
	opts := publish.DefaultOptions()
	for round := 1; round <= maxCrownRounds; round++ {
		cands, err := publish.Candidates(ctx, repo, t.Exp.Name, rk.Metric, rk.Higher, opts)
		if err != nil {
			return fail(err)
		}
		best, ok := publish.Best(cands)
		if !ok {
			return nil
		}
		moved, err := publish.PointTags(ctx, repo, best.Digest, tags, opts)
		if err != nil {
			return fail(err)
		}
		changed := len(moved) > 0
		aliased := ""
		if ml != nil {
			if aliased, err = pointAlias(ctx, ml, model, alias, best); err != nil {
				return fail(err)
			}
			changed = changed || aliased != ""
		}
		e.Log.Info("champion", "trial", step.Short(best.Trial), rk.Metric, publish.FormatValue(best.Rank.Value),
			"candidates", len(cands), "moved_tags", strings.Join(moved, ","), "alias_to_version", aliased, "round", round)
		if !changed {
			return nil
		}
	}
	e.Log.Warn("the champion kept changing while publishing; left as the last round set it", "rounds", maxCrownRounds)
	return nil
}

// pointAlias points alias at the version of model registered for the best
// candidate, and returns that version when it moved the alias. Without such
// a version yet (its publish step has not registered it) it changes
// nothing: that step will.
func pointAlias(ctx context.Context, ml *tracking.Client, model, alias string, best publish.Candidate) (string, error) {
	versions, err := ml.ModelVersions(ctx, model)
	if err != nil {
		return "", err
	}
	var want *tracking.ModelVersion
	for i, v := range versions {
		if tagValue(v.Tags, VersionTagTrial) == best.Trial && tagValue(v.Tags, VersionTagOCI) == best.Ref && v.Status == tracking.VersionReady {
			want = &versions[i]
		}
	}
	if want == nil {
		return "", nil
	}
	cur, err := ml.GetModelVersionByAlias(ctx, model, alias)
	switch {
	case err == nil && cur.Version == want.Version:
		return "", nil
	case err != nil && !tracking.IsNotFound(err):
		return "", err
	}
	if err := ml.SetAlias(ctx, model, alias, want.Version); err != nil {
		return "", err
	}
	return want.Version, nil
}

func tagValue(tags []tracking.Tag, key string) string {
	for _, t := range tags {
		if t.Key == key {
			return t.Value
		}
	}
	return ""
}

// registerModel makes the pushed model a version of the registered model
// PARAK8S_REGISTERED_MODEL (the run's model/ artifacts), tagged with the
// trial and the pushed reference, and deletes the versions an earlier run of
// the same trial registered (a forced retrain's old model). It returns the
// registered model's name. Without the model name, an MLflow server or an
// MLflow run it only says why nothing was registered.
func registerModel(ctx context.Context, e Env, t Trial, runID string, res publish.Result) (string, error) {
	name := os.Getenv(step.EnvRegisteredModel)
	switch {
	case name == "":
		return "", nil
	case os.Getenv(step.EnvMLflowURI) == "":
		e.Log.Warn("no MLflow server; the model is not registered", "model", name, "missing", step.EnvMLflowURI)
		return "", nil
	case runID == "" || strings.HasPrefix(runID, LocalRunPrefix):
		e.Log.Warn("no MLflow run; the model is not registered", "model", name, "run_id", runID)
		return "", nil
	}
	fail := func(err error) error {
		err = fmt.Errorf("registering trial %s as a version of MLflow model %q: %w", step.Short(t.ID), name, err)
		if tracking.IsTransient(err) {
			return TransientError{err}
		}
		return err
	}
	c, err := tracking.NewFromEnv(tracking.DefaultOptions())
	if err != nil {
		return "", err
	}
	run, err := c.GetRun(ctx, runID)
	if err != nil {
		return "", fail(err)
	}
	if got, _ := run.Tag(tracking.TagTrial); got != t.ID {
		return "", fmt.Errorf("%w: MLflow run %s is tagged with trial %q, not %s", step.ErrMismatch, runID, step.Short(got), step.Short(t.ID))
	}
	source, err := tracking.ArtifactSource(run.Info.ArtifactURI, artifactModel)
	if err != nil {
		return "", fail(err)
	}
	mv, created, err := c.RegisterModel(ctx, tracking.RegisterOptions{
		Name:   name,
		Source: source,
		RunID:  runID,
		Tags:   map[string]string{VersionTagTrial: t.ID, VersionTagOCI: res.Ref},
	})
	if err != nil {
		return "", fail(err)
	}
	versions, err := c.ModelVersions(ctx, name)
	if err != nil {
		return "", fail(err)
	}
	var stale []string
	for _, v := range versions {
		if tagValue(v.Tags, VersionTagTrial) == t.ID && v.Version != mv.Version {
			if err := c.DeleteModelVersion(ctx, name, v.Version); err != nil && !tracking.IsNotFound(err) {
				return "", fail(err)
			}
			stale = append(stale, v.Version)
		}
	}
	e.Log.Info("registered", "model", name, "version", mv.Version, "new", created, "source", source, "deleted_stale_versions", strings.Join(stale, ","))
	return name, nil
}
