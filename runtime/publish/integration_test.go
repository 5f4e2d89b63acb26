package publish

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestRealRegistry pushes to and pulls from a real registry process
// (scripts/registry.sh, or $OCI_REGISTRY): by tag and by digest, a
// byte-equal round trip, the annotations, and a moving tag re-pointed.
func TestRealRegistry(t *testing.T) {
	needRegistry(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	const size = 32 << 20
	dir := makeModelDir(t, size)
	repo := fmt.Sprintf("%s%s/parak8s-test/%d/model", Scheme, realRegistry, time.Now().UnixNano())
	m := sampleModel(dir, trialID(repo))
	m.Created = time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	m.Tags = []string{"ecg-baseline"}

	start := time.Now()
	res, err := PushModel(ctx, repo, m, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	pushTime := time.Since(start)
	checkModelArtifact(t, repo+":"+m.Trial, m)

	want := contents(t, dir)
	var pullTime time.Duration
	for _, ref := range []string{repo + ":" + m.Trial, Scheme + res.Ref, repo + ":ecg-baseline"} {
		out := filepath.Join(t.TempDir(), "model")
		start := time.Now()
		got, err := Pull(ctx, ref, out, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		pullTime = time.Since(start)
		if got.Digest != res.Digest {
			t.Errorf("Pull(%s) digest = %s, want %s", ref, got.Digest, res.Digest)
		}
		if !reflect.DeepEqual(contents(t, out), want) {
			t.Errorf("Pull(%s): the directory differs from the pushed one", ref)
		}
	}
	mb := float64(size) / (1 << 20)
	t.Logf("%.0f MiB model (layer %.1f MiB): push %v (%.0f MiB/s), pull %v (%.0f MiB/s)",
		mb, float64(res.Size)/(1<<20), pushTime.Round(time.Millisecond), mb/pushTime.Seconds(),
		pullTime.Round(time.Millisecond), mb/pullTime.Seconds())

	// pushing again is a no-op with the same digest; a second trial moves the tag
	again, err := PushModel(ctx, repo, m, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if again.Digest != res.Digest {
		t.Errorf("re-push digest %s, want %s", again.Digest, res.Digest)
	}
	dir2 := makeModelDir(t, 1024)
	if err := os.WriteFile(filepath.Join(dir2, "config.json"), []byte(`{"arch":"other"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	m2 := sampleModel(dir2, trialID(repo+"2"))
	m2.Tags = []string{"ecg-baseline"}
	res2, err := PushModel(ctx, repo, m2, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseRef(repo + ":ecg-baseline")
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(r, remote.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	if d.Digest.String() != res2.Digest || res2.Digest == res.Digest {
		t.Errorf("moving tag -> %s, want the second push %s (first %s)", d.Digest, res2.Digest, res.Digest)
	}
	first, err := name.NewTag(r.Context().Name()+":"+m.Trial, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := remote.Head(first, remote.WithContext(ctx)); err != nil || d.Digest.String() != res.Digest {
		t.Errorf("trial tag -> %v, %v; want %s", d, err, res.Digest)
	}

	// data sets the same way
	ds, err := PushDataset(ctx, Dataset{Dir: dir2}, repo+"-data:v1", DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "ds")
	if _, err := Pull(ctx, ds.Ref, out, DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(contents(t, out), contents(t, dir2)) {
		t.Error("the pulled data set differs")
	}
}
