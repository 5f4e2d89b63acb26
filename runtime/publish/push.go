package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Media types of ParaK8s artifacts.
const (
	ModelConfigMediaType   = "application/vnd.parak8s.model.config.v1+json"
	ModelLayerMediaType    = "application/vnd.parak8s.model.layer.v1.tar+gzip"
	DatasetConfigMediaType = "application/vnd.parak8s.dataset.config.v1+json"
	DatasetLayerMediaType  = "application/vnd.parak8s.dataset.layer.v1.tar+gzip"
)

// Manifest annotations.
const (
	AnnotationTrial      = "dev.parak8s.trial"
	AnnotationExperiment = "dev.parak8s.experiment"
	AnnotationMetrics    = "dev.parak8s.metrics" // compact JSON object of final metrics
	AnnotationDataset    = "dev.parak8s.dataset"
	AnnotationImage      = "dev.parak8s.image"
	AnnotationMLflowRun  = "dev.parak8s.mlflow.run"
	AnnotationCreated    = "org.opencontainers.image.created"
)

// Kind says what an artifact holds.
type Kind string

// The artifact kinds.
const (
	KindModel   Kind = "model"
	KindDataset Kind = "dataset"
)

func (k Kind) mediaTypes() (config, layer string) {
	if k == KindDataset {
		return DatasetConfigMediaType, DatasetLayerMediaType
	}
	return ModelConfigMediaType, ModelLayerMediaType
}

// Config is the config blob of an artifact.
type Config struct {
	Kind  Kind   `json:"kind"`
	Files []File `json:"files"` // in lexical path order
}

// Options configure pushes and pulls.
type Options struct {
	// Keychain resolves registry credentials.
	Keychain authn.Keychain
	// Transport is the HTTP transport (nil: go-containerregistry's default).
	Transport http.RoundTripper
	// Jobs is how many blobs are uploaded at once.
	Jobs int
	// TempDir is where the layer is staged before upload ("": os.TempDir()).
	TempDir string
	// UserAgent is sent to registries.
	UserAgent string
}

// DefaultOptions returns Docker-config credentials, 4 upload jobs and the
// system temporary directory.
func DefaultOptions() Options {
	return Options{Keychain: authn.DefaultKeychain, Jobs: 4, UserAgent: "parak8s"}
}

func (o Options) remote(ctx context.Context) []remote.Option {
	kc := o.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	ro := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(kc)}
	if o.Transport != nil {
		ro = append(ro, remote.WithTransport(o.Transport))
	}
	if o.Jobs > 0 {
		ro = append(ro, remote.WithJobs(o.Jobs))
	}
	if o.UserAgent != "" {
		ro = append(ro, remote.WithUserAgent(o.UserAgent))
	}
	return ro
}

// Model is a trained model directory and what it came from.
type Model struct {
	Dir        string
	Trial      string // the trial id: the artifact's tag
	Experiment string
	Metrics    map[string]float64 // final metrics (finite values only)
	Dataset    string             // the dataset digest
	Image      string             // the step image the trial ran in
	MLflowRun  string             // the MLflow run id
	// Created is written as org.opencontainers.image.created (for example
	// the trial's finish time); zero means 1970-01-01T00:00:00Z. It is part
	// of the digest.
	Created time.Time
	// Tags are extra moving tags (the experiment name, an alias) pointed at
	// this artifact after it is pushed.
	Tags []string
	// Rank, when set, is written as AnnotationRank: the model may hold
	// the experiment's moving tags (see Candidates).
	Rank *Rank
}

// Dataset is a data set: a directory, or a list of files.
type Dataset struct {
	// Dir is the directory pushed (with its subdirectories), when Files is
	// empty.
	Dir string
	// Files, when given, are pushed instead of Dir: regular files, each
	// under its base name at the artifact's root (two files with the same
	// base name are an error).
	Files []string
	// Annotations are added to the manifest (for example the data key).
	Annotations map[string]string
	// Created as for Model.
	Created time.Time
}

// Result describes a pushed or pulled artifact.
type Result struct {
	Ref         string // repo@sha256:…
	Digest      string // the manifest digest, sha256:…
	Tags        []string
	MediaType   string // the config media type (= artifactType)
	Size        int64  // bytes of the layer blob
	Annotations map[string]string
	Config      Config
}

// PushModel pushes m.Dir to repo (oci:// optional, no tag), tagged with the
// trial id and then with m.Tags.
func PushModel(ctx context.Context, repo string, m Model, opts Options) (Result, error) {
	res, err := pushModel(ctx, repo, m, opts)
	if err != nil {
		return Result{}, fmt.Errorf("pushing model of trial %q to %s: %w", m.Trial, repo, err)
	}
	return res, nil
}

func pushModel(ctx context.Context, repo string, m Model, opts Options) (Result, error) {
	r, err := parseRepo(repo)
	if err != nil {
		return Result{}, err
	}
	if m.Trial == "" || m.Experiment == "" {
		return Result{}, errors.New("the trial id and the experiment are required")
	}
	tags := append([]string{m.Trial}, m.Tags...)
	ann := map[string]string{
		AnnotationTrial:      m.Trial,
		AnnotationExperiment: m.Experiment,
		AnnotationDataset:    m.Dataset,
		AnnotationImage:      m.Image,
		AnnotationMLflowRun:  m.MLflowRun,
	}
	metrics, err := metricsJSON(m.Metrics)
	if err != nil {
		return Result{}, err
	}
	ann[AnnotationMetrics] = metrics
	if m.Rank != nil {
		if ann[AnnotationRank], err = m.Rank.annotation(); err != nil {
			return Result{}, err
		}
	}
	return push(ctx, KindModel, source{dir: m.Dir}, r, tags, ann, m.Created, opts)
}

// PushDataset pushes d.Dir to ref (oci:// optional; repo:tag, or repo for
// "latest") and returns its digest, the data set version.
func PushDataset(ctx context.Context, d Dataset, ref string, opts Options) (Result, error) {
	res, err := pushDataset(ctx, d, ref, opts)
	if err != nil {
		what := d.Dir
		if len(d.Files) > 0 {
			what = fmt.Sprintf("of %d files", len(d.Files))
		}
		return Result{}, fmt.Errorf("pushing data set %s to %s: %w", what, ref, err)
	}
	return res, nil
}

func pushDataset(ctx context.Context, d Dataset, ref string, opts Options) (Result, error) {
	r, err := ParseRef(ref)
	if err != nil {
		return Result{}, err
	}
	tag, ok := r.(name.Tag)
	if !ok {
		return Result{}, errors.New("a data set is pushed to a tag, not to a digest")
	}
	return push(ctx, KindDataset, source{dir: d.Dir, files: d.Files}, tag.Repository, []string{tag.TagStr()}, d.Annotations, d.Created, opts)
}

// metricsJSON renders final metrics as a compact JSON object with sorted keys.
func metricsJSON(m map[string]float64) (string, error) {
	for k, v := range m {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return "", fmt.Errorf("metric %q is %v: the %s annotation is JSON, which has no NaN or infinity", k, v, AnnotationMetrics)
		}
	}
	if m == nil {
		m = map[string]float64{}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encoding the metrics: %w", err)
	}
	return string(b), nil
}

func push(ctx context.Context, kind Kind, src source, repo name.Repository, tags []string,
	annotations map[string]string, created time.Time, opts Options) (Result, error) {
	for _, t := range tags {
		if !ValidTag(t) {
			return Result{}, fmt.Errorf("tag %q is not a valid OCI tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127})", t)
		}
	}
	configMT, layerMT := kind.mediaTypes()
	layer, files, err := buildLayer(src, opts.TempDir, types.MediaType(layerMT))
	if err != nil {
		return Result{}, fmt.Errorf("packing %s: %w", src, err)
	}
	defer os.Remove(layer.path)

	cfg := Config{Kind: kind, Files: files}
	ann := map[string]string{}
	for k, v := range annotations {
		if v != "" {
			ann[k] = v
		}
	}
	if created.IsZero() {
		created = epoch
	}
	ann[AnnotationCreated] = created.UTC().Format(time.RFC3339)
	img, err := newArtifact(cfg, configMT, layer, ann)
	if err != nil {
		return Result{}, err
	}
	digest, err := img.Digest()
	if err != nil {
		return Result{}, err
	}
	ro := opts.remote(ctx)
	if err := remote.Write(repo.Tag(tags[0]), img, ro...); err != nil {
		return Result{}, fmt.Errorf("uploading %s: %w", repo.Tag(tags[0]), err)
	}
	for _, t := range tags[1:] {
		if err := remote.Tag(repo.Tag(t), img, ro...); err != nil {
			return Result{}, fmt.Errorf("tagging %s: %w", repo.Tag(t), err)
		}
	}
	return Result{
		Ref:         repo.Digest(digest.String()).String(),
		Digest:      digest.String(),
		Tags:        tags,
		MediaType:   configMT,
		Size:        layer.size,
		Annotations: ann,
		Config:      cfg,
	}, nil
}

// artifact is an OCI image manifest with a custom config and one layer.
type artifact struct {
	config   []byte
	manifest []byte
	layer    *fileLayer
}

func newArtifact(cfg Config, configMT string, layer *fileLayer, annotations map[string]string) (v1.Image, error) {
	config, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encoding the artifact config: %w", err)
	}
	configDigest, configSize, err := v1.SHA256(bytes.NewReader(config))
	if err != nil {
		return nil, err
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  configMT,
		Config:        v1.Descriptor{MediaType: types.MediaType(configMT), Size: configSize, Digest: configDigest},
		Layers:        []v1.Descriptor{{MediaType: layer.mediaType, Size: layer.size, Digest: layer.digest}},
		Annotations:   annotations,
	}
	manifest, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding the manifest: %w", err)
	}
	return partial.CompressedToImage(&artifact{config: config, manifest: manifest, layer: layer})
}

func (a *artifact) RawConfigFile() ([]byte, error)      { return a.config, nil }
func (a *artifact) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
func (a *artifact) RawManifest() ([]byte, error)        { return a.manifest, nil }
func (a *artifact) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if h == a.layer.digest {
		return a.layer, nil
	}
	return nil, fmt.Errorf("the artifact has no blob %s", h)
}
