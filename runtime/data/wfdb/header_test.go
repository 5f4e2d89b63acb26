package wfdb

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"parak8s.dev/parak8s/internal/testenv"
)

func TestReadHeader(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Header
		wantErr string // substring; "" means success
	}{
		{
			name: "mitdb",
			in: "101 2 360 650000\n" +
				"101.dat 212 200 11 1024 955 29832 0 MLII\n" +
				"101.dat 212 200 11 1024 992 19589 0 V1\n" +
				"# 75 F 1011 654 x1\n# Diapres\n",
			want: Header{
				Record: "101", NumSignals: 2, Fs: 360, NumSamples: 650000,
				Signals: []Signal{
					{File: "101.dat", Format: 212, SamplesPerFrame: 1, Gain: 200, Baseline: 1024, Units: "mV", ADCRes: 11, ADCZero: 1024, InitValue: 955, Checksum: 29832, HasChecksum: true, Description: "MLII"},
					{File: "101.dat", Format: 212, SamplesPerFrame: 1, Gain: 200, Baseline: 1024, Units: "mV", ADCRes: 11, ADCZero: 1024, InitValue: 992, Checksum: 19589, HasChecksum: true, Description: "V1"},
				},
				Comments: []string{"75 F 1011 654 x1", "Diapres"},
			},
		},
		{
			name: "defaults",
			in:   "rec 1\nrec.dat 16\n",
			want: Header{
				Record: "rec", NumSignals: 1, Fs: DefaultFrequency,
				Signals: []Signal{{File: "rec.dat", Format: 16, SamplesPerFrame: 1, Gain: DefaultGain, Units: "mV"}},
			},
		},
		{
			name: "zero gain means default, baseline defaults to adc zero, init to adc zero",
			in:   "r 1 500 10\nr.dat 212 0 12 7\n",
			want: Header{
				Record: "r", NumSignals: 1, Fs: 500, NumSamples: 10,
				Signals: []Signal{{File: "r.dat", Format: 212, SamplesPerFrame: 1, Gain: DefaultGain, Baseline: 7, Units: "mV", ADCRes: 12, ADCZero: 7, InitValue: 7}},
			},
		},
		{
			name: "all optional parts",
			in: "# leading comment\n\n" +
				"x 1 360/1000(5) 42 10:20:30 01/02/2003\n" +
				"x.dat 212x1:0+512 100.5(-3)/uV 12 0 -5 -1 0 multi word description\n",
			want: Header{
				Record: "x", NumSignals: 1, Fs: 360, CounterFreq: 1000, BaseCounter: 5, NumSamples: 42,
				BaseTime: "10:20:30", BaseDate: "01/02/2003",
				Signals:  []Signal{{File: "x.dat", Format: 212, SamplesPerFrame: 1, ByteOffset: 512, Gain: 100.5, Baseline: -3, Units: "uV", ADCRes: 12, InitValue: -5, Checksum: -1, HasChecksum: true, Description: "multi word description"}},
				Comments: []string{"leading comment"},
			},
		},
		{name: "empty", in: "", wantErr: "no record line"},
		{name: "only comments", in: "# a\n# b\n", wantErr: "no record line"},
		{name: "no signal count", in: "rec\n", wantErr: "line 1: record line"},
		{name: "bad signal count", in: "rec two\n", wantErr: "number of signals"},
		{name: "negative signal count", in: "rec -1\n", wantErr: "number of signals"},
		{name: "huge signal count", in: "rec 99999999\n", wantErr: "number of signals"},
		{name: "bad fs", in: "rec 0 abc\n", wantErr: "sampling frequency"},
		{name: "nan fs", in: "rec 0 NaN\n", wantErr: "not a finite number"},
		{name: "inf fs", in: "rec 0 +Inf\n", wantErr: "not a finite number"},
		{name: "zero fs", in: "rec 0 0\n", wantErr: "positive"},
		{name: "bad counter", in: "rec 0 360/x\n", wantErr: "counter frequency"},
		{name: "unclosed base counter", in: "rec 0 360/1(2\n", wantErr: "missing ')'"},
		{name: "bad nsamp", in: "rec 0 360 -4\n", wantErr: "number of samples"},
		{name: "trailing fields", in: "rec 0 360 1 0:0:0 1/1/2000 extra\n", wantErr: "unexpected fields"},
		{name: "multi-segment", in: "rec/3 2 360\n", wantErr: "multi-segment"},
		{name: "missing signal lines", in: "rec 2 360\nrec.dat 212\n", wantErr: "declares 2 signals, found 1"},
		{name: "signal line without format", in: "rec 1\nrec.dat\n", wantErr: "line 2: signal 0"},
		{name: "bad format", in: "rec 1\nrec.dat x212\n", wantErr: "format \"x212\""},
		{name: "bad spf", in: "rec 1\nrec.dat 212x0\n", wantErr: "samples per frame"},
		{name: "bad skew", in: "rec 1\nrec.dat 212:-1\n", wantErr: "skew"},
		{name: "bad offset", in: "rec 1\nrec.dat 212+q\n", wantErr: "byte offset"},
		{name: "junk after format", in: "rec 1\nrec.dat 212+1x2\n", wantErr: "byte offset"},
		{name: "bad gain", in: "rec 1\nrec.dat 212 abc\n", wantErr: "gain"},
		{name: "bad baseline", in: "rec 1\nrec.dat 212 200(x)\n", wantErr: "baseline"},
		{name: "unclosed baseline", in: "rec 1\nrec.dat 212 200(3\n", wantErr: "missing ')'"},
		{name: "empty units", in: "rec 1\nrec.dat 212 200/\n", wantErr: "empty units"},
		{name: "bad adc zero", in: "rec 1\nrec.dat 212 200 11 z\n", wantErr: "adc zero"},
		{name: "bad checksum", in: "rec 1\nrec.dat 212 200 11 0 0 1.5\n", wantErr: "line 2: signal 0: checksum"},
		{name: "negative block size", in: "rec 1\n# c\nrec.dat 212 200 11 0 0 1 -1\n", wantErr: "line 3: signal 0: block size"},
		{name: "negative adc res", in: "rec 1\nrec.dat 212 200 -11\n", wantErr: "adc resolution"},
		{name: "overlong line", in: "rec 1 " + strings.Repeat("9", maxHeaderLine+10) + "\n", wantErr: "reading header after line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadHeader(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ReadHeader succeeded with %+v, want error containing %q", got, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %q does not contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadHeader: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ReadHeader =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestSignalPhysical(t *testing.T) {
	s := Signal{Gain: 200, Baseline: 1024}
	for _, c := range []struct {
		adu  int
		want float64
	}{{1024, 0}, {1224, 1}, {955, -0.345}, {0, -5.12}} {
		if got := s.Physical(c.adu); got != c.want {
			t.Errorf("Physical(%d) = %v, want %v", c.adu, got, c.want)
		}
	}
}

// TestReadHeaderMITDB checks every DS1 header against the database's
// documented layout.
func TestReadHeaderMITDB(t *testing.T) {
	dir := testenv.MITDB(t)
	for _, name := range ds1 {
		f, err := os.Open(filepath.Join(dir, name+".hea"))
		if err != nil {
			t.Fatal(err)
		}
		h, err := ReadHeader(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if h.Record != name || h.NumSignals != 2 || h.Fs != 360 || h.NumSamples != 650000 || len(h.Comments) == 0 {
			t.Errorf("%s: record line = %q %d %v %d (comments %d), want %s 2 360 650000", name, h.Record, h.NumSignals, h.Fs, h.NumSamples, len(h.Comments), name)
		}
		for i, s := range h.Signals {
			if s.File != name+".dat" || s.Format != 212 || s.Gain != 200 || s.Baseline != 1024 || s.ADCZero != 1024 || s.ADCRes != 11 || !s.HasChecksum || s.Units != "mV" {
				t.Errorf("%s signal %d = %+v", name, i, s)
			}
		}
		// MLII is signal 0 in every DS1 record except 114, whose leads
		// are stored the other way round (V5, MLII).
		wantMLII := 0
		if name == "114" {
			wantMLII = 1
		}
		if got := h.SignalIndex("MLII"); got != wantMLII {
			t.Errorf("%s: MLII is signal %d, want %d", name, got, wantMLII)
		}
	}
}
