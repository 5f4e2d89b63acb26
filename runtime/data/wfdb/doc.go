// Package wfdb reads PhysioNet WFDB records in pure Go: text headers
// (.hea), signal files in formats 212, 16 and 80, and MIT-format
// annotation files (.atr and other annotators).
//
// ReadHeader parses a header (record line, signal lines, '#' comments);
// ReadRecord reads a header and its signal files, decodes every signal to
// adu (raw ADC units) and checks each signal against the checksum in the
// header; Record.Physical converts a signal to physical units,
// (adu − baseline) / gain, which for MIT-BIH is mV. ParseAnnotations and
// ReadAnnotations decode annotation files the way WFDB's getann does,
// including the SKIP, NUM, SUB, CHN and AUX pseudo-annotations, and label
// each annotation with WFDB's mnemonic (Symbol: 1 N, 2 L, 3 R, 4 a, 5 V,
// 6 F, 7 J, 8 A, 9 S, 10 E, 11 j, 12 /, 13 Q, 34 e, 38 f, …, taken from
// WFDB's lib/annot.c and lib/ecgcodes.h).
//
// Not supported: multi-segment records, signals with more than one sample
// per frame or with skew, and formats other than 212, 16 and 80. Such
// inputs give an error, never a panic. Errors are lowercase, wrap their
// cause with %w and name the file and line or byte offset involved.
package wfdb
