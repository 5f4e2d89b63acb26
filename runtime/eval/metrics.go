package eval

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Metric names, as used in Undefined lists and as JSON keys.
const (
	MetricPrecision   = "precision"
	MetricRecall      = "recall"
	MetricSpecificity = "specificity"
	MetricF1          = "f1"
	MetricAUC         = "auc"
)

// ErrInvalidInput is wrapped by every error about malformed input.
var ErrInvalidInput = errors.New("invalid input")

// Options control how metrics are computed.
type Options struct {
	// UseThreshold switches the decision rule for two classes from argmax
	// to "predict class 1 when its score >= Threshold". It is an error
	// with more than two classes.
	UseThreshold bool
	// Threshold is the decision threshold used when UseThreshold is set;
	// it must lie in [0, 1].
	Threshold float64
	// DropIntermediate removes ROC points that lie in the middle of a
	// straight run of equal steps, like scikit-learn's roc_curve
	// drop_intermediate=True. The area under the curve does not change.
	DropIntermediate bool
}

// DefaultOptions returns argmax decisions (Threshold 0.5 is ready for when
// UseThreshold is set) and reduced ROC curves.
func DefaultOptions() Options {
	return Options{Threshold: 0.5, DropIntermediate: true}
}

// Input is what a model produced for a labelled data set.
type Input struct {
	// Classes names the K classes; names must be unique and non-empty.
	// For K = 2 the second class is the positive one.
	Classes []string
	// Labels holds the true class index of each of the N samples.
	Labels []int
	// Probs holds the N×K scores, row-major: Probs[i*K+k].
	Probs []float32
}

// ClassMetrics are the one-vs-rest metrics of one class.
type ClassMetrics struct {
	Class          string
	Support        int // samples whose true class is this one (TP+FN)
	TP, FP, FN, TN int
	Precision      float64 // TP/(TP+FP)
	Recall         float64 // TP/(TP+FN), sensitivity
	Specificity    float64 // TN/(TN+FP)
	F1             float64 // 2TP/(2TP+FP+FN)
	AUC            float64 // one-vs-rest ROC AUC of this class's score
	// Undefined names the metrics above whose denominator was zero; their
	// value is 0. Nil when all are defined. Canonical order.
	Undefined []string
}

// Defined reports whether the named metric (a Metric* constant) is defined.
func (c ClassMetrics) Defined(metric string) bool {
	return !slices.Contains(c.Undefined, metric)
}

// Averages are averages of per-class metrics.
type Averages struct {
	Precision, Recall, Specificity, F1, AUC float64
}

// Confusion is a confusion matrix: Matrix[t][p] counts the samples of true
// class Classes[t] predicted as Classes[p].
type Confusion struct {
	Classes []string
	Matrix  [][]int
}

// ROCPoint is one point of a ROC curve: predicting positive when the score
// is >= Threshold gives this false and true positive rate. The first point
// of a curve is (0, 0) with Threshold +Inf.
type ROCPoint struct {
	FPR, TPR, Threshold float64
}

// ROCCurve is the one-vs-rest ROC curve of one class.
type ROCCurve struct {
	Class string
	// Defined is false when the class has no positive or no negative
	// samples; then AUC is 0 and Points is nil.
	Defined bool
	AUC     float64
	Points  []ROCPoint
}

// Binary holds the extra results for two classes.
type Binary struct {
	PositiveClass string // Classes[1]
	AUC           float64
	// UseThreshold and Threshold record the decision rule that produced
	// the confusion matrix.
	UseThreshold bool
	Threshold    float64
	ROC          ROCCurve
}

// Report holds every metric for one evaluation.
type Report struct {
	N         int
	Classes   []string
	Accuracy  float64
	Macro     Averages
	Weighted  Averages
	PerClass  []ClassMetrics
	Confusion Confusion
	Binary    *Binary // non-nil iff there are two classes
	// Undefined names the summary values without a defined value, as
	// their JSON keys ("auc_macro", "precision_weighted", "auc").
	Undefined []string
}

func validate(in Input, opts Options) error {
	k := len(in.Classes)
	if k < 2 {
		return fmt.Errorf("%w: need at least 2 classes, got %d", ErrInvalidInput, k)
	}
	seen := make(map[string]bool, k)
	for i, c := range in.Classes {
		if c == "" {
			return fmt.Errorf("%w: class %d has an empty name", ErrInvalidInput, i)
		}
		if seen[c] {
			return fmt.Errorf("%w: class name %q appears twice", ErrInvalidInput, c)
		}
		seen[c] = true
	}
	n := len(in.Labels)
	if n == 0 {
		return fmt.Errorf("%w: no samples", ErrInvalidInput)
	}
	if len(in.Probs) != n*k {
		return fmt.Errorf("%w: %d scores for %d samples × %d classes, want %d", ErrInvalidInput, len(in.Probs), n, k, n*k)
	}
	for i, y := range in.Labels {
		if y < 0 || y >= k {
			return fmt.Errorf("%w: label of sample %d is %d, want 0..%d", ErrInvalidInput, i, y, k-1)
		}
	}
	for i, p := range in.Probs {
		if p != p {
			return fmt.Errorf("%w: score of sample %d for class %q is NaN", ErrInvalidInput, i/k, in.Classes[i%k])
		}
	}
	if opts.UseThreshold {
		if k != 2 {
			return fmt.Errorf("%w: a decision threshold needs 2 classes, got %d", ErrInvalidInput, k)
		}
		if !(opts.Threshold >= 0 && opts.Threshold <= 1) {
			return fmt.Errorf("%w: threshold %v is outside [0, 1]", ErrInvalidInput, opts.Threshold)
		}
	}
	return nil
}

// predict returns the predicted class of one row of scores.
func predict(row []float32, opts Options) int {
	if opts.UseThreshold {
		if float64(row[1]) >= opts.Threshold {
			return 1
		}
		return 0
	}
	best := 0
	for j := 1; j < len(row); j++ {
		if row[j] > row[best] {
			best = j
		}
	}
	return best
}

// Compute computes every metric of the report.
func Compute(in Input, opts Options) (*Report, error) {
	if err := validate(in, opts); err != nil {
		return nil, fmt.Errorf("computing metrics: %w", err)
	}
	k, n := len(in.Classes), len(in.Labels)
	cells := make([]int, k*k)
	matrix := make([][]int, k)
	for t := range matrix {
		matrix[t] = cells[t*k : (t+1)*k : (t+1)*k]
	}
	correct := 0
	for i, y := range in.Labels {
		p := predict(in.Probs[i*k:(i+1)*k], opts)
		matrix[y][p]++
		if p == y {
			correct++
		}
	}
	r := &Report{
		N:         n,
		Classes:   slices.Clone(in.Classes),
		Accuracy:  float64(correct) / float64(n),
		PerClass:  make([]ClassMetrics, k),
		Confusion: Confusion{Classes: slices.Clone(in.Classes), Matrix: matrix},
	}
	keys := make([]uint64, n)
	for c := range k {
		m := &r.PerClass[c]
		m.Class = in.Classes[c]
		m.TP = matrix[c][c]
		for j := range k {
			if j != c {
				m.FN += matrix[c][j]
				m.FP += matrix[j][c]
			}
		}
		m.TN = n - m.TP - m.FN - m.FP
		m.Support = m.TP + m.FN
		ratio(&m.Precision, &m.Undefined, MetricPrecision, m.TP, m.TP+m.FP)
		ratio(&m.Recall, &m.Undefined, MetricRecall, m.TP, m.TP+m.FN)
		ratio(&m.Specificity, &m.Undefined, MetricSpecificity, m.TN, m.TN+m.FP)
		ratio(&m.F1, &m.Undefined, MetricF1, 2*m.TP, 2*m.TP+m.FP+m.FN)
		curve := rankClass(in, c, keys, k == 2 && c == 1, opts.DropIntermediate)
		m.AUC = curve.AUC
		if !curve.Defined {
			m.Undefined = append(m.Undefined, MetricAUC)
		}
		if k == 2 && c == 1 {
			r.Binary = &Binary{
				PositiveClass: in.Classes[1],
				AUC:           curve.AUC,
				UseThreshold:  opts.UseThreshold,
				ROC:           curve,
			}
			if opts.UseThreshold {
				r.Binary.Threshold = opts.Threshold
			}
		}
	}
	r.averages()
	return r, nil
}

// averages fills Macro, Weighted and Undefined from PerClass.
func (r *Report) averages() {
	r.Undefined = nil
	type field struct {
		name     string
		get      func(*ClassMetrics) float64
		macro    *float64
		weighted *float64
	}
	fields := []field{
		{MetricAUC, func(m *ClassMetrics) float64 { return m.AUC }, &r.Macro.AUC, &r.Weighted.AUC},
		{MetricPrecision, func(m *ClassMetrics) float64 { return m.Precision }, &r.Macro.Precision, &r.Weighted.Precision},
		{MetricRecall, func(m *ClassMetrics) float64 { return m.Recall }, &r.Macro.Recall, &r.Weighted.Recall},
		{MetricSpecificity, func(m *ClassMetrics) float64 { return m.Specificity }, &r.Macro.Specificity, &r.Weighted.Specificity},
		{MetricF1, func(m *ClassMetrics) float64 { return m.F1 }, &r.Macro.F1, &r.Weighted.F1},
	}
	var undefMacro, undefWeighted []string
	for _, f := range fields {
		var sum, wsum float64
		var cnt, wcnt int
		for i := range r.PerClass {
			m := &r.PerClass[i]
			if !m.Defined(f.name) {
				continue
			}
			v := f.get(m)
			sum += v
			cnt++
			wsum += v * float64(m.Support)
			wcnt += m.Support
		}
		*f.macro, *f.weighted = 0, 0
		if cnt > 0 {
			*f.macro = sum / float64(cnt)
		} else {
			undefMacro = append(undefMacro, f.name+"_macro")
		}
		if wcnt > 0 {
			*f.weighted = wsum / float64(wcnt)
		} else {
			undefWeighted = append(undefWeighted, f.name+"_weighted")
		}
	}
	r.Undefined = append(undefMacro, undefWeighted...)
	if r.Binary != nil && !r.Binary.ROC.Defined {
		r.Undefined = append(r.Undefined, MetricAUC)
	}
}

// ratio stores num/den in *v, or 0 and records name in *undef when den is 0.
func ratio(v *float64, undef *[]string, name string, num, den int) {
	if den == 0 {
		*v = 0
		*undef = append(*undef, name)
		return
	}
	*v = float64(num) / float64(den)
}

// ROCCurves returns the one-vs-rest ROC curve of every class, in class
// order, for plotting with [PlotROC].
func ROCCurves(in Input, opts Options) ([]ROCCurve, error) {
	if err := validate(in, opts); err != nil {
		return nil, fmt.Errorf("computing roc curves: %w", err)
	}
	keys := make([]uint64, len(in.Labels))
	curves := make([]ROCCurve, len(in.Classes))
	for c := range curves {
		curves[c] = rankClass(in, c, keys, true, opts.DropIntermediate)
	}
	return curves, nil
}

// sortKey maps a score to a uint32 whose unsigned order is the score's
// numeric order (-0 and +0 map to the same key).
func sortKey(s float32) uint32 {
	b := math.Float32bits(s)
	if b == 1<<31 { // -0
		b = 0
	}
	if b&(1<<31) != 0 {
		return ^b
	}
	return b | 1<<31
}

func fromSortKey(b uint32) float32 {
	if b&(1<<31) != 0 {
		return math.Float32frombits(b &^ (1 << 31))
	}
	return math.Float32frombits(^b)
}

// rankClass computes the one-vs-rest AUC of class c and, when wantCurve is
// set, its ROC curve. keys is scratch space of length N.
func rankClass(in Input, c int, keys []uint64, wantCurve, drop bool) ROCCurve {
	k := len(in.Classes)
	out := ROCCurve{Class: in.Classes[c]}
	var pos int64
	for i, y := range in.Labels {
		var bit uint64
		if y == c {
			bit = 1
			pos++
		}
		keys[i] = uint64(sortKey(in.Probs[i*k+c]))<<1 | bit
	}
	neg := int64(len(in.Labels)) - pos
	if pos == 0 || neg == 0 {
		return out
	}
	slices.Sort(keys)
	// Walk from the highest score down, one group of tied scores at a time.
	// Each negative scores 1 for every positive above it and 1/2 for every
	// positive tied with it; twice the sum stays an integer.
	var twiceU, tps, fps int64
	type step struct {
		fps, tps int64
		thr      float32
	}
	var steps []step
	if wantCurve {
		steps = make([]step, 0, len(keys))
	}
	for hi := len(keys); hi > 0; {
		score := keys[hi-1] >> 1
		lo := hi - 1
		for lo > 0 && keys[lo-1]>>1 == score {
			lo--
		}
		var gp int64
		for _, key := range keys[lo:hi] {
			gp += int64(key & 1)
		}
		gn := int64(hi-lo) - gp
		twiceU += gn * (2*tps + gp)
		tps += gp
		fps += gn
		if wantCurve {
			steps = append(steps, step{fps, tps, fromSortKey(uint32(score))})
		}
		hi = lo
	}
	out.Defined = true
	out.AUC = float64(twiceU) / (2 * float64(pos) * float64(neg))
	if !wantCurve {
		return out
	}
	if drop && len(steps) > 2 {
		kept := make([]step, 1, len(steps))
		kept[0] = steps[0]
		for i := 1; i < len(steps)-1; i++ {
			a, b, d := steps[i-1], steps[i], steps[i+1]
			if d.fps-2*b.fps+a.fps != 0 || d.tps-2*b.tps+a.tps != 0 {
				kept = append(kept, b)
			}
		}
		steps = append(kept, steps[len(steps)-1])
	}
	out.Points = make([]ROCPoint, 0, len(steps)+1)
	out.Points = append(out.Points, ROCPoint{0, 0, math.Inf(1)})
	for _, s := range steps {
		out.Points = append(out.Points, ROCPoint{
			FPR:       float64(s.fps) / float64(neg),
			TPR:       float64(s.tps) / float64(pos),
			Threshold: float64(s.thr),
		})
	}
	return out
}
