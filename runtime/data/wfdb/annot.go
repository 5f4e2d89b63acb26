package wfdb

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
)

// Codes of the MIT annotation format's pseudo-annotations (the top six bits
// of a word). They modify the annotation before them (SUB, CHN, NUM, AUX)
// or the time of the next one (SKIP).
const (
	codeSkip = 59
	codeNum  = 60
	codeSub  = 61
	codeChn  = 62
	codeAux  = 63
)

// MaxCode is the largest annotation code with a standard meaning (ACMAX in
// WFDB's ecgcodes.h).
const MaxCode = 49

// maxAnnotationBytes bounds what ReadAnnotations reads (a 30-minute MIT-BIH
// .atr file is a few kilobytes to ~20 KiB).
const maxAnnotationBytes = 256 << 20

// Annotation is one annotation of an MIT-format annotation file.
type Annotation struct {
	Sample int64  // time in samples from the start of the record
	Code   int    // annotation code (anntyp), 0..63
	Symbol string // mnemonic for Code from WFDB's table, e.g. "N", "V", "+"
	Sub    int    // subtype (signed char in WFDB)
	Chan   int    // signal number (unsigned char in WFDB); carries over from the previous annotation
	Num    int    // annotator number (signed char in WFDB); carries over from the previous annotation
	Aux    string // auxiliary text, e.g. "(AFIB" for rhythm changes; trailing NULs removed
}

// symbols is WFDB's mnemonic table (lib/annot.c cstring/astring, codes per
// lib/ecgcodes.h). Index = code.
var symbols = [MaxCode + 1]string{
	" ", "N", "L", "R", "a", // 0-4
	"V", "F", "J", "A", "S", // 5-9
	"E", "j", "/", "Q", "~", // 10-14
	"[15]", "|", "[17]", "s", "T", // 15-19
	"*", "D", "\"", "=", "p", // 20-24
	"B", "^", "t", "+", "u", // 25-29
	"?", "!", "[", "]", "e", // 30-34
	"n", "@", "x", "f", "(", // 35-39
	")", "r", "[42]", "[43]", "[44]", // 40-44
	"[45]", "[46]", "[47]", "[48]", "[49]", // 45-49
}

// descriptions is WFDB's description table (lib/annot.c tstring).
var descriptions = [MaxCode + 1]string{
	"", "Normal beat", "Left bundle branch block beat", "Right bundle branch block beat",
	"Aberrated atrial premature beat", "Premature ventricular contraction",
	"Fusion of ventricular and normal beat", "Nodal (junctional) premature beat",
	"Atrial premature beat", "Supraventricular premature or ectopic beat",
	"Ventricular escape beat", "Nodal (junctional) escape beat", "Paced beat",
	"Unclassifiable beat", "Change in signal quality", "", "Isolated QRS-like artifact", "",
	"ST segment change", "T-wave change", "Systole", "Diastole", "Comment annotation",
	"Measurement annotation", "P-wave peak", "Bundle branch block beat (unspecified)",
	"(Non-captured) pacemaker artifact", "T-wave peak", "Rhythm change", "U-wave peak",
	"Beat not classified during learning", "Ventricular flutter wave",
	"Start of ventricular flutter/fibrillation", "End of ventricular flutter/fibrillation",
	"Atrial escape beat", "Supraventricular escape beat",
	"Link to external data (aux contains URL)", "Non-conducted P-wave (blocked APC)",
	"Fusion of paced and normal beat", "Waveform onset", "Waveform end",
	"R-on-T premature ventricular contraction", "", "", "", "", "", "", "", "",
}

// Symbol returns WFDB's mnemonic for an annotation code ("[n]" for codes
// outside 0..MaxCode, as WFDB's annstr does).
func Symbol(code int) string {
	if code >= 0 && code <= MaxCode {
		return symbols[code]
	}
	return "[" + strconv.Itoa(code) + "]"
}

// Code returns the annotation code for a mnemonic (WFDB's strann), and
// false when the mnemonic names no code in 1..MaxCode.
func Code(symbol string) (int, bool) {
	for c := 1; c <= MaxCode; c++ {
		if symbols[c] == symbol {
			return c, true
		}
	}
	return 0, false
}

// Description returns WFDB's description of an annotation code, or "" when
// it has none.
func Description(code int) string {
	if code >= 0 && code <= MaxCode {
		return descriptions[code]
	}
	return ""
}

// IsQRS reports whether code labels a QRS complex (WFDB's isqrs: codes
// 1-13, 25 B, 30 ?, 34 e, 35 n, 38 f and 41 r).
func IsQRS(code int) bool {
	switch {
	case code >= 1 && code <= 13:
		return true
	case code == 25, code == 30, code == 34, code == 35, code == 38, code == 41:
		return true
	}
	return false
}

// ReadAnnotationFile reads an MIT-format annotation file such as 101.atr.
func ReadAnnotationFile(path string) ([]Annotation, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading annotations: %w", err)
	}
	anns, err := ParseAnnotations(b)
	if err != nil {
		return nil, fmt.Errorf("reading annotations %s: %w", path, err)
	}
	return anns, nil
}

// ReadAnnotations reads an MIT-format annotation stream; see
// ParseAnnotations.
func ReadAnnotations(r io.Reader) ([]Annotation, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxAnnotationBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading annotations: %w", err)
	}
	if len(b) > maxAnnotationBytes {
		return nil, fmt.Errorf("reading annotations: more than %d bytes", maxAnnotationBytes)
	}
	return ParseAnnotations(b)
}

// ParseAnnotations decodes an MIT-format annotation file, following WFDB's
// getann: a stream of little-endian 16-bit words whose top 6 bits are a
// code A and low 10 bits a value I. A word with A ≤ 58 is an annotation I
// samples after the previous one; the words after it with A ≥ 59 modify it:
// SKIP (59) adds the signed 32-bit value in the next two words (high word
// first) to the running time, SUB (61) sets its subtype, CHN (62) its
// channel, NUM (60) its number (channel and number carry over to later
// annotations), and AUX (63) attaches I&0xff bytes of text, padded to an
// even length. The word 0 ends the file. SKIPs before the first annotation
// shift all times.
//
// A file that ends without the 0 word, or inside a SKIP or AUX, is an
// error (wrapping io.ErrUnexpectedEOF); the annotations decoded up to that
// point are returned with it. Errors give the byte offset of the problem.
func ParseAnnotations(b []byte) ([]Annotation, error) {
	var (
		anns []Annotation
		t    int64 // running time in samples
		chn  int
		num  int
		off  int // byte offset of the next word
	)
	word := func() (uint16, bool) {
		if off+2 > len(b) {
			return 0, false
		}
		w := uint16(b[off]) | uint16(b[off+1])<<8
		off += 2
		return w, true
	}
	truncated := func(what string) error {
		return fmt.Errorf("parsing annotations: %s at byte offset %d: %w", what, off, io.ErrUnexpectedEOF)
	}
	// anns estimate: about one annotation per word pair.
	anns = make([]Annotation, 0, len(b)/2)
	for {
		start := off
		w, ok := word()
		if !ok {
			if off < len(b) {
				return anns, truncated("odd trailing byte")
			}
			return anns, truncated("missing end-of-file word")
		}
		if w == 0 {
			return anns, nil
		}
		a, v := int(w>>10), int(w&0x3ff)
		switch a {
		case codeSkip:
			hi, ok1 := word()
			lo, ok2 := word()
			if !ok1 || !ok2 {
				return anns, truncated("skip interval cut short")
			}
			t += int64(int32(uint32(hi)<<16 | uint32(lo)))
			continue
		case codeNum, codeSub, codeChn, codeAux:
			if len(anns) == 0 {
				return nil, fmt.Errorf("parsing annotations: modifier code %d at byte offset %d precedes any annotation", a, start)
			}
			cur := &anns[len(anns)-1]
			switch a {
			case codeNum:
				num = int(int8(v))
				cur.Num = num
			case codeSub:
				cur.Sub = int(int8(v))
			case codeChn:
				chn = int(uint8(v))
				cur.Chan = chn
			case codeAux:
				n := v & 0xff
				padded := (n + 1) &^ 1
				if off+padded > len(b) {
					return anns, truncated(fmt.Sprintf("aux string of %d bytes cut short", n))
				}
				cur.Aux = string(bytes.TrimRight(b[off:off+n], "\x00"))
				off += padded
			}
			continue
		}
		t += int64(v)
		anns = append(anns, Annotation{Sample: t, Code: a, Symbol: Symbol(a), Chan: chn, Num: num})
	}
}
