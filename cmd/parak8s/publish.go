package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/spf13/cobra"

	"parak8s.dev/parak8s/runtime/publish"
	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/runtime/tracking"
)

// Tags of the MLflow model versions publish creates.
const (
	versionTagTrial = tracking.TagTrial
	versionTagOCI   = "parak8s.oci" // the pushed artifact, repo@sha256:…
)

func newPublishCmd(e *env) *cobra.Command {
	var (
		f                            trialFlags
		modelDir, metricsDir, outDir string
		runID                        string
	)
	cmd := &cobra.Command{
		Use:   "publish --config FILE [--set PATH=JSON]... --trial ID --image REF --model DIR --metrics DIR --run-id ID --out DIR",
		Short: "Push a trained model to an OCI registry and register it in MLflow when its condition holds",
		Long: `Publish pushes the model directory to the OCI repository PARAK8S_REGISTRY as one
artifact tagged with the trial id, annotated with the final metrics, the dataset
digest, the image and the MLflow run id, and writes its manifest digest to
OUT/model-digest (and prints repo@digest). The same trial always gives the same
digest, so a rerun pushes nothing new.

When the push condition PARAK8S_PUSH_WHEN holds (e.g. "val_auc >= 0.95"; none: always)
the artifact is annotated with its value of the ranking metric (the condition's
metric, higher is better for >= and >, lower for <= and <; val_f1 without a
condition) and, when PARAK8S_REGISTERED_MODEL and MLFLOW_TRACKING_URI are set and
--run-id is an MLflow run, the run's model/ artifacts become a version of that
registered model (reused on a rerun; a retrained trial's older version is deleted).
Then the experiment's name tag, the PARAK8S_PUSH_ALIAS tag and the registered model's
alias are pointed at the best model in the repository that met the condition (ties:
the smaller trial id), whichever trial published last.

The condition's metric is <split>_<name> as track logs it: val_accuracy, val_auc,
val_precision, val_recall, val_f1 (two classes: of the positive class; more: the
macro average) from the evaluation (split = evaluation.split), and train_loss,
val_loss and the val_<name> the evaluation lacks from the model's kept epoch. A
metric that is undefined (zero denominator) makes the condition false; one that
does not exist is an error.

Without PARAK8S_REGISTRY nothing is pushed: OUT/model-digest is empty and the step
succeeds.

Exit codes: 0 ok, 1 failure (the registry refused the push), 2 usage, 3 the model
or run is not the trial's, 75 the registry or MLflow stayed unreachable.`,
		Args: noPositional,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(
				[2]string{step.FlagModel, modelDir},
				[2]string{step.FlagMetrics, metricsDir},
				[2]string{step.FlagOut, outDir},
			); err != nil {
				return err
			}
			t, err := f.resolve("")
			if err != nil {
				return err
			}
			return publishModel(cmd.Context(), e, t, modelDir, metricsDir, runID, outDir)
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&modelDir, step.FlagModel[2:], "", "the model directory written by train")
	cmd.Flags().StringVar(&metricsDir, step.FlagMetrics[2:], "", "the metrics directory written by evaluate")
	cmd.Flags().StringVar(&runID, step.FlagRunID[2:], "", "the trial's MLflow run id written by track (local:… when tracked locally)")
	cmd.Flags().StringVar(&outDir, step.FlagOut[2:], "", "where to write model-digest")
	return cmd
}

func publishModel(ctx context.Context, e *env, t trial, modelDir, metricsDir, runID, outDir string) error {
	repo := os.Getenv(step.EnvRegistry)
	if repo == "" {
		if err := writeOutParam(outDir, step.OutDigest, ""); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "parak8s publish: no registry configured; nothing pushed (%s is not set)\n", step.EnvRegistry)
		return nil
	}
	o, err := readOutcome(modelDir, metricsDir, t.Exp.Evaluation.Split, t.ID)
	if err != nil {
		return err
	}
	cond, err := step.ParseCondition(os.Getenv(step.EnvPushCondition))
	if err != nil {
		return fmt.Errorf("%s: %w", step.EnvPushCondition, err)
	}
	holds, why, err := checkCondition(cond, o)
	if err != nil {
		return fmt.Errorf("%s: %w", step.EnvPushCondition, err)
	}
	alias := os.Getenv(step.EnvPushAlias)
	var tags []string
	for _, tag := range []string{t.Exp.Name, alias} {
		switch {
		case tag == "" || slices.Contains(tags, tag):
		case !publish.ValidTag(tag):
			e.log.Warn("not a valid OCI tag; the artifact is not tagged with it", "tag", tag)
		default:
			tags = append(tags, tag)
		}
	}
	final, _ := o.final()
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
		values, _ := o.conditionMetrics()
		if v, ok := values[rk.Metric]; ok {
			rk.Value = v
			m.Rank = &rk
		} else {
			e.log.Warn("the ranking metric is undefined; the model cannot hold the moving tags", "metric", rk.Metric)
		}
	}
	if !strings.HasPrefix(runID, localRunPrefix) {
		m.MLflowRun = runID
	}
	if o.Manifest != nil {
		m.Created = o.Manifest.Created
	}
	res, err := publish.PushModel(ctx, repo, m, publish.DefaultOptions())
	if err != nil {
		if registryUnreachable(err) {
			return transientError{err}
		}
		return err
	}
	if err := writeOutParam(outDir, step.OutDigest, res.Digest); err != nil {
		return err
	}
	e.log.Info("pushed", "ref", res.Ref, "tags", strings.Join(res.Tags, ","), "condition", cond.String(), "holds", holds, "because", why)
	registered := ""
	if holds {
		if registered, err = registerModel(ctx, e, t, runID, res); err != nil {
			return err
		}
	}
	if err := crown(ctx, e, t, repo, rk, tags, registered, alias); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, res.Ref)
	return nil
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
func crown(ctx context.Context, e *env, t trial, repo string, rk publish.Rank, tags []string, model, alias string) error {
	fail := func(err error) error {
		err = fmt.Errorf("pointing %s at the best model of %s: %w", strings.Join(append(slices.Clone(tags), alias), ", "), t.Exp.Name, err)
		if registryUnreachable(err) || tracking.IsTransient(err) {
			return transientError{err}
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
		e.log.Info("champion", "trial", step.Short(best.Trial), rk.Metric, publish.FormatValue(best.Rank.Value),
			"candidates", len(cands), "moved_tags", strings.Join(moved, ","), "alias_to_version", aliased, "round", round)
		if !changed {
			return nil
		}
	}
	e.log.Warn("the champion kept changing while publishing; left as the last round set it", "rounds", maxCrownRounds)
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
		if tagValue(v.Tags, versionTagTrial) == best.Trial && tagValue(v.Tags, versionTagOCI) == best.Ref && v.Status == tracking.VersionReady {
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

// checkCondition reports whether the push condition holds for the trial,
// and why, in words.
func checkCondition(c step.Condition, o outcome) (holds bool, why string, err error) {
	if c.Metric == "" {
		return true, "no condition", nil
	}
	values, undefined := o.conditionMetrics()
	if _, ok := values[c.Metric]; !ok && slices.Contains(undefined, c.Metric) {
		return false, c.Metric + " is undefined", nil
	}
	holds, err = c.Holds(values)
	if err != nil {
		return false, "", err
	}
	return holds, fmt.Sprintf("%s = %g", c.Metric, values[c.Metric]), nil
}

// registerModel makes the pushed model a version of the registered model
// PARAK8S_REGISTERED_MODEL (the run's model/ artifacts), tagged with the
// trial and the pushed reference, and deletes the versions an earlier run of
// the same trial registered (a forced retrain's old model). It returns the
// registered model's name. Without the model name, an MLflow server or an
// MLflow run it only says why nothing was registered.
func registerModel(ctx context.Context, e *env, t trial, runID string, res publish.Result) (string, error) {
	name := os.Getenv(step.EnvRegisteredModel)
	switch {
	case name == "":
		return "", nil
	case os.Getenv(step.EnvMLflowURI) == "":
		e.log.Warn("no MLflow server; the model is not registered", "model", name, "missing", step.EnvMLflowURI)
		return "", nil
	case runID == "" || strings.HasPrefix(runID, localRunPrefix):
		e.log.Warn("no MLflow run; the model is not registered", "model", name, "run_id", runID)
		return "", nil
	}
	fail := func(err error) error {
		err = fmt.Errorf("registering trial %s as a version of MLflow model %q: %w", step.Short(t.ID), name, err)
		if tracking.IsTransient(err) {
			return transientError{err}
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
		Tags:   map[string]string{versionTagTrial: t.ID, versionTagOCI: res.Ref},
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
		if tagValue(v.Tags, versionTagTrial) == t.ID && v.Version != mv.Version {
			if err := c.DeleteModelVersion(ctx, name, v.Version); err != nil && !tracking.IsNotFound(err) {
				return "", fail(err)
			}
			stale = append(stale, v.Version)
		}
	}
	e.log.Info("registered", "model", name, "version", mv.Version, "new", created, "source", source, "deleted_stale_versions", strings.Join(stale, ","))
	return name, nil
}

// registryUnreachable reports whether a push failed because the registry
// could not be reached or was overloaded (worth a rerun), not because it
// refused the push.
func registryUnreachable(err error) bool {
	var te *transport.Error
	if errors.As(err, &te) {
		return te.StatusCode >= 500 || te.StatusCode == 429
	}
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &op) || errors.As(err, &dns) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, context.DeadlineExceeded)
}
