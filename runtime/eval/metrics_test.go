package eval

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func flat(rows [][]float32) []float32 {
	var out []float32
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12 }

// handInput is a 3-class example worked out by hand.
//
//	i  true  scores [A B C]   argmax
//	0  A     .6 .3 .1         A
//	1  A     .4 .4 .2         A   (tie between A and B goes to the lower index)
//	2  A     .2 .5 .3         B
//	3  B     .3 .6 .1         B
//	4  B     .1 .3 .6         C
//	5  C     .2 .2 .6         C
//	6  C     .5 .1 .4         A
//	7  C     .1 .1 .8         C
//
// Confusion (rows true, cols predicted): A [2 1 0], B [0 1 1], C [1 0 2].
// Accuracy 5/8.
//
//	A: TP 2 FP 1 FN 1 TN 4 → precision 2/3, recall 2/3, F1 4/6, specificity 4/5
//	B: TP 1 FP 1 FN 1 TN 5 → 1/2, 1/2, 2/4, 5/6
//	C: TP 2 FP 1 FN 1 TN 4 → 2/3, 2/3, 4/6, 4/5
//
// AUC by counting (positive, negative) pairs, a tie counting 1/2:
//
//	A: positives .6 .4 .2 vs negatives .3 .1 .2 .5 .1 → 5 + 4 + 2.5 = 11.5 of 15 = 23/30
//	B: positives .6 .3 vs negatives .3 .4 .5 .2 .1 .1 → 6 + 3.5 = 9.5 of 12 = 19/24
//	C: positives .6 .4 .8 vs negatives .1 .2 .3 .1 .6 → 4.5 + 4 + 5 = 13.5 of 15 = 9/10
//
// Macro: precision = recall = F1 = (2/3+1/2+2/3)/3 = 11/18, specificity =
// (4/5+5/6+4/5)/3 = 73/90, AUC = (23/30+19/24+9/10)/3 = 59/72.
// Weighted by support 3,2,3: precision = recall = F1 = 5/8, specificity =
// (3·4/5+2·5/6+3·4/5)/8 = 97/120, AUC = (3·23/30+2·19/24+3·9/10)/8 = 79/96.
func handInput() Input {
	return Input{
		Classes: []string{"A", "B", "C"},
		Labels:  []int{0, 0, 0, 1, 1, 2, 2, 2},
		Probs: flat([][]float32{
			{.6, .3, .1}, {.4, .4, .2}, {.2, .5, .3}, {.3, .6, .1},
			{.1, .3, .6}, {.2, .2, .6}, {.5, .1, .4}, {.1, .1, .8},
		}),
	}
}

func TestComputeHandExample(t *testing.T) {
	r, err := Compute(handInput(), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]int{{2, 1, 0}, {0, 1, 1}, {1, 0, 2}}; !reflect.DeepEqual(r.Confusion.Matrix, want) {
		t.Errorf("confusion = %v, want %v", r.Confusion.Matrix, want)
	}
	if r.Binary != nil || r.Undefined != nil || r.N != 8 {
		t.Errorf("binary = %v, undefined = %v, n = %d", r.Binary, r.Undefined, r.N)
	}
	type cm struct {
		support, tp, fp, fn, tn  int
		prec, rec, spec, f1, auc float64
	}
	wantClass := []cm{
		{3, 2, 1, 1, 4, 2. / 3, 2. / 3, 4. / 5, 2. / 3, 23. / 30},
		{2, 1, 1, 1, 5, 1. / 2, 1. / 2, 5. / 6, 1. / 2, 19. / 24},
		{3, 2, 1, 1, 4, 2. / 3, 2. / 3, 4. / 5, 2. / 3, 9. / 10},
	}
	for i, w := range wantClass {
		m := r.PerClass[i]
		got := cm{m.Support, m.TP, m.FP, m.FN, m.TN, m.Precision, m.Recall, m.Specificity, m.F1, m.AUC}
		ok := got.support == w.support && got.tp == w.tp && got.fp == w.fp && got.fn == w.fn && got.tn == w.tn &&
			near(got.prec, w.prec) && near(got.rec, w.rec) && near(got.spec, w.spec) && near(got.f1, w.f1) && near(got.auc, w.auc)
		if !ok || m.Undefined != nil || m.Class != handInput().Classes[i] {
			t.Errorf("class %d = %+v (undefined %v), want %+v", i, got, m.Undefined, w)
		}
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"accuracy", r.Accuracy, 5. / 8},
		{"precision_macro", r.Macro.Precision, 11. / 18},
		{"recall_macro", r.Macro.Recall, 11. / 18},
		{"f1_macro", r.Macro.F1, 11. / 18},
		{"specificity_macro", r.Macro.Specificity, 73. / 90},
		{"auc_macro", r.Macro.AUC, 59. / 72},
		{"precision_weighted", r.Weighted.Precision, 5. / 8},
		{"recall_weighted", r.Weighted.Recall, 5. / 8},
		{"f1_weighted", r.Weighted.F1, 5. / 8},
		{"specificity_weighted", r.Weighted.Specificity, 97. / 120},
		{"auc_weighted", r.Weighted.AUC, 79. / 96},
	} {
		if !near(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// binaryInput is the example of scikit-learn's roc_curve and roc_auc_score
// documentation: y = [0 0 1 1], scores [.1 .4 .35 .8], which gives
// AUC 0.75, fpr [0 0 .5 .5 1], tpr [0 .5 .5 1 1], thresholds [inf .8 .4 .35 .1].
func binaryInput() Input {
	return Input{
		Classes: []string{"NORMAL", "PNEUMONIA"},
		Labels:  []int{0, 0, 1, 1},
		Probs:   flat([][]float32{{.9, .1}, {.6, .4}, {.65, .35}, {.2, .8}}),
	}
}

func TestBinaryMatchesScikitLearnDocs(t *testing.T) {
	r, err := Compute(binaryInput(), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	b := r.Binary
	if b == nil || b.PositiveClass != "PNEUMONIA" || b.AUC != 0.75 || !b.ROC.Defined {
		t.Fatalf("binary = %+v", b)
	}
	want := []ROCPoint{{0, 0, math.Inf(1)}, {0, .5, float64(float32(.8))}, {.5, .5, float64(float32(.4))}, {.5, 1, float64(float32(.35))}, {1, 1, float64(float32(.1))}}
	if !reflect.DeepEqual(b.ROC.Points, want) {
		t.Errorf("roc = %v, want %v", b.ROC.Points, want)
	}
	if r.PerClass[1].AUC != 0.75 || r.PerClass[0].AUC != 0.75 || r.Macro.AUC != 0.75 {
		t.Errorf("per-class auc %v %v, macro %v, want 0.75", r.PerClass[0].AUC, r.PerClass[1].AUC, r.Macro.AUC)
	}
}

func TestBinaryThreshold(t *testing.T) {
	// Scores of PNEUMONIA: .1 .4 .35 .8 for labels 0 0 1 1; positive when score >= threshold.
	tests := []struct {
		name      string
		useThr    bool
		threshold float64
		confusion [][]int
		undefined []string // of the PNEUMONIA class
	}{
		{"argmax", false, 0, [][]int{{2, 0}, {1, 1}}, nil},
		{"0.3", true, 0.3, [][]int{{1, 1}, {0, 2}}, nil},
		{"0.5", true, 0.5, [][]int{{2, 0}, {1, 1}}, nil},
		{"equal to a score counts as positive", true, float64(float32(0.8)), [][]int{{2, 0}, {1, 1}}, nil},
		{"above every score", true, 0.9, [][]int{{2, 0}, {2, 0}}, []string{MetricPrecision}},
		{"zero makes every sample positive", true, 0, [][]int{{0, 2}, {0, 2}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := DefaultOptions()
			opts.UseThreshold, opts.Threshold = tt.useThr, tt.threshold
			r, err := Compute(binaryInput(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(r.Confusion.Matrix, tt.confusion) {
				t.Errorf("confusion = %v, want %v", r.Confusion.Matrix, tt.confusion)
			}
			if got := r.PerClass[1].Undefined; !slices.Equal(got, tt.undefined) {
				t.Errorf("undefined = %v, want %v", got, tt.undefined)
			}
			if r.Binary.UseThreshold != tt.useThr || r.Binary.Threshold != tt.threshold {
				t.Errorf("binary decision = %v %v", r.Binary.UseThreshold, r.Binary.Threshold)
			}
			if r.Binary.AUC != 0.75 {
				t.Errorf("auc = %v, the threshold must not change it", r.Binary.AUC)
			}
		})
	}
}

func TestEdgeCases(t *testing.T) {
	tests := []struct {
		name      string
		in        Input
		accuracy  float64
		confusion [][]int
		// per class: undefined metrics and (for defined ones) a few values
		undefined [][]string
		precision []float64
		recall    []float64
		f1        []float64
		auc       []float64
		top       []string
		macro     Averages
	}{
		{
			name: "single class present",
			in: Input{Classes: []string{"A", "B", "C"}, Labels: []int{0, 0, 0},
				Probs: flat([][]float32{{.8, .1, .1}, {.2, .7, .1}, {.5, .2, .3}})},
			accuracy:  2. / 3,
			confusion: [][]int{{2, 1, 0}, {0, 0, 0}, {0, 0, 0}},
			undefined: [][]string{
				{MetricSpecificity, MetricAUC},                       // no negatives
				{MetricRecall, MetricAUC},                            // predicted once, never true
				{MetricPrecision, MetricRecall, MetricF1, MetricAUC}, // never true nor predicted
			},
			precision: []float64{1, 0, 0},
			recall:    []float64{2. / 3, 0, 0},
			f1:        []float64{0.8, 0, 0},
			auc:       []float64{0, 0, 0},
			// The classes with a defined specificity have no support, so
			// its weighted average is undefined too.
			top: []string{"auc_macro", "auc_weighted", "specificity_weighted"},
			// B's precision 0 is defined and counts; specificity: B 2/3, C 1.
			macro: Averages{Precision: 0.5, Recall: 2. / 3, F1: 0.4, Specificity: 5. / 6, AUC: 0},
		},
		{
			name: "all predictions one class",
			in: Input{Classes: []string{"A", "B", "C"}, Labels: []int{0, 1, 2, 1},
				Probs: flat([][]float32{{.2, .7, .1}, {.1, .8, .1}, {.3, .6, .1}, {.2, .5, .3}})},
			accuracy:  0.5,
			confusion: [][]int{{0, 1, 0}, {0, 2, 0}, {0, 1, 0}},
			undefined: [][]string{{MetricPrecision}, nil, {MetricPrecision}},
			precision: []float64{0, 0.5, 0},
			recall:    []float64{0, 1, 0},
			f1:        []float64{0, 2. / 3, 0},
			// A: positive .2 vs .1 .3 .2 → 1+0+.5 = 1.5/3; B: .8 .5 vs .7 .6 → 2+0 = 2/4;
			// C: positive .1 vs .1 .1 .3 → .5+.5 = 1/3.
			auc:   []float64{0.5, 0.5, 1. / 3},
			macro: Averages{Precision: 0.5, Recall: 1. / 3, F1: 2. / 9, Specificity: 2. / 3, AUC: 4. / 9},
		},
		{
			name: "all scores tied",
			in: Input{Classes: []string{"A", "B"}, Labels: []int{0, 1, 1, 0, 1},
				Probs: flat([][]float32{{.5, .5}, {.5, .5}, {.5, .5}, {.5, .5}, {.5, .5}})},
			accuracy:  0.4,
			confusion: [][]int{{2, 0}, {3, 0}},
			undefined: [][]string{nil, {MetricPrecision}},
			precision: []float64{0.4, 0},
			recall:    []float64{1, 0},
			f1:        []float64{4. / 7, 0},
			auc:       []float64{0.5, 0.5},
			macro:     Averages{Precision: 0.4, Recall: 0.5, F1: 2. / 7, Specificity: 0.5, AUC: 0.5},
		},
		{
			// PNEUMONIA scores: negatives -Inf and -0, positives +0 and 2;
			// -0 and +0 tie: (1 + 1/2 + 2)/4 = 7/8.
			name: "signed zeros tie and infinities rank",
			in: Input{Classes: []string{"NORMAL", "PNEUMONIA"}, Labels: []int{0, 0, 1, 1},
				Probs: []float32{float32(math.Inf(1)), float32(math.Inf(-1)), 1, float32(math.Copysign(0, -1)), -1, 0, -1, 2}},
			accuracy:  1,
			confusion: [][]int{{2, 0}, {0, 2}},
			undefined: [][]string{nil, nil},
			precision: []float64{1, 1},
			recall:    []float64{1, 1},
			f1:        []float64{1, 1},
			auc:       []float64{1, 7. / 8},
			macro:     Averages{Precision: 1, Recall: 1, F1: 1, Specificity: 1, AUC: 15. / 16},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Compute(tt.in, DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			if !near(r.Accuracy, tt.accuracy) || !reflect.DeepEqual(r.Confusion.Matrix, tt.confusion) {
				t.Errorf("accuracy %v confusion %v, want %v %v", r.Accuracy, r.Confusion.Matrix, tt.accuracy, tt.confusion)
			}
			for i, m := range r.PerClass {
				if !slices.Equal(m.Undefined, tt.undefined[i]) {
					t.Errorf("%s undefined = %v, want %v", m.Class, m.Undefined, tt.undefined[i])
				}
				if !near(m.Precision, tt.precision[i]) || !near(m.Recall, tt.recall[i]) || !near(m.F1, tt.f1[i]) || !near(m.AUC, tt.auc[i]) {
					t.Errorf("%s p/r/f1/auc = %v %v %v %v, want %v %v %v %v", m.Class, m.Precision, m.Recall, m.F1, m.AUC,
						tt.precision[i], tt.recall[i], tt.f1[i], tt.auc[i])
				}
				for _, name := range m.Undefined {
					if v := map[string]float64{MetricPrecision: m.Precision, MetricRecall: m.Recall, MetricSpecificity: m.Specificity, MetricF1: m.F1, MetricAUC: m.AUC}[name]; v != 0 {
						t.Errorf("%s undefined %s = %v, want 0", m.Class, name, v)
					}
				}
			}
			if !slices.Equal(r.Undefined, tt.top) {
				t.Errorf("top undefined = %v, want %v", r.Undefined, tt.top)
			}
			g, w := r.Macro, tt.macro
			if !near(g.Precision, w.Precision) || !near(g.Recall, w.Recall) || !near(g.F1, w.F1) || !near(g.Specificity, w.Specificity) || !near(g.AUC, w.AUC) {
				t.Errorf("macro = %+v, want %+v", g, w)
			}
		})
	}
}

func TestBinaryUndefinedAUC(t *testing.T) {
	in := Input{Classes: []string{"NORMAL", "PNEUMONIA"}, Labels: []int{0, 0}, Probs: flat([][]float32{{.9, .1}, {.3, .7}})}
	r, err := Compute(in, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if r.Binary.ROC.Defined || r.Binary.ROC.Points != nil || r.Binary.AUC != 0 {
		t.Errorf("roc = %+v, want undefined", r.Binary.ROC)
	}
	// NORMAL has no negatives (specificity undefined), PNEUMONIA no support,
	// so no class with a defined specificity carries weight.
	if want := []string{"auc_macro", "auc_weighted", "specificity_weighted", "auc"}; !slices.Equal(r.Undefined, want) {
		t.Errorf("undefined = %v, want %v", r.Undefined, want)
	}
	if r.Macro.Specificity != 0.5 || r.Macro.Recall != 0.5 {
		t.Errorf("macro specificity %v recall %v, want 0.5 0.5", r.Macro.Specificity, r.Macro.Recall)
	}
}

func TestInvalidInput(t *testing.T) {
	ok := binaryInput()
	tests := []struct {
		name string
		in   Input
		opts func(*Options)
		msg  string
	}{
		{"one class", Input{Classes: []string{"A"}, Labels: []int{0}, Probs: []float32{1}}, nil, "at least 2 classes"},
		{"duplicate class", Input{Classes: []string{"A", "A"}, Labels: ok.Labels, Probs: ok.Probs}, nil, "appears twice"},
		{"empty class name", Input{Classes: []string{"A", ""}, Labels: ok.Labels, Probs: ok.Probs}, nil, "empty name"},
		{"no samples", Input{Classes: ok.Classes}, nil, "no samples"},
		{"wrong length", Input{Classes: ok.Classes, Labels: ok.Labels, Probs: ok.Probs[:7]}, nil, "7 scores for 4 samples"},
		{"label out of range", Input{Classes: ok.Classes, Labels: []int{0, 2, 1, 1}, Probs: ok.Probs}, nil, "label of sample 1 is 2"},
		{"negative label", Input{Classes: ok.Classes, Labels: []int{0, -1, 1, 1}, Probs: ok.Probs}, nil, "label of sample 1 is -1"},
		{"nan score", Input{Classes: ok.Classes, Labels: ok.Labels, Probs: []float32{1, 0, 1, float32(math.NaN()), 1, 0, 1, 0}}, nil, `sample 1 for class "PNEUMONIA" is NaN`},
		{"threshold with 3 classes", handInput(), func(o *Options) { o.UseThreshold = true }, "needs 2 classes"},
		{"threshold above 1", ok, func(o *Options) { o.UseThreshold, o.Threshold = true, 1.5 }, "outside [0, 1]"},
		{"threshold nan", ok, func(o *Options) { o.UseThreshold, o.Threshold = true, math.NaN() }, "outside [0, 1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := DefaultOptions()
			if tt.opts != nil {
				tt.opts(&opts)
			}
			for _, f := range []func() error{
				func() error { _, err := Compute(tt.in, opts); return err },
				func() error { _, err := ROCCurves(tt.in, opts); return err },
			} {
				err := f()
				if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), tt.msg) {
					t.Errorf("err = %v, want ErrInvalidInput containing %q", err, tt.msg)
				}
			}
		})
	}
}

// bruteAUC counts every (positive, negative) pair.
func bruteAUC(in Input, c int) (float64, bool) {
	k := len(in.Classes)
	var twice, pos, neg int64
	for i, yi := range in.Labels {
		if yi != c {
			continue
		}
		pos++
		for j, yj := range in.Labels {
			if yj == c {
				continue
			}
			si, sj := in.Probs[i*k+c], in.Probs[j*k+c]
			switch {
			case si > sj:
				twice += 2
			case si == sj:
				twice++
			}
		}
	}
	neg = int64(len(in.Labels)) - pos
	if pos == 0 || neg == 0 {
		return 0, false
	}
	return float64(twice) / (2 * float64(pos) * float64(neg)), true
}

// trapezoid is the area under a ROC curve.
func trapezoid(pts []ROCPoint) float64 {
	var a float64
	for i := 1; i < len(pts); i++ {
		a += (pts[i].FPR - pts[i-1].FPR) * (pts[i].TPR + pts[i-1].TPR) / 2
	}
	return a
}

func randomInput(rng *rand.Rand, n, k, levels int) Input {
	in := Input{Labels: make([]int, n), Probs: make([]float32, n*k)}
	for c := range k {
		in.Classes = append(in.Classes, string(rune('a'+c)))
	}
	for i := range n {
		y := rng.IntN(k)
		in.Labels[i] = y
		for c := range k {
			// Coarse levels make ties; the true class is nudged up so AUCs vary.
			v := float32(rng.IntN(levels)) / float32(levels)
			if c == y && rng.IntN(2) == 0 {
				v = min(1, v+0.3)
			}
			if v == 0 && rng.IntN(2) == 0 {
				v = float32(math.Copysign(0, -1))
			}
			in.Probs[i*k+c] = v
		}
	}
	return in
}

func TestAUCMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		n, k := 1+rng.IntN(200), 2+rng.IntN(4)
		levels := []int{2, 5, 20, 1 << 20}[trial%4]
		in := randomInput(rng, n, k, levels)
		r, err := Compute(in, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		full := DefaultOptions()
		full.DropIntermediate = false
		fullCurves, err := ROCCurves(in, full)
		if err != nil {
			t.Fatal(err)
		}
		dropCurves, err := ROCCurves(in, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		for c := range k {
			want, ok := bruteAUC(in, c)
			if got := r.PerClass[c]; got.AUC != want || got.Defined(MetricAUC) != ok {
				t.Fatalf("trial %d class %d: auc %v defined %v, brute force %v %v", trial, c, got.AUC, got.Defined(MetricAUC), want, ok)
			}
			for _, cv := range []ROCCurve{fullCurves[c], dropCurves[c]} {
				if cv.AUC != want || cv.Defined != ok {
					t.Fatalf("trial %d class %d: curve auc %v, want %v", trial, c, cv.AUC, want)
				}
				if !ok {
					continue
				}
				checkCurve(t, cv.Points, want)
			}
			if ok {
				// Dropped points are a subset of the full curve, with its ends.
				f, d := fullCurves[c].Points, dropCurves[c].Points
				if d[len(d)-1] != f[len(f)-1] || len(d) > len(f) {
					t.Fatalf("trial %d class %d: dropped curve %v is not a reduction of %v", trial, c, d, f)
				}
				for _, p := range d {
					if !slices.Contains(f, p) {
						t.Fatalf("trial %d class %d: point %v not on the full curve", trial, c, p)
					}
				}
			}
		}
		if k == 2 && r.Binary.AUC != r.PerClass[1].AUC {
			t.Fatalf("binary auc %v != class auc %v", r.Binary.AUC, r.PerClass[1].AUC)
		}
	}
}

func checkCurve(t *testing.T, pts []ROCPoint, auc float64) {
	t.Helper()
	if pts[0] != (ROCPoint{0, 0, math.Inf(1)}) || pts[len(pts)-1].FPR != 1 || pts[len(pts)-1].TPR != 1 {
		t.Fatalf("curve ends %v … %v", pts[0], pts[len(pts)-1])
	}
	for i := 1; i < len(pts); i++ {
		if pts[i].FPR < pts[i-1].FPR || pts[i].TPR < pts[i-1].TPR || pts[i].Threshold >= pts[i-1].Threshold {
			t.Fatalf("curve not monotone at %d: %v %v", i, pts[i-1], pts[i])
		}
	}
	if a := trapezoid(pts); math.Abs(a-auc) > 1e-12 {
		t.Fatalf("trapezoid area %v, auc %v", a, auc)
	}
}

// TestCountsMatchBruteForce checks the confusion matrix and the averages
// against a direct per-sample computation on random data.
func TestCountsMatchBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 100 {
		n, k := 1+rng.IntN(100), 2+rng.IntN(4)
		in := randomInput(rng, n, k, 5)
		r, err := Compute(in, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		correct := 0
		var recallSum float64
		recallN := 0
		for c := range k {
			var tp, fp, fn, tn int
			for i, y := range in.Labels {
				row := in.Probs[i*k : (i+1)*k]
				pred := slices.Index(row, slices.Max(row))
				switch {
				case y == c && pred == c:
					tp++
				case y != c && pred == c:
					fp++
				case y == c:
					fn++
				default:
					tn++
				}
				if c == 0 && pred == y {
					correct++
				}
			}
			m := r.PerClass[c]
			if m.TP != tp || m.FP != fp || m.FN != fn || m.TN != tn {
				t.Fatalf("class %d counts %d %d %d %d, want %d %d %d %d", c, m.TP, m.FP, m.FN, m.TN, tp, fp, fn, tn)
			}
			if tp+fn > 0 {
				recallSum += float64(tp) / float64(tp+fn)
				recallN++
			}
		}
		if r.Accuracy != float64(correct)/float64(n) {
			t.Fatalf("accuracy %v, want %v", r.Accuracy, float64(correct)/float64(n))
		}
		if !near(r.Macro.Recall, recallSum/float64(recallN)) {
			t.Fatalf("macro recall %v, want %v", r.Macro.Recall, recallSum/float64(recallN))
		}
		// Weighted recall over classes with support is the accuracy.
		if !near(r.Weighted.Recall, r.Accuracy) {
			t.Fatalf("weighted recall %v, accuracy %v", r.Weighted.Recall, r.Accuracy)
		}
	}
}

func benchInput(n, k int) Input {
	rng := rand.New(rand.NewPCG(5, 6))
	in := Input{Labels: make([]int, n), Probs: make([]float32, n*k)}
	for c := range k {
		in.Classes = append(in.Classes, string(rune('A'+c)))
	}
	for i := range n {
		in.Labels[i] = rng.IntN(k)
		var sum float32
		for c := range k {
			v := rng.Float32()
			if c == in.Labels[i] {
				v += 0.5
			}
			in.Probs[i*k+c] = v
			sum += v
		}
		for c := range k {
			in.Probs[i*k+c] /= sum
		}
	}
	return in
}

func BenchmarkCompute100kx5(b *testing.B) {
	in := benchInput(100_000, 5)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Compute(in, DefaultOptions()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkROCCurves100kx5(b *testing.B) {
	in := benchInput(100_000, 5)
	b.ResetTimer()
	for b.Loop() {
		if _, err := ROCCurves(in, DefaultOptions()); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDropIntermediate(t *testing.T) {
	// PNEUMONIA scores .9 .8 .7 .1 for labels 1 1 1 0. Over distinct
	// thresholds fps = 0 0 0 1 and tps = 1 2 3 3; the point at .8 sits in the
	// middle of equal steps (second differences 0 and 0), so scikit-learn's
	// drop_intermediate removes it; the point at .7 is a corner and stays.
	in := Input{Classes: []string{"NORMAL", "PNEUMONIA"}, Labels: []int{1, 1, 1, 0},
		Probs: flat([][]float32{{.1, .9}, {.2, .8}, {.3, .7}, {.9, .1}})}
	f := func(v float32) float64 { return float64(v) }
	inf := math.Inf(1)
	tests := []struct {
		drop bool
		want []ROCPoint
	}{
		{false, []ROCPoint{{0, 0, inf}, {0, 1. / 3, f(.9)}, {0, 2. / 3, f(.8)}, {0, 1, f(.7)}, {1, 1, f(.1)}}},
		{true, []ROCPoint{{0, 0, inf}, {0, 1. / 3, f(.9)}, {0, 1, f(.7)}, {1, 1, f(.1)}}},
	}
	for _, tt := range tests {
		opts := DefaultOptions()
		opts.DropIntermediate = tt.drop
		r, err := Compute(in, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(r.Binary.ROC.Points, tt.want) {
			t.Errorf("drop=%v: roc = %v, want %v", tt.drop, r.Binary.ROC.Points, tt.want)
		}
		if r.Binary.AUC != 1 {
			t.Errorf("auc = %v, want 1", r.Binary.AUC)
		}
	}
}
