package wfdb

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// DefaultGain is the ADC gain (adu per physical unit) WFDB assumes when a
// header gives a gain of 0 or none at all.
const DefaultGain = 200.0

// DefaultFrequency is the sampling frequency WFDB assumes when the record
// line gives none.
const DefaultFrequency = 250.0

// maxHeaderLine bounds one header line, so a corrupt file cannot make the
// parser buffer unbounded input.
const maxHeaderLine = 64 << 10

// maxSignals bounds the number of signals a header may declare.
const maxSignals = 4096

// Header is a parsed WFDB header (.hea) of a single-segment record.
type Header struct {
	Record      string  // record name
	NumSignals  int     // number of signals
	Fs          float64 // sampling frequency in Hz (per signal, frames per second)
	CounterFreq float64 // counter frequency in Hz; 0 when absent
	BaseCounter float64 // base counter value; 0 when absent
	NumSamples  int64   // samples per signal; 0 when unknown
	BaseTime    string  // base time as written (hh:mm:ss[.sss]); "" when absent
	BaseDate    string  // base date as written (dd/mm/yyyy); "" when absent
	Signals     []Signal
	Comments    []string // text of '#' lines, without the leading '#' and surrounding space
}

// Signal describes one signal line of a header.
type Signal struct {
	File            string  // data file name, relative to the header's directory
	Format          int     // storage format (212, 16, …)
	SamplesPerFrame int     // 1 unless the header says "212x2" and so on
	Skew            int     // the ":skew" field; 0 when absent
	ByteOffset      int64   // the "+offset" field; 0 when absent
	Gain            float64 // adu per physical unit; DefaultGain when the header says 0 or nothing
	Baseline        int     // adu value that corresponds to 0 physical units; ADCZero when absent
	Units           string  // physical units; "mV" when absent
	ADCRes          int     // ADC resolution in bits; 0 when the header gives none (WFDB then assumes a per-format default)
	ADCZero         int     // adu value at the middle of the ADC range
	InitValue       int     // value of the first sample; ADCZero when absent
	Checksum        int     // 16-bit signed sum of all samples, as written; valid when HasChecksum
	HasChecksum     bool
	BlockSize       int    // 0 for ordinary files
	Description     string // e.g. "MLII"; the rest of the line after the block size
}

// Physical converts a sample in adu to physical units (for MIT-BIH: mV):
// (adu - Baseline) / Gain.
func (s Signal) Physical(adu int) float64 {
	return float64(adu-s.Baseline) / s.Gain
}

// SignalIndex returns the index of the first signal whose description is
// name, or -1.
func (h Header) SignalIndex(name string) int {
	for i, s := range h.Signals {
		if s.Description == name {
			return i
		}
	}
	return -1
}

// ReadHeader parses a WFDB header. Multi-segment headers (record name
// "name/n") are rejected. Errors name the line they come from.
func ReadHeader(r io.Reader) (Header, error) {
	var h Header
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxHeaderLine)
	line := 0
	haveRecord := false
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		if strings.HasPrefix(text, "#") {
			h.Comments = append(h.Comments, strings.TrimSpace(text[1:]))
			continue
		}
		if !haveRecord {
			if err := parseRecordLine(&h, text); err != nil {
				return Header{}, fmt.Errorf("reading header line %d: record line: %w", line, err)
			}
			haveRecord = true
			continue
		}
		if len(h.Signals) == h.NumSignals {
			// WFDB ignores anything after the signal lines except comments;
			// accept and ignore as well (info strings without '#' are rare).
			continue
		}
		s, err := parseSignalLine(text)
		if err != nil {
			return Header{}, fmt.Errorf("reading header line %d: signal %d: %w", line, len(h.Signals), err)
		}
		h.Signals = append(h.Signals, s)
	}
	if err := sc.Err(); err != nil {
		return Header{}, fmt.Errorf("reading header after line %d: %w", line, err)
	}
	if !haveRecord {
		return Header{}, errors.New("reading header: no record line")
	}
	if len(h.Signals) != h.NumSignals {
		return Header{}, fmt.Errorf("reading header: record line declares %d signals, found %d signal lines", h.NumSignals, len(h.Signals))
	}
	return h, nil
}

func parseRecordLine(h *Header, text string) error {
	f := strings.Fields(text)
	if len(f) < 2 {
		return fmt.Errorf("want at least record name and number of signals, got %q", text)
	}
	if strings.Contains(f[0], "/") {
		return fmt.Errorf("multi-segment record %q is not supported", f[0])
	}
	h.Record = f[0]
	n, err := strconv.Atoi(f[1])
	if err != nil || n < 0 || n > maxSignals {
		return fmt.Errorf("number of signals %q: want an integer in [0, %d]", f[1], maxSignals)
	}
	h.NumSignals = n
	h.Fs = DefaultFrequency
	if len(f) > 2 {
		if err := parseFrequency(h, f[2]); err != nil {
			return err
		}
	}
	if len(f) > 3 {
		ns, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil || ns < 0 {
			return fmt.Errorf("number of samples %q: want a non-negative integer", f[3])
		}
		h.NumSamples = ns
	}
	if len(f) > 4 {
		h.BaseTime = f[4]
	}
	if len(f) > 5 {
		h.BaseDate = f[5]
	}
	if len(f) > 6 {
		return fmt.Errorf("unexpected fields after base date: %q", strings.Join(f[6:], " "))
	}
	return nil
}

// parseFrequency parses "fs[/counterfreq[(basecounter)]]".
func parseFrequency(h *Header, s string) error {
	fsStr, rest, hasCounter := strings.Cut(s, "/")
	fs, err := parsePositive(fsStr)
	if err != nil {
		return fmt.Errorf("sampling frequency %q: %w", s, err)
	}
	h.Fs = fs
	if !hasCounter {
		return nil
	}
	cfStr, base, hasBase := strings.Cut(rest, "(")
	cf, err := parsePositive(cfStr)
	if err != nil {
		return fmt.Errorf("counter frequency %q: %w", s, err)
	}
	h.CounterFreq = cf
	if hasBase {
		b, ok := strings.CutSuffix(base, ")")
		if !ok {
			return fmt.Errorf("base counter value %q: missing ')'", s)
		}
		v, err := parseFinite(b)
		if err != nil {
			return fmt.Errorf("base counter value %q: %w", s, err)
		}
		h.BaseCounter = v
	}
	return nil
}

func parseFinite(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, errors.New("not a number")
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, errors.New("not a finite number")
	}
	return v, nil
}

func parsePositive(s string) (float64, error) {
	v, err := parseFinite(s)
	if err != nil {
		return 0, err
	}
	if v <= 0 {
		return 0, errors.New("want a positive number")
	}
	return v, nil
}

func parseSignalLine(text string) (Signal, error) {
	f := strings.Fields(text)
	if len(f) < 2 {
		return Signal{}, fmt.Errorf("want at least file name and format, got %q", text)
	}
	s := Signal{File: f[0], SamplesPerFrame: 1, Gain: DefaultGain, Units: "mV"}
	if err := parseFormat(&s, f[1]); err != nil {
		return Signal{}, err
	}
	baselineSet := false
	if len(f) > 2 {
		var err error
		baselineSet, err = parseGain(&s, f[2])
		if err != nil {
			return Signal{}, err
		}
	}
	ints := []struct {
		name string
		dst  *int
	}{
		{"adc resolution", &s.ADCRes},
		{"adc zero", &s.ADCZero},
		{"initial value", &s.InitValue},
		{"checksum", &s.Checksum},
		{"block size", &s.BlockSize},
	}
	initSet := false
	for i, it := range ints {
		if len(f) <= 3+i {
			break
		}
		v, err := strconv.Atoi(f[3+i])
		if err != nil {
			return Signal{}, fmt.Errorf("%s %q: want an integer", it.name, f[3+i])
		}
		*it.dst = v
		switch it.name {
		case "initial value":
			initSet = true
		case "checksum":
			s.HasChecksum = true
		}
	}
	if s.ADCRes < 0 {
		return Signal{}, fmt.Errorf("adc resolution %d: want a non-negative integer", s.ADCRes)
	}
	if s.BlockSize < 0 {
		return Signal{}, fmt.Errorf("block size %d: want a non-negative integer", s.BlockSize)
	}
	if !baselineSet {
		s.Baseline = s.ADCZero
	}
	if !initSet {
		s.InitValue = s.ADCZero
	}
	if len(f) > 8 {
		s.Description = strings.Join(f[8:], " ")
	}
	return s, nil
}

// parseFormat parses "format[xspf][:skew][+offset]".
func parseFormat(s *Signal, field string) error {
	rest := field
	end := strings.IndexAny(rest, "x:+")
	if end < 0 {
		end = len(rest)
	}
	v, err := strconv.Atoi(rest[:end])
	if err != nil || v < 0 {
		return fmt.Errorf("format %q: want a non-negative integer", field)
	}
	s.Format = v
	rest = rest[end:]
	if after, ok := strings.CutPrefix(rest, "x"); ok {
		end = strings.IndexAny(after, ":+")
		if end < 0 {
			end = len(after)
		}
		n, err := strconv.Atoi(after[:end])
		if err != nil || n < 1 {
			return fmt.Errorf("format %q: samples per frame: want a positive integer", field)
		}
		s.SamplesPerFrame = n
		rest = after[end:]
	}
	if after, ok := strings.CutPrefix(rest, ":"); ok {
		end = strings.IndexByte(after, '+')
		if end < 0 {
			end = len(after)
		}
		n, err := strconv.Atoi(after[:end])
		if err != nil || n < 0 {
			return fmt.Errorf("format %q: skew: want a non-negative integer", field)
		}
		s.Skew = n
		rest = after[end:]
	}
	if after, ok := strings.CutPrefix(rest, "+"); ok {
		n, err := strconv.ParseInt(after, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("format %q: byte offset: want a non-negative integer", field)
		}
		s.ByteOffset = n
		rest = ""
	}
	if rest != "" {
		return fmt.Errorf("format %q: unexpected %q", field, rest)
	}
	return nil
}

// parseGain parses "gain[(baseline)][/units]" and reports whether a
// baseline was given.
func parseGain(s *Signal, field string) (bool, error) {
	g, units, hasUnits := strings.Cut(field, "/")
	if hasUnits {
		if units == "" {
			return false, fmt.Errorf("gain %q: empty units", field)
		}
		s.Units = units
	}
	g, base, hasBase := strings.Cut(g, "(")
	v, err := parseFinite(g)
	if err != nil {
		return false, fmt.Errorf("gain %q: %w", field, err)
	}
	if v != 0 {
		s.Gain = v
	}
	if !hasBase {
		return false, nil
	}
	b, ok := strings.CutSuffix(base, ")")
	if !ok {
		return false, fmt.Errorf("gain %q: baseline: missing ')'", field)
	}
	n, err := strconv.Atoi(b)
	if err != nil {
		return false, fmt.Errorf("gain %q: baseline: want an integer", field)
	}
	s.Baseline = n
	return true, nil
}
