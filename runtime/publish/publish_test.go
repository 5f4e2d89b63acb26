package publish

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// newRegistry starts go-containerregistry's in-process registry and returns its host:port.
func newRegistry(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

func trialID(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// makeModelDir writes a small model directory: nested dirs, an empty file,
// an empty dir, an executable and size bytes of pseudo-random weights.
func makeModelDir(t testing.TB, size int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "model")
	rng := rand.New(rand.NewPCG(1, 2))
	weights := make([]byte, size)
	for i := range weights {
		weights[i] = byte(rng.Uint32())
	}
	files := map[string][]byte{
		"weights.bin":             weights,
		"config.json":             []byte(`{"arch":"resnet18","classes":2}`),
		"tokenizer/vocab.txt":     []byte("a\nb\nc\n"),
		"tokenizer/deep/x/y.json": []byte(`[]`),
		"EMPTY":                   nil,
	}
	for p, b := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "run.sh"), []byte("#!/bin/sh\necho hi\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "empty-dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

type entry struct {
	mode    fs.FileMode
	content string
}

// contents maps every path under dir to its type, executable bit and bytes.
func contents(t testing.TB, dir string) map[string]entry {
	t.Helper()
	m := map[string]entry{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		e := entry{mode: info.Mode().Type() | info.Mode().Perm()&0o100}
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			e.content = string(b)
		}
		m[filepath.ToSlash(rel)] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sampleModel(dir, trial string) Model {
	return Model{
		Dir:        dir,
		Trial:      trial,
		Experiment: "ecg-baseline",
		Metrics:    map[string]float64{"loss": 0.125, "accuracy": 0.9},
		Dataset:    "sha256:" + trialID("data"),
		Image:      "ghcr.io/parak8s/step@sha256:" + trialID("image"),
		MLflowRun:  "0123abcd",
	}
}

func TestPushModelReproducible(t *testing.T) {
	ctx := context.Background()
	host := newRegistry(t)
	dir := makeModelDir(t, 64<<10)
	m := sampleModel(dir, trialID("a"))
	first, err := PushModel(ctx, Scheme+host+"/models/ecg", m, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}

	// a copy elsewhere, with other times and permissions, to another repository
	cp := filepath.Join(t.TempDir(), "copy")
	copyDir(t, dir, cp)
	later := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	_ = filepath.WalkDir(cp, func(p string, d fs.DirEntry, err error) error {
		if err == nil {
			_ = os.Chtimes(p, later, later)
			if !d.IsDir() && !strings.HasSuffix(p, ".sh") {
				_ = os.Chmod(p, 0o640)
			}
		}
		return err
	})
	same := m
	same.Dir = cp
	second, err := PushModel(ctx, host+"/other/repo", same, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if first.Digest != second.Digest {
		t.Fatalf("the same directory gave digests %s and %s", first.Digest, second.Digest)
	}

	changed := func(f func(m *Model)) string {
		m2 := same
		f(&m2)
		res, err := PushModel(ctx, host+"/models/ecg", m2, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		return res.Digest
	}
	tests := []struct {
		name   string
		change func(m *Model)
	}{
		{"created", func(m *Model) { m.Created = later }},
		{"metrics", func(m *Model) { m.Metrics = map[string]float64{"loss": 0.5} }},
		{"content", func(m *Model) {
			if err := os.WriteFile(filepath.Join(cp, "config.json"), []byte(`{}`), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		if d := changed(tt.change); d == first.Digest {
			t.Errorf("changing the %s kept digest %s", tt.name, d)
		}
	}
}

func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(target, info.Mode().Perm())
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkModelArtifact checks the manifest and config of a pushed model.
func checkModelArtifact(t *testing.T, ref string, m Model) {
	t.Helper()
	r, err := ParseRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(r)
	if err != nil {
		t.Fatal(err)
	}
	var mf v1.Manifest
	if err := json.Unmarshal(desc.Manifest, &mf); err != nil {
		t.Fatal(err)
	}
	if desc.MediaType != types.OCIManifestSchema1 || mf.ArtifactType != ModelConfigMediaType ||
		mf.Config.MediaType != ModelConfigMediaType || len(mf.Layers) != 1 || mf.Layers[0].MediaType != ModelLayerMediaType {
		t.Errorf("manifest %s: media type %s, artifactType %q, config %q, layers %+v", ref, desc.MediaType, mf.ArtifactType, mf.Config.MediaType, mf.Layers)
	}
	created := "1970-01-01T00:00:00Z"
	if !m.Created.IsZero() {
		created = m.Created.UTC().Format(time.RFC3339)
	}
	want := map[string]string{
		AnnotationTrial:      m.Trial,
		AnnotationExperiment: m.Experiment,
		AnnotationMetrics:    `{"accuracy":0.9,"loss":0.125}`,
		AnnotationDataset:    m.Dataset,
		AnnotationImage:      m.Image,
		AnnotationMLflowRun:  m.MLflowRun,
		AnnotationCreated:    created,
	}
	if !reflect.DeepEqual(mf.Annotations, want) {
		t.Errorf("annotations = %v\nwant %v", mf.Annotations, want)
	}
}

func TestPushPullModel(t *testing.T) {
	ctx := context.Background()
	host := newRegistry(t)
	dir := makeModelDir(t, 256<<10)
	m := sampleModel(dir, trialID("trial-1"))
	m.Tags = []string{"ecg-baseline", "best"}
	res, err := PushModel(ctx, host+"/models/ecg", m, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.Ref, host+"/models/ecg@sha256:") || res.Ref != host+"/models/ecg@"+res.Digest {
		t.Errorf("Ref = %q, digest %q", res.Ref, res.Digest)
	}
	if !reflect.DeepEqual(res.Tags, []string{m.Trial, "ecg-baseline", "best"}) {
		t.Errorf("Tags = %v", res.Tags)
	}
	checkModelArtifact(t, host+"/models/ecg:"+m.Trial, m)
	want := contents(t, dir)

	for _, ref := range []string{Scheme + host + "/models/ecg:" + m.Trial, Scheme + res.Ref, host + "/models/ecg:best"} {
		t.Run(ref, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "pulled", "model")
			got, err := Pull(ctx, ref, out, DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			if got.Digest != res.Digest || got.MediaType != ModelConfigMediaType ||
				got.Annotations[AnnotationTrial] != m.Trial || !reflect.DeepEqual(got.Config, res.Config) {
				t.Errorf("Pull() = %+v\npush gave %+v", got, res)
			}
			if c := contents(t, out); !reflect.DeepEqual(c, want) {
				t.Errorf("pulled directory differs:\n got %v\nwant %v", keys(c), keys(want))
			}
			// nothing left beside it
			if es, _ := os.ReadDir(filepath.Dir(out)); len(es) != 1 {
				t.Errorf("pull left %d entries beside the directory", len(es))
			}
		})
	}

	// an empty existing directory is fine, a non-empty one is not
	empty := t.TempDir()
	if _, err := Pull(ctx, res.Ref, empty, DefaultOptions()); err != nil {
		t.Errorf("Pull() into an empty directory: %v", err)
	}
	if _, err := Pull(ctx, res.Ref, empty, DefaultOptions()); err == nil || !strings.Contains(err.Error(), "is not empty") {
		t.Errorf("Pull() into a non-empty directory: error = %v", err)
	}
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestMovingTag(t *testing.T) {
	ctx := context.Background()
	host := newRegistry(t)
	repo := host + "/models/ecg"
	a := sampleModel(makeModelDir(t, 1024), trialID("a"))
	a.Tags = []string{"ecg-baseline", "best"}
	resA, err := PushModel(ctx, repo, a, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	b := sampleModel(makeModelDir(t, 2048), trialID("b"))
	b.Tags = []string{"ecg-baseline"}
	resB, err := PushModel(ctx, repo, b, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if resA.Digest == resB.Digest {
		t.Fatal("two different models have the same digest")
	}
	for tag, want := range map[string]string{
		"ecg-baseline": resB.Digest, "best": resA.Digest, a.Trial: resA.Digest, b.Trial: resB.Digest,
	} {
		ref, err := name.NewTag(repo + ":" + tag)
		if err != nil {
			t.Fatal(err)
		}
		d, err := remote.Head(ref)
		if err != nil {
			t.Fatal(err)
		}
		if d.Digest.String() != want {
			t.Errorf("tag %s -> %s, want %s", tag, d.Digest, want)
		}
	}
}

func TestPushDataset(t *testing.T) {
	ctx := context.Background()
	host := newRegistry(t)
	dir := makeModelDir(t, 4096)
	d := Dataset{Dir: dir, Annotations: map[string]string{"dev.parak8s.data.key": "k1"}}
	res, err := PushDataset(ctx, d, Scheme+host+"/data/ecg:k1", DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	again, err := PushDataset(ctx, d, host+"/data/ecg:k1-again", DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest != again.Digest {
		t.Errorf("the same data set gave versions %s and %s", res.Digest, again.Digest)
	}
	out := filepath.Join(t.TempDir(), "ds")
	got, err := Pull(ctx, res.Ref, out, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if got.MediaType != DatasetConfigMediaType || got.Config.Kind != KindDataset ||
		got.Annotations["dev.parak8s.data.key"] != "k1" || got.Annotations[AnnotationCreated] != "1970-01-01T00:00:00Z" {
		t.Errorf("Pull() = %+v", got)
	}
	if !reflect.DeepEqual(contents(t, out), contents(t, dir)) {
		t.Error("pulled data set differs")
	}
	r, _ := ParseRef(res.Ref)
	desc, err := remote.Get(r)
	if err != nil {
		t.Fatal(err)
	}
	var mf v1.Manifest
	if err := json.Unmarshal(desc.Manifest, &mf); err != nil {
		t.Fatal(err)
	}
	if mf.ArtifactType != DatasetConfigMediaType || mf.Layers[0].MediaType != DatasetLayerMediaType {
		t.Errorf("data set manifest: artifactType %q, layer %q", mf.ArtifactType, mf.Layers[0].MediaType)
	}
}

func TestPushErrors(t *testing.T) {
	ctx := context.Background()
	host := newRegistry(t)
	good := makeModelDir(t, 16)
	withLink := makeModelDir(t, 16)
	if err := os.Symlink("config.json", filepath.Join(withLink, "link")); err != nil {
		t.Fatal(err)
	}
	aFile := filepath.Join(good, "config.json")
	tests := []struct {
		name   string
		repo   string
		change func(m *Model)
		want   string
	}{
		{"missing dir", host + "/m", func(m *Model) { m.Dir = filepath.Join(good, "nope") }, "no such file"},
		{"file not dir", host + "/m", func(m *Model) { m.Dir = aFile }, "is not a directory"},
		{"empty dir", host + "/m", func(m *Model) { m.Dir = t.TempDir() }, "has no files"},
		{"symlink", host + "/m", func(m *Model) { m.Dir = withLink }, "is a symlink"},
		{"no trial", host + "/m", func(m *Model) { m.Trial = "" }, "trial id and the experiment are required"},
		{"bad trial tag", host + "/m", func(m *Model) { m.Trial = "a/b" }, "not a valid OCI tag"},
		{"long extra tag", host + "/m", func(m *Model) { m.Tags = []string{strings.Repeat("x", 129)} }, "not a valid OCI tag"},
		{"NaN metric", host + "/m", func(m *Model) { m.Metrics = map[string]float64{"loss": math.NaN()} }, "has no NaN"},
		{"repo with tag", host + "/m:latest", nil, "parsing repository"},
		{"other scheme", "https://" + host + "/m", nil, "only the oci:// scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := sampleModel(good, trialID(tt.name))
			if tt.change != nil {
				tt.change(&m)
			}
			_, err := PushModel(ctx, tt.repo, m, DefaultOptions())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("PushModel() error = %v, want one containing %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "pushing model of trial") {
				t.Errorf("error %q does not say what was being done", err)
			}
		})
	}
	if _, err := PushDataset(ctx, Dataset{Dir: good}, host+"/d@sha256:"+trialID("x"), DefaultOptions()); err == nil ||
		!strings.Contains(err.Error(), "not to a digest") {
		t.Errorf("PushDataset() to a digest: error = %v", err)
	}
	// the layer is staged in TempDir and removed afterwards
	tmp := t.TempDir()
	opts := DefaultOptions()
	opts.TempDir = tmp
	if _, err := PushModel(ctx, host+"/m", sampleModel(good, trialID("tmp")), opts); err != nil {
		t.Fatal(err)
	}
	if es, _ := os.ReadDir(tmp); len(es) != 0 {
		t.Errorf("%d staged files left in TempDir", len(es))
	}
}

// pushRaw pushes a hand-made artifact whose layer holds entries and whose
// config lists files.
func pushRaw(t *testing.T, ref string, entries []tarEntry, files []File) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.link}
		if e.typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil && e.typ == tar.TypeReg {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "layer.tar.gz")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	digest, size, err := v1.SHA256(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	l := &fileLayer{path: p, mediaType: ModelLayerMediaType, digest: digest, diffID: digest, size: size}
	img, err := newArtifact(Config{Kind: KindModel, Files: files}, ModelConfigMediaType, l, map[string]string{AnnotationTrial: "x"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
}

type tarEntry struct {
	name, body, link string
	typ              byte
}

func fileOf(p, body string) File {
	sum := sha256.Sum256([]byte(body))
	return File{Path: p, Size: int64(len(body)), Mode: 0o644, Digest: "sha256:" + hex.EncodeToString(sum[:])}
}

func TestPullRejects(t *testing.T) {
	ctx := context.Background()
	host := newRegistry(t)
	plain, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	plainRef, _ := ParseRef(host + "/plain:1")
	if err := remote.Write(plainRef, plain); err != nil {
		t.Fatal(err)
	}
	ociPlain := mutate.ConfigMediaType(mutate.MediaType(plain, types.OCIManifestSchema1), types.OCIConfigJSON)
	ociRef, _ := ParseRef(host + "/plain:oci")
	if err := remote.Write(ociRef, ociPlain); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		entries []tarEntry
		files   []File
		want    string
	}{
		{"escapes", []tarEntry{{name: "../evil", body: "x", typ: tar.TypeReg}}, []File{fileOf("../evil", "x")}, "escapes the directory"},
		{"absolute", []tarEntry{{name: "/etc/evil", body: "x", typ: tar.TypeReg}}, []File{fileOf("/etc/evil", "x")}, "escapes the directory"},
		{"symlink", []tarEntry{{name: "l", link: "/etc/passwd", typ: tar.TypeSymlink}}, nil, "only files and directories"},
		{"content differs", []tarEntry{{name: "a", body: "xy", typ: tar.TypeReg}}, []File{fileOf("a", "xz")}, "the config says"},
		{"unlisted file", []tarEntry{{name: "a", body: "x", typ: tar.TypeReg}}, nil, "not in the config's file list"},
		{"missing file", []tarEntry{{name: "a", body: "x", typ: tar.TypeReg}}, []File{fileOf("a", "x"), fileOf("b", "y")}, `"b" of the config's file list is missing`},
		{"duplicate file", []tarEntry{{name: "a", body: "x", typ: tar.TypeReg}, {name: "a", body: "x", typ: tar.TypeReg}}, []File{fileOf("a", "x")}, "twice"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := fmt.Sprintf("%s/bad:%d", host, i)
			pushRaw(t, ref, tt.entries, tt.files)
			parent := t.TempDir()
			out := filepath.Join(parent, "out")
			_, err := Pull(ctx, ref, out, DefaultOptions())
			if err == nil || !errors.Is(err, errLayout) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Pull() error = %v, want errLayout containing %q", err, tt.want)
			}
			if es, _ := os.ReadDir(parent); len(es) != 0 {
				t.Errorf("a rejected pull left %d entries", len(es))
			}
		})
	}
	for _, tt := range []struct{ ref, want string }{
		{host + "/plain:1", "manifest media type is application/vnd.docker"},
		{host + "/plain:oci", `config media type is "application/vnd.oci.image.config.v1+json"`},
		{host + "/nothing:here", "fetching the manifest"},
		{"ftp://" + host + "/x:y", "only the oci:// scheme"},
	} {
		if _, err := Pull(ctx, tt.ref, filepath.Join(t.TempDir(), "o"), DefaultOptions()); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Pull(%s) error = %v, want one containing %q", tt.ref, err, tt.want)
		}
	}
}

func TestParseRef(t *testing.T) {
	digest := "sha256:" + trialID("d")
	tests := []struct {
		in      string
		want    string
		scheme  string
		wantErr string
	}{
		{in: "oci://127.0.0.1:5075/models/ecg:abc", want: "127.0.0.1:5075/models/ecg:abc", scheme: "http"},
		{in: "oci://localhost:5000/m@" + digest, want: "localhost:5000/m@" + digest, scheme: "http"},
		{in: "oci://[::1]:5000/m:t", want: "[::1]:5000/m:t", scheme: "http"},
		{in: "ghcr.io/org/model:v1", want: "ghcr.io/org/model:v1", scheme: "https"},
		{in: "oci://ghcr.io/org/model", want: "ghcr.io/org/model:latest", scheme: "https"},
		{in: "oci://registry.example.com:5000/m:" + trialID("t"), want: "registry.example.com:5000/m:" + trialID("t"), scheme: "https"},
		{in: "", wantErr: "it is empty"},
		{in: "oci://", wantErr: "it is empty"},
		{in: "https://ghcr.io/m:t", wantErr: "only the oci:// scheme"},
		{in: "oci://ghcr.io/UPPER:t", wantErr: "parsing artifact reference"},
		{in: "oci://ghcr.io/m:" + strings.Repeat("x", 129), wantErr: "parsing artifact reference"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			ref, err := ParseRef(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseRef() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ref.Name(); got != tt.want {
				t.Errorf("ParseRef() = %s, want %s", got, tt.want)
			}
			if got := ref.Context().Scheme(); got != tt.scheme {
				t.Errorf("scheme = %s, want %s", got, tt.scheme)
			}
		})
	}
}

func TestPlainHTTPAndTags(t *testing.T) {
	for reg, want := range map[string]bool{
		"127.0.0.1:5075": true, "127.1.2.3": true, "localhost": true, "localhost:5000": true, "[::1]:5000": true,
		"foo.localhost:80": true, "ghcr.io": false, "localhost.example.com": false,
		// Cluster-internal Services (10.0.0.1 is left to go-containerregistry's own RFC 1918 rule).
		"parak8s-registry.ml.svc.cluster.local:5000": true, "parak8s-registry.ml.svc:5000": true, "reg.local": true,
		"10.0.0.1:5000": false, "svc.example.com": false, "registry.svc.example.com": false,
	} {
		if got := plainHTTP(reg); got != want {
			t.Errorf("plainHTTP(%q) = %v, want %v", reg, got, want)
		}
	}
	for tag, want := range map[string]bool{
		trialID("x"): true, strings.Repeat("a", 128): true, strings.Repeat("a", 129): false,
		"ecg-baseline_v1.2": true, "": false, ".x": false, "-x": false, "a/b": false, "a:b": false,
	} {
		if got := ValidTag(tag); got != want {
			t.Errorf("ValidTag(%q) = %v, want %v", tag, got, want)
		}
	}
}

// TestPushDatasetFiles pushes a list of files: they land under their base
// names, and the artifact is the one their folder alone would give.
func TestPushDatasetFiles(t *testing.T) {
	ctx := context.Background()
	host := newRegistry(t)
	a, b := t.TempDir(), t.TempDir()
	for dir, files := range map[string][]string{a: {"106.hea", "106.dat"}, b: {"106.atr"}} {
		for _, f := range files {
			if err := os.WriteFile(filepath.Join(dir, f), []byte("record "+f), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	files := []string{filepath.Join(a, "106.hea"), filepath.Join(b, "106.atr"), filepath.Join(a, "106.dat")}
	res, err := PushDataset(ctx, Dataset{Files: files}, host+"/data/mitdb:106", DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range res.Config.Files {
		names = append(names, f.Path)
	}
	if want := []string{"106.atr", "106.dat", "106.hea"}; !reflect.DeepEqual(names, want) {
		t.Errorf("files %v, want %v", names, want)
	}
	folder := t.TempDir()
	for _, f := range files {
		copyFile(t, f, filepath.Join(folder, filepath.Base(f)))
	}
	same, err := PushDataset(ctx, Dataset{Dir: folder}, host+"/data/mitdb:folder", DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if same.Digest != res.Digest {
		t.Errorf("files give %s, their folder %s", res.Digest, same.Digest)
	}
	out := filepath.Join(t.TempDir(), "pulled")
	if _, err := Pull(ctx, res.Ref, out, DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(contents(t, out), contents(t, folder)) {
		t.Error("pulled files differ")
	}

	for _, tc := range []struct {
		name  string
		files []string
		want  string
	}{
		{"missing", []string{filepath.Join(a, "106.hea"), filepath.Join(a, "107.hea")}, "107.hea: no such file"},
		{"folder", []string{filepath.Join(a, "106.hea"), b}, "is not a regular file"},
		{"same name", []string{filepath.Join(a, "106.hea"), filepath.Join(folder, "106.hea")}, "have the same name 106.hea"},
	} {
		_, err := PushDataset(ctx, Dataset{Files: tc.files}, host+"/data/x:1", DefaultOptions())
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "pushing data set of 2 files") {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
