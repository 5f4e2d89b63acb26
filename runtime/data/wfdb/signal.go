package wfdb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrChecksum is wrapped by the error ReadRecord returns when a decoded
// signal does not sum to the checksum in its header.
var ErrChecksum = errors.New("checksum mismatch")

// Record is a header together with its decoded signals.
type Record struct {
	Header Header
	// Samples[i] holds signal i in adu (raw ADC units), one value per frame.
	Samples [][]int16
}

// Physical returns signal i converted to physical units (for MIT-BIH: mV)
// with the signal's gain and baseline.
func (r *Record) Physical(i int) ([]float32, error) {
	if i < 0 || i >= len(r.Samples) || i >= len(r.Header.Signals) {
		return nil, fmt.Errorf("converting signal %d of record %q: no such signal", i, r.Header.Record)
	}
	s := r.Header.Signals[i]
	out := make([]float32, len(r.Samples[i]))
	inv := 1 / s.Gain
	base := float64(s.Baseline)
	for j, v := range r.Samples[i] {
		out[j] = float32((float64(v) - base) * inv)
	}
	return out, nil
}

// Checksum returns the WFDB checksum of samples: their sum modulo 2^16 as
// a signed 16-bit value.
func Checksum(samples []int16) int16 {
	var sum int16
	for _, v := range samples {
		sum += v
	}
	return sum
}

// ReadRecord reads dir/name.hea and the signal files it names (relative to
// dir), decodes every signal and checks each signal's checksum when the
// header gives one. Supported formats: 212, 16 and 80 with one sample per
// frame and no skew.
func ReadRecord(dir, name string) (*Record, error) {
	hpath := filepath.Join(dir, name+".hea")
	f, err := os.Open(hpath)
	if err != nil {
		return nil, fmt.Errorf("reading record %q: %w", name, err)
	}
	h, err := ReadHeader(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("reading record %q: %s: %w", name, hpath, err)
	}
	rec := &Record{Header: h, Samples: make([][]int16, len(h.Signals))}
	for start := 0; start < len(h.Signals); {
		end := start + 1
		for end < len(h.Signals) && h.Signals[end].File == h.Signals[start].File {
			end++
		}
		path := filepath.Join(dir, h.Signals[start].File)
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading record %q: signal %d: %w", name, start, err)
		}
		sigs, err := DecodeSignals(data, h.Signals[start:end], h.NumSamples)
		if err != nil {
			return nil, fmt.Errorf("reading record %q: %s: %w", name, path, err)
		}
		copy(rec.Samples[start:end], sigs)
		start = end
	}
	for i, s := range h.Signals {
		if !s.HasChecksum {
			continue
		}
		if got := Checksum(rec.Samples[i]); got != int16(s.Checksum) {
			return nil, fmt.Errorf("reading record %q: signal %d (%s): header says %d, data sums to %d: %w",
				name, i, s.Description, int16(s.Checksum), got, ErrChecksum)
		}
	}
	return rec, nil
}

// DecodeSignals decodes the contents of one signal file holding the
// interleaved signals specs (consecutive header lines naming the same file).
// nframes is the number of samples per signal the header declares; 0 means
// "as many complete frames as the file holds". Extra data beyond nframes
// is ignored, as WFDB does; too little is an error.
func DecodeSignals(data []byte, specs []Signal, nframes int64) ([][]int16, error) {
	if len(specs) == 0 {
		return nil, errors.New("decoding signals: no signals")
	}
	first := specs[0]
	for i, s := range specs {
		if s.Format != first.Format {
			return nil, fmt.Errorf("decoding signal %d: format %d differs from format %d of the file's first signal", i, s.Format, first.Format)
		}
		if s.SamplesPerFrame != 1 {
			return nil, fmt.Errorf("decoding signal %d: %d samples per frame are not supported", i, s.SamplesPerFrame)
		}
		if s.Skew != 0 {
			return nil, fmt.Errorf("decoding signal %d: skew %d is not supported", i, s.Skew)
		}
	}
	if first.ByteOffset > int64(len(data)) {
		return nil, fmt.Errorf("decoding signals: byte offset %d is past the end of the file (%d bytes)", first.ByteOffset, len(data))
	}
	data = data[first.ByteOffset:]
	nsig := int64(len(specs))
	var avail int64 // complete frames in the file
	switch first.Format {
	case 212:
		avail = (int64(len(data)) / 3 * 2) / nsig
		if len(data)%3 == 2 {
			avail = (int64(len(data))/3*2 + 1) / nsig
		}
	case 16:
		avail = int64(len(data)) / 2 / nsig
	case 80:
		avail = int64(len(data)) / nsig
	default:
		return nil, fmt.Errorf("decoding signals: format %d is not supported (supported: 212, 16, 80)", first.Format)
	}
	n := nframes
	if n == 0 {
		n = avail
	}
	if n > avail {
		return nil, fmt.Errorf("decoding signals: header declares %d samples per signal, file holds %d", n, avail)
	}
	out := make([][]int16, nsig)
	for i := range out {
		out[i] = make([]int16, n)
	}
	total := n * nsig // values to decode
	switch first.Format {
	case 212:
		decode212(out, data, total)
	case 16:
		for k := int64(0); k < total; k++ {
			out[k%nsig][k/nsig] = int16(uint16(data[2*k]) | uint16(data[2*k+1])<<8)
		}
	case 80:
		for k := int64(0); k < total; k++ {
			out[k%nsig][k/nsig] = int16(data[k]) - 128
		}
	}
	return out, nil
}

// decode212 decodes total 12-bit values from data into out, interleaved
// across len(out) signals. The caller guarantees data is long enough.
func decode212(out [][]int16, data []byte, total int64) {
	nsig := int64(len(out))
	if nsig == 2 {
		// The common case (MIT-BIH): one 3-byte group is one frame.
		a, b := out[0], out[1]
		for j := range int(total / 2) {
			p := data[3*j : 3*j+3 : 3*j+3]
			a[j] = sext12(uint16(p[0]) | uint16(p[1]&0x0f)<<8)
			b[j] = sext12(uint16(p[2]) | uint16(p[1]&0xf0)<<4)
		}
		return
	}
	for k := int64(0); k < total; k++ {
		g := k / 2 * 3
		var v uint16
		if k%2 == 0 {
			v = uint16(data[g]) | uint16(data[g+1]&0x0f)<<8
		} else {
			v = uint16(data[g+2]) | uint16(data[g+1]&0xf0)<<4
		}
		out[k%nsig][k/nsig] = sext12(v)
	}
}

func sext12(v uint16) int16 { return int16(v<<4) >> 4 }

// Decode212 decodes a format-212 byte stream: every 3 bytes hold two
// 12-bit two's-complement samples, s0 = b0 | (b1&0x0f)<<8 and
// s1 = b2 | (b1&0xf0)<<4. A final group of 2 bytes holds one sample (WFDB
// writes an odd number of samples that way); a final single byte is an
// error.
func Decode212(data []byte) ([]int16, error) {
	if len(data)%3 == 1 {
		return nil, fmt.Errorf("decoding format 212: stray byte at offset %d", len(data)-1)
	}
	n := len(data) / 3 * 2
	if len(data)%3 == 2 {
		n++
	}
	out := make([]int16, n)
	decode212([][]int16{out}, data, int64(n))
	return out, nil
}
