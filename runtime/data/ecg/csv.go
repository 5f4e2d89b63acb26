package ecg

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// KaggleWidth is the number of samples per row of the Kaggle "ECG
// Heartbeat Categorization" CSV files (mitbih_train.csv, mitbih_test.csv).
const KaggleWidth = 187

// KaggleRate is the sampling rate of the Kaggle CSV beats.
const KaggleRate = 125

// maxCSVLine bounds one CSV line.
const maxCSVLine = 1 << 20

// ReadCSV reads the Kaggle layout: no header, one beat per line, N float
// samples followed by the label (an integer class, written as a float
// such as 1.000000000000000000e+00 in the Kaggle files), comma-separated.
// Every line must have the same number of fields (at least 2); labels must
// lie in 0..4 (AAMI N S V F Q). Blank lines are skipped. name is used in
// error messages ("name:line: …"). The dataset's Rate is KaggleRate.
func ReadCSV(r io.Reader, name string) (*Dataset, error) {
	ds := &Dataset{Classes: AAMIClasses(), Rate: KaggleRate}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxCSVLine)
	line, width := 0, 0
	for sc.Scan() {
		line++
		text := bytes.TrimRight(sc.Bytes(), "\r")
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		n := bytes.Count(text, []byte{','}) + 1
		if width == 0 {
			if n < 2 {
				return nil, fmt.Errorf("%s:%d: %d field, want samples and a label", name, line, n)
			}
			width = n
		} else if n != width {
			return nil, fmt.Errorf("%s:%d: %d fields, earlier lines have %d", name, line, n, width)
		}
		sig := make([]float32, 0, width-1)
		var label float64
		rest := text
		for i := range width {
			field := rest
			if j := bytes.IndexByte(rest, ','); j >= 0 {
				field, rest = rest[:j], rest[j+1:]
			}
			v, err := strconv.ParseFloat(string(bytes.TrimSpace(field)), 32)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%s:%d: field %d %q: want a finite number", name, line, i+1, field)
			}
			if i < width-1 {
				sig = append(sig, float32(v))
			} else {
				label = v
			}
		}
		if label != math.Trunc(label) || label < 0 || label >= float64(len(ds.Classes)) {
			return nil, fmt.Errorf("%s:%d: label %v: want an integer class in 0..%d", name, line, label, len(ds.Classes)-1)
		}
		ds.Beats = append(ds.Beats, Beat{Sample: int64(line), Class: int(label), Signal: sig})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%s:%d: line longer than %d bytes: %w", name, line+1, maxCSVLine, err)
		}
		return nil, fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	return ds, nil
}

// WriteCSV writes ds in the Kaggle layout: each beat's Signal zero-padded
// to width samples (KaggleWidth when width is 0), then the class as an
// integer. Floats are written in the shortest form that reads back to the
// same float32. A signal longer than width is an error.
func WriteCSV(w io.Writer, ds *Dataset, width int) error {
	if width == 0 {
		width = KaggleWidth
	}
	if width < 1 {
		return fmt.Errorf("writing csv: width %d: want at least 1", width)
	}
	bw := bufio.NewWriter(w)
	buf := make([]byte, 0, 16*width)
	for i, b := range ds.Beats {
		if len(b.Signal) > width {
			return fmt.Errorf("writing csv: beat %d (record %q, sample %d): %d samples, more than %d", i, b.Record, b.Sample, len(b.Signal), width)
		}
		if b.Class < 0 || b.Class >= len(ds.Classes) {
			return fmt.Errorf("writing csv: beat %d (record %q, sample %d): class %d out of range", i, b.Record, b.Sample, b.Class)
		}
		buf = buf[:0]
		for j := range width {
			v := float32(0)
			if j < len(b.Signal) {
				v = b.Signal[j]
			}
			buf = strconv.AppendFloat(buf, float64(v), 'g', -1, 32)
			buf = append(buf, ',')
		}
		buf = strconv.AppendInt(buf, int64(b.Class), 10)
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return fmt.Errorf("writing csv: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing csv: %w", err)
	}
	return nil
}
