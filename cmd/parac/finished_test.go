package main

import (
	"reflect"
	"testing"

	"parak8s.dev/parak8s/compiler/plan"
)

func TestWithoutTrials(t *testing.T) {
	p := &plan.Plan{
		Trials:   []plan.Trial{{ID: "a", Index: 0, DataKey: "x"}, {ID: "b", Index: 1, DataKey: "y"}, {ID: "c", Index: 2, DataKey: "x"}, {ID: "d", Index: 3, DataKey: "y"}},
		Datasets: []plan.Dataset{{Key: "x", Trials: []int{0, 2}}, {Key: "y", Trials: []int{1, 3}}},
	}
	for _, tc := range []struct {
		name     string
		drop     map[string]bool
		trials   []string
		datasets map[string][]int
	}{
		{"none", nil, []string{"a", "b", "c", "d"}, map[string][]int{"x": {0, 2}, "y": {1, 3}}},
		{"one of each", map[string]bool{"a": true, "d": true}, []string{"b", "c"}, map[string][]int{"y": {0}, "x": {1}}},
		{"a whole dataset", map[string]bool{"b": true, "d": true}, []string{"a", "c"}, map[string][]int{"x": {0, 1}}},
		{"all", map[string]bool{"a": true, "b": true, "c": true, "d": true}, nil, map[string][]int{}},
	} {
		q := withoutTrials(p, tc.drop)
		var ids []string
		for i, tr := range q.Trials {
			ids = append(ids, tr.ID)
			if tr.Index != i {
				t.Errorf("%s: trial %s has index %d, want %d", tc.name, tr.ID, tr.Index, i)
			}
		}
		ds := map[string][]int{}
		for _, d := range q.Datasets {
			ds[d.Key] = d.Trials
		}
		if !reflect.DeepEqual(ids, tc.trials) || !reflect.DeepEqual(ds, tc.datasets) {
			t.Errorf("%s: trials %v datasets %v, want %v %v", tc.name, ids, ds, tc.trials, tc.datasets)
		}
	}
	if len(p.Trials) != 4 || len(p.Datasets) != 2 || p.Datasets[0].Trials[1] != 2 {
		t.Error("withoutTrials changed the plan it was given")
	}
}
