package tracking

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"parak8s.dev/parak8s/runtime/step"
)

func TestFlatten(t *testing.T) {
	var decoded map[string]any
	if err := json.Unmarshal([]byte(`{"model": {"layers": [{"units": 64}, {"units": 1e6}], "act": "relu", "dropout": 0.1},
		"train": {"lr": 0.001, "epochs": 10, "amp": true, "tags": [], "extra": {}, "seed": null}}`), &decoded); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   map[string]any
		want map[string]string
	}{
		{"decoded json", decoded, map[string]string{
			"model.layers.0.units": "64", "model.layers.1.units": "1000000", "model.act": "relu", "model.dropout": "0.1",
			"train.lr": "0.001", "train.epochs": "10", "train.amp": "true", "train.tags": "[]", "train.extra": "{}", "train.seed": "null",
		}},
		{"go values", map[string]any{
			"a": map[string]int{"x": 1, "y": -2}, "b": []string{"p", "q"}, "c": float32(0.5), "d": uint8(7),
			"e": json.Number("3.25"), "f": struct {
				Name string `json:"name"`
				N    int    `json:"n"`
			}{"s", 3}, "g": 1e20, "h": math.NaN(),
		}, map[string]string{
			"a.x": "1", "a.y": "-2", "b.0": "p", "b.1": "q", "c": "0.5", "d": "7", "e": "3.25", "f.name": "s", "f.n": "3",
			"g": "1e+20", "h": "NaN",
		}},
		{"empty", map[string]any{}, map[string]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Flatten(tc.in)
			if !maps.Equal(got, tc.want) {
				t.Fatalf("Flatten =\n%v\nwant\n%v", got, tc.want)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in    string
		limit int
		want  string
	}{
		{"abcdef", 3, "abc"},
		{"abc", 3, "abc"},
		{"ab", 3, "ab"},
		{"éé€€𝄞", 3, "éé€"},
		{"éé", 2, "éé"}, // 4 bytes, 2 code points: no cut
		{"x", 0, "x"},
	}
	for _, tc := range tests {
		if got := truncate(tc.in, tc.limit); got != tc.want || !utf8.ValidString(got) {
			t.Errorf("truncate(%q, %d) = %q, want %q", tc.in, tc.limit, got, tc.want)
		}
	}
}

func TestPlanBatch(t *testing.T) {
	metrics := func(n int) []Metric {
		out := make([]Metric, n)
		for i := range out {
			out[i] = Metric{Key: fmt.Sprintf("m%d", i%7), Value: Float(i), Step: Int64(i), Timestamp: 1}
		}
		return out
	}
	params := func(n, size int) []Param {
		out := make([]Param, n)
		for i := range out {
			out[i] = Param{Key: fmt.Sprintf("p%d", i), Value: strings.Repeat("v", size)}
		}
		return out
	}
	tags := func(n, size int) []Tag {
		out := make([]Tag, n)
		for i := range out {
			out[i] = Tag{Key: fmt.Sprintf("t%d", i), Value: strings.Repeat("v", size)}
		}
		return out
	}
	tests := []struct {
		name  string
		batch Batch
		calls int
	}{
		{"empty", Batch{}, 0},
		{"1000 metrics", Batch{Metrics: metrics(1000)}, 1},
		{"1001 metrics", Batch{Metrics: metrics(1001)}, 2},
		{"2500 metrics 250 params", Batch{Metrics: metrics(2500), Params: params(250, 10)}, 3},
		{"100 params 100 tags 900 metrics", Batch{Metrics: metrics(900), Params: params(100, 5), Tags: tags(100, 5)}, 2},
		{"101 tags", Batch{Tags: tags(101, 1)}, 2},
		// 100 tags of 8000 characters are 800 kB; with 100 params of 6000
		// (600 kB) the byte cap splits what the count limits allow.
		{"large values split by bytes", Batch{Params: params(100, 6000), Tags: tags(100, 8000)}, 2},
		{"huge values truncated then split", Batch{Params: params(300, 20000)}, 3},
	}
	c, err := New(Config{TrackingURI: "http://127.0.0.1:1"}, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			chunks, err := c.planBatch("r1", tc.batch)
			if err != nil {
				t.Fatal(err)
			}
			if len(chunks) != tc.calls {
				t.Fatalf("%d calls, want %d", len(chunks), tc.calls)
			}
			var m, p, g int
			for i, ch := range chunks {
				var body batchBody
				if err := json.Unmarshal(ch.body, &body); err != nil {
					t.Fatal(err)
				}
				if body.RunID != "r1" || len(body.Metrics) != ch.metrics || len(body.Params) != ch.params || len(body.Tags) != ch.tags {
					t.Fatalf("call %d: body does not match its counts", i)
				}
				if ch.metrics > MaxMetricsPerBatch || ch.params > MaxParamsPerBatch || ch.tags > MaxTagsPerBatch ||
					ch.metrics+ch.params+ch.tags > MaxEntitiesPerBatch || len(ch.body) > 1_000_000 {
					t.Fatalf("call %d over a limit: %d metrics %d params %d tags %d bytes", i, ch.metrics, ch.params, ch.tags, len(ch.body))
				}
				for _, pp := range body.Params {
					if utf8.RuneCountInString(pp.Value) > 6000 {
						t.Fatalf("param value of %d characters sent", len(pp.Value))
					}
				}
				m, p, g = m+ch.metrics, p+ch.params, g+ch.tags
			}
			if m != len(tc.batch.Metrics) || p != len(tc.batch.Params) || g != len(tc.batch.Tags) {
				t.Fatalf("sent %d/%d/%d, want %d/%d/%d", m, p, g, len(tc.batch.Metrics), len(tc.batch.Params), len(tc.batch.Tags))
			}
		})
	}
	bad := []struct {
		name  string
		batch Batch
		want  string
	}{
		{"empty key", Batch{Params: []Param{{Key: "", Value: "x"}}}, "empty param key"},
		{"long metric key", Batch{Metrics: []Metric{{Key: strings.Repeat("k", 251)}}}, "more than 250"},
		{"conflicting param", Batch{Params: []Param{{Key: "a", Value: "1"}, {Key: "a", Value: "2"}}}, "different values"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := c.planBatch("r1", tc.batch); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	// The same param twice with the same value is sent once.
	chunks, err := c.planBatch("r1", Batch{Params: []Param{{Key: "a", Value: "1"}, {Key: "a", Value: "1"}}})
	if err != nil || len(chunks) != 1 || chunks[0].params != 1 {
		t.Fatalf("duplicate equal param: %v %+v", err, chunks)
	}
}

func TestResolveArtifactURI(t *testing.T) {
	tests := []struct {
		tracking, artifact, path string
		want                     string // URL, or "error: <substring>"
	}{
		{"http://127.0.0.1:5055", "mlflow-artifacts:/1/abc/artifacts", "model/w.bin",
			"http://127.0.0.1:5055/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/model/w.bin"},
		{"https://ml.example/mlflow/", "mlflow-artifacts:/1/abc/artifacts", "a b/%.txt",
			"https://ml.example/mlflow/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/a%20b/%25.txt"},
		{"http://127.0.0.1:5055", "mlflow-artifacts://other:9000/2/def/artifacts", "x",
			"http://other:9000/api/2.0/mlflow-artifacts/artifacts/2/def/artifacts/x"},
		{"http://127.0.0.1:5055", "https://art.example/p/api/2.0/mlflow-artifacts/artifacts/3/g/artifacts", "m",
			"https://art.example/p/api/2.0/mlflow-artifacts/artifacts/3/g/artifacts/m"},
		{"http://127.0.0.1:5055", "mlflow-artifacts:/1/abc/artifacts", "./model//x/",
			"http://127.0.0.1:5055/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/model/x"},
		{"http://127.0.0.1:5055", "s3://bucket/1/abc/artifacts", "m", "error: --serve-artifacts"},
		{"http://127.0.0.1:5055", "/tmp/mlruns/1/abc/artifacts", "m", "error: local path"},
		{"http://127.0.0.1:5055", "mlflow-artifacts:/1/abc/artifacts", "../../etc/passwd", "error: leaves"},
		{"http://127.0.0.1:5055", "mlflow-artifacts:/1/abc/artifacts", "/etc/passwd", "error: absolute"},
	}
	for _, tc := range tests {
		c, err := New(Config{TrackingURI: tc.tracking}, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.ArtifactURL(tc.artifact, tc.path)
		if want, ok := strings.CutPrefix(tc.want, "error: "); ok {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("ArtifactURL(%q, %q) = %q, %v; want an error with %q", tc.artifact, tc.path, got, err, want)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ArtifactURL(%q, %q) = %q, %v; want %q", tc.artifact, tc.path, got, err, tc.want)
		}
	}
	src, err := ArtifactSource("mlflow-artifacts:/1/abc/artifacts", "model")
	if err != nil || src != "mlflow-artifacts:/1/abc/artifacts/model" {
		t.Fatalf("ArtifactSource = %q, %v", src, err)
	}
}

func TestConfigFromLookup(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want Config
		err  string
	}{
		{"uri only", map[string]string{step.EnvMLflowURI: "http://h:5000/"}, Config{TrackingURI: "http://h:5000/"}, ""},
		{"all", map[string]string{step.EnvMLflowURI: "https://h", step.EnvMLflowToken: "tok", step.EnvMLflowUsername: "u",
			step.EnvMLflowPassword: "p", step.EnvMLflowExperiment: "ecg"},
			Config{TrackingURI: "https://h", Token: "tok", Username: "u", Password: "p", Experiment: "ecg"}, ""},
		{"missing", map[string]string{}, Config{}, "MLFLOW_TRACKING_URI is not set"},
		{"file store", map[string]string{step.EnvMLflowURI: "file:///tmp/mlruns"}, Config{}, "only http and https"},
		{"databricks", map[string]string{step.EnvMLflowURI: "databricks"}, Config{}, "only http and https"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ConfigFromLookup(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// roundTripFunc captures requests without a server.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestAuthHeaders(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"token", Config{Token: "abc"}, "Bearer abc"},
		{"token wins over basic", Config{Token: "abc", Username: "u", Password: "p"}, "Bearer abc"},
		{"basic", Config{Username: "u", Password: "p"}, "Basic dTpw"},
		{"none", Config{}, ""},
		{"userinfo in the uri", Config{TrackingURI: "https://u:p@h/prefix"}, "Basic dTpw"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got, path string
			opts := DefaultOptions()
			opts.HTTPClient = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				got, path = r.Header.Get("Authorization"), r.URL.String()
				return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(`{"experiment":{"experiment_id":"1"}}`)), Header: http.Header{}}, nil
			})}
			if tc.cfg.TrackingURI == "" {
				tc.cfg.TrackingURI = "https://h/prefix"
			}
			c, err := New(tc.cfg, opts)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.GetExperimentByName(t.Context(), "a b"); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("Authorization = %q, want %q", got, tc.want)
			}
			if want := "https://h/prefix/api/2.0/mlflow/experiments/get-by-name?experiment_name=a+b"; path != want {
				t.Fatalf("url %q, want %q", path, want)
			}
		})
	}
}

func TestJSONNumbers(t *testing.T) {
	var m Metric
	if err := json.Unmarshal([]byte(`{"key":"k","value":"NaN","timestamp":"1700000000000","step":3}`), &m); err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(float64(m.Value)) || m.Timestamp != 1700000000000 || m.Step != 3 {
		t.Fatalf("decoded %+v", m)
	}
	b, err := json.Marshal([]Metric{{Key: "a", Value: Float(math.Inf(-1))}, {Key: "b", Value: 0.25}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `[{"key":"a","value":"-Infinity","timestamp":0,"step":0},{"key":"b","value":0.25,"timestamp":0,"step":0}]`; string(b) != want {
		t.Fatalf("encoded %s, want %s", b, want)
	}
}

func TestTrialFilter(t *testing.T) {
	tests := []struct {
		id, want string
	}{
		{"abc123", "tags.`parak8s.trial` = 'abc123'"},
		{"", "error"},
		{"a'b", "error"},
	}
	for _, tc := range tests {
		got, err := TrialFilter(tc.id)
		if (err != nil) != (tc.want == "error") || (err == nil && got != tc.want) {
			t.Errorf("TrialFilter(%q) = %q, %v; want %q", tc.id, got, err, tc.want)
		}
	}
}
