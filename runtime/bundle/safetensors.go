package bundle

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Tensor data types understood by the safetensors reader and writer.
const (
	DTypeF32 = "F32" // float32, little-endian
	DTypeI64 = "I64" // int64, little-endian
)

// MaxHeaderSize bounds the JSON header of a safetensors file (the limit of
// the reference implementation).
const MaxHeaderSize = 100_000_000

// metadataKey is the reserved header entry holding string metadata.
const metadataKey = "__metadata__"

// Tensor is one named tensor of a safetensors file. Exactly one of F32 and
// I64 holds the data, row-major, as DType says.
type Tensor struct {
	Name  string
	DType string // DTypeF32 or DTypeI64
	Shape []int64
	F32   []float32
	I64   []int64
}

// tensorInfo is a tensor's entry in the JSON header.
type tensorInfo struct {
	DType       string   `json:"dtype"`
	Shape       []int64  `json:"shape"`
	DataOffsets []uint64 `json:"data_offsets"`
}

// dtypeSize returns the bytes per element of a supported dtype, 0 otherwise.
func dtypeSize(dtype string) int {
	switch dtype {
	case DTypeF32:
		return 4
	case DTypeI64:
		return 8
	}
	return 0
}

// numElements returns the product of shape, refusing negative dimensions and
// products that do not fit in an int64.
func numElements(shape []int64) (int64, error) {
	n := int64(1)
	for i, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("dimension %d is %d", i, d)
		}
		if d != 0 && n > math.MaxInt64/d {
			return 0, fmt.Errorf("shape %v has too many elements", shape)
		}
		n *= d
	}
	return n, nil
}

// WriteTensors writes tensors and metadata to path as a safetensors file,
// atomically (see WriteFile). The bytes depend only on the arguments: see
// EncodeTensors.
func WriteTensors(path string, tensors []Tensor, metadata map[string]string) error {
	b, err := EncodeTensors(tensors, metadata)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return WriteFile(path, b)
}

// EncodeTensors returns the safetensors encoding of tensors and metadata.
// Tensors are laid out, and listed in the header, by element size (largest
// first, so every tensor is aligned to its element size) and then by name,
// whatever their order in the slice; metadata keys are sorted, and the header
// is padded with spaces to a multiple of 8 bytes. Each tensor's data must hold
// exactly the product of its shape elements; names must be unique, non-empty
// and not "__metadata__".
func EncodeTensors(tensors []Tensor, metadata map[string]string) ([]byte, error) {
	order := make([]int, len(tensors))
	seen := make(map[string]bool, len(tensors))
	for i, t := range tensors {
		order[i] = i
		if t.Name == "" || t.Name == metadataKey || !utf8.ValidString(t.Name) {
			return nil, fmt.Errorf("encoding tensor %q: invalid name", t.Name)
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("encoding tensor %q: name used twice", t.Name)
		}
		seen[t.Name] = true
		n, err := numElements(t.Shape)
		if err != nil {
			return nil, fmt.Errorf("encoding tensor %q: %w", t.Name, err)
		}
		var have int
		switch t.DType {
		case DTypeF32:
			have = len(t.F32)
			if len(t.I64) != 0 {
				return nil, fmt.Errorf("encoding tensor %q: dtype F32 but I64 data given", t.Name)
			}
		case DTypeI64:
			have = len(t.I64)
			if len(t.F32) != 0 {
				return nil, fmt.Errorf("encoding tensor %q: dtype I64 but F32 data given", t.Name)
			}
		default:
			return nil, fmt.Errorf("encoding tensor %q: unsupported dtype %q (want F32 or I64)", t.Name, t.DType)
		}
		if int64(have) != n {
			return nil, fmt.Errorf("encoding tensor %q: %d values for shape %v (%d elements)", t.Name, have, t.Shape, n)
		}
	}
	for k, v := range metadata {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil, fmt.Errorf("encoding metadata %q: not valid UTF-8", k)
		}
	}
	slices.SortFunc(order, func(a, b int) int {
		ta, tb := tensors[a], tensors[b]
		if c := cmp.Compare(dtypeSize(tb.DType), dtypeSize(ta.DType)); c != 0 {
			return c
		}
		return cmp.Compare(ta.Name, tb.Name)
	})

	var h bytes.Buffer
	h.WriteByte('{')
	first := true
	if len(metadata) > 0 {
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		h.WriteString(`"` + metadataKey + `":{`)
		for i, k := range keys {
			if i > 0 {
				h.WriteByte(',')
			}
			writeJSONString(&h, k)
			h.WriteByte(':')
			writeJSONString(&h, metadata[k])
		}
		h.WriteByte('}')
		first = false
	}
	var offset uint64
	for _, i := range order {
		t := tensors[i]
		size := uint64(dtypeSize(t.DType)) * uint64(len(t.F32)+len(t.I64))
		if !first {
			h.WriteByte(',')
		}
		first = false
		writeJSONString(&h, t.Name)
		h.WriteString(`:{"dtype":"` + t.DType + `","shape":[`)
		for j, d := range t.Shape {
			if j > 0 {
				h.WriteByte(',')
			}
			h.WriteString(strconv.FormatInt(d, 10))
		}
		h.WriteString(`],"data_offsets":[` + strconv.FormatUint(offset, 10) + "," + strconv.FormatUint(offset+size, 10) + "]}")
		offset += size
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}
	if h.Len() > MaxHeaderSize {
		return nil, fmt.Errorf("encoding tensors: header of %d bytes exceeds %d", h.Len(), MaxHeaderSize)
	}

	out := make([]byte, 8, 8+uint64(h.Len())+offset)
	binary.LittleEndian.PutUint64(out, uint64(h.Len()))
	out = append(out, h.Bytes()...)
	for _, i := range order {
		t := tensors[i]
		for _, v := range t.F32 {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
		}
		for _, v := range t.I64 {
			out = binary.LittleEndian.AppendUint64(out, uint64(v))
		}
	}
	return out, nil
}

// writeJSONString writes s as a JSON string without HTML escaping.
func writeJSONString(w *bytes.Buffer, s string) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a valid UTF-8 string always encodes
	w.Truncate(w.Len() - 1)
}

// ReadTensors reads a safetensors file; see ParseTensors.
func ReadTensors(path string) ([]Tensor, map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading tensors: %w", err)
	}
	ts, md, err := ParseTensors(b)
	if err != nil {
		return nil, nil, fmt.Errorf("reading tensors from %s: %w", path, err)
	}
	return ts, md, nil
}

// ParseTensors decodes a safetensors file held in b and returns its tensors
// in file order, and its metadata (nil when it has none). It is strict: the
// header must be at most MaxHeaderSize bytes of one JSON object (trailing
// spaces allowed) with unique names and no unknown fields; every dtype must be
// F32 or I64; every tensor's byte length must be its element count times its
// element size; and the tensors must cover the data buffer exactly, without
// gaps, overlaps or trailing bytes. It never panics on malformed input.
func ParseTensors(b []byte) ([]Tensor, map[string]string, error) {
	if len(b) < 8 {
		return nil, nil, fmt.Errorf("parsing safetensors: %d bytes, too short for the header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if n > MaxHeaderSize {
		return nil, nil, fmt.Errorf("parsing safetensors: header length %d exceeds %d", n, MaxHeaderSize)
	}
	if n > uint64(len(b)-8) {
		return nil, nil, fmt.Errorf("parsing safetensors: header length %d, but only %d bytes follow", n, len(b)-8)
	}
	header := b[8 : 8+n]
	data := b[8+n:]
	if !utf8.Valid(header) {
		return nil, nil, errors.New("parsing safetensors header: not valid UTF-8")
	}
	if len(header) == 0 || header[0] != '{' {
		return nil, nil, errors.New("parsing safetensors header: does not start with '{'")
	}

	dec := json.NewDecoder(bytes.NewReader(header))
	if _, err := dec.Token(); err != nil { // '{'
		return nil, nil, fmt.Errorf("parsing safetensors header: %w", err)
	}
	type entry struct {
		name string
		info tensorInfo
	}
	var (
		entries  []entry
		metadata map[string]string
		seen     = map[string]bool{}
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("parsing safetensors header: %w", err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, nil, fmt.Errorf("parsing safetensors header: unexpected %v", tok)
		}
		if seen[name] {
			return nil, nil, fmt.Errorf("parsing safetensors header: %q appears twice", name)
		}
		seen[name] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, fmt.Errorf("parsing safetensors header entry %q: %w", name, err)
		}
		if name == metadataKey {
			if err := json.Unmarshal(raw, &metadata); err != nil {
				return nil, nil, fmt.Errorf("parsing safetensors metadata: want an object of strings: %w", err)
			}
			continue
		}
		if name == "" {
			return nil, nil, errors.New("parsing safetensors header: tensor with an empty name")
		}
		var info tensorInfo
		d := json.NewDecoder(bytes.NewReader(raw))
		d.DisallowUnknownFields()
		if err := d.Decode(&info); err != nil {
			return nil, nil, fmt.Errorf("parsing tensor %q: %w", name, err)
		}
		switch {
		case bytes.Equal(bytes.TrimSpace(raw), []byte("null")):
			return nil, nil, fmt.Errorf("parsing tensor %q: null entry", name)
		case info.DType == "":
			return nil, nil, fmt.Errorf("parsing tensor %q: no dtype", name)
		case info.Shape == nil:
			return nil, nil, fmt.Errorf("parsing tensor %q: no shape", name)
		case len(info.DataOffsets) != 2:
			return nil, nil, fmt.Errorf("parsing tensor %q: data_offsets has %d values, want 2", name, len(info.DataOffsets))
		}
		entries = append(entries, entry{name, info})
	}
	if _, err := dec.Token(); err != nil { // '}'
		return nil, nil, fmt.Errorf("parsing safetensors header: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, errors.New("parsing safetensors header: data after the JSON object")
	}

	for _, e := range entries {
		size := dtypeSize(e.info.DType)
		if size == 0 {
			return nil, nil, fmt.Errorf("parsing tensor %q: unsupported dtype %q (want F32 or I64)", e.name, e.info.DType)
		}
		count, err := numElements(e.info.Shape)
		if err != nil {
			return nil, nil, fmt.Errorf("parsing tensor %q: %w", e.name, err)
		}
		begin, end := e.info.DataOffsets[0], e.info.DataOffsets[1]
		if begin > end || end > uint64(len(data)) {
			return nil, nil, fmt.Errorf("parsing tensor %q: data_offsets [%d, %d] outside the %d-byte buffer", e.name, begin, end, len(data))
		}
		if count > int64(len(data))/int64(size) || uint64(count)*uint64(size) != end-begin {
			return nil, nil, fmt.Errorf("parsing tensor %q: shape %v of %s needs %d bytes per element, data_offsets give %d bytes", e.name, e.info.Shape, e.info.DType, size, end-begin)
		}
	}
	byOffset := slices.Clone(entries)
	slices.SortStableFunc(byOffset, func(a, b entry) int {
		if c := cmp.Compare(a.info.DataOffsets[0], b.info.DataOffsets[0]); c != 0 {
			return c
		}
		return cmp.Compare(a.info.DataOffsets[1], b.info.DataOffsets[1])
	})
	var pos uint64
	for _, e := range byOffset {
		begin, end := e.info.DataOffsets[0], e.info.DataOffsets[1]
		switch {
		case begin < pos:
			return nil, nil, fmt.Errorf("parsing tensor %q: data_offsets [%d, %d] overlap the previous tensor, which ends at %d", e.name, begin, end, pos)
		case begin > pos:
			return nil, nil, fmt.Errorf("parsing tensor %q: gap of %d bytes before data_offsets [%d, %d]", e.name, begin-pos, begin, end)
		}
		pos = end
	}
	if pos != uint64(len(data)) {
		return nil, nil, fmt.Errorf("parsing safetensors: %d bytes after the last tensor", uint64(len(data))-pos)
	}

	tensors := make([]Tensor, len(byOffset))
	for i, e := range byOffset {
		t := Tensor{Name: e.name, DType: e.info.DType, Shape: slices.Clone(e.info.Shape)}
		raw := data[e.info.DataOffsets[0]:e.info.DataOffsets[1]]
		switch e.info.DType {
		case DTypeF32:
			t.F32 = make([]float32, len(raw)/4)
			for j := range t.F32 {
				t.F32[j] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*j:]))
			}
		case DTypeI64:
			t.I64 = make([]int64, len(raw)/8)
			for j := range t.I64 {
				t.I64[j] = int64(binary.LittleEndian.Uint64(raw[8*j:]))
			}
		}
		tensors[i] = t
	}
	return tensors, metadata, nil
}
