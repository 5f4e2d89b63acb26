package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// AnnotationRank marks a model that may hold the moving tags: a JSON object
// {"metric": NAME, "higher": BOOL, "value": NUMBER}, the ranking metric of
// the experiment, its direction and the model's value. Models that did not
// meet the push condition have none.
const AnnotationRank = "dev.parak8s.rank"

// Rank is a model's value of the experiment's ranking metric.
type Rank struct {
	Metric string  `json:"metric"`
	Higher bool    `json:"higher"` // higher values are better
	Value  float64 `json:"value"`
}

func (r Rank) annotation() (string, error) {
	if r.Metric == "" {
		return "", errors.New("the rank has no metric")
	}
	if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
		return "", fmt.Errorf("the rank's %s is %v", r.Metric, r.Value)
	}
	b, err := json.Marshal(r)
	return string(b), err
}

// Candidate is a model in a repository that may hold the moving tags.
type Candidate struct {
	Trial     string
	Digest    string // sha256:…
	Ref       string // repo@sha256:…
	MLflowRun string
	Rank      Rank
}

// Beats reports whether c ranks above d: a better value, or the same value
// and the smaller trial id (so the order never depends on when they were
// published).
func (c Candidate) Beats(d Candidate) bool {
	if c.Rank.Value != d.Rank.Value {
		return (c.Rank.Value > d.Rank.Value) == c.Rank.Higher
	}
	return c.Trial < d.Trial
}

// Best returns the candidate that beats every other one; false when there
// is none.
func Best(cands []Candidate) (Candidate, bool) {
	if len(cands) == 0 {
		return Candidate{}, false
	}
	best := cands[0]
	for _, c := range cands[1:] {
		if c.Beats(best) {
			best = c
		}
	}
	return best, true
}

// trialTag is the tag of a model pushed for a trial: its 64-hex id
// (compiled on first use, see tagPattern).
var trialTag = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{64}$`) })

// Candidates lists the models in repo (tagged with their trial id) of the
// experiment that carry a rank by metric in the given direction. It reads
// every trial tag's manifest: one request per trial of the repository.
func Candidates(ctx context.Context, repo, experiment, metric string, higher bool, opts Options) ([]Candidate, error) {
	r, err := parseRepo(repo)
	if err != nil {
		return nil, err
	}
	ro := opts.remote(ctx)
	tags, err := remote.List(r, ro...)
	if err != nil {
		var te *transport.Error
		if errors.As(err, &te) && te.StatusCode == 404 {
			return nil, nil // no repository yet
		}
		return nil, fmt.Errorf("listing the tags of %s: %w", r, err)
	}
	tags = slices.DeleteFunc(tags, func(tag string) bool { return !trialTag().MatchString(tag) })
	// The manifests are read opts.Jobs at a time: a registry across a
	// network answers each after a round trip. (From a registry on a loaded
	// 2-core machine, 200 took 1.1-3.4 s, one or four at a time alike.)
	descs := make([]*remote.Descriptor, len(tags))
	errs := make([]error, len(tags))
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(opts.Jobs, 1))
	for i, tag := range tags {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			descs[i], errs[i] = remote.Get(r.Tag(tag), ro...)
		}()
	}
	wg.Wait()
	var out []Candidate
	for i, tag := range tags {
		desc, err := descs[i], errs[i]
		if err != nil {
			var te *transport.Error
			if errors.As(err, &te) && te.StatusCode == 404 {
				continue // deleted since the listing
			}
			return nil, fmt.Errorf("reading %s: %w", r.Tag(tag), err)
		}
		var m v1.Manifest
		if err := json.Unmarshal(desc.Manifest, &m); err != nil {
			continue // not one of ours
		}
		a := m.Annotations
		if a[AnnotationTrial] != tag || a[AnnotationExperiment] != experiment || a[AnnotationRank] == "" {
			continue
		}
		var rank Rank
		if err := json.Unmarshal([]byte(a[AnnotationRank]), &rank); err != nil {
			return nil, fmt.Errorf("%s: annotation %s %q: %w", r.Tag(tag), AnnotationRank, a[AnnotationRank], err)
		}
		if rank.Metric != metric || rank.Higher != higher {
			continue
		}
		out = append(out, Candidate{
			Trial: tag, Digest: desc.Digest.String(), Ref: r.Digest(desc.Digest.String()).String(),
			MLflowRun: a[AnnotationMLflowRun], Rank: rank,
		})
	}
	return out, nil
}

// PointTags points each tag of repo at the artifact with digest, leaving
// the ones that already point there; it returns the tags it moved.
func PointTags(ctx context.Context, repo, digest string, tags []string, opts Options) ([]string, error) {
	r, err := parseRepo(repo)
	if err != nil {
		return nil, err
	}
	ro := opts.remote(ctx)
	desc, err := remote.Get(r.Digest(digest), ro...)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", r.Digest(digest), err)
	}
	var moved []string
	for _, tag := range tags {
		if !ValidTag(tag) {
			return moved, fmt.Errorf("tag %q is not a valid OCI tag", tag)
		}
		cur, err := remote.Head(r.Tag(tag), ro...)
		if err == nil && cur.Digest == desc.Digest {
			continue
		}
		var te *transport.Error
		if err != nil && !(errors.As(err, &te) && te.StatusCode == 404) {
			return moved, fmt.Errorf("reading %s: %w", r.Tag(tag), err)
		}
		if err := remote.Tag(r.Tag(tag), desc, ro...); err != nil {
			return moved, fmt.Errorf("tagging %s: %w", r.Tag(tag), err)
		}
		moved = append(moved, tag)
	}
	return moved, nil
}

// FormatValue renders a rank value for logs and tags.
func FormatValue(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
