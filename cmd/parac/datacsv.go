package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"parak8s.dev/parak8s/runtime/dataset"
)

func dataCSVCmd(stdout io.Writer) *cobra.Command {
	var (
		records   []string
		val, test float64
		seed      int64
	)
	cmd := &cobra.Command{
		Use:   "csv DIR OUT",
		Short: "Write WFDB records as Kaggle-style beat CSVs, one per split, split by patient",
		Long: `csv cuts the beats of the WFDB records in DIR (MIT-BIH: lead MLII) the way
Kachuee et al. 2018 made the Kaggle "ECG Heartbeat Categorization" CSV
(125 Hz, 10 s windows scaled to [0, 1], 1.2 median RR periods from each
R peak zero-padded to 187 samples, the AAMI class 0-4 for N S V F Q last)
and writes OUT/train.csv, OUT/val.csv and, with --test above 0, OUT/test.csv.

Records are split by patient (MIT-BIH's 201 and 202 are one), never by
beat: --val and --test are fractions of the patients, drawn with --seed.
A spec reads the files with

  data: source: {kind: "csv", path: "OUT"}
  data: split: by: "folder"

Prints each file with its records and beats per class.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usageError{fmt.Errorf("%s takes DIR and OUT, got %d arguments", cmd.CommandPath(), len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if !(val > 0 && val < 1) || !(test >= 0 && val+test < 1) {
				return usageError{fmt.Errorf("--val %v, --test %v: want 0 < val, 0 <= test, val + test < 1", val, test)}
			}
			parts, err := dataset.ExportCSV(args[0], records, [3]float64{1 - val - test, val, test}, seed, args[1])
			if err != nil {
				return err
			}
			for _, p := range parts {
				var counts []string
				for i, c := range []string{"N", "S", "V", "F", "Q"} {
					counts = append(counts, fmt.Sprintf("%s %d", c, p.Counts[i]))
				}
				fmt.Fprintf(stdout, "%s: %d records (%s), beats %s\n", filepath.Join(args[1], p.File), len(p.Records), strings.Join(p.Records, " "), strings.Join(counts, " · "))
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&records, "records", nil, "records to read (default: the RECORDS file, else every header)")
	cmd.Flags().Float64Var(&val, "val", 0.25, "fraction of the patients in val.csv")
	cmd.Flags().Float64Var(&test, "test", 0, "fraction of the patients in test.csv")
	cmd.Flags().Int64Var(&seed, "seed", 1, "seed of the split by patient")
	return cmd
}
