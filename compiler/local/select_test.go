package local_test

import (
	"maps"
	"path/filepath"
	"slices"
	"testing"

	"parak8s.dev/parak8s/compiler"
	"parak8s.dev/parak8s/compiler/local"
)

func TestSelect(t *testing.T) {
	res, err := compiler.Plan(filepath.Join("..", "..", "examples", "ecg"), compiler.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	p := res[0].Plan
	sel, err := local.Select(p, []string{p.Trials[3].Short()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range p.Trials {
		if sel[i] != (i == 3) {
			t.Errorf("--only %s: trial %d selected %v", p.Trials[3].Short(), i, sel[i])
		}
	}
	if all, err := local.Select(p, nil); err != nil || len(all) != len(p.Trials) || slices.Contains(slices.Collect(maps.Values(all)), false) {
		t.Errorf("no --only: %v, %v; want every trial", all, err)
	}
	if _, err := local.Select(p, []string{"ffffffffffff0"}); err == nil {
		t.Error("--only with an unknown trial should fail")
	}
}
