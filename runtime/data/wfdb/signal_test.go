package wfdb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"parak8s.dev/parak8s/internal/testenv"
)

// encode212 packs 12-bit values the way WFDB writes format 212 (an odd
// count ends with a 2-byte group).
func encode212(vals []int16) []byte {
	var b []byte
	for i := 0; i < len(vals); i += 2 {
		a := uint16(vals[i]) & 0xfff
		if i+1 == len(vals) {
			b = append(b, byte(a), byte(a>>8))
			break
		}
		c := uint16(vals[i+1]) & 0xfff
		b = append(b, byte(a), byte(a>>8)|byte(c>>8)<<4, byte(c))
	}
	return b
}

func TestDecode212(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    []int16
		wantErr string
	}{
		{name: "empty", in: nil, want: []int16{}},
		{name: "spec example", in: []byte{0x12, 0x34, 0x56}, want: []int16{0x412, 0x356}},
		{name: "negative", in: []byte{0xff, 0xff, 0xff}, want: []int16{-1, -1}},
		{name: "extremes", in: []byte{0x00, 0x78, 0xff}, want: []int16{-2048, 2047}},
		{name: "odd tail", in: []byte{0x01, 0x00, 0x02, 0x05, 0xf8}, want: []int16{1, 2, -2043}},
		{name: "stray byte", in: []byte{1, 2, 3, 4}, wantErr: "stray byte at offset 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode212(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Decode212 = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDecode212RoundTrip(t *testing.T) {
	for n := range 12 {
		vals := make([]int16, n)
		for i := range vals {
			vals[i] = int16((i*1237)%4096) - 2048
		}
		got, err := Decode212(encode212(vals))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, vals) {
			t.Errorf("n=%d: got %v, want %v", n, got, vals)
		}
	}
}

func TestDecodeSignals(t *testing.T) {
	// 3 interleaved signals, 5 frames: pairs straddle frames.
	var vals []int16
	for f := range 5 {
		for s := range 3 {
			vals = append(vals, int16(100*s+f-7))
		}
	}
	spec := Signal{Format: 212, SamplesPerFrame: 1}
	specs := []Signal{spec, spec, spec}
	data := append([]byte{9, 9, 9, 9}, encode212(vals)...)
	withOffset := make([]Signal, 3)
	for i := range withOffset {
		withOffset[i] = spec
		withOffset[i].ByteOffset = 4
	}
	want := [][]int16{{-7, -6, -5, -4, -3}, {93, 94, 95, 96, 97}, {193, 194, 195, 196, 197}}
	got, err := DecodeSignals(data, withOffset, 5)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DecodeSignals = %v, want %v", got, want)
	}
	got, err = DecodeSignals(data[4:], specs, 0)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("DecodeSignals(nframes=0) = %v, %v; want %v", got, err, want)
	}
	got, err = DecodeSignals(data[4:], specs, 3)
	if err != nil || !reflect.DeepEqual(got, [][]int16{want[0][:3], want[1][:3], want[2][:3]}) {
		t.Errorf("DecodeSignals(nframes=3) = %v, %v", got, err)
	}

	s16 := Signal{Format: 16, SamplesPerFrame: 1}
	got, err = DecodeSignals([]byte{0x01, 0x00, 0xff, 0xff, 0x00, 0x80, 0x34, 0x12}, []Signal{s16, s16}, 2)
	if err != nil || !reflect.DeepEqual(got, [][]int16{{1, -32768}, {-1, 0x1234}}) {
		t.Errorf("format 16: %v, %v", got, err)
	}
	s80 := Signal{Format: 80, SamplesPerFrame: 1}
	got, err = DecodeSignals([]byte{0, 128, 255}, []Signal{s80}, 0)
	if err != nil || !reflect.DeepEqual(got, [][]int16{{-128, 0, 127}}) {
		t.Errorf("format 80: %v, %v", got, err)
	}

	errs := []struct {
		name    string
		data    []byte
		specs   []Signal
		n       int64
		wantErr string
	}{
		{"no signals", data, nil, 0, "no signals"},
		{"too short", data[4:], specs, 6, "declares 6 samples per signal, file holds 5"},
		{"mixed formats", data, []Signal{spec, s16}, 0, "format 16 differs"},
		{"unsupported format", data, []Signal{{Format: 310, SamplesPerFrame: 1}}, 0, "format 310 is not supported"},
		{"spf", data, []Signal{{Format: 212, SamplesPerFrame: 2}}, 0, "2 samples per frame"},
		{"skew", data, []Signal{{Format: 212, SamplesPerFrame: 1, Skew: 1}}, 0, "skew 1"},
		{"offset past end", data, []Signal{{Format: 212, SamplesPerFrame: 1, ByteOffset: 1000}}, 0, "past the end"},
	}
	for _, tt := range errs {
		if _, err := DecodeSignals(tt.data, tt.specs, tt.n); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

// TestReadRecordMITDB reads every DS1 record: ReadRecord verifies both
// header checksums against the decoded samples, and the first sample of
// each signal must equal the header's initial value.
func TestReadRecordMITDB(t *testing.T) {
	dir := testenv.MITDB(t)
	var total time.Duration
	for _, name := range ds1 {
		start := time.Now()
		rec, err := ReadRecord(dir, name)
		total += time.Since(start)
		if err != nil {
			t.Fatalf("ReadRecord(%s): %v", name, err)
		}
		for i, s := range rec.Header.Signals {
			x := rec.Samples[i]
			if len(x) != 650000 {
				t.Fatalf("%s signal %d: %d samples", name, i, len(x))
			}
			if int(x[0]) != s.InitValue {
				t.Errorf("%s signal %d: first sample %d, header initial value %d", name, i, x[0], s.InitValue)
			}
			if int(Checksum(x)) != s.Checksum {
				t.Errorf("%s signal %d: checksum %d, header %d", name, i, Checksum(x), s.Checksum)
			}
			for j, v := range x {
				if v < 0 || v > 2047 { // 11-bit ADC, zero 1024
					t.Fatalf("%s signal %d sample %d = %d outside the 11-bit range", name, i, j, v)
				}
			}
		}
	}
	t.Logf("read %d records in %v (%v per record)", len(ds1), total, total/time.Duration(len(ds1)))

	rec, err := ReadRecord(dir, "101")
	if err != nil {
		t.Fatal(err)
	}
	mv, err := rec.Physical(0)
	if err != nil {
		t.Fatal(err)
	}
	if want := float32(955-1024) / 200; mv[0] != want {
		t.Errorf("101 MLII[0] = %v mV, want %v", mv[0], want)
	}
	if _, err := rec.Physical(2); err == nil {
		t.Error("Physical(2) of a 2-signal record succeeded")
	}
}

func TestReadRecordErrors(t *testing.T) {
	dir := t.TempDir()
	vals := []int16{1, -2, 3, -4, 5, 6}
	if err := os.WriteFile(filepath.Join(dir, "r.dat"), encode212(vals), 0o644); err != nil {
		t.Fatal(err)
	}
	write := func(name, hea string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name+".hea"), []byte(hea), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Sums: signal 0 = 1+3+5 = 9, signal 1 = -2-4+6 = 0.
	write("ok", "ok 2 360 3\nr.dat 212 200 11 0 1 9 0 a\nr.dat 212 200 11 0 -2 0 0 b\n")
	write("badsum", "badsum 2 360 3\nr.dat 212 200 11 0 1 9 0 a\nr.dat 212 200 11 0 -2 1 0 b\n")
	write("short", "short 2 360 4\nr.dat 212\nr.dat 212\n")
	write("nofile", "nofile 1 360\nmissing.dat 212\n")
	write("badhea", "badhea x\n")

	rec, err := ReadRecord(dir, "ok")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rec.Samples, [][]int16{{1, 3, 5}, {-2, -4, 6}}) {
		t.Errorf("samples = %v", rec.Samples)
	}
	for _, c := range []struct{ name, want string }{
		{"badsum", "signal 1 (b): header says 1, data sums to 0: checksum mismatch"},
		{"short", "declares 4 samples per signal, file holds 3"},
		{"nofile", "missing.dat"},
		{"badhea", "badhea.hea: reading header line 1"},
		{"absent", "absent.hea"},
	} {
		_, err := ReadRecord(dir, c.name)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ReadRecord(%s) err = %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := ReadRecord(dir, "badsum"); !errors.Is(err, ErrChecksum) {
		t.Errorf("badsum error %v does not wrap ErrChecksum", err)
	}
}

func BenchmarkReadRecord(b *testing.B) {
	dir := testenv.MITDB(b)
	for b.Loop() {
		if _, err := ReadRecord(dir, "101"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(650000*2)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Msamples/s")
}

func ExampleReadRecord() {
	rec, err := ReadRecord("../../../../shared/data/mitdb", "101")
	if err != nil {
		fmt.Println(err)
		return
	}
	mlii := rec.Header.SignalIndex("MLII")
	mv, _ := rec.Physical(mlii)
	fmt.Printf("%s: %d samples at %g Hz, first MLII sample %.3f mV\n", rec.Header.Record, len(mv), rec.Header.Fs, mv[0])
}
