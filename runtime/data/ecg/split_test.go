package ecg

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestSplitByRecord(t *testing.T) {
	recs := append(DS1Records(), "202")
	a, err := SplitByRecord(recs, 1, []float64{0.8, 0.2})
	if err != nil {
		t.Fatal(err)
	}
	// 22 patients (201 and 202 are one): 17.6 → 18, 4.4 → 4.
	var all []string
	for _, p := range a {
		all = append(all, p...)
	}
	slices.Sort(all)
	want := slices.Clone(recs)
	slices.Sort(want)
	if !reflect.DeepEqual(all, want) {
		t.Fatalf("parts %v do not cover %v exactly once", a, want)
	}
	n0 := len(a[0])
	if slices.Contains(a[0], "201") {
		n0--
	}
	n1 := len(a[1])
	if slices.Contains(a[1], "201") {
		n1--
	}
	if n0 != 18 || n1 != 4 {
		t.Errorf("patients per part %d/%d, want 18/4: %v", n0, n1, a)
	}
	for _, p := range a {
		if slices.Contains(p, "201") != slices.Contains(p, "202") {
			t.Errorf("201 and 202 (one patient) split apart: %v", a)
		}
		if !slices.IsSorted(p) {
			t.Errorf("part %v not sorted", p)
		}
	}

	// Deterministic, independent of input order and duplicates.
	rev := slices.Clone(recs)
	slices.Reverse(rev)
	b, err := SplitByRecord(append(rev, "101"), 1, []float64{0.8, 0.2})
	if err != nil || !reflect.DeepEqual(a, b) {
		t.Errorf("same seed, reordered input: %v, want %v (err %v)", b, a, err)
	}
	differs := false
	for seed := int64(2); seed < 6; seed++ {
		c, err := SplitByRecord(recs, seed, []float64{0.8, 0.2})
		if err != nil {
			t.Fatal(err)
		}
		differs = differs || !reflect.DeepEqual(a, c)
	}
	if !differs {
		t.Error("seeds 1..5 all give the same split")
	}

	three, err := SplitByRecord([]string{"a", "b", "c", "d", "e"}, 7, []float64{0.5, 0.5, 0})
	if err != nil || len(three[0]) != 3 || len(three[1]) != 2 || len(three[2]) != 0 {
		t.Errorf("5 records 0.5/0.5/0 = %v (err %v), want 3/2/0", three, err)
	}

	for _, c := range []struct {
		f    []float64
		want string
	}{
		{nil, "no fractions"},
		{[]float64{0.5, 0.4}, "sum to"},
		{[]float64{1.5, -0.5}, "fraction -0.5"},
	} {
		if _, err := SplitByRecord(recs, 1, c.f); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("fractions %v: err = %v, want %q", c.f, err, c.want)
		}
	}
}

func TestSubset(t *testing.T) {
	ds := &Dataset{Classes: AAMIClasses(), Rate: 125, Beats: []Beat{{Record: "101"}, {Record: "106"}, {Record: "101", Sample: 2}}}
	got := ds.Subset([]string{"101"})
	if len(got.Beats) != 2 || got.Beats[1].Sample != 2 || got.Rate != 125 {
		t.Errorf("Subset = %+v", got)
	}
	if DS1Records()[0] != "101" || len(DS1Records()) != 22 || len(DS2Records()) != 22 {
		t.Error("DS1/DS2 record lists")
	}
	for _, r := range DS2Records() {
		if slices.Contains(DS1Records(), r) {
			t.Errorf("record %s in both DS1 and DS2", r)
		}
	}
}
