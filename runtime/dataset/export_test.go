package dataset

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"parak8s.dev/parak8s/internal/testenv"
	"parak8s.dev/parak8s/runtime/data/ecg"
	"parak8s.dev/parak8s/schema"
)

// TestExportCSV writes four DS1 records as beat CSVs split by patient,
// prepares them with split.by "folder" and reads a split back raw, as
// evaluate does.
func TestExportCSV(t *testing.T) {
	mitdb := testenv.MITDB(t)
	out := filepath.Join(t.TempDir(), "csv")
	recs := []string{"106", "118", "201", "209"}
	parts, err := ExportCSV(mitdb, recs, [3]float64{0.5, 0.5, 0}, 1, out)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 2 || parts[0].Split != SplitTrain || parts[1].Split != SplitVal {
		t.Fatalf("parts %+v", parts)
	}
	var all []string
	for _, p := range parts {
		all = append(all, p.Records...)
		// The file holds the records' beats as ecg.Load cuts them.
		ds, _, err := ecg.Load(mitdb, p.Records, ecg.KachueeOptions())
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(p.Counts, ds.Counts()) {
			t.Errorf("%s: counts %v, want %v", p.File, p.Counts, ds.Counts())
		}
		f, err := os.Open(filepath.Join(out, p.File))
		if err != nil {
			t.Fatal(err)
		}
		got, err := ecg.ReadCSV(f, p.File)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Beats) != len(ds.Beats) || len(got.Beats[0].Signal) != ecg.KaggleWidth || !slices.Equal(got.Counts(), ds.Counts()) {
			t.Errorf("%s: %d beats of %d samples, counts %v", p.File, len(got.Beats), len(got.Beats[0].Signal), got.Counts())
		}
	}
	slices.Sort(all)
	if !slices.Equal(all, recs) {
		t.Errorf("records %v, want each of %v once", all, recs)
	}
	if _, err := os.Stat(filepath.Join(out, "test.csv")); !os.IsNotExist(err) {
		t.Errorf("test.csv without a test fraction: %v", err)
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 2 {
		t.Errorf("%d files in the output folder, want train.csv and val.csv", len(entries))
	}

	// Prepared by folder: one split per file, the counts of the export.
	data := schema.Data{
		Source: schema.Source{Kind: schema.SourceCSV, Path: out},
		Signal: &schema.Signal{Lead: "MLII", SampleRate: 125, Recipe: "window", Before: 0.5, After: 0.8, Normalize: "zscore", Labels: schema.LabelsAAMI},
		Split:  schema.Split{By: schema.SplitByFolder, Train: "train", Val: "val"},
	}
	_, m := prepareT(t, data)
	for _, p := range parts {
		if got := m.Splits[p.Split].Counts; !slices.Equal(got, p.Counts) {
			t.Errorf("prepared %s counts %v, want %v", p.Split, got, p.Counts)
		}
	}
	if !slices.Equal(m.Input, []int{1, ecg.KaggleWidth}) || m.Features != 0 {
		t.Errorf("input %v, features %d", m.Input, m.Features)
	}
	// Raw, as evaluate reads it: the folder gives the split's file.
	set, err := OpenRaw(context.Background(), data, out, SplitVal)
	if err != nil {
		t.Fatal(err)
	}
	if got := set.Manifest().Splits[SplitVal].Counts; !slices.Equal(got, parts[1].Counts) {
		t.Errorf("raw val counts %v, want %v", got, parts[1].Counts)
	}

	// Errors: a split file missing, an empty split, an unknown record.
	data.Split.Val = "validation"
	if _, err := Prepare(context.Background(), data, filepath.Join(t.TempDir(), "p"), DefaultOptions()); err == nil || !strings.Contains(err.Error(), "data.split.val") || !strings.Contains(err.Error(), "validation.csv") {
		t.Errorf("missing split file: %v", err)
	}
	if _, err := OpenRaw(context.Background(), data, out, SplitTest); err == nil || !strings.Contains(err.Error(), "data.split.test: no file named") {
		t.Errorf("raw split without a file: %v", err)
	}
	if _, err := ExportCSV(mitdb, []string{"106"}, [3]float64{0.5, 0.5, 0}, 1, t.TempDir()); err == nil || !strings.Contains(err.Error(), "split is empty") {
		t.Errorf("one record for two splits: %v", err)
	}
	bad := t.TempDir()
	if _, err := ExportCSV(mitdb, []string{"106", "999"}, [3]float64{0.5, 0.5, 0}, 1, bad); err == nil || !strings.Contains(err.Error(), "999") {
		t.Errorf("unknown record: %v", err)
	}
}
