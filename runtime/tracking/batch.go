package tracking

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Per-call limits of runs/log-batch (mlflow/utils/validation.py).
const (
	MaxMetricsPerBatch  = 1000
	MaxParamsPerBatch   = 100
	MaxTagsPerBatch     = 100
	MaxEntitiesPerBatch = 1000
	// MaxKeyLength is the longest metric, param or tag key.
	MaxKeyLength = 250
)

// Batch is what one LogBatch call records; it may be any size.
type Batch struct {
	Metrics []Metric
	Params  []Param
	Tags    []Tag
}

// ParamsFromMap returns params sorted by key.
func ParamsFromMap(m map[string]string) []Param {
	out := make([]Param, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, Param{Key: k, Value: m[k]})
	}
	return out
}

// TagsFromMap returns tags sorted by key.
func TagsFromMap(m map[string]string) []Tag { return tagList(m) }

type batchBody struct {
	RunID   string   `json:"run_id"`
	Metrics []Metric `json:"metrics,omitempty"`
	Params  []Param  `json:"params,omitempty"`
	Tags    []Tag    `json:"tags,omitempty"`
}

// LogBatch records metrics, params and tags on a run, split into as few
// runs/log-batch calls as the server's limits allow. Param and tag values
// are truncated to ParamValueLimit and TagValueLimit; keys are checked
// before anything is sent. A param key given twice with different values is
// an error (MLflow params are immutable). Calls are made in order, params
// first; when one fails, the ones before it have been recorded, and
// repeating the whole LogBatch is safe for params and tags (same values)
// but appends metric points again.
func (c *Client) LogBatch(ctx context.Context, runID string, b Batch) error {
	chunks, err := c.planBatch(runID, b)
	if err != nil {
		return fmt.Errorf("logging batch to run %s: %w", runID, err)
	}
	for i, ch := range chunks {
		if err := c.do(ctx, request{
			method: "POST", path: apiPrefix + "/runs/log-batch",
			body: bytesBody(ch.body), contentType: "application/json",
		}); err != nil {
			return fmt.Errorf("logging batch to run %s: call %d of %d (%d metrics, %d params, %d tags): %w",
				runID, i+1, len(chunks), ch.metrics, ch.params, ch.tags, err)
		}
	}
	return nil
}

type chunk struct {
	body                  []byte
	metrics, params, tags int
}

// planBatch validates, truncates and splits a batch into request bodies.
func (c *Client) planBatch(runID string, b Batch) ([]chunk, error) {
	params := make([]Param, 0, len(b.Params))
	seen := make(map[string]string, len(b.Params))
	for _, p := range b.Params {
		if err := checkKey("param", p.Key); err != nil {
			return nil, err
		}
		v := truncate(p.Value, c.opts.ParamValueLimit)
		if prev, ok := seen[p.Key]; ok {
			if prev != v {
				return nil, fmt.Errorf("param %q given twice with different values", p.Key)
			}
			continue
		}
		seen[p.Key] = v
		params = append(params, Param{Key: p.Key, Value: v})
	}
	tags := make([]Tag, 0, len(b.Tags))
	for _, t := range b.Tags {
		if err := checkKey("tag", t.Key); err != nil {
			return nil, err
		}
		tags = append(tags, Tag{Key: t.Key, Value: truncate(t.Value, c.opts.TagValueLimit)})
	}
	for _, m := range b.Metrics {
		if err := checkKey("metric", m.Key); err != nil {
			return nil, err
		}
	}
	metrics := b.Metrics

	// Entity sizes for the byte budget (JSON of each entity plus a comma).
	size := func(v any) int { j, _ := json.Marshal(v); return len(j) + 1 }
	overhead := size(batchBody{RunID: runID}) + len(`,"metrics":[],"params":[],"tags":[]`)
	budget := c.opts.MaxBatchBytes - overhead
	if budget <= 0 {
		return nil, fmt.Errorf("MaxBatchBytes %d is too small", c.opts.MaxBatchBytes)
	}

	var out []chunk
	pi, ti, mi := 0, 0, 0
	for pi < len(params) || ti < len(tags) || mi < len(metrics) {
		cur := batchBody{RunID: runID}
		fill := packer{budget: budget, size: size}
		cur.Params = pack(&fill, cur.Params, params, &pi, MaxParamsPerBatch)
		cur.Tags = pack(&fill, cur.Tags, tags, &ti, MaxTagsPerBatch)
		cur.Metrics = pack(&fill, cur.Metrics, metrics, &mi, MaxMetricsPerBatch)
		body, err := json.Marshal(cur)
		if err != nil {
			return nil, fmt.Errorf("encoding batch: %w", err)
		}
		out = append(out, chunk{body: body, metrics: len(cur.Metrics), params: len(cur.Params), tags: len(cur.Tags)})
	}
	return out, nil
}

// packer tracks how full one log-batch call is: entities and JSON bytes.
type packer struct {
	used, n, budget int
	size            func(any) int
}

// pack moves entities from src[*i:] into dst while the batch has room: at
// most limit of this kind, MaxEntitiesPerBatch in all, and the byte budget
// (the first entity of a call always goes in).
func pack[T any](p *packer, dst, src []T, i *int, limit int) []T {
	for *i < len(src) && len(dst) < limit && p.n < MaxEntitiesPerBatch {
		sz := p.size(src[*i])
		if p.n > 0 && p.used+sz > p.budget {
			break
		}
		dst = append(dst, src[*i])
		p.used, p.n, *i = p.used+sz, p.n+1, *i+1
	}
	return dst
}

// LogMetric records one metric point.
func (c *Client) LogMetric(ctx context.Context, runID string, m Metric) error {
	return c.LogBatch(ctx, runID, Batch{Metrics: []Metric{m}})
}

// LogParams records params (see LogBatch for truncation and splitting).
func (c *Client) LogParams(ctx context.Context, runID string, params map[string]string) error {
	return c.LogBatch(ctx, runID, Batch{Params: ParamsFromMap(params)})
}

// GetMetricHistory returns every recorded point of a metric of a run, in
// the server's order (by step, then timestamp for the SQL stores).
func (c *Client) GetMetricHistory(ctx context.Context, runID, key string) ([]Metric, error) {
	q := url.Values{"run_id": {runID}, "metric_key": {key}}
	var all []Metric
	for {
		var out struct {
			Metrics       []Metric `json:"metrics"`
			NextPageToken string   `json:"next_page_token"`
		}
		if err := c.call(ctx, "GET", apiPrefix+"/metrics/get-history", q, nil, &out); err != nil {
			return nil, fmt.Errorf("getting history of metric %q of run %s: %w", key, runID, err)
		}
		all = append(all, out.Metrics...)
		if out.NextPageToken == "" || len(out.Metrics) == 0 {
			return all, nil
		}
		q.Set("page_token", out.NextPageToken)
	}
}

// checkKey rejects keys the server would refuse.
func checkKey(kind, key string) error {
	if key == "" {
		return fmt.Errorf("empty %s key", kind)
	}
	if n := utf8.RuneCountInString(key); n > MaxKeyLength {
		return fmt.Errorf("%s key %.40q… is %d characters long, more than %d", kind, key, n, MaxKeyLength)
	}
	return nil
}

// truncate cuts s to at most limit Unicode code points (MLflow counts
// Python str length).
func truncate(s string, limit int) string {
	if limit <= 0 || len(s) <= limit {
		return s // len in bytes >= code points
	}
	n := 0
	for i := range s {
		if n == limit {
			return s[:i]
		}
		n++
	}
	return s
}

// Flatten turns a nested config (as decoded from JSON, or built from maps,
// slices and scalars) into params: one key per leaf, path elements joined
// with dots, list elements by index ("layers.0.units"). Scalars are written
// as JSON would write them, except strings, which are kept as they are;
// floats with an integer value are written without exponent or fraction
// ("1000000", not "1e+06"). Empty maps and lists become "{}" and "[]", nil
// becomes "null", so no key is lost.
func Flatten(config map[string]any) map[string]string {
	out := map[string]string{}
	if len(config) > 0 {
		flattenInto(out, "", reflect.ValueOf(config))
	}
	return out
}

func flattenInto(out map[string]string, prefix string, v reflect.Value) {
	for v.IsValid() && (v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer) {
		if v.IsNil() {
			out[prefix] = "null"
			return
		}
		v = v.Elem()
	}
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	if !v.IsValid() {
		out[prefix] = "null"
		return
	}
	if n, ok := v.Interface().(json.Number); ok {
		out[prefix] = n.String()
		return
	}
	switch v.Kind() {
	case reflect.Map:
		if v.Len() == 0 {
			out[prefix] = "{}"
			return
		}
		keys := v.MapKeys()
		type kv struct {
			k string
			v reflect.Value
		}
		entries := make([]kv, 0, len(keys))
		for _, k := range keys {
			entries = append(entries, kv{fmt.Sprint(k.Interface()), v.MapIndex(k)})
		}
		slices.SortFunc(entries, func(a, b kv) int { return cmp.Compare(a.k, b.k) })
		for _, e := range entries {
			flattenInto(out, join(e.k), e.v)
		}
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			out[prefix] = string(v.Bytes())
			return
		}
		if v.Len() == 0 {
			out[prefix] = "[]"
			return
		}
		for i := range v.Len() {
			flattenInto(out, join(strconv.Itoa(i)), v.Index(i))
		}
	case reflect.String:
		out[prefix] = v.String()
	case reflect.Bool:
		out[prefix] = strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		out[prefix] = strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		out[prefix] = strconv.FormatUint(v.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		out[prefix] = formatFloat(v.Float(), v.Type().Bits())
	case reflect.Struct:
		// Structs go through their JSON form, so field names match the
		// config's JSON keys.
		b, err := json.Marshal(v.Interface())
		if err != nil {
			out[prefix] = fmt.Sprint(v.Interface())
			return
		}
		var m any
		if json.Unmarshal(b, &m) != nil {
			out[prefix] = string(b)
			return
		}
		flattenInto(out, prefix, reflect.ValueOf(m))
	default:
		out[prefix] = fmt.Sprint(v.Interface())
	}
}

func formatFloat(f float64, bits int) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, bits)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
