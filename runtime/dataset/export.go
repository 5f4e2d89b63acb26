package dataset

import (
	"fmt"
	"os"
	"path/filepath"

	"parak8s.dev/parak8s/runtime/data/ecg"
)

// CSVPart is one file ExportCSV wrote.
type CSVPart struct {
	Split   string   // "train", "val" or "test"
	File    string   // SPLIT.csv under the output folder
	Records []string // the records (patients) whose beats it holds
	Counts  []int    // beats per AAMI class (N S V F Q)
}

// ExportCSV writes the beats of the WFDB records in dir (records, or all
// of them: the RECORDS file or every header) as Kaggle-style beat CSVs
// (Kachuee et al. 2018: lead MLII at 125 Hz, 187 samples, the AAMI class
// number last; see ecg.KachueeOptions), one file per split in out:
// train.csv, val.csv and, for a test fraction above 0, test.csv. Records
// are split by patient with ecg.SplitByRecord (fractions train, val, test
// of the patients, seed), so no patient is in two files; a spec reads them
// with data.split.by "folder". It returns what went where, in split order.
func ExportCSV(dir string, records []string, fractions [3]float64, seed int64, out string) ([]CSVPart, error) {
	if len(records) == 0 {
		var err error
		if records, err = listRecords(dir); err != nil {
			return nil, err
		}
	}
	parts, err := ecg.SplitByRecord(records, seed, fractions[:])
	if err != nil {
		return nil, err
	}
	names := SplitNames()
	for i, p := range parts[:2] {
		if len(p) == 0 {
			return nil, fmt.Errorf("splitting %d records by patient: the %s split is empty (fractions %v)", len(records), names[i], fractions)
		}
	}
	// Every record is read before any file is written: a bad record leaves
	// no partial export behind.
	var res []CSVPart
	var sets []*ecg.Dataset
	for i, recs := range parts {
		if len(recs) == 0 {
			continue
		}
		ds, _, err := ecg.Load(dir, recs, ecg.KachueeOptions())
		if err != nil {
			return nil, err
		}
		res = append(res, CSVPart{Split: names[i], File: names[i] + ".csv", Records: recs, Counts: ds.Counts()})
		sets = append(sets, ds)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("writing beat CSVs: %w", err)
	}
	for i, p := range res {
		if err := writeCSVFile(filepath.Join(out, p.File), sets[i]); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// writeCSVFile writes ds to path through a temporary file, so that a
// failed export leaves no truncated CSV behind.
func writeCSVFile(path string, ds *ecg.Dataset) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing beat CSV: %w", err)
	}
	defer os.Remove(f.Name())
	if err := ecg.WriteCSV(f, ds, ecg.KaggleWidth); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
