package eval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
)

// wireReport is the JSON layout of a Report; field order is the order of
// the keys in the file. A nil pointer is an undefined (omitted) value.
type wireReport struct {
	N                   int             `json:"n"`
	Classes             []string        `json:"classes"`
	Accuracy            float64         `json:"accuracy"`
	AUCMacro            *float64        `json:"auc_macro,omitempty"`
	PrecisionMacro      *float64        `json:"precision_macro,omitempty"`
	RecallMacro         *float64        `json:"recall_macro,omitempty"`
	SpecificityMacro    *float64        `json:"specificity_macro,omitempty"`
	F1Macro             *float64        `json:"f1_macro,omitempty"`
	AUCWeighted         *float64        `json:"auc_weighted,omitempty"`
	PrecisionWeighted   *float64        `json:"precision_weighted,omitempty"`
	RecallWeighted      *float64        `json:"recall_weighted,omitempty"`
	SpecificityWeighted *float64        `json:"specificity_weighted,omitempty"`
	F1Weighted          *float64        `json:"f1_weighted,omitempty"`
	AUC                 *float64        `json:"auc,omitempty"`
	PositiveClass       string          `json:"positive_class,omitempty"`
	Threshold           *float64        `json:"threshold,omitempty"`
	PerClass            orderedPerClass `json:"per_class"`
	Confusion           wireConfusion   `json:"confusion"`
	ROC                 *wireROC        `json:"roc,omitempty"`
	Undefined           []string        `json:"undefined,omitempty"`
}

type wireClass struct {
	name        string
	Precision   *float64 `json:"precision,omitempty"`
	Recall      *float64 `json:"recall,omitempty"`
	Specificity *float64 `json:"specificity,omitempty"`
	F1          *float64 `json:"f1,omitempty"`
	AUC         *float64 `json:"auc,omitempty"`
	Support     int      `json:"support"`
	TP          int      `json:"tp"`
	FP          int      `json:"fp"`
	FN          int      `json:"fn"`
	TN          int      `json:"tn"`
	Undefined   []string `json:"undefined,omitempty"`
}

type wireConfusion struct {
	Classes []string `json:"classes"`
	Matrix  [][]int  `json:"matrix"`
}

// wireROC holds the curve as parallel arrays; thresholds[0] is null (+Inf).
type wireROC struct {
	FPR        []float64  `json:"fpr"`
	TPR        []float64  `json:"tpr"`
	Thresholds []*float64 `json:"thresholds"`
}

// orderedPerClass is a JSON object whose keys keep their order.
type orderedPerClass []wireClass

func (p orderedPerClass) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, c := range p {
		if i > 0 {
			b.WriteByte(',')
		}
		key, err := json.Marshal(c.name)
		if err != nil {
			return nil, err
		}
		val, err := json.Marshal(c)
		if err != nil {
			return nil, err
		}
		b.Write(key)
		b.WriteByte(':')
		b.Write(val)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func (p *orderedPerClass) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("per_class is not an object")
	}
	*p = (*p)[:0]
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		var c wireClass
		if err := dec.Decode(&c); err != nil {
			return fmt.Errorf("per_class %q: %w", tok, err)
		}
		c.name = tok.(string)
		*p = append(*p, c)
	}
	_, err = dec.Token()
	return err
}

func defined(v float64, ok bool) *float64 {
	if !ok {
		return nil
	}
	return &v
}

// MarshalJSON writes the report in this layout, keys in this order:
//
//	n, classes, accuracy,
//	auc_macro, precision_macro, recall_macro, specificity_macro, f1_macro,
//	auc_weighted, precision_weighted, recall_weighted, specificity_weighted, f1_weighted,
//	auc, positive_class, threshold          (two classes only; threshold only when used)
//	per_class: {class: {precision, recall, specificity, f1, auc, support, tp, fp, fn, tn, undefined}} in class order
//	confusion: {classes, matrix}            (rows = true, columns = predicted)
//	roc: {fpr, tpr, thresholds}             (two classes, when defined; thresholds[0] is null, meaning +Inf)
//	undefined                               (names of omitted summary values)
//
// An undefined value is omitted and named in the "undefined" list beside it.
func (r *Report) MarshalJSON() ([]byte, error) {
	undef := func(name string) bool { return slices.Contains(r.Undefined, name) }
	w := wireReport{
		N:                   r.N,
		Classes:             r.Classes,
		Accuracy:            r.Accuracy,
		AUCMacro:            defined(r.Macro.AUC, !undef("auc_macro")),
		PrecisionMacro:      defined(r.Macro.Precision, !undef("precision_macro")),
		RecallMacro:         defined(r.Macro.Recall, !undef("recall_macro")),
		SpecificityMacro:    defined(r.Macro.Specificity, !undef("specificity_macro")),
		F1Macro:             defined(r.Macro.F1, !undef("f1_macro")),
		AUCWeighted:         defined(r.Weighted.AUC, !undef("auc_weighted")),
		PrecisionWeighted:   defined(r.Weighted.Precision, !undef("precision_weighted")),
		RecallWeighted:      defined(r.Weighted.Recall, !undef("recall_weighted")),
		SpecificityWeighted: defined(r.Weighted.Specificity, !undef("specificity_weighted")),
		F1Weighted:          defined(r.Weighted.F1, !undef("f1_weighted")),
		Confusion:           wireConfusion{Classes: r.Confusion.Classes, Matrix: r.Confusion.Matrix},
		Undefined:           r.Undefined,
	}
	for _, m := range r.PerClass {
		w.PerClass = append(w.PerClass, wireClass{
			name:        m.Class,
			Precision:   defined(m.Precision, m.Defined(MetricPrecision)),
			Recall:      defined(m.Recall, m.Defined(MetricRecall)),
			Specificity: defined(m.Specificity, m.Defined(MetricSpecificity)),
			F1:          defined(m.F1, m.Defined(MetricF1)),
			AUC:         defined(m.AUC, m.Defined(MetricAUC)),
			Support:     m.Support,
			TP:          m.TP, FP: m.FP, FN: m.FN, TN: m.TN,
			Undefined: m.Undefined,
		})
	}
	if b := r.Binary; b != nil {
		w.AUC = defined(b.AUC, b.ROC.Defined)
		w.PositiveClass = b.PositiveClass
		if b.UseThreshold {
			w.Threshold = defined(b.Threshold, true)
		}
		if b.ROC.Defined {
			roc := &wireROC{}
			for _, p := range b.ROC.Points {
				roc.FPR = append(roc.FPR, p.FPR)
				roc.TPR = append(roc.TPR, p.TPR)
				roc.Thresholds = append(roc.Thresholds, defined(p.Threshold, !math.IsInf(p.Threshold, 0)))
			}
			w.ROC = roc
		}
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads the layout written by MarshalJSON and checks that it
// is consistent (class order, matrix shape, undefined lists).
func (r *Report) UnmarshalJSON(data []byte) error {
	var w wireReport
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	k := len(w.Classes)
	if k < 2 {
		return fmt.Errorf("report has %d classes, want at least 2", k)
	}
	if !slices.Equal(w.Classes, w.Confusion.Classes) {
		return fmt.Errorf("confusion classes %q differ from classes %q", w.Confusion.Classes, w.Classes)
	}
	if len(w.Confusion.Matrix) != k {
		return fmt.Errorf("confusion matrix has %d rows, want %d", len(w.Confusion.Matrix), k)
	}
	total := 0
	for i, row := range w.Confusion.Matrix {
		if len(row) != k {
			return fmt.Errorf("confusion matrix row %d has %d columns, want %d", i, len(row), k)
		}
		for _, v := range row {
			total += v
		}
	}
	if total != w.N {
		return fmt.Errorf("confusion matrix counts %d samples, n is %d", total, w.N)
	}
	if len(w.PerClass) != k {
		return fmt.Errorf("per_class has %d classes, want %d", len(w.PerClass), k)
	}
	byName := make(map[string]wireClass, k)
	for _, c := range w.PerClass {
		byName[c.name] = c
	}
	out := Report{
		N:         w.N,
		Classes:   w.Classes,
		Accuracy:  w.Accuracy,
		PerClass:  make([]ClassMetrics, k),
		Confusion: Confusion{Classes: w.Confusion.Classes, Matrix: w.Confusion.Matrix},
		Undefined: w.Undefined,
	}
	var undefTop []string
	get := func(p *float64, name string, dst *float64) {
		if p == nil {
			undefTop = append(undefTop, name)
			return
		}
		*dst = *p
	}
	get(w.AUCMacro, "auc_macro", &out.Macro.AUC)
	get(w.PrecisionMacro, "precision_macro", &out.Macro.Precision)
	get(w.RecallMacro, "recall_macro", &out.Macro.Recall)
	get(w.SpecificityMacro, "specificity_macro", &out.Macro.Specificity)
	get(w.F1Macro, "f1_macro", &out.Macro.F1)
	get(w.AUCWeighted, "auc_weighted", &out.Weighted.AUC)
	get(w.PrecisionWeighted, "precision_weighted", &out.Weighted.Precision)
	get(w.RecallWeighted, "recall_weighted", &out.Weighted.Recall)
	get(w.SpecificityWeighted, "specificity_weighted", &out.Weighted.Specificity)
	get(w.F1Weighted, "f1_weighted", &out.Weighted.F1)
	for i, name := range w.Classes {
		c, ok := byName[name]
		if !ok {
			return fmt.Errorf("per_class lacks class %q", name)
		}
		m := &out.PerClass[i]
		m.Class, m.Support = name, c.Support
		m.TP, m.FP, m.FN, m.TN = c.TP, c.FP, c.FN, c.TN
		var undef []string
		for _, f := range []struct {
			p   *float64
			dst *float64
			n   string
		}{
			{c.Precision, &m.Precision, MetricPrecision},
			{c.Recall, &m.Recall, MetricRecall},
			{c.Specificity, &m.Specificity, MetricSpecificity},
			{c.F1, &m.F1, MetricF1},
			{c.AUC, &m.AUC, MetricAUC},
		} {
			if f.p == nil {
				undef = append(undef, f.n)
			} else {
				*f.dst = *f.p
			}
		}
		if !slices.Equal(undef, c.Undefined) {
			return fmt.Errorf("per_class %q: undefined list %q does not match the omitted values %q", name, c.Undefined, undef)
		}
		m.Undefined = c.Undefined
	}
	if k == 2 {
		b := &Binary{PositiveClass: w.PositiveClass, ROC: ROCCurve{Class: w.PositiveClass}}
		if b.PositiveClass != w.Classes[1] {
			return fmt.Errorf("positive_class is %q, want the second class %q", b.PositiveClass, w.Classes[1])
		}
		if w.AUC == nil {
			undefTop = append(undefTop, MetricAUC)
		} else {
			b.AUC, b.ROC.AUC, b.ROC.Defined = *w.AUC, *w.AUC, true
		}
		if w.Threshold != nil {
			b.UseThreshold, b.Threshold = true, *w.Threshold
		}
		if (w.ROC != nil) != b.ROC.Defined {
			return fmt.Errorf("roc must be present exactly when auc is")
		}
		if roc := w.ROC; roc != nil {
			if len(roc.FPR) != len(roc.TPR) || len(roc.FPR) != len(roc.Thresholds) || len(roc.FPR) == 0 {
				return fmt.Errorf("roc arrays have lengths %d, %d and %d, want equal and non-zero", len(roc.FPR), len(roc.TPR), len(roc.Thresholds))
			}
			for i := range roc.FPR {
				p := ROCPoint{FPR: roc.FPR[i], TPR: roc.TPR[i], Threshold: math.Inf(1)}
				if t := roc.Thresholds[i]; t != nil {
					p.Threshold = *t
				}
				b.ROC.Points = append(b.ROC.Points, p)
			}
		}
		out.Binary = b
	} else if w.AUC != nil || w.ROC != nil || w.PositiveClass != "" || w.Threshold != nil {
		return fmt.Errorf("auc, positive_class, threshold and roc are only for two classes")
	}
	if !slices.Equal(undefTop, w.Undefined) {
		return fmt.Errorf("undefined list %q does not match the omitted values %q", w.Undefined, undefTop)
	}
	*r = out
	return nil
}

// Write stores the report as indented JSON at path, atomically (a temporary
// file in the same folder is renamed over path).
func (r *Report) Write(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("writing metrics %q: %w", path, err)
	}
	data = append(data, '\n')
	if err := writeFileAtomic(path, data); err != nil {
		return fmt.Errorf("writing metrics %q: %w", path, err)
	}
	return nil
}

// Read loads a report written by [Report.Write].
func Read(path string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading metrics: %w", err)
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("reading metrics %q: %w", path, err)
	}
	return &r, nil
}

func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
