package step

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"strings"
)

// IDVersion is mixed into every trial id; change it only with the id recipe.
const IDVersion = "parak8s.trial.v1"

// ShortIDLen is the length of the short trial id used in names.
const ShortIDLen = 12

// TrialID is the content address of a trial: sha256 over the canonical JSON of
// its resolved configuration, the dataset digest (or, when the data set is not
// pinned, its source reference), the image reference (a digest when resolved)
// and the seed. The result is 64 hex digits.
func TrialID(config []byte, dataset, image string, seed int64) string {
	h := sha256.New()
	field := func(b []byte) {
		h.Write([]byte(strconv.Itoa(len(b))))
		h.Write([]byte{':'})
		h.Write(b)
		h.Write([]byte{'\n'})
	}
	field([]byte(IDVersion))
	field(config)
	field([]byte(dataset))
	field([]byte(image))
	field([]byte(strconv.FormatInt(seed, 10)))
	return hex.EncodeToString(h.Sum(nil))
}

// Short returns the short form of a trial id or data key.
func Short(id string) string {
	if len(id) > ShortIDLen {
		return id[:ShortIDLen]
	}
	return id
}

// Canonical returns the canonical JSON of a value decoded from JSON into
// generic maps, slices, strings, float64s, bools and nils: object keys sorted,
// no insignificant space, numbers in Go's shortest form, HTML not escaped.
func Canonical(v any) ([]byte, error) {
	if b, ok := appendCanonical(make([]byte, 0, 256), v); ok {
		return b, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encoding canonical json: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// TrialConfig returns the part of a resolved experiment (as generic JSON) that
// makes up a trial: the experiment's name and the fields a sweep may change.
// A data set pinned by data.source.digest is named by its digest alone: the
// path it sits at is left out (see contentData).
func TrialConfig(experiment map[string]any, roots []string) map[string]any {
	out := make(map[string]any, len(roots))
	for _, r := range roots {
		if v, ok := experiment[r]; ok {
			if d, isMap := v.(map[string]any); isMap && r == "data" {
				v = contentData(d)
			}
			out[r] = v
		}
	}
	return out
}

// contentData returns the data section as content addressing sees it: with
// data.source.digest set, without data.source.path, so that the same bytes
// pushed to another registry, mounted from a claim or copied to a local
// folder give the same data key and trial ids. data is not modified.
func contentData(data map[string]any) map[string]any {
	src, ok := data["source"].(map[string]any)
	if !ok {
		return data
	}
	if d, _ := src["digest"].(string); d == "" {
		return data
	}
	if _, ok := src["path"]; !ok {
		return data
	}
	out := make(map[string]any, len(data))
	for k, v := range data {
		out[k] = v
	}
	s := make(map[string]any, len(src))
	for k, v := range src {
		if k != "path" {
			s[k] = v
		}
	}
	out["source"] = s
	return out
}

// PreparePath reports whether a path into the experiment changes what the
// prepare step produces: data settings other than the loader's and the
// augmentation's (both are applied while training).
func PreparePath(path string) bool {
	return strings.HasPrefix(path, "data.") && !strings.HasPrefix(path, "data.loader.") &&
		!strings.HasPrefix(path, "data.image.augment.") && !strings.HasPrefix(path, "data.signal.augment.")
}

// DataKey is the content address of a data configuration: sha256 over the
// canonical JSON of the data section without what does not change the
// prepared data (see PreparePath), and the dataset reference. Every trial
// with the same data key shares one prepare step.
func DataKey(data map[string]any, dataset string) (string, error) {
	d := make(map[string]any, len(data))
	for k, v := range contentData(data) {
		if k != "loader" {
			d[k] = v
		}
	}
	for _, part := range []string{"image", "signal"} {
		if m, ok := d[part].(map[string]any); ok {
			c := make(map[string]any, len(m))
			for k, v := range m {
				if k != "augment" {
					c[k] = v
				}
			}
			d[part] = c
		}
	}
	b, err := Canonical(d)
	if err != nil {
		return "", fmt.Errorf("computing data key: %w", err)
	}
	h := sha256.New()
	h.Write([]byte("parak8s.data.v1\n"))
	h.Write(b)
	h.Write([]byte{'\n'})
	h.Write([]byte(dataset))
	return hex.EncodeToString(h.Sum(nil)), nil
}

// DatasetRef is what a trial id records for the data set: its digest when the
// spec pins one, else "unpinned:" and the source path.
func DatasetRef(data map[string]any) string {
	src, _ := data["source"].(map[string]any)
	if d, ok := src["digest"].(string); ok && d != "" {
		return d
	}
	if p, ok := src["path"].(string); ok {
		return "unpinned:" + p
	}
	return "unpinned:"
}

// Set replaces the value at a dotted path ("training.optimizer.lr") inside
// generic JSON maps. Every element of the path but the last must exist and be
// an object; the last must exist too, so that a typo never adds a field.
func Set(m map[string]any, path string, v any) error { return set(m, path, v, false) }

// set is Set; with copyPath it replaces each object on the way by a shallow
// copy first, so that objects m shares with another experiment stay as
// they are.
func set(m map[string]any, path string, v any, copyPath bool) error {
	parts := strings.Split(path, ".")
	cur := m
	for i, p := range parts {
		next, ok := cur[p]
		if !ok {
			return fmt.Errorf("setting %q: no field %q", path, strings.Join(parts[:i+1], "."))
		}
		if i == len(parts)-1 {
			cur[p] = v
			return nil
		}
		obj, ok := next.(map[string]any)
		if !ok {
			return fmt.Errorf("setting %q: %q is not an object", path, strings.Join(parts[:i+1], "."))
		}
		if copyPath {
			obj = maps.Clone(obj)
			cur[p] = obj
		}
		cur = obj
	}
	return nil
}

// Get returns the value at a dotted path inside generic JSON maps.
func Get(m map[string]any, path string) (any, bool) {
	var cur any = m
	for _, p := range strings.Split(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// Clone deep-copies generic JSON values.
func Clone(v any) any {
	switch t := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(t))
		for k, e := range t {
			c[k] = Clone(e)
		}
		return c
	case []any:
		c := make([]any, len(t))
		for i, e := range t {
			c[i] = Clone(e)
		}
		return c
	default:
		return v
	}
}

// Override is one swept field of a trial.
type Override struct {
	Path  string `json:"path"`
	Value any    `json:"value"`
}

// Apply returns a deep copy of the experiment with the overrides set, in order.
func Apply(experiment map[string]any, overrides []Override) (map[string]any, error) {
	out := Clone(experiment).(map[string]any)
	for _, o := range overrides {
		if err := Set(out, o.Path, Clone(o.Value)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// FormatSet writes one override as the `--set PATH=JSON` argument value.
func FormatSet(o Override) (string, error) {
	b, err := Canonical(o.Value)
	if err != nil {
		return "", fmt.Errorf("formatting --set %s: %w", o.Path, err)
	}
	return o.Path + "=" + string(b), nil
}

// ParseSet parses a `--set PATH=JSON` argument value.
func ParseSet(s string) (Override, error) {
	path, val, ok := strings.Cut(s, "=")
	if !ok || path == "" {
		return Override{}, fmt.Errorf("parsing --set %q: want PATH=JSON", s)
	}
	for _, p := range strings.Split(path, ".") {
		if p == "" || strings.ContainsAny(p, " \t\n\"'[]{}") {
			return Override{}, fmt.Errorf("parsing --set %q: bad path %q", s, path)
		}
	}
	var v any
	dec := json.NewDecoder(strings.NewReader(val))
	if err := dec.Decode(&v); err != nil {
		return Override{}, fmt.Errorf("parsing --set %q: value is not JSON: %w", s, err)
	}
	if dec.More() {
		return Override{}, fmt.Errorf("parsing --set %q: trailing data after the JSON value", s)
	}
	return Override{Path: path, Value: v}, nil
}
