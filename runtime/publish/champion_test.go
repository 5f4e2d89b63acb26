package publish

import (
	"context"
	"testing"
)

func TestBeats(t *testing.T) {
	c := func(trial string, v float64, higher bool) Candidate {
		return Candidate{Trial: trial, Rank: Rank{Metric: "m", Higher: higher, Value: v}}
	}
	for _, tc := range []struct {
		name string
		a, b Candidate
		want bool
	}{
		{"higher wins", c("b", 0.9, true), c("a", 0.8, true), true},
		{"higher loses", c("a", 0.8, true), c("b", 0.9, true), false},
		{"lower wins", c("b", 0.1, false), c("a", 0.2, false), true},
		{"lower loses", c("a", 0.2, false), c("b", 0.1, false), false},
		{"tie: smaller id", c("a", 0.5, true), c("b", 0.5, true), true},
		{"tie: larger id", c("b", 0.5, true), c("a", 0.5, true), false},
	} {
		if got := tc.a.Beats(tc.b); got != tc.want {
			t.Errorf("%s: Beats = %v, want %v", tc.name, got, tc.want)
		}
	}
	if _, ok := Best(nil); ok {
		t.Error("Best(nil) found a candidate")
	}
	// the best does not depend on the order
	cands := []Candidate{c("c", 0.7, true), c("b", 0.9, true), c("a", 0.9, true), c("d", 0.2, true)}
	for i := range cands {
		rot := append(append([]Candidate(nil), cands[i:]...), cands[:i]...)
		if b, _ := Best(rot); b.Trial != "a" {
			t.Errorf("Best of rotation %d = %s, want a", i, b.Trial)
		}
	}
}

// TestCandidatesAndPointTags: only ranked models of the experiment by the
// same metric are candidates; PointTags moves only what points elsewhere.
func TestCandidatesAndPointTags(t *testing.T) {
	ctx := context.Background()
	repo := newRegistry(t) + "/models/exp"
	dir := makeModelDir(t, 1<<10)
	opts := DefaultOptions()
	if got, err := Candidates(ctx, repo, "exp", "val_f1", true, opts); err != nil || len(got) != 0 {
		t.Fatalf("Candidates of a missing repository = %v, %v", got, err)
	}
	push := func(trial, experiment string, rank *Rank) Result {
		t.Helper()
		m := sampleModel(dir, trialID(trial))
		m.Experiment, m.Rank = experiment, rank
		res, err := PushModel(ctx, repo, m, opts)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	good := push("good", "exp", &Rank{Metric: "val_f1", Higher: true, Value: 0.9})
	push("unranked", "exp", nil)
	push("other-experiment", "other", &Rank{Metric: "val_f1", Higher: true, Value: 0.99})
	push("other-metric", "exp", &Rank{Metric: "val_auc", Higher: true, Value: 0.99})
	fair := push("fair", "exp", &Rank{Metric: "val_f1", Higher: true, Value: 0.8})
	cands, err := Candidates(ctx, repo, "exp", "val_f1", true, opts)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range cands {
		got[c.Trial] = c.Digest
		if c.Ref != repoOf(t, repo)+"@"+c.Digest {
			t.Errorf("candidate ref %s", c.Ref)
		}
	}
	if len(got) != 2 || got[trialID("good")] != good.Digest || got[trialID("fair")] != fair.Digest {
		t.Fatalf("candidates %v, want good and fair", got)
	}
	best, _ := Best(cands)
	if best.Trial != trialID("good") || best.Rank.Value != 0.9 {
		t.Errorf("best %+v", best)
	}
	moved, err := PointTags(ctx, repo, best.Digest, []string{"champion", "exp"}, opts)
	if err != nil || len(moved) != 2 {
		t.Fatalf("PointTags moved %v (%v), want both", moved, err)
	}
	if moved, err := PointTags(ctx, repo, best.Digest, []string{"champion", "exp"}, opts); err != nil || len(moved) != 0 {
		t.Errorf("PointTags again moved %v (%v), want nothing", moved, err)
	}
	if moved, err := PointTags(ctx, repo, fair.Digest, []string{"champion"}, opts); err != nil || len(moved) != 1 {
		t.Errorf("PointTags to another digest moved %v (%v)", moved, err)
	}
	if _, err := PointTags(ctx, repo, fair.Digest, []string{"bad tag"}, opts); err == nil {
		t.Error("an invalid tag was accepted")
	}
}

func repoOf(t *testing.T, repo string) string {
	t.Helper()
	r, err := parseRepo(repo)
	if err != nil {
		t.Fatal(err)
	}
	return r.String()
}
