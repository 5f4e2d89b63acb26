package wfdb

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"

	"parak8s.dev/parak8s/internal/testenv"
)

func FuzzReadHeader(f *testing.F) {
	f.Add([]byte("r 1\nr.dat 212\n"))
	f.Add([]byte("x 1 360/1000(5) 42 10:20:30 01/02/2003\nx.dat 212x1:0+512 100.5(-3)/uV 12 0 -5 -1 0 d e\n"))
	if dir := testenv.FindData("mitdb", "RECORDS"); dir != "" {
		for _, name := range []string{"101", "114", "207"} {
			f.Add(readSlice(f, filepath.Join(dir, name+".hea"), 0, 1024))
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		h, err := ReadHeader(bytes.NewReader(in))
		if err != nil {
			return
		}
		if h.NumSignals != len(h.Signals) {
			t.Fatalf("NumSignals %d, %d signal lines", h.NumSignals, len(h.Signals))
		}
		if !(h.Fs > 0) || math.IsInf(h.Fs, 0) || h.NumSamples < 0 {
			t.Fatalf("bad record line values: fs %v, nsamp %d", h.Fs, h.NumSamples)
		}
		for _, s := range h.Signals {
			if s.Gain == 0 || math.IsNaN(s.Gain) || math.IsInf(s.Gain, 0) || s.SamplesPerFrame < 1 || s.ByteOffset < 0 {
				t.Fatalf("bad signal %+v", s)
			}
		}
	})
}

func FuzzParseAnnotations(f *testing.F) {
	f.Add(cat(skip(100000), word(1, 5), word(codeSub, 3), word(codeChn, 1), word(codeNum, 2), aux("(AFIB"), eof))
	f.Add(cat(word(28, 7), aux("(N\x00"), word(1, 1023), eof))
	if dir := testenv.FindData("mitdb", "RECORDS"); dir != "" {
		for _, name := range []string{"101", "207", "208"} {
			path := filepath.Join(dir, name+".atr")
			f.Add(readSlice(f, path, 0, 256))
			st, err := os.Stat(path)
			if err == nil {
				f.Add(readSlice(f, path, int(st.Size())-128, 128))
			}
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		anns, err := ParseAnnotations(in)
		if err != nil && len(anns) > len(in)/2 {
			t.Fatalf("%d annotations from %d bytes", len(anns), len(in))
		}
		for _, a := range anns {
			if a.Code < 0 || a.Code > 58 || a.Symbol != Symbol(a.Code) {
				t.Fatalf("bad annotation %+v", a)
			}
			if len(a.Aux) > 255 {
				t.Fatalf("aux of %d bytes", len(a.Aux))
			}
		}
	})
}

func FuzzDecode212(f *testing.F) {
	f.Add([]byte{0x12, 0x34, 0x56}, uint8(2))
	f.Add([]byte{0x01, 0x00, 0x02, 0x05, 0xf8}, uint8(3))
	if dir := testenv.FindData("mitdb", "RECORDS"); dir != "" {
		f.Add(readSlice(f, filepath.Join(dir, "101.dat"), 0, 300), uint8(2))
		f.Add(readSlice(f, filepath.Join(dir, "207.dat"), 100000, 301), uint8(1))
	}
	f.Fuzz(func(t *testing.T, in []byte, nsig uint8) {
		vals, decErr := Decode212(in)
		if decErr == nil {
			if len(in)%3 == 0 && !bytes.Equal(encode212(vals), in) {
				t.Fatalf("re-encoding %x gave %x", in, encode212(vals))
			}
			for _, v := range vals {
				if v < -2048 || v > 2047 {
					t.Fatalf("value %d outside 12 bits", v)
				}
			}
		}
		n := int(nsig%8) + 1
		specs := make([]Signal, n)
		for i := range specs {
			specs[i] = Signal{Format: 212, SamplesPerFrame: 1}
		}
		sigs, err := DecodeSignals(in, specs, 0)
		if err != nil {
			t.Fatal(err) // any byte string holds some whole number of frames
		}
		if len(sigs) != n {
			t.Fatalf("%d signals, want %d", len(sigs), n)
		}
		for i := range sigs {
			if len(sigs[i]) != len(sigs[0]) {
				t.Fatalf("signal %d has %d samples, signal 0 %d", i, len(sigs[i]), len(sigs[0]))
			}
			for j, v := range sigs[i] {
				if k := j*n + i; decErr == nil && k < len(vals) && vals[k] != v {
					t.Fatalf("signal %d frame %d = %d, stream value %d = %d", i, j, v, k, vals[k])
				}
			}
		}
	})
}
