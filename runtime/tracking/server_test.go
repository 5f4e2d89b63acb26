package tracking

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// These tests talk to the real MLflow server started by TestMain (or named
// by MLFLOW_TRACKING_URI).

func TestServerExperimentGetOrCreate(t *testing.T) {
	c := serverClient(t, DefaultOptions())
	ctx := t.Context()
	name := uniqueName(t, "exp")

	if _, err := c.GetExperimentByName(ctx, name); !IsNotFound(err) {
		t.Fatalf("GetExperimentByName(missing) = %v, want a not-found error", err)
	}
	id1, err := c.GetOrCreateExperiment(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	id2, err := c.GetOrCreateExperiment(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if id1 == "" || id1 != id2 {
		t.Fatalf("get-or-create twice gave %q and %q, want the same id", id1, id2)
	}
	if _, err := c.CreateExperiment(ctx, name, nil); !IsAlreadyExists(err) {
		t.Fatalf("CreateExperiment(existing) = %v, want an already-exists error", err)
	}

	// Concurrent callers of a new name all get one id.
	race := uniqueName(t, "race")
	ids := make([]string, 6)
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() { ids[i], errs[i] = c.GetOrCreateExperiment(ctx, race) })
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil {
			t.Fatalf("concurrent get-or-create %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("concurrent get-or-create gave ids %v, want one id", ids)
		}
	}
	exp, err := c.GetExperiment(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if exp.Name != race {
		t.Fatalf("experiment %s is named %q, want %q", ids[0], exp.Name, race)
	}
}

func newExperiment(t *testing.T, c *Client) string {
	t.Helper()
	id, err := c.GetOrCreateExperiment(t.Context(), uniqueName(t, "exp"))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestServerEnsureRunIdempotent(t *testing.T) {
	c := serverClient(t, DefaultOptions())
	ctx := t.Context()
	exp := newExperiment(t, c)
	trial := fmt.Sprintf("%064x", time.Now().UnixNano())

	r1, created1, err := c.EnsureRun(ctx, exp, trial, map[string]string{"parak8s.experiment": "ecg"})
	if err != nil {
		t.Fatal(err)
	}
	r2, created2, err := c.EnsureRun(ctx, exp, trial, map[string]string{"parak8s.experiment": "ecg"})
	if err != nil {
		t.Fatal(err)
	}
	if !created1 || created2 {
		t.Errorf("created = %v then %v, want true then false", created1, created2)
	}
	if r1.Info.RunID != r2.Info.RunID {
		t.Fatalf("EnsureRun twice gave runs %s and %s", r1.Info.RunID, r2.Info.RunID)
	}
	runs, err := c.FindTrialRuns(ctx, exp, trial)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 {
		t.Fatalf("trial has %d runs, want 1", len(runs))
	}
	got, err := c.GetRun(ctx, r1.Info.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := got.Tag(TagTrial); v != trial {
		t.Errorf("tag %s = %q, want %q", TagTrial, v, trial)
	}
	if v, _ := got.Tag("parak8s.experiment"); v != "ecg" {
		t.Errorf("tag parak8s.experiment = %q, want ecg", v)
	}
	if got.Info.RunName != trial || got.Info.Status != RunRunning {
		t.Errorf("run name %q status %s, want %q RUNNING", got.Info.RunName, got.Info.Status, trial)
	}
	if !strings.HasPrefix(got.Info.ArtifactURI, "mlflow-artifacts:") {
		t.Errorf("artifact uri %q: the test server should proxy artifacts", got.Info.ArtifactURI)
	}

	// Another trial in the same experiment is another run.
	other, _, err := c.EnsureRun(ctx, exp, trial+"x", nil)
	if err != nil {
		t.Fatal(err)
	}
	if other.Info.RunID == r1.Info.RunID {
		t.Fatal("a different trial got the same run")
	}

	// A duplicate made behind EnsureRun's back (later start time) is not
	// chosen: the oldest run wins.
	if _, err := c.CreateRun(ctx, exp, CreateRunOptions{Tags: map[string]string{TagTrial: trial}, StartTime: time.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	r3, created3, err := c.EnsureRun(ctx, exp, trial, nil)
	if err != nil {
		t.Fatal(err)
	}
	if created3 || r3.Info.RunID != r1.Info.RunID {
		t.Fatalf("with a later duplicate, EnsureRun = %s (created %v), want %s", r3.Info.RunID, created3, r1.Info.RunID)
	}

	// Finish the run.
	end := time.Now()
	info, err := c.UpdateRun(ctx, r1.Info.RunID, RunFinished, end)
	if err != nil {
		t.Fatal(err)
	}
	if info.Status != RunFinished || int64(info.EndTime) != end.UnixMilli() {
		t.Fatalf("after update: status %s end %d, want FINISHED %d", info.Status, info.EndTime, end.UnixMilli())
	}
	if err := c.SetTag(ctx, r1.Info.RunID, "parak8s.note", "done"); err != nil {
		t.Fatal(err)
	}
	got, err = c.GetRun(ctx, r1.Info.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := got.Tag("parak8s.note"); v != "done" || got.Info.Status != RunFinished {
		t.Fatalf("after set-tag: tag %q status %s", v, got.Info.Status)
	}
	if _, err := c.GetRun(ctx, "0123456789abcdef0123456789abcdef"); !IsNotFound(err) {
		t.Fatalf("GetRun(missing) = %v, want not found", err)
	}
}

func TestServerEnsureRunConcurrent(t *testing.T) {
	c := serverClient(t, DefaultOptions())
	ctx := t.Context()
	exp := newExperiment(t, c)
	trial := fmt.Sprintf("%064x", time.Now().UnixNano())
	// Sequential-after-concurrent: whatever the racers did, one active run
	// remains once they are done and a later EnsureRun returns it.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { _, _, errs[i] = c.EnsureRun(ctx, exp, trial, nil) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	runs, err := c.FindTrialRuns(ctx, exp, trial)
	if err != nil {
		t.Fatal(err)
	}
	// Concurrent first creates are best-effort (see the package doc); log
	// what happened rather than assert it.
	t.Logf("4 concurrent EnsureRun calls left %d active run(s)", len(runs))
	r, created, err := c.EnsureRun(ctx, exp, trial, nil)
	if err != nil {
		t.Fatal(err)
	}
	if created || r.Info.RunID != runs[0].Info.RunID {
		t.Fatalf("EnsureRun after the race = %s (created %v), want the oldest %s", r.Info.RunID, created, runs[0].Info.RunID)
	}
}

func TestServerLogBatchChunked(t *testing.T) {
	c := serverClient(t, DefaultOptions())
	ctx := t.Context()
	exp := newExperiment(t, c)
	run, _, err := c.EnsureRun(ctx, exp, fmt.Sprintf("batch-%d", time.Now().UnixNano()), nil)
	if err != nil {
		t.Fatal(err)
	}
	id := run.Info.RunID

	const keys, steps = 5, 500 // 2,500 metric points
	base := time.Now().Add(-time.Hour).UnixMilli()
	var b Batch
	for k := range keys {
		for s := range steps {
			b.Metrics = append(b.Metrics, Metric{
				Key: fmt.Sprintf("m%d", k), Value: Float(float64(k) + float64(s)/1000),
				Step: Int64(s), Timestamp: Int64(base + int64(s)),
			})
		}
	}
	b.Metrics = append(b.Metrics,
		Metric{Key: "special", Value: Float(math.NaN()), Step: 0, Timestamp: Int64(base)},
		Metric{Key: "special", Value: Float(math.Inf(1)), Step: 1, Timestamp: Int64(base)},
		Metric{Key: "special", Value: Float(math.Inf(-1)), Step: 2, Timestamp: Int64(base)},
	)
	params := map[string]string{}
	for i := range 250 {
		params[fmt.Sprintf("cfg.p%03d", i)] = fmt.Sprintf("v%d", i*7)
	}
	b.Params = ParamsFromMap(params)
	b.Tags = TagsFromMap(map[string]string{"parak8s.kind": "batch-test"})

	chunks, err := c.planBatch(id, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(chunks) != 3 {
		t.Errorf("2503 metrics + 250 params + 1 tag planned as %d calls, want 3", len(chunks))
	}
	t0 := time.Now()
	if err := c.LogBatch(ctx, id, b); err != nil {
		t.Fatal(err)
	}
	t.Logf("log-batch of %d metrics, %d params, %d tags in %d calls: %s", len(b.Metrics), len(b.Params), len(b.Tags), len(chunks), time.Since(t0).Round(time.Millisecond))

	t0 = time.Now()
	for k := range keys {
		key := fmt.Sprintf("m%d", k)
		hist, err := c.GetMetricHistory(ctx, id, key)
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) != steps {
			t.Fatalf("history of %s has %d points, want %d", key, len(hist), steps)
		}
		slices.SortFunc(hist, func(a, b Metric) int { return int(a.Step - b.Step) })
		for s, m := range hist {
			want := float64(k) + float64(s)/1000
			if int(m.Step) != s || float64(m.Value) != want || int64(m.Timestamp) != base+int64(s) {
				t.Fatalf("%s[%d] = step %d value %v ts %d, want step %d value %v ts %d", key, s, m.Step, m.Value, m.Timestamp, s, want, base+int64(s))
			}
		}
	}
	t.Logf("read back %d metric histories: %s", keys, time.Since(t0).Round(time.Millisecond))
	hist, err := c.GetMetricHistory(ctx, id, "special")
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(hist, func(a, b Metric) int { return int(a.Step - b.Step) })
	// MLflow's SQL store keeps NaN but clamps ±Inf to ±math.MaxFloat64.
	if len(hist) != 3 || !math.IsNaN(float64(hist[0].Value)) || float64(hist[1].Value) != math.MaxFloat64 || float64(hist[2].Value) != -math.MaxFloat64 {
		t.Fatalf("special values read back as %+v, want NaN, +MaxFloat64, -MaxFloat64", hist)
	}

	got, err := c.GetRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Data.Params) != 250 {
		t.Fatalf("run has %d params, want 250", len(got.Data.Params))
	}
	for k, v := range params {
		if g, ok := got.Param(k); !ok || g != v {
			t.Fatalf("param %s = %q (%v), want %q", k, g, ok, v)
		}
	}
	if m, ok := got.Metric("m4"); !ok || int(m.Step) != steps-1 {
		t.Fatalf("latest m4 = %+v (%v), want step %d", m, ok, steps-1)
	}
	if v, _ := got.Tag("parak8s.kind"); v != "batch-test" {
		t.Fatalf("tag parak8s.kind = %q", v)
	}

	// Logging the same params again is accepted (same values).
	if err := c.LogParams(ctx, id, params); err != nil {
		t.Fatalf("re-logging the same params: %v", err)
	}
	// A changed param value is refused by the server (params are immutable).
	if err := c.LogParams(ctx, id, map[string]string{"cfg.p000": "changed"}); err == nil {
		t.Fatal("changing a param value succeeded, want an error")
	}
}

func TestServerParamTruncation(t *testing.T) {
	long := strings.Repeat("abcdefghij", 700) // 7000 ASCII characters
	wide := strings.Repeat("é€𝄞", 2400)       // 7200 code points, 2–4 bytes each
	short := strings.Repeat("x", 6000)        // exactly the limit
	tests := []struct {
		name   string
		limit  int // Options.ParamValueLimit; 0 = default
		value  string
		expect int // code points read back
	}{
		{"default limit ascii", 0, long, 6000},
		{"default limit multibyte", 0, wide, 6000},
		{"at the limit", 0, short, 6000},
		{"client limit below the server's", 100, long, 100},
		{"client limit multibyte", 101, wide, 101},
	}
	c0 := serverClient(t, DefaultOptions())
	exp := newExperiment(t, c0)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := DefaultOptions()
			if tc.limit > 0 {
				opts.ParamValueLimit = tc.limit
			}
			c := serverClient(t, opts)
			ctx := t.Context()
			run, err := c.CreateRun(ctx, exp, CreateRunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.LogParams(ctx, run.Info.RunID, map[string]string{"v": tc.value}); err != nil {
				t.Fatal(err)
			}
			got, err := c.GetRun(ctx, run.Info.RunID)
			if err != nil {
				t.Fatal(err)
			}
			v, _ := got.Param("v")
			if n := utf8.RuneCountInString(v); n != tc.expect || !strings.HasPrefix(tc.value, v) {
				t.Fatalf("read back %d code points (prefix of the value: %v), want %d", n, strings.HasPrefix(tc.value, v), tc.expect)
			}
		})
	}
	// Keys over 250 characters are refused before anything is sent.
	run, err := c0.CreateRun(t.Context(), exp, CreateRunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = c0.LogBatch(t.Context(), run.Info.RunID, Batch{Params: []Param{{Key: "ok", Value: "1"}, {Key: strings.Repeat("k", 251), Value: "1"}}})
	if err == nil || !strings.Contains(err.Error(), "more than 250") {
		t.Fatalf("long key: err = %v", err)
	}
	got, err := c0.GetRun(t.Context(), run.Info.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Data.Params) != 0 {
		t.Fatalf("a refused batch logged %d params", len(got.Data.Params))
	}
}

// writeTree writes a directory of files for the artifact tests and returns
// its contents by slash path.
func writeTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	big := make([]byte, 3<<20+17)
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	files := map[string][]byte{
		"MLmodel":                  []byte("artifact_path: model\nflavors: {}\n"),
		"weights.bin":              big,
		"empty":                    {},
		"sub/dir/config.json":      []byte(`{"lr": 0.001}`),
		"sub/with space é.txt":     []byte("unicode name\n"),
		"sub/dir/deeper/100%.data": bytes.Repeat([]byte{0, 1, 2, 255}, 1000),
	}
	for p, b := range files {
		f := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	got := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		got[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestServerArtifactsRoundTrip(t *testing.T) {
	c := serverClient(t, DefaultOptions())
	ctx := t.Context()
	exp := newExperiment(t, c)
	run, _, err := c.EnsureRun(ctx, exp, fmt.Sprintf("art-%d", time.Now().UnixNano()), nil)
	if err != nil {
		t.Fatal(err)
	}
	uri := run.Info.ArtifactURI

	src := t.TempDir()
	files := writeTree(t, src)
	var total int64
	for _, b := range files {
		total += int64(len(b))
	}
	t0 := time.Now()
	st, err := c.UploadDir(ctx, uri, src, "model")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("uploaded %d files, %d bytes in %s", st.Files, st.Bytes, time.Since(t0).Round(time.Millisecond))
	if st.Files != len(files) || st.Bytes != total {
		t.Fatalf("upload stats %+v, want %d files %d bytes", st, len(files), total)
	}
	if err := c.UploadFile(ctx, uri, filepath.Join(src, "MLmodel"), "single/MLmodel.copy"); err != nil {
		t.Fatal(err)
	}

	top, err := c.ListArtifacts(ctx, uri, "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range top {
		names = append(names, fmt.Sprintf("%s dir=%v", f.Path, f.IsDir))
	}
	slices.Sort(names)
	if want := []string{"model dir=true", "single dir=true"}; !slices.Equal(names, want) {
		t.Fatalf("root listing %v, want %v", names, want)
	}

	dst := t.TempDir()
	t0 = time.Now()
	dst1 := filepath.Join(dst, "model")
	st, err = c.DownloadDir(ctx, uri, "model", dst1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("downloaded %d files, %d bytes in %s", st.Files, st.Bytes, time.Since(t0).Round(time.Millisecond))
	got := readTree(t, dst1)
	if len(got) != len(files) {
		t.Fatalf("downloaded %d files, want %d: %v", len(got), len(files), slices.Sorted(mapsKeys(got)))
	}
	for p, want := range files {
		if !bytes.Equal(got[p], want) {
			t.Fatalf("%s: downloaded %d bytes, differ from the %d uploaded", p, len(got[p]), len(want))
		}
	}
	one := filepath.Join(dst, "one")
	if err := c.DownloadFile(ctx, uri, "single/MLmodel.copy", one); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(one); !bytes.Equal(b, files["MLmodel"]) {
		t.Fatalf("single file round trip: got %q", b)
	}
	t0 = time.Now()
	if err := c.DownloadFile(ctx, uri, "model/no-such-file", filepath.Join(dst, "x")); !IsNotFound(err) || IsTransient(err) {
		t.Fatalf("downloading a missing artifact: %v, want a final not-found error", err)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("a missing artifact took %s: it was retried", d)
	}
	if _, err := os.Stat(filepath.Join(dst, "x")); !os.IsNotExist(err) {
		t.Fatalf("a failed download left a file: %v", err)
	}
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestServerModelRegistry(t *testing.T) {
	c := serverClient(t, DefaultOptions())
	ctx := t.Context()
	exp := newExperiment(t, c)
	name := uniqueName(t, "model")

	var runs []*Run
	var sources []string
	for i := range 2 {
		run, _, err := c.EnsureRun(ctx, exp, fmt.Sprintf("reg-%d-%d", i, time.Now().UnixNano()), nil)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "MLmodel"), []byte(fmt.Sprintf("run: %d\n", i)), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := c.UploadDir(ctx, run.Info.ArtifactURI, dir, "model"); err != nil {
			t.Fatal(err)
		}
		src, err := ArtifactSource(run.Info.ArtifactURI, "model")
		if err != nil {
			t.Fatal(err)
		}
		runs, sources = append(runs, run), append(sources, src)
	}

	if _, err := c.GetRegisteredModel(ctx, name); !IsNotFound(err) {
		t.Fatalf("GetRegisteredModel(missing) = %v, want not found", err)
	}
	m1, err := c.GetOrCreateRegisteredModel(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := c.GetOrCreateRegisteredModel(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if m1.Name != name || m2.Name != name {
		t.Fatalf("registered model names %q %q", m1.Name, m2.Name)
	}

	mv, created, err := c.RegisterModel(ctx, RegisterOptions{Name: name, Source: sources[0], RunID: runs[0].Info.RunID, Alias: "champion", Tags: map[string]string{"parak8s.trial": "t0"}})
	if err != nil {
		t.Fatal(err)
	}
	if !created || mv.Status != VersionReady || mv.Version != "1" || mv.RunID != runs[0].Info.RunID || mv.Source != sources[0] {
		t.Fatalf("first registration: created %v, version %+v", created, mv)
	}
	again, created, err := c.RegisterModel(ctx, RegisterOptions{Name: name, Source: sources[0], RunID: runs[0].Info.RunID, Alias: "champion"})
	if err != nil {
		t.Fatal(err)
	}
	if created || again.Version != mv.Version {
		t.Fatalf("re-registering the same run: created %v version %s, want the existing version %s", created, again.Version, mv.Version)
	}
	byAlias, err := c.GetModelVersionByAlias(ctx, name, "champion")
	if err != nil {
		t.Fatal(err)
	}
	if byAlias.Version != "1" || byAlias.Source != sources[0] || !slices.Contains(byAlias.Aliases, "champion") {
		t.Fatalf("champion = %+v, want version 1 from %s", byAlias, sources[0])
	}

	// A second run's model becomes version 2; moving the alias follows it.
	v2, err := c.CreateModelVersion(ctx, name, sources[1], runs[1].Info.RunID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v2, err = c.WaitModelVersionReady(ctx, name, v2.Version); err != nil {
		t.Fatal(err)
	}
	if v2.Version != "2" {
		t.Fatalf("second version is %q, want 2", v2.Version)
	}
	if err := c.SetAlias(ctx, name, "champion", v2.Version); err != nil {
		t.Fatal(err)
	}
	byAlias, err = c.GetModelVersionByAlias(ctx, name, "champion")
	if err != nil {
		t.Fatal(err)
	}
	if byAlias.Version != "2" || byAlias.RunID != runs[1].Info.RunID {
		t.Fatalf("champion after moving = version %s run %s, want 2 %s", byAlias.Version, byAlias.RunID, runs[1].Info.RunID)
	}
	// The source resolves to downloadable artifacts.
	dl := t.TempDir()
	if _, err := c.DownloadDir(ctx, runs[1].Info.ArtifactURI, "model", dl); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dl, "MLmodel")); string(b) != "run: 1\n" {
		t.Fatalf("model of version 2 reads %q", b)
	}
	if _, err := c.GetModelVersionByAlias(ctx, name, "no-such-alias"); !IsNotFound(err) {
		t.Fatalf("getting a missing alias: %v, want a not-found error", err)
	}
	if _, err := c.GetModelVersionByAlias(ctx, name+"-missing", "champion"); !IsNotFound(err) {
		t.Fatalf("getting an alias of a missing model: %v, want a not-found error", err)
	}
}

func TestServerContextCancel(t *testing.T) {
	c := serverClient(t, DefaultOptions())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.GetOrCreateExperiment(ctx, uniqueName(t, "x")); err == nil || IsTransient(err) {
		t.Fatalf("with a canceled context: %v, want a non-transient error", err)
	}
}
