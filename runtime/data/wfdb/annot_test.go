package wfdb

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"parak8s.dev/parak8s/internal/testenv"
)

// Helpers that write MIT-format words, as WFDB's putann does.
func word(code, val int) []byte {
	w := uint16(code)<<10 | uint16(val)&0x3ff
	return []byte{byte(w), byte(w >> 8)}
}

func skip(n int32) []byte {
	u := uint32(n)
	b := word(codeSkip, 0)
	b = append(b, byte(u>>16), byte(u>>24)) // high word first
	return append(b, byte(u), byte(u>>8))
}

func aux(s string) []byte {
	b := append(word(codeAux, len(s)), s...)
	if len(s)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

var eof = []byte{0, 0}

func TestParseAnnotations(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    []Annotation
		wantErr string
	}{
		{name: "empty file", in: eof, want: []Annotation{}},
		{
			name: "times accumulate",
			in:   cat(word(1, 10), word(5, 1023), word(8, 0), eof),
			want: []Annotation{
				{Sample: 10, Code: 1, Symbol: "N"},
				{Sample: 1033, Code: 5, Symbol: "V"},
				{Sample: 1033, Code: 8, Symbol: "A"},
			},
		},
		{
			name: "skip before first and between",
			in:   cat(skip(100000), word(1, 5), skip(70000), word(12, 3), skip(-50), word(38, 0), eof),
			want: []Annotation{
				{Sample: 100005, Code: 1, Symbol: "N"},
				{Sample: 170008, Code: 12, Symbol: "/"},
				{Sample: 169958, Code: 38, Symbol: "f"},
			},
		},
		{
			name: "sub resets, chan and num carry over",
			in: cat(word(1, 1), word(codeSub, 3), word(codeChn, 1), word(codeNum, 0x3ff),
				word(1, 1), word(14, 1), word(codeSub, 0x3ff), word(codeChn, 0), word(1, 1), eof),
			want: []Annotation{
				{Sample: 1, Code: 1, Symbol: "N", Sub: 3, Chan: 1, Num: -1},
				{Sample: 2, Code: 1, Symbol: "N", Chan: 1, Num: -1},
				{Sample: 3, Code: 14, Symbol: "~", Sub: -1, Chan: 0, Num: -1},
				{Sample: 4, Code: 1, Symbol: "N", Num: -1},
			},
		},
		{
			name: "aux odd and even, nul trimmed",
			in:   cat(word(28, 7), aux("(N\x00"), word(28, 1), aux("(AFIB"), word(22, 2), aux("ab"), word(1, 0), eof),
			want: []Annotation{
				{Sample: 7, Code: 28, Symbol: "+", Aux: "(N"},
				{Sample: 8, Code: 28, Symbol: "+", Aux: "(AFIB"},
				{Sample: 10, Code: 22, Symbol: "\"", Aux: "ab"},
				{Sample: 10, Code: 1, Symbol: "N"},
			},
		},
		{
			name: "non-standard code",
			in:   cat(word(50, 1), eof),
			want: []Annotation{{Sample: 1, Code: 50, Symbol: "[50]"}},
		},
		{name: "data after eof ignored", in: cat(word(1, 2), eof, word(1, 3)), want: []Annotation{{Sample: 2, Code: 1, Symbol: "N"}}},
		{name: "missing eof", in: word(1, 2), want: []Annotation{{Sample: 2, Code: 1, Symbol: "N"}}, wantErr: "missing end-of-file word at byte offset 2"},
		{name: "odd byte", in: cat(word(1, 2), []byte{7}), want: []Annotation{{Sample: 2, Code: 1, Symbol: "N"}}, wantErr: "odd trailing byte at byte offset 2"},
		{name: "short skip", in: cat(word(1, 2), word(codeSkip, 0), []byte{1, 0}), want: []Annotation{{Sample: 2, Code: 1, Symbol: "N"}}, wantErr: "skip interval cut short at byte offset 6"},
		{name: "short aux", in: cat(word(1, 2), word(codeAux, 5), []byte("abc")), want: []Annotation{{Sample: 2, Code: 1, Symbol: "N"}}, wantErr: "aux string of 5 bytes cut short at byte offset 4"},
		{name: "modifier first", in: cat(word(codeChn, 1), word(1, 1), eof), wantErr: "modifier code 62 at byte offset 0 precedes any annotation"},
		{name: "nothing", in: nil, want: []Annotation{}, wantErr: "missing end-of-file word at byte offset 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadAnnotations(bytes.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(tt.wantErr, "short") || strings.Contains(tt.wantErr, "end-of-file") || strings.Contains(tt.wantErr, "odd") {
					if !errors.Is(err, io.ErrUnexpectedEOF) {
						t.Errorf("err %v does not wrap io.ErrUnexpectedEOF", err)
					}
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if tt.want != nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestSymbolTable(t *testing.T) {
	// From WFDB's ecgcodes.h and annot.c.
	want := map[int]string{
		0: " ", 1: "N", 2: "L", 3: "R", 4: "a", 5: "V", 6: "F", 7: "J", 8: "A", 9: "S",
		10: "E", 11: "j", 12: "/", 13: "Q", 14: "~", 16: "|", 18: "s", 19: "T", 20: "*",
		21: "D", 22: "\"", 23: "=", 24: "p", 25: "B", 26: "^", 27: "t", 28: "+", 29: "u",
		30: "?", 31: "!", 32: "[", 33: "]", 34: "e", 35: "n", 36: "@", 37: "x", 38: "f",
		39: "(", 40: ")", 41: "r", 15: "[15]", 49: "[49]", 50: "[50]", -1: "[-1]",
	}
	for code, sym := range want {
		if got := Symbol(code); got != sym {
			t.Errorf("Symbol(%d) = %q, want %q", code, got, sym)
		}
		if code >= 1 && code <= MaxCode && !strings.HasPrefix(sym, "[") {
			if c, ok := Code(sym); !ok || c != code {
				t.Errorf("Code(%q) = %d, %v; want %d", sym, c, ok, code)
			}
		}
	}
	if _, ok := Code("N?"); ok {
		t.Error(`Code("N?") found a code`)
	}
	if Description(5) != "Premature ventricular contraction" || Description(99) != "" {
		t.Errorf("Description(5) = %q", Description(5))
	}
	var qrs []int
	for c := 0; c <= 63; c++ {
		if IsQRS(c) {
			qrs = append(qrs, c)
		}
	}
	if want := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 25, 30, 34, 35, 38, 41}; !reflect.DeepEqual(qrs, want) {
		t.Errorf("QRS codes = %v, want %v", qrs, want)
	}
}

// TestAnnotationsMITDB checks beat counts per symbol against the tables in
// PhysioNet's MIT-BIH Arrhythmia Database Directory (beats, by record).
func TestAnnotationsMITDB(t *testing.T) {
	dir := testenv.MITDB(t)
	want := map[string]map[string]int{
		"101": {"N": 1860, "A": 3, "Q": 2},
		"106": {"N": 1507, "V": 520},
		"119": {"N": 1543, "V": 444},
		"208": {"N": 1586, "S": 2, "V": 992, "F": 373, "Q": 2},
		"209": {"N": 2621, "A": 383, "V": 1},
		"230": {"N": 2255, "V": 1},
	}
	for name, counts := range want {
		anns, err := ReadAnnotationFile(filepath.Join(dir, name+".atr"))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		prev := int64(-1)
		for _, a := range anns {
			if a.Sample < prev {
				t.Fatalf("%s: annotation at %d after one at %d", name, a.Sample, prev)
			}
			prev = a.Sample
			if a.Sample >= 650000 {
				t.Errorf("%s: annotation at %d past the record's end", name, a.Sample)
			}
			if IsQRS(a.Code) {
				got[a.Symbol]++
			}
		}
		if !reflect.DeepEqual(got, counts) {
			t.Errorf("%s: beats per symbol = %v, want %v", name, got, counts)
		}
	}

	anns, err := ReadAnnotationFile(filepath.Join(dir, "101.atr"))
	if err != nil {
		t.Fatal(err)
	}
	if first := anns[0]; first != (Annotation{Sample: 7, Code: 28, Symbol: "+", Aux: "(N"}) {
		t.Errorf("101 first annotation = %+v, want rhythm (N at sample 7", first)
	}
}
