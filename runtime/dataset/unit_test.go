package dataset

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"parak8s.dev/parak8s/schema"
)

func TestClassWeights(t *testing.T) {
	for _, c := range []struct {
		name   string
		counts []int
		spec   any
		want   []float32
		err    string
	}{
		{"nil", []int{1, 2}, nil, nil, ""},
		{"none", []int{1, 2}, "none", nil, ""},
		// sklearn: n / (K * count): 100 / (2*80), 100 / (2*20)
		{"balanced", []int{80, 20}, "balanced", []float32{0.625, 2.5}, ""},
		{"balanced five", []int{10, 10, 10, 10, 10}, "balanced", []float32{1, 1, 1, 1, 1}, ""},
		{"sqrt", []int{80, 20}, "sqrt", []float32{5.0 / 6, 5.0 / 3}, ""},
		{"sqrt empty class", []int{30, 0, 10}, "sqrt", []float32{0.845299, 0, 1.464102}, ""},
		{"balanced empty class", []int{30, 0, 10}, "balanced", []float32{40.0 / 90, 0, 40.0 / 30}, ""},
		{"balanced no samples", []int{0, 0}, "balanced", nil, "have no samples"},
		{"balanced negative", []int{-1, 3}, "balanced", nil, "class 0 has count -1"},
		{"explicit json", []int{5, 5, 5}, []any{1.0, 2.5, 0.0}, []float32{1, 2.5, 0}, ""},
		{"explicit float64", []int{5, 5}, []float64{0.5, 3}, []float32{0.5, 3}, ""},
		{"explicit ints", []int{5, 5}, []int{1, 2}, []float32{1, 2}, ""},
		{"explicit wrong length", []int{5, 5, 5}, []any{1.0, 2.0}, nil, "2 values for 3 classes"},
		{"explicit negative", []int{5, 5}, []any{1.0, -2.0}, nil, "class weights[1]: -2"},
		{"explicit not a number", []int{5, 5}, []any{1.0, "x"}, nil, "class weights[1]: x (string): want a number"},
		{"unknown string", []int{5, 5}, "inverse", nil, `class weights "inverse"`},
		{"unknown type", []int{5, 5}, 3.0, nil, "want \"none\", \"balanced\", \"sqrt\" or a list"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ClassWeights(c.counts, c.spec)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) || (got == nil) != (c.want == nil) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			for i := range got {
				if d := got[i] - c.want[i]; d > 1e-6 || d < -1e-6 {
					t.Fatalf("got %v, want %v", got, c.want)
				}
			}
		})
	}
}

func TestLargestRemainder(t *testing.T) {
	for _, c := range []struct {
		n    int
		f    []float64
		want []int
	}{
		{10, []float64{0.8, 0.2}, []int{8, 2}},
		{2, []float64{0.8, 0.2}, []int{2, 0}},
		{3, []float64{0.5, 0.5}, []int{2, 1}}, // tie to the earlier part
		{7, []float64{0.6, 0.2, 0.2}, []int{4, 2, 1}},
		{0, []float64{0.5, 0.5}, []int{0, 0}},
		{5, []float64{1}, []int{5}},
	} {
		if got := largestRemainder(c.n, c.f); !slices.Equal(got, c.want) {
			t.Errorf("largestRemainder(%d, %v) = %v, want %v", c.n, c.f, got, c.want)
		}
	}
}

// TestStratify checks per-class sizes, that the assignment does not depend
// on the input order, and that it depends on the seed.
func TestStratify(t *testing.T) {
	var labels []int
	var keys []string
	for i := range 100 {
		l := 0
		if i%5 == 0 {
			l = 1
		}
		labels = append(labels, l)
		keys = append(keys, "k"+strconv.Itoa(i))
	}
	fr := []float64{0.7, 0.2, 0.1}
	part := stratify(labels, keys, 3, fr)
	size := map[[2]int]int{}
	assign := map[string]int{}
	for i, p := range part {
		size[[2]int{labels[i], p}]++
		assign[keys[i]] = p
	}
	want := map[[2]int]int{{0, 0}: 56, {0, 1}: 16, {0, 2}: 8, {1, 0}: 14, {1, 1}: 4, {1, 2}: 2}
	if !reflect.DeepEqual(size, want) {
		t.Errorf("sizes per (class, part) %v, want %v", size, want)
	}
	// Reversed input, same assignment.
	rl, rk := slices.Clone(labels), slices.Clone(keys)
	slices.Reverse(rl)
	slices.Reverse(rk)
	for i, p := range stratify(rl, rk, 3, fr) {
		if assign[rk[i]] != p {
			t.Fatalf("item %s: part %d reversed, %d in order", rk[i], p, assign[rk[i]])
		}
	}
	if other := stratify(labels, keys, 4, fr); slices.Equal(other, part) {
		t.Error("seed 4 gives the same assignment as seed 3")
	}
}

func TestParseSplit(t *testing.T) {
	for _, c := range []struct {
		name  string
		split schema.Split
		names []string
		err   string
	}{
		{"fraction", schema.Split{By: "fraction", Train: 0.8, Val: 0.2, Test: 0.0}, []string{"train", "val"}, ""},
		{"fraction three", schema.Split{By: "fraction", Train: 0.6, Val: 0.2, Test: 0.2}, []string{"train", "val", "test"}, ""},
		{"fraction default by", schema.Split{Train: 1.0}, []string{"train"}, ""},
		{"fraction sum", schema.Split{By: "fraction", Train: 0.8, Val: 0.3}, nil, "fractions sum to 1.1"},
		{"fraction no train", schema.Split{By: "fraction", Train: 0.0, Val: 1.0}, nil, "data.split.train: fraction 0"},
		{"fraction not a number", schema.Split{By: "fraction", Train: "0.8", Val: 0.2}, nil, "data.split.train: 0.8: want a fraction"},
		{"fraction negative", schema.Split{By: "fraction", Train: 1.2, Val: -0.2}, nil, "data.split.train: 1.2"},
		{"record", schema.Split{By: "record", Train: []any{"101"}, Val: []string{"106"}}, []string{"train", "val"}, ""},
		{"record duplicate", schema.Split{By: "record", Train: []any{"101"}, Val: []any{"101"}}, nil, `data.split.val: record "101" is already in data.split.train`},
		{"record not strings", schema.Split{By: "record", Train: []any{101.0}}, nil, "data.split.train: [101]: want a list of record names"},
		{"record no train", schema.Split{By: "record", Val: []any{"101"}}, nil, "data.split.train: no records"},
		{"folder", schema.Split{By: "folder", Train: "train", Val: "val"}, []string{"train", "val"}, ""},
		{"folder test", schema.Split{By: "folder", Train: "a", Val: "b", Test: "c"}, []string{"train", "val", "test"}, ""},
		{"folder path", schema.Split{By: "folder", Train: "../x"}, nil, "data.split.train: ../x: want a folder name"},
		{"folder no train", schema.Split{By: "folder", Val: "v"}, nil, "data.split.train: no folder named"},
		{"unknown by", schema.Split{By: "patient"}, nil, `data.split.by: "patient"`},
		{"negative seed", schema.Split{By: "fraction", Seed: -1, Train: 1.0}, nil, "data.split.seed: -1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := parseSplit(c.split)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := s.names(); !slices.Equal(got, c.names) {
				t.Fatalf("names %v, want %v", got, c.names)
			}
		})
	}
}

func TestInspectAndClear(t *testing.T) {
	root := t.TempDir()
	write := func(p string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	empty := filepath.Join(root, "empty")
	os.Mkdir(empty, 0o755)
	other := filepath.Join(root, "other")
	write(filepath.Join(other, "notes.txt"))
	complete := filepath.Join(root, "complete")
	write(filepath.Join(complete, FileManifest))
	partial := filepath.Join(root, "partial")
	write(filepath.Join(partial, FileManifest))
	write(filepath.Join(partial, "train", "N", "a.png"))
	write(filepath.Join(partial, FileIncomplete))
	for _, c := range []struct {
		dir  string
		want State
	}{
		{filepath.Join(root, "absent"), StateEmpty},
		{empty, StateEmpty},
		{other, StateOther},
		{complete, StateComplete},
		{partial, StatePartial},
	} {
		got, err := Inspect(c.dir)
		if err != nil || got != c.want {
			t.Errorf("Inspect(%s) = %v, %v; want %v", filepath.Base(c.dir), got, err, c.want)
		}
	}
	for _, d := range []string{other, complete, empty} {
		if err := Clear(d); err == nil || !strings.Contains(err.Error(), "holds no interrupted data set") {
			t.Errorf("Clear(%s): %v", filepath.Base(d), err)
		}
	}
	if _, err := os.Stat(filepath.Join(other, "notes.txt")); err != nil {
		t.Error("Clear removed a file it refused to clear")
	}
	if err := Clear(partial); err != nil {
		t.Fatal(err)
	}
	if st, _ := Inspect(partial); st != StateEmpty {
		t.Errorf("after Clear: %v", st)
	}
}

func TestReadManifestErrors(t *testing.T) {
	good := Manifest{Format: Format, Kind: KindSignal, Classes: []string{"a", "b"}, Input: []int{1, 10}, Splits: map[string]SplitInfo{"train": {N: 3, Counts: []int{1, 2}, File: "train.safetensors"}}}
	for _, c := range []struct {
		name string
		edit func(*Manifest)
		err  string
	}{
		{"ok", func(*Manifest) {}, ""},
		{"format", func(m *Manifest) { m.Format = "x" }, `format "x"`},
		{"kind", func(m *Manifest) { m.Kind = "text" }, `kind "text"`},
		{"classes", func(m *Manifest) { m.Classes = []string{"a"} }, "1 classes"},
		{"input", func(m *Manifest) { m.Input = []int{1, 2, 3} }, "input shape [1 2 3]"},
		{"no splits", func(m *Manifest) { m.Splits = nil }, "no splits"},
		{"unknown split", func(m *Manifest) { m.Splits["dev"] = m.Splits["train"] }, `unknown split "dev"`},
		{"counts", func(m *Manifest) { m.Splits["train"] = SplitInfo{N: 4, Counts: []int{1, 2}, File: "t"} }, "sum to 3, not 4"},
		{"file", func(m *Manifest) { m.Splits["train"] = SplitInfo{N: 3, Counts: []int{1, 2}, File: "../t"} }, `bad file name "../t"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := good
			m.Splits = map[string]SplitInfo{"train": good.Splits["train"]}
			c.edit(&m)
			dir := t.TempDir()
			b, _ := json.Marshal(m)
			os.WriteFile(filepath.Join(dir, FileManifest), b, 0o644)
			_, err := ReadManifest(dir)
			if c.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("error %v, want %q and the folder", err, c.err)
			}
		})
	}
}

func TestSplitRecords(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sp    schema.Split
		split string
		want  []string
		err   string
	}{
		{"record split", schema.Split{By: schema.SplitByRecord, Train: []any{"101", "106"}, Val: []any{"118"}}, SplitVal, []string{"118"}, ""},
		{"split not listed", schema.Split{By: schema.SplitByRecord, Train: []any{"101"}, Val: []any{"118"}}, SplitTest, nil, ""},
		{"fraction split", schema.Split{By: schema.SplitByFraction, Train: 0.8, Val: 0.2}, SplitVal, nil, ""},
		{"not a record list", schema.Split{By: schema.SplitByRecord, Train: []any{"101", 7.0}}, SplitTrain, nil, "data.split.train"},
	} {
		got, err := SplitRecords(tc.sp, tc.split)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}
