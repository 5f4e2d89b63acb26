package ecg

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"parak8s.dev/parak8s/internal/testenv"
)

func TestReadCSV(t *testing.T) {
	kaggleRow := "9.779411554336547852e-01,9.264705777168273926e-01,0.000000000000000000e+00,1.000000000000000000e+00\n"
	tests := []struct {
		name    string
		in      string
		want    []Beat
		wantErr string
	}{
		{
			name: "kaggle float format",
			in:   kaggleRow,
			want: []Beat{{Sample: 1, Class: ClassS, Signal: []float32{0.97794116, 0.9264706, 0}}},
		},
		{
			name: "crlf, blank lines, integer labels",
			in:   "0.5,1,4\r\n\n -1 , 2 ,0\r\n",
			want: []Beat{{Sample: 1, Class: ClassQ, Signal: []float32{0.5, 1}}, {Sample: 3, Class: ClassN, Signal: []float32{-1, 2}}},
		},
		{name: "empty", in: "", want: nil},
		{name: "one field", in: "1\n", wantErr: "data.csv:1: 1 field"},
		{name: "ragged", in: "1,2,0\n1,2,3,0\n", wantErr: "data.csv:2: 4 fields, earlier lines have 3"},
		{name: "bad number", in: "1,2,0\n\n1,x,0\n", wantErr: `data.csv:3: field 2 "x": want a finite number`},
		{name: "nan", in: "NaN,0\n", wantErr: "data.csv:1: field 1"},
		{name: "inf", in: "1,+Inf\n", wantErr: "data.csv:1: field 2"},
		{name: "empty field", in: "1,,0\n", wantErr: "data.csv:1: field 2"},
		{name: "fractional label", in: "1,2,0.5\n", wantErr: "data.csv:1: label 0.5"},
		{name: "label too big", in: "1,2,5\n", wantErr: "data.csv:1: label 5: want an integer class in 0..4"},
		{name: "negative label", in: "1,2,-1\n", wantErr: "label -1"},
		{name: "too long", in: strings.Repeat("1,", maxCSVLine) + "0\n", wantErr: "data.csv:1: line longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := ReadCSV(strings.NewReader(tt.in), "data.csv")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ds.Beats, tt.want) || ds.Rate != KaggleRate || len(ds.Classes) != NumClasses {
				t.Errorf("got %+v, want beats %+v", ds, tt.want)
			}
		})
	}
}

func TestWriteCSV(t *testing.T) {
	ds := &Dataset{Classes: AAMIClasses(), Beats: []Beat{
		{Class: ClassV, Signal: []float32{0.1, -2.5e-7, 1}},
		{Class: ClassN, Signal: []float32{3}},
	}}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, ds, 4); err != nil {
		t.Fatal(err)
	}
	if want := "0.1,-2.5e-07,1,0,2\n3,0,0,0,0\n"; buf.String() != want {
		t.Errorf("WriteCSV = %q, want %q", buf.String(), want)
	}
	back, err := ReadCSV(&buf, "roundtrip")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Beats[0].Signal, []float32{0.1, -2.5e-7, 1, 0}) || back.Beats[1].Class != ClassN {
		t.Errorf("round trip = %+v", back.Beats)
	}
	buf.Reset()
	if err := WriteCSV(&buf, &Dataset{Classes: AAMIClasses(), Beats: []Beat{{Signal: make([]float32, 3)}}}, 0); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), ","); n != KaggleWidth {
		t.Errorf("default width: %d commas, want %d", n, KaggleWidth)
	}
	for _, c := range []struct {
		ds    *Dataset
		width int
		want  string
	}{
		{ds, 2, "beat 0 (record \"\", sample 0): 3 samples, more than 2"},
		{ds, -1, "width -1"},
		{&Dataset{Classes: AAMIClasses(), Beats: []Beat{{Record: "101", Sample: 7, Class: 5}}}, 0, `beat 0 (record "101", sample 7): class 5 out of range`},
	} {
		if err := WriteCSV(&bytes.Buffer{}, c.ds, c.width); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err = %v, want %q", err, c.want)
		}
	}
}

// TestKachueeCSVRoundTrip writes Kachuee beats of a real record as Kaggle
// CSV and reads them back unchanged.
func TestKachueeCSVRoundTrip(t *testing.T) {
	dir := testenv.MITDB(t)
	beats, _, err := LoadRecord(dir, "119", KachueeOptions())
	if err != nil {
		t.Fatal(err)
	}
	ds := &Dataset{Classes: AAMIClasses(), Rate: 125, Beats: beats[:300]}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, ds, 0); err != nil {
		t.Fatal(err)
	}
	back, err := ReadCSV(&buf, "119.csv")
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range back.Beats {
		if b.Class != ds.Beats[i].Class || !reflect.DeepEqual(b.Signal, ds.Beats[i].Signal) {
			t.Fatalf("beat %d differs after the round trip", i)
		}
	}
}

func FuzzReadCSV(f *testing.F) {
	f.Add([]byte("9.779411554336547852e-01,9.264705777168273926e-01,0.000000000000000000e+00,1.000000000000000000e+00\n"))
	f.Add([]byte("0.5,1,4\r\n\n -1 , 2 ,0\r\n"))
	f.Add([]byte("1,2,0\n1,2,3,0\n"))
	if dir := testenv.FindData("mitdb", "RECORDS"); dir != "" {
		if beats, _, err := LoadRecord(dir, "208", KachueeOptions()); err == nil {
			var buf bytes.Buffer
			if err := WriteCSV(&buf, &Dataset{Classes: AAMIClasses(), Beats: beats[:3]}, 0); err == nil {
				f.Add(buf.Bytes())
			}
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		ds, err := ReadCSV(bytes.NewReader(in), "fuzz.csv")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.csv:") {
				t.Fatalf("error without file:line: %v", err)
			}
			return
		}
		for _, b := range ds.Beats {
			if len(b.Signal) != len(ds.Beats[0].Signal) || b.Class < 0 || b.Class >= NumClasses {
				t.Fatalf("bad beat %+v", b)
			}
		}
		var buf bytes.Buffer
		width := 1
		if len(ds.Beats) > 0 {
			width = len(ds.Beats[0].Signal)
		}
		if err := WriteCSV(&buf, ds, width); err != nil {
			t.Fatal(err)
		}
		back, err := ReadCSV(&buf, "again.csv")
		if err != nil {
			t.Fatal(err)
		}
		if len(back.Beats) != len(ds.Beats) {
			t.Fatalf("%d beats after the round trip, want %d", len(back.Beats), len(ds.Beats))
		}
		for i := range back.Beats {
			if back.Beats[i].Class != ds.Beats[i].Class || !reflect.DeepEqual(back.Beats[i].Signal, ds.Beats[i].Signal) {
				t.Fatalf("beat %d: %+v after the round trip, want %+v", i, back.Beats[i], ds.Beats[i])
			}
		}
	})
}
