package tracking

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fault tests: the only tests that use a fake server, to make the failures
// a real server does not make on demand.

// sleepRecorder records the waits of a client instead of sleeping.
type sleepRecorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleepRecorder) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

func faultClient(t *testing.T, uri string, attempts int, rec *sleepRecorder) *Client {
	t.Helper()
	opts := DefaultOptions()
	opts.MaxAttempts = attempts
	opts.BaseBackoff = 100 * time.Millisecond
	opts.MaxBackoff = 1 * time.Second
	opts.Timeout = 2 * time.Second
	opts.Sleep = rec.sleep
	c, err := New(Config{TrackingURI: uri}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// script answers the i-th request with statuses[i] (the last one repeats).
type script struct {
	mu       sync.Mutex
	statuses []int
	headers  map[string]string // sent with error answers
	calls    int
	bodies   []string
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	i := min(s.calls, len(s.statuses)-1)
	s.calls++
	s.bodies = append(s.bodies, string(b))
	s.mu.Unlock()
	status := s.statuses[i]
	w.Header().Set("Content-Type", "application/json")
	if status >= 300 {
		for k, v := range s.headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		code := map[int]string{400: CodeInvalidParameterValue, 404: CodeResourceDoesNotExist, 409: CodeResourceAlreadyExists}[status]
		if code == "" {
			code = CodeInternalError
		}
		fmt.Fprintf(w, `{"error_code": %q, "message": "scripted %d"}`, code, status)
		return
	}
	fmt.Fprint(w, `{"experiment": {"experiment_id": "7", "name": "e", "lifecycle_stage": "active"}}`)
}

func TestRetryTransientThenSuccess(t *testing.T) {
	tests := []struct {
		name     string
		statuses []int
		calls    int
	}{
		{"500 then ok", []int{500, 200}, 2},
		{"502 503 504 then ok", []int{502, 503, 504, 200}, 4},
		{"429 then ok", []int{429, 200}, 2},
		{"ok at once", []int{200}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &script{statuses: tc.statuses}
			srv := httptest.NewServer(s)
			defer srv.Close()
			rec := &sleepRecorder{}
			c := faultClient(t, srv.URL, 5, rec)
			exp, err := c.GetExperimentByName(t.Context(), "e")
			if err != nil {
				t.Fatal(err)
			}
			if exp.ExperimentID != "7" {
				t.Fatalf("experiment id %q", exp.ExperimentID)
			}
			if s.calls != tc.calls {
				t.Fatalf("%d calls, want %d", s.calls, tc.calls)
			}
			waits := rec.got()
			if len(waits) != tc.calls-1 {
				t.Fatalf("%d waits, want %d", len(waits), tc.calls-1)
			}
			// Exponential backoff with equal jitter: wait n in [b/2, b],
			// b = 100ms·2^(n-1).
			for n, w := range waits {
				b := 100 * time.Millisecond << n
				if w < b/2 || w > b {
					t.Errorf("wait %d = %s, want within [%s, %s]", n+1, w, b/2, b)
				}
			}
		})
	}
}

func TestBackoffGrowsAndCaps(t *testing.T) {
	tests := []struct {
		name   string
		jitter float64
		want   []time.Duration // waits after attempts 1..n
	}{
		{"no jitter draws the low end", 0, []time.Duration{50, 100, 200, 400, 500, 500}},
		{"full jitter draws near the top", 0.999999, []time.Duration{100, 200, 400, 800, 1000, 1000}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := DefaultOptions()
			opts.BaseBackoff, opts.MaxBackoff = 100*time.Millisecond, time.Second
			opts.Jitter = func() float64 { return tc.jitter }
			c, err := New(Config{TrackingURI: "http://127.0.0.1:1"}, opts)
			if err != nil {
				t.Fatal(err)
			}
			for n, w := range tc.want {
				got := c.backoff(n+1, nil)
				if d := got - w*time.Millisecond; d < -time.Millisecond || d > time.Millisecond {
					t.Errorf("backoff after attempt %d = %s, want %s", n+1, got, w*time.Millisecond)
				}
			}
		})
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	s := &script{statuses: []int{429, 200}, headers: map[string]string{"Retry-After": "3"}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	rec := &sleepRecorder{}
	opts := DefaultOptions()
	opts.Sleep, opts.BaseBackoff, opts.MaxBackoff = rec.sleep, 100*time.Millisecond, 10*time.Second
	c, err := New(Config{TrackingURI: srv.URL}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetExperimentByName(t.Context(), "e"); err != nil {
		t.Fatal(err)
	}
	if w := rec.got(); len(w) != 1 || w[0] != 3*time.Second {
		t.Fatalf("waits %v, want [3s] from Retry-After", w)
	}
}

func TestPermanentErrorsNotRetried(t *testing.T) {
	tests := []struct {
		status    int
		notFound  bool
		exists    bool
		transient bool
	}{
		{400, false, false, false},
		{401, false, false, false},
		{403, false, false, false},
		{404, true, false, false},
		{409, false, true, false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			s := &script{statuses: []int{tc.status, 200}}
			srv := httptest.NewServer(s)
			defer srv.Close()
			rec := &sleepRecorder{}
			c := faultClient(t, srv.URL, 5, rec)
			_, err := c.GetExperimentByName(t.Context(), "e")
			if err == nil {
				t.Fatal("no error")
			}
			if s.calls != 1 || len(rec.got()) != 0 {
				t.Fatalf("%d calls and %d waits for http %d, want 1 and 0", s.calls, len(rec.got()), tc.status)
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.StatusCode != tc.status || ae.Message != fmt.Sprintf("scripted %d", tc.status) {
				t.Fatalf("error %v is not the server's APIError", err)
			}
			if IsNotFound(err) != tc.notFound || IsAlreadyExists(err) != tc.exists || IsTransient(err) != tc.transient {
				t.Fatalf("IsNotFound %v IsAlreadyExists %v IsTransient %v for %v", IsNotFound(err), IsAlreadyExists(err), IsTransient(err), err)
			}
			if !strings.Contains(err.Error(), `getting experiment "e"`) || !strings.Contains(err.Error(), "/api/2.0/mlflow/experiments/get-by-name") {
				t.Fatalf("error does not say what was done: %v", err)
			}
		})
	}
}

func TestExhaustedAttempts(t *testing.T) {
	s := &script{statuses: []int{503}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	rec := &sleepRecorder{}
	c := faultClient(t, srv.URL, 4, rec)
	_, err := c.GetExperimentByName(t.Context(), "e")
	var re *RetryError
	if !errors.As(err, &re) || re.Attempts != 4 || s.calls != 4 || len(rec.got()) != 3 {
		t.Fatalf("err %v after %d calls, %d waits; want a RetryError after 4 attempts", err, s.calls, len(rec.got()))
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 503 {
		t.Fatalf("the last attempt's APIError is not kept: %v", err)
	}
}

func TestConnectionRefusedGivesUp(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	rec := &sleepRecorder{}
	c := faultClient(t, "http://"+addr, 3, rec)
	_, _, err = c.EnsureRun(t.Context(), "1", "trial", nil)
	if err == nil {
		t.Fatal("no error from a closed port")
	}
	if !IsTransient(err) {
		t.Fatalf("IsTransient = false for %v", err)
	}
	msg := err.Error()
	t.Logf("error: %s", msg)
	for _, want := range []string{"giving up after 3 attempts", "POST http://" + addr + "/api/2.0/mlflow/runs/search", "connection refused", "trial"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
	if w := rec.got(); len(w) != 2 {
		t.Fatalf("%d waits, want 2 between 3 attempts", len(w))
	}
}

func TestCanceledDuringBackoff(t *testing.T) {
	s := &script{statuses: []int{500}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	ctx, cancel := context.WithCancel(t.Context())
	opts := DefaultOptions()
	opts.BaseBackoff = time.Hour
	opts.MaxBackoff = time.Hour
	opts.Sleep = func(ctx context.Context, d time.Duration) error {
		cancel()
		return sleepCtx(ctx, d)
	}
	c, err := New(Config{TrackingURI: srv.URL}, opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetExperimentByName(ctx, "e")
	if !errors.Is(err, context.Canceled) || IsTransient(err) || s.calls != 1 {
		t.Fatalf("err %v after %d calls, want context.Canceled after 1", err, s.calls)
	}
}

func TestUploadRetryResendsBody(t *testing.T) {
	s := &script{statuses: []int{503, 200}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	rec := &sleepRecorder{}
	c := faultClient(t, srv.URL, 3, rec)
	f := filepath.Join(t.TempDir(), "w.bin")
	want := strings.Repeat("weights ", 10000)
	if err := os.WriteFile(f, []byte(want), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.UploadFile(t.Context(), "mlflow-artifacts:/1/abc/artifacts", f, "model/w.bin"); err != nil {
		t.Fatal(err)
	}
	if s.calls != 2 || s.bodies[0] != want || s.bodies[1] != want {
		t.Fatalf("%d calls; bodies of %d and %d bytes, want 2 calls with %d bytes each", s.calls, len(s.bodies[0]), len(s.bodies[len(s.bodies)-1]), len(want))
	}
}

func TestAttemptTimeoutIsRetried(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 1 {
			select { // hang past the client's per-attempt timeout
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		fmt.Fprint(w, `{"experiment": {"experiment_id": "9"}}`)
	}))
	defer srv.Close()
	rec := &sleepRecorder{}
	opts := DefaultOptions()
	opts.Sleep, opts.Timeout = rec.sleep, 200*time.Millisecond
	c, err := New(Config{TrackingURI: srv.URL}, opts)
	if err != nil {
		t.Fatal(err)
	}
	exp, err := c.GetExperimentByName(t.Context(), "e")
	if err != nil || exp.ExperimentID != "9" || calls != 2 {
		t.Fatalf("exp %+v err %v after %d calls, want id 9 after 2", exp, err, calls)
	}
}

// TestSetAliasLostRace: two publishers setting a new alias at once make
// MLflow's SQL store break its unique key for the slower one; SetAlias tries
// again (the row exists then) and gives up after aliasAttempts. Other 400s
// are not retried.
func TestSetAliasLostRace(t *testing.T) {
	const sqlite = "(sqlite3.IntegrityError) UNIQUE constraint failed: registered_model_aliases.name, registered_model_aliases.alias"
	const postgres = `(psycopg2.errors.UniqueViolation) duplicate key value violates unique constraint "registered_model_alias_pk"`
	tests := []struct {
		name    string
		answers []string // error messages, "" for success; the last repeats
		calls   int
		wantErr bool
	}{
		{"sqlite race then ok", []string{sqlite, ""}, 2, false},
		{"postgres race then ok", []string{postgres, ""}, 2, false},
		{"always racing", []string{sqlite}, aliasAttempts, true},
		{"other bad request", []string{"Registered model alias name is invalid"}, 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			calls := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				msg := tc.answers[min(calls, len(tc.answers)-1)]
				calls++
				mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				if msg != "" {
					w.WriteHeader(http.StatusBadRequest)
					fmt.Fprintf(w, `{"error_code": "BAD_REQUEST", "message": %q}`, msg)
					return
				}
				fmt.Fprint(w, `{}`)
			}))
			defer srv.Close()
			c := faultClient(t, srv.URL, 5, &sleepRecorder{})
			err := c.SetAlias(t.Context(), "ecg", "champion", "3")
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if calls != tc.calls {
				t.Fatalf("%d calls, want %d", calls, tc.calls)
			}
		})
	}
}
