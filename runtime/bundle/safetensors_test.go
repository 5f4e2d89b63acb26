package bundle

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// stFile assembles a safetensors file from a header and a data buffer.
func stFile(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

// TestEncodeTensorsKnownBytes checks the exact bytes of a small file whose
// header was written out by hand: metadata first, 8-byte tensors before
// 4-byte ones, space padding to a multiple of 8.
func TestEncodeTensorsKnownBytes(t *testing.T) {
	header := `{"__metadata__":{"format":"pt"},"b":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}` + "      "
	if len(header) != 144 {
		t.Fatalf("hand-written header is %d bytes", len(header))
	}
	want := []byte{0x90, 0, 0, 0, 0, 0, 0, 0}
	want = append(want, header...)
	want = append(want,
		7, 0, 0, 0, 0, 0, 0, 0, // b = 7
		0, 0, 0x80, 0x3f, // a[0] = 1
		0, 0, 0, 0xc0, // a[1] = -2
	)
	tensors := []Tensor{
		{Name: "a", DType: DTypeF32, Shape: []int64{2}, F32: []float32{1, -2}},
		{Name: "b", DType: DTypeI64, Shape: []int64{}, I64: []int64{7}},
	}
	got, err := EncodeTensors(tensors, map[string]string{"format": "pt"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encoding:\n got %q\nwant %q", got, want)
	}
	// The order of the slice does not matter.
	rev, err := EncodeTensors([]Tensor{tensors[1], tensors[0]}, map[string]string{"format": "pt"})
	if err != nil || !bytes.Equal(rev, want) {
		t.Fatalf("reversed input gives different bytes (%v)", err)
	}
	ts, md, err := ParseTensors(want)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ts, []Tensor{tensors[1], tensors[0]}) || !reflect.DeepEqual(md, map[string]string{"format": "pt"}) {
		t.Fatalf("parsed %+v %v", ts, md)
	}
}

func sameTensors(a, b []Tensor) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Name != y.Name || x.DType != y.DType || !reflect.DeepEqual(x.Shape, y.Shape) || len(x.F32) != len(y.F32) || !slicesEqualInt(x.I64, y.I64) {
			return false
		}
		for j := range x.F32 {
			if math.Float32bits(x.F32[j]) != math.Float32bits(y.F32[j]) {
				return false
			}
		}
	}
	return true
}

func slicesEqualInt(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestTensorsRoundTrip(t *testing.T) {
	big := make([]float32, 3*1000)
	for i := range big {
		big[i] = float32(i) * 0.25
	}
	for _, c := range []struct {
		name     string
		tensors  []Tensor // in the order the file lists them
		metadata map[string]string
	}{
		{"empty", nil, nil},
		{"metadata only", nil, map[string]string{"k": "v", "<html>&": "ü\"\n"}},
		{"scalar", []Tensor{{Name: "s", DType: DTypeF32, Shape: []int64{}, F32: []float32{3.5}}}, nil},
		{"zero-size", []Tensor{{Name: "z", DType: DTypeI64, Shape: []int64{0, 4}}, {Name: "y", DType: DTypeF32, Shape: []int64{2, 0}}}, nil},
		{"special floats", []Tensor{{Name: "f", DType: DTypeF32, Shape: []int64{5}, F32: []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Copysign(0, -1)), math.SmallestNonzeroFloat32}}}, nil},
		{"mixed", []Tensor{
			{Name: "labels", DType: DTypeI64, Shape: []int64{4}, I64: []int64{math.MinInt64, -1, 0, math.MaxInt64}},
			{Name: "layer.0.weight", DType: DTypeF32, Shape: []int64{3, 1000}, F32: big},
			{Name: "x", DType: DTypeF32, Shape: []int64{1}, F32: []float32{1}},
		}, map[string]string{"format": "pt", "trial": "abc"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "w.safetensors")
			if err := WriteTensors(path, c.tensors, c.metadata); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if hl := binary.LittleEndian.Uint64(b); hl%8 != 0 {
				t.Errorf("header length %d is not a multiple of 8", hl)
			}
			ts, md, err := ReadTensors(path)
			if err != nil {
				t.Fatal(err)
			}
			if !sameTensors(ts, c.tensors) {
				t.Errorf("read %+v, wrote %+v", ts, c.tensors)
			}
			if len(c.metadata) == 0 && md != nil || len(c.metadata) > 0 && !reflect.DeepEqual(md, c.metadata) {
				t.Errorf("metadata %v, wrote %v", md, c.metadata)
			}
		})
	}
}

func TestEncodeTensorsErrors(t *testing.T) {
	for _, c := range []struct {
		name    string
		tensors []Tensor
		want    string
	}{
		{"empty name", []Tensor{{DType: DTypeF32, Shape: []int64{}, F32: []float32{1}}}, `tensor "": invalid name`},
		{"reserved name", []Tensor{{Name: "__metadata__", DType: DTypeF32, Shape: []int64{}, F32: []float32{1}}}, "invalid name"},
		{"duplicate", []Tensor{{Name: "a", DType: DTypeF32, Shape: []int64{}, F32: []float32{1}}, {Name: "a", DType: DTypeI64, Shape: []int64{}, I64: []int64{1}}}, `"a": name used twice`},
		{"dtype", []Tensor{{Name: "a", DType: "F16", Shape: []int64{1}}}, `tensor "a": unsupported dtype "F16"`},
		{"too few", []Tensor{{Name: "a", DType: DTypeF32, Shape: []int64{2, 3}, F32: make([]float32, 5)}}, "5 values for shape [2 3] (6 elements)"},
		{"too many", []Tensor{{Name: "a", DType: DTypeI64, Shape: []int64{2}, I64: make([]int64, 3)}}, "3 values for shape [2]"},
		{"wrong slice", []Tensor{{Name: "a", DType: DTypeF32, Shape: []int64{1}, F32: []float32{1}, I64: []int64{1}}}, "dtype F32 but I64 data given"},
		{"negative dim", []Tensor{{Name: "a", DType: DTypeF32, Shape: []int64{-1}}}, "dimension 0 is -1"},
		{"overflow", []Tensor{{Name: "a", DType: DTypeF32, Shape: []int64{1 << 40, 1 << 40}}}, "too many elements"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := EncodeTensors(c.tensors, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
			if err := WriteTensors(filepath.Join(t.TempDir(), "x"), c.tensors, nil); err == nil {
				t.Fatal("WriteTensors accepted it")
			}
		})
	}
	if _, err := EncodeTensors(nil, map[string]string{"k": "\xff"}); err == nil {
		t.Error("invalid UTF-8 metadata accepted")
	}
}

func TestParseTensorsErrors(t *testing.T) {
	f8 := make([]byte, 8)
	huge := binary.LittleEndian.AppendUint64(nil, MaxHeaderSize+1)
	beyond := binary.LittleEndian.AppendUint64(nil, 100)
	for _, c := range []struct {
		name string
		in   []byte
		want string
	}{
		{"short", []byte{1, 2, 3}, "3 bytes, too short"},
		{"header too large", append(huge, "{}"...), "exceeds 100000000"},
		{"header beyond file", append(beyond, "{}"...), "header length 100, but only 2 bytes follow"},
		{"empty header", stFile("", nil), "does not start with '{'"},
		{"not an object", stFile(`[]`, nil), "does not start with '{'"},
		{"not utf-8", stFile("{\"\xff\":1}", nil), "not valid UTF-8"},
		{"bad json", stFile(`{"a":`, nil), "parsing safetensors header"},
		{"unclosed", stFile(`{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}`, f8[:4]), "parsing safetensors header"},
		{"trailing data", stFile(`{} {}`, nil), "data after the JSON object"},
		{"duplicate", stFile(`{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[],"data_offsets":[4,8]}}`, f8), `"a" appears twice`},
		{"unknown field", stFile(`{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4],"x":1}}`, f8[:4]), `tensor "a": json: unknown field "x"`},
		{"null entry", stFile(`{"a":null}`, nil), `tensor "a": null entry`},
		{"no dtype", stFile(`{"a":{"shape":[],"data_offsets":[0,4]}}`, f8[:4]), `tensor "a": no dtype`},
		{"no shape", stFile(`{"a":{"dtype":"F32","data_offsets":[0,4]}}`, f8[:4]), `tensor "a": no shape`},
		{"no offsets", stFile(`{"a":{"dtype":"F32","shape":[]}}`, f8[:4]), "data_offsets has 0 values"},
		{"three offsets", stFile(`{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4,4]}}`, f8[:4]), "data_offsets has 3 values"},
		{"negative offset", stFile(`{"a":{"dtype":"F32","shape":[],"data_offsets":[-1,4]}}`, f8[:4]), `tensor "a"`},
		{"float offset", stFile(`{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4.5]}}`, f8[:4]), `tensor "a"`},
		{"shape not ints", stFile(`{"a":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}}`, f8), `tensor "a"`},
		{"empty name", stFile(`{"":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}`, f8[:4]), "empty name"},
		{"metadata not strings", stFile(`{"__metadata__":{"k":1}}`, nil), "want an object of strings"},
		{"unsupported dtype", stFile(`{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}`, f8[:4]), `tensor "w": unsupported dtype "F16"`},
		{"negative dim", stFile(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}`, nil), "dimension 0 is -1"},
		{"shape overflow", stFile(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, nil), "too many elements"},
		{"size mismatch", stFile(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, f8), `tensor "a": shape [3] of F32 needs 4 bytes per element, data_offsets give 8 bytes`},
		{"count beyond buffer", stFile(`{"a":{"dtype":"I64","shape":[1000000000000],"data_offsets":[0,8]}}`, f8), "data_offsets give 8 bytes"},
		{"begin after end", stFile(`{"a":{"dtype":"F32","shape":[],"data_offsets":[8,4]}}`, f8), "outside the 8-byte buffer"},
		{"out of bounds", stFile(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, f8), "outside the 8-byte buffer"},
		{"overlap", stFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[],"data_offsets":[4,8]}}`, f8), `tensor "b": data_offsets [4, 8] overlap`},
		{"gap", stFile(`{"a":{"dtype":"F32","shape":[],"data_offsets":[4,8]}}`, f8), `tensor "a": gap of 4 bytes`},
		{"trailing bytes", stFile(`{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}`, f8), "4 bytes after the last tensor"},
		{"data without tensors", stFile(`{}`, f8), "8 bytes after the last tensor"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := ParseTensors(c.in)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
		})
	}
	// Trailing spaces after the object are padding, not garbage.
	if _, _, err := ParseTensors(stFile(`{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}   `, f8[:4])); err != nil {
		t.Errorf("space padding refused: %v", err)
	}
	if _, _, err := ReadTensors(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "reading tensors") {
		t.Errorf("missing file: %v", err)
	}
}

// FuzzParseTensors checks that ParseTensors never panics, and that what it
// accepts encodes back to a file that parses to the same tensors.
func FuzzParseTensors(f *testing.F) {
	for _, ts := range [][]Tensor{
		nil,
		{{Name: "a", DType: DTypeF32, Shape: []int64{2}, F32: []float32{1, 2}}},
		{{Name: "a", DType: DTypeF32, Shape: []int64{1, 1}, F32: []float32{1}}, {Name: "b", DType: DTypeI64, Shape: []int64{}, I64: []int64{-3}}},
	} {
		b, err := EncodeTensors(ts, map[string]string{"m": "v"})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(stFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[],"data_offsets":[4,8]}}`, make([]byte, 8)))
	f.Add(stFile(`{"a":{"dtype":"I64","shape":[0],"data_offsets":[0,0]}}`, nil))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, md, err := ParseTensors(b)
		if err != nil {
			return
		}
		again, err := EncodeTensors(ts, md)
		if err != nil {
			t.Fatalf("re-encoding accepted tensors: %v", err)
		}
		ts2, md2, err := ParseTensors(again)
		if err != nil {
			t.Fatalf("parsing re-encoded tensors: %v", err)
		}
		// Re-encoding orders by element size then name; compare by name.
		byName := map[string]Tensor{}
		for _, x := range ts2 {
			byName[x.Name] = x
		}
		for _, x := range ts {
			if !sameTensors([]Tensor{x}, []Tensor{byName[x.Name]}) {
				t.Fatalf("tensor %q changed on re-encoding", x.Name)
			}
		}
		if len(ts) != len(ts2) || len(md) != len(md2) {
			t.Fatalf("re-encoding changed the number of tensors or metadata keys")
		}
	})
}
