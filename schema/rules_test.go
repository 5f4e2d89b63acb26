package schema

import (
	"reflect"
	"testing"
)

// TestSplitSets checks the split rules that the compiler and prepare share:
// the decoded sets and every problem, in field order, with its path.
func TestSplitSets(t *testing.T) {
	for _, c := range []struct {
		name     string
		split    Split
		sets     SplitSets
		problems []Problem
	}{
		{"fraction", Split{By: "fraction", Train: 0.8, Val: 0.2}, SplitSets{By: "fraction", Fractions: map[string]float64{"train": 0.8, "val": 0.2, "test": 0}}, nil},
		{"default by, ints", Split{Seed: 3, Train: 1}, SplitSets{By: "fraction", Seed: 3, Fractions: map[string]float64{"train": 1, "val": 0, "test": 0}}, nil},
		{"fraction sum", Split{By: "fraction", Train: 0.5, Val: 0.25}, SplitSets{By: "fraction", Fractions: map[string]float64{"train": 0.5, "val": 0.25, "test": 0}},
			[]Problem{{"data.split", "fractions sum to 0.75, want 1"}}},
		{"fraction out of range", Split{By: "fraction", Train: 1.5, Val: "x"}, SplitSets{By: "fraction", Fractions: map[string]float64{"test": 0}},
			[]Problem{{"data.split.train", "1.5: want a fraction in [0, 1]"}, {"data.split.val", "x: want a fraction in [0, 1]"}}},
		{"empty train", Split{By: "fraction", Val: 1.0, Seed: -2}, SplitSets{By: "fraction", Seed: -2, Fractions: map[string]float64{"train": 0, "val": 1, "test": 0}},
			[]Problem{{"data.split.seed", "-2 is negative"}, {"data.split.train", "fraction 0 leaves the train split empty"}}},
		{"records", Split{By: "record", Train: []any{"101", "106"}, Val: []string{"119"}}, SplitSets{By: "record", Records: map[string][]string{"train": {"101", "106"}, "val": {"119"}, "test": nil}}, nil},
		{"record twice", Split{By: "record", Train: []any{"101"}, Val: []any{"", "101"}}, SplitSets{By: "record", Records: map[string][]string{"train": {"101"}, "val": {"", "101"}, "test": nil}},
			[]Problem{{"data.split.val[0]", "empty record name"}, {"data.split.val[1]", `record "101" is already in data.split.train (a record, one patient, belongs to one split)`}}},
		{"records not strings", Split{By: "record", Train: []any{101.0}, Val: []any{"119"}}, SplitSets{By: "record", Records: map[string][]string{"val": {"119"}, "test": nil}},
			[]Problem{{"data.split.train", "[101]: want a list of record names"}}},
		{"no train records", Split{By: "record", Val: []any{"119"}}, SplitSets{By: "record", Records: map[string][]string{"train": nil, "val": {"119"}, "test": nil}},
			[]Problem{{"data.split.train", "no records"}}},
		{"folders", Split{By: "folder", Train: "tr", Val: "va", Test: "te"}, SplitSets{By: "folder", Folders: map[string]string{"train": "tr", "val": "va", "test": "te"}}, nil},
		{"folder paths", Split{By: "folder", Train: "../x", Val: `a\b`}, SplitSets{By: "folder", Folders: map[string]string{}},
			[]Problem{{"data.split.train", "../x: want a folder name"}, {"data.split.val", `a\b: want a folder name`}}},
		{"same folder", Split{By: "folder", Train: "all", Val: "all"}, SplitSets{By: "folder", Folders: map[string]string{"train": "all", "val": "all"}},
			[]Problem{{"data.split.val", `folder "all" is also the train folder`}}},
		{"no train folder", Split{By: "folder", Val: "v"}, SplitSets{By: "folder", Folders: map[string]string{"val": "v"}},
			[]Problem{{"data.split.train", "no folder named"}}},
		{"unknown by", Split{By: "patient"}, SplitSets{By: "patient"},
			[]Problem{{"data.split.by", `"patient": want "fraction", "record" or "folder"`}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			sets, problems := c.split.Sets()
			if !reflect.DeepEqual(sets, c.sets) {
				t.Errorf("sets %+v, want %+v", sets, c.sets)
			}
			if !reflect.DeepEqual(problems, c.problems) {
				t.Errorf("problems %q, want %q", problems, c.problems)
			}
		})
	}
}

func TestProblemField(t *testing.T) {
	for path, want := range map[string]string{
		"data.split.val[1]":             "data.split.val",
		"data.split.val":                "data.split.val",
		"labels[\"a\"]":                 "labels",
		"training.loss.classWeights":    "training.loss.classWeights",
		"sweep.parameters[0].values[2]": "sweep.parameters[0].values",
	} {
		if got := (Problem{Path: path}).Field(); got != want {
			t.Errorf("Field of %q = %q, want %q", path, got, want)
		}
	}
}
