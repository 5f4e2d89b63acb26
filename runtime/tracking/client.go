package tracking

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"parak8s.dev/parak8s/runtime/step"
)

// Config says which server to talk to and how to authenticate.
type Config struct {
	// TrackingURI is the server's base URL (http or https), e.g.
	// http://127.0.0.1:5055 or https://host/mlflow.
	TrackingURI string
	// Token, when set, is sent as "Authorization: Bearer <token>".
	Token string
	// Username and Password, when Token is empty and Username is set, are
	// sent as basic auth.
	Username string
	Password string
	// Experiment is the default experiment name (MLFLOW_EXPERIMENT_NAME);
	// the client itself does not use it.
	Experiment string
}

// ConfigFromEnv reads the configuration from the process environment.
func ConfigFromEnv() (Config, error) { return ConfigFromLookup(os.LookupEnv) }

// ConfigFromLookup reads the configuration through lookup (os.LookupEnv in
// production, a map in tests). MLFLOW_TRACKING_URI is required.
func ConfigFromLookup(lookup func(string) (string, bool)) (Config, error) {
	get := func(k string) string { v, _ := lookup(k); return strings.TrimSpace(v) }
	cfg := Config{
		TrackingURI: get(step.EnvMLflowURI),
		Token:       get(step.EnvMLflowToken),
		Username:    get(step.EnvMLflowUsername),
		Password:    get(step.EnvMLflowPassword),
		Experiment:  get(step.EnvMLflowExperiment),
	}
	if cfg.TrackingURI == "" {
		return Config{}, fmt.Errorf("reading mlflow config: %s is not set", step.EnvMLflowURI)
	}
	if _, err := parseTrackingURI(cfg.TrackingURI); err != nil {
		return Config{}, fmt.Errorf("reading mlflow config: %s: %w", step.EnvMLflowURI, err)
	}
	return cfg, nil
}

// Options tune the client. Start from DefaultOptions.
type Options struct {
	// Timeout bounds one attempt of an API call (the caller's context bounds
	// the whole call, retries included).
	Timeout time.Duration
	// ArtifactTimeout bounds one attempt of an artifact upload or download.
	ArtifactTimeout time.Duration
	// MaxAttempts is how many times a request is sent at most (>= 1).
	MaxAttempts int
	// BaseBackoff and MaxBackoff shape the exponential backoff between
	// attempts (see the package doc).
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// HTTPClient sends the requests; nil means a client of its own.
	HTTPClient *http.Client
	// Sleep waits between attempts and between registry polls; nil means a
	// timer that stops early when ctx is done. Tests inject a recorder.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a number in [0, 1); nil means math/rand/v2.Float64.
	Jitter func() float64
	// ParamValueLimit and TagValueLimit are the longest values, in Unicode
	// code points, sent to the server; longer ones are truncated. 6000 and
	// 8000 for MLflow 2.x; 500 and 5000 for servers before 2.0.
	ParamValueLimit int
	TagValueLimit   int
	// MaxBatchBytes caps the JSON body of one runs/log-batch call (the
	// server refuses more than 1,000,000 bytes).
	MaxBatchBytes int
	// PollInterval is how often a pending model version is polled.
	PollInterval time.Duration
	// RegistrationTimeout bounds the wait for a model version to be READY.
	RegistrationTimeout time.Duration
	// UploadConcurrency is how many files of a directory are uploaded at once.
	UploadConcurrency int
	// UserAgent is sent with every request.
	UserAgent string
}

// DefaultOptions returns the options used in the step programs.
func DefaultOptions() Options {
	return Options{
		Timeout:             30 * time.Second,
		ArtifactTimeout:     10 * time.Minute,
		MaxAttempts:         5,
		BaseBackoff:         250 * time.Millisecond,
		MaxBackoff:          8 * time.Second,
		ParamValueLimit:     6000,
		TagValueLimit:       8000,
		MaxBatchBytes:       900_000,
		PollInterval:        500 * time.Millisecond,
		RegistrationTimeout: 5 * time.Minute,
		UploadConcurrency:   4,
		UserAgent:           "parak8s-tracking",
	}
}

// Client talks to one MLflow tracking server. It is safe for concurrent use.
type Client struct {
	base *url.URL // tracking URI without a trailing slash
	cfg  Config
	opts Options
	hc   *http.Client
}

// New returns a client for cfg. Zero fields of opts are taken from
// DefaultOptions.
func New(cfg Config, opts Options) (*Client, error) {
	base, err := parseTrackingURI(cfg.TrackingURI)
	if err != nil {
		return nil, fmt.Errorf("creating mlflow client: %w", err)
	}
	if base.User != nil {
		// http://user:pass@host: credentials in the URI count as basic
		// auth unless the config names others; they never appear in
		// URLs the client prints.
		if cfg.Token == "" && cfg.Username == "" {
			cfg.Username = base.User.Username()
			cfg.Password, _ = base.User.Password()
		}
		base.User = nil
	}
	d := DefaultOptions()
	orDefault(&opts.Timeout, d.Timeout)
	orDefault(&opts.ArtifactTimeout, d.ArtifactTimeout)
	orDefault(&opts.MaxAttempts, d.MaxAttempts)
	orDefault(&opts.BaseBackoff, d.BaseBackoff)
	orDefault(&opts.MaxBackoff, d.MaxBackoff)
	orDefault(&opts.ParamValueLimit, d.ParamValueLimit)
	orDefault(&opts.TagValueLimit, d.TagValueLimit)
	orDefault(&opts.MaxBatchBytes, d.MaxBatchBytes)
	orDefault(&opts.PollInterval, d.PollInterval)
	orDefault(&opts.RegistrationTimeout, d.RegistrationTimeout)
	orDefault(&opts.UploadConcurrency, d.UploadConcurrency)
	if opts.MaxBackoff < opts.BaseBackoff {
		opts.MaxBackoff = opts.BaseBackoff
	}
	if opts.UserAgent == "" {
		opts.UserAgent = d.UserAgent
	}
	if opts.Sleep == nil {
		opts.Sleep = sleepCtx
	}
	if opts.Jitter == nil {
		opts.Jitter = rand.Float64
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{base: base, cfg: cfg, opts: opts, hc: hc}, nil
}

// NewFromEnv returns a client configured from the environment.
func NewFromEnv(opts Options) (*Client, error) {
	cfg, err := ConfigFromEnv()
	if err != nil {
		return nil, err
	}
	return New(cfg, opts)
}

// TrackingURI returns the server's base URL.
func (c *Client) TrackingURI() string { return c.base.String() }

// Options returns the options in effect (defaults filled in).
func (c *Client) Options() Options { return c.opts }

func parseTrackingURI(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("parsing tracking uri %q: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("tracking uri %q: only http and https servers are supported, not %q", s, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("tracking uri %q has no host", s)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// request is one logical call; do sends it up to MaxAttempts times.
type request struct {
	method string
	// path is the escaped path below the tracking URI, e.g.
	// "/api/2.0/mlflow/runs/get".
	path string
	// base replaces the tracking URI for this request (artifacts served
	// by another host); nil means the tracking URI.
	base  *url.URL
	query url.Values
	// body returns a fresh body for each attempt; nil means none.
	body        func() (io.ReadCloser, int64, error)
	contentType string
	artifact    bool // use ArtifactTimeout
	// handle reads a 2xx response; nil means the body is discarded.
	handle func(*http.Response) error
	// missing reports whether an error answer means "no such thing" though
	// its status says otherwise; such an error is final and wraps
	// ErrNotFound.
	missing func(*APIError) bool
}

func jsonBody(v any) (func() (io.ReadCloser, int64, error), error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding request: %w", err)
	}
	return bytesBody(b), nil
}

func bytesBody(b []byte) func() (io.ReadCloser, int64, error) {
	return func() (io.ReadCloser, int64, error) {
		return io.NopCloser(bytes.NewReader(b)), int64(len(b)), nil
	}
}

func decodeInto(out any) func(*http.Response) error {
	return func(resp *http.Response) error {
		if out == nil {
			_, err := io.Copy(io.Discard, resp.Body)
			return err
		}
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return fmt.Errorf("decoding response: %w", err)
		}
		return nil
	}
}

// endpointURL is the request URL without query, for errors.
func (c *Client) endpointURL(base *url.URL, path string) string {
	if base == nil {
		base = c.base
	}
	u := *base
	u.User = nil
	return u.String() + path
}

// call sends a JSON API request: POST/PATCH with in as the body, GET/DELETE
// with query, and decodes the answer into out.
func (c *Client) call(ctx context.Context, method, path string, query url.Values, in, out any) error {
	r := request{method: method, path: path, query: query, handle: decodeInto(out)}
	if in != nil {
		b, err := jsonBody(in)
		if err != nil {
			return fmt.Errorf("mlflow %s %s: %w", method, path, err)
		}
		r.body, r.contentType = b, "application/json"
	}
	return c.do(ctx, r)
}

func (c *Client) do(ctx context.Context, r request) error {
	endpoint := c.endpointURL(r.base, r.path)
	var last error
	for attempt := 1; attempt <= c.opts.MaxAttempts; attempt++ {
		if attempt > 1 {
			if err := c.opts.Sleep(ctx, c.backoff(attempt-1, last)); err != nil {
				return fmt.Errorf("mlflow %s %s: waiting to retry after attempt %d (%v): %w", r.method, endpoint, attempt-1, last, err)
			}
		}
		retry, err := c.attempt(ctx, r, endpoint)
		if err == nil {
			return nil
		}
		if !retry {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("mlflow %s %s: %w (attempt %d: %v)", r.method, endpoint, ctx.Err(), attempt, err)
		}
		last = err
	}
	return &RetryError{Method: r.method, URL: endpoint, Attempts: c.opts.MaxAttempts, Err: last}
}

// retryAfter carries a server's Retry-After with a transient error.
type retryAfter struct {
	error
	after time.Duration
}

func (e retryAfter) Unwrap() error { return e.error }

// backoff is the wait after the n-th failed attempt.
func (c *Client) backoff(n int, last error) time.Duration {
	b := c.opts.BaseBackoff
	for i := 1; i < n && b < c.opts.MaxBackoff; i++ {
		b *= 2
	}
	b = min(b, c.opts.MaxBackoff)
	d := b/2 + time.Duration(c.opts.Jitter()*float64(b/2))
	var ra retryAfter
	if errors.As(last, &ra) && ra.after > d {
		d = min(ra.after, c.opts.MaxBackoff)
	}
	return d
}

// attempt sends r once. It reports whether a failure is worth retrying.
func (c *Client) attempt(ctx context.Context, r request, endpoint string) (retry bool, err error) {
	timeout := c.opts.Timeout
	if r.artifact {
		timeout = c.opts.ArtifactTimeout
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	base := c.base
	if r.base != nil {
		base = r.base
	}
	u := *base
	if err := setEscapedPath(&u, base.EscapedPath()+r.path); err != nil {
		return false, fmt.Errorf("mlflow %s %s: %w", r.method, endpoint, err)
	}
	if len(r.query) > 0 {
		u.RawQuery = r.query.Encode()
	}
	u.User = nil
	var body io.ReadCloser
	var size int64
	if r.body != nil {
		body, size, err = r.body()
		if err != nil {
			return false, fmt.Errorf("mlflow %s %s: opening request body: %w", r.method, endpoint, err)
		}
	}
	req, err := http.NewRequestWithContext(actx, r.method, u.String(), body)
	if err != nil {
		if body != nil {
			body.Close()
		}
		return false, fmt.Errorf("mlflow %s %s: building request: %w", r.method, endpoint, err)
	}
	if body != nil {
		req.ContentLength = size
		if size == 0 {
			// 0 with a body would mean "unknown length" (chunked).
			body.Close()
			req.Body, req.GetBody = http.NoBody, nil
		}
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	req.Header.Set("User-Agent", c.opts.UserAgent)
	switch {
	case c.cfg.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	case c.cfg.Username != "":
		req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	}

	resp, err := c.hc.Do(req)
	if err != nil {
		// Connection refused/reset, DNS, per-attempt timeout: all transient
		// unless the caller's own context is done.
		return ctx.Err() == nil, fmt.Errorf("sending request: %w", err)
	}
	defer func() {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if r.handle == nil {
			return false, nil
		}
		if err := r.handle(resp); err != nil {
			if ctx.Err() == nil && actx.Err() != nil {
				// The attempt timed out while reading the body.
				return true, err
			}
			return false, fmt.Errorf("mlflow %s %s: %w", r.method, endpoint, err)
		}
		return false, nil
	}
	apiErr := readAPIError(resp, r.method, endpoint)
	if r.missing != nil && r.missing(apiErr) {
		return false, fmt.Errorf("%w: %w", ErrNotFound, apiErr)
	}
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		var e error = apiErr
		if s := resp.Header.Get("Retry-After"); s != "" {
			if secs, perr := strconv.Atoi(s); perr == nil && secs > 0 {
				e = retryAfter{error: apiErr, after: time.Duration(secs) * time.Second}
			}
		}
		return true, e
	}
	return false, apiErr
}

func readAPIError(resp *http.Response, method, endpoint string) *APIError {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &APIError{Method: method, URL: endpoint, StatusCode: resp.StatusCode}
	var body struct {
		ErrorCode string `json:"error_code"`
		Message   string `json:"message"`
	}
	if json.Unmarshal(b, &body) == nil && (body.ErrorCode != "" || body.Message != "") {
		e.Code, e.Message = body.ErrorCode, body.Message
		return e
	}
	msg := strings.TrimSpace(string(b))
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	e.Message = msg
	return e
}

// setEscapedPath sets u's path from an escaped path.
func setEscapedPath(u *url.URL, escaped string) error {
	p, err := url.PathUnescape(escaped)
	if err != nil {
		return fmt.Errorf("unescaping path %q: %w", escaped, err)
	}
	u.Path, u.RawPath = p, escaped
	return nil
}

// orDefault replaces a zero or negative setting with its default.
func orDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}
