package eval

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestJSONRoundTrip(t *testing.T) {
	thr := DefaultOptions()
	thr.UseThreshold, thr.Threshold = true, 0.3
	full := DefaultOptions()
	full.DropIntermediate = false
	tests := []struct {
		name string
		in   Input
		opts Options
	}{
		{"three classes", handInput(), DefaultOptions()},
		{"binary", binaryInput(), DefaultOptions()},
		{"binary with threshold", binaryInput(), thr},
		{"binary full curve", benchInput(500, 2), full},
		{"undefined values", Input{Classes: []string{"A", "B", "C"}, Labels: []int{0, 0}, Probs: []float32{.8, .1, .1, .2, .7, .1}}, DefaultOptions()},
		{"binary undefined auc", Input{Classes: []string{"NORMAL", "PNEUMONIA"}, Labels: []int{1, 1}, Probs: []float32{.8, .2, .3, .7}}, DefaultOptions()},
		{"odd class names", Input{Classes: []string{`"quoted"`, "ünï", "a\nb"}, Labels: []int{0, 1, 2}, Probs: []float32{1, 0, 0, 0, 1, 0, 0, 0, 1}}, DefaultOptions()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Compute(tt.in, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "metrics.json")
			if err := r.Write(path); err != nil {
				t.Fatal(err)
			}
			got, err := Read(path)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, r) {
				t.Errorf("round trip differs:\n got %+v\nwant %+v", got, r)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(data, []byte("NaN")) || bytes.Contains(data, []byte("Inf")) {
				t.Errorf("json holds NaN or Inf:\n%s", data)
			}
			// Writing the read report gives the same bytes.
			path2 := filepath.Join(t.TempDir(), "again.json")
			if err := got.Write(path2); err != nil {
				t.Fatal(err)
			}
			if data2, _ := os.ReadFile(path2); !bytes.Equal(data, data2) {
				t.Errorf("second write differs")
			}
			if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
				t.Errorf("write left %d files behind", len(entries))
			}
		})
	}
}

// keysOf returns the keys of a JSON object (and of the object under
// sub, if set) in file order.
func keysOf(t *testing.T, data []byte, sub string) []string {
	t.Helper()
	if sub != "" {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		data = m[sub]
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var keys []string
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestJSONLayout(t *testing.T) {
	opts := DefaultOptions()
	opts.UseThreshold, opts.Threshold = true, 0.5
	bin, err := Compute(binaryInput(), opts)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(bin)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"n", "classes", "accuracy",
		"auc_macro", "precision_macro", "recall_macro", "specificity_macro", "f1_macro",
		"auc_weighted", "precision_weighted", "recall_weighted", "specificity_weighted", "f1_weighted",
		"auc", "positive_class", "threshold", "per_class", "confusion", "roc"}
	if got := keysOf(t, data, ""); !slices.Equal(got, want) {
		t.Errorf("keys = %q, want %q", got, want)
	}
	if got := keysOf(t, data, "per_class"); !slices.Equal(got, []string{"NORMAL", "PNEUMONIA"}) {
		t.Errorf("per_class keys = %q", got)
	}
	var v struct {
		AUC       float64 `json:"auc"`
		Threshold float64 `json:"threshold"`
		PerClass  map[string]map[string]any
		Confusion struct {
			Classes []string `json:"classes"`
			Matrix  [][]int  `json:"matrix"`
		} `json:"confusion"`
		ROC struct {
			FPR        []float64  `json:"fpr"`
			TPR        []float64  `json:"tpr"`
			Thresholds []*float64 `json:"thresholds"`
		} `json:"roc"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if v.AUC != 0.75 || v.Threshold != 0.5 || !reflect.DeepEqual(v.Confusion.Matrix, [][]int{{2, 0}, {1, 1}}) {
		t.Errorf("auc %v threshold %v confusion %v", v.AUC, v.Threshold, v.Confusion.Matrix)
	}
	if !slices.Equal(v.ROC.FPR, []float64{0, 0, .5, .5, 1}) || !slices.Equal(v.ROC.TPR, []float64{0, .5, .5, 1, 1}) ||
		v.ROC.Thresholds[0] != nil || *v.ROC.Thresholds[1] != float64(float32(.8)) {
		t.Errorf("roc = %+v", v.ROC)
	}

	// A three-class report has no binary keys, in class order, not sorted.
	in := handInput()
	in.Classes = []string{"Z", "M", "A"}
	r, err := Compute(in, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	data, err = json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if got := keysOf(t, data, "per_class"); !slices.Equal(got, in.Classes) {
		t.Errorf("per_class keys = %q, want class order", got)
	}
	for _, k := range keysOf(t, data, "") {
		if k == "auc" || k == "roc" || k == "positive_class" || k == "threshold" {
			t.Errorf("three-class report has %q", k)
		}
	}
}

func TestJSONUndefinedOmitted(t *testing.T) {
	in := Input{Classes: []string{"A", "B", "C"}, Labels: []int{0, 0}, Probs: []float32{.8, .1, .1, .2, .7, .1}}
	r, err := Compute(in, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]json.RawMessage
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"auc_macro", "auc_weighted", "specificity_weighted"} {
		if _, ok := v[k]; ok {
			t.Errorf("undefined %q is present", k)
		}
	}
	if string(v["undefined"]) != `["auc_macro","auc_weighted","specificity_weighted"]` {
		t.Errorf("undefined = %s", v["undefined"])
	}
	var pc map[string]map[string]json.RawMessage
	if err := json.Unmarshal(v["per_class"], &pc); err != nil {
		t.Fatal(err)
	}
	// C: never true nor predicted.
	c := pc["C"]
	for _, k := range []string{"precision", "recall", "f1", "auc"} {
		if _, ok := c[k]; ok {
			t.Errorf("C has undefined %q", k)
		}
	}
	if string(c["specificity"]) != "1" || string(c["support"]) != "0" || string(c["undefined"]) != `["precision","recall","f1","auc"]` {
		t.Errorf("C = %s", data)
	}
}

func TestReadRejectsInconsistentFiles(t *testing.T) {
	r, err := Compute(binaryInput(), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	good, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		old, new string
		msg      string
	}{
		{"not json", `{`, `[`, "invalid character"},
		{"confusion classes", `"confusion":{"classes":["NORMAL","PNEUMONIA"]`, `"confusion":{"classes":["NORMAL","X"]`, "confusion classes"},
		{"matrix total", `"n":4,`, `"n":5,`, "counts 4 samples, n is 5"},
		{"matrix shape", `"matrix":[[2,0],[1,1]]`, `"matrix":[[2,0]]`, "1 rows"},
		{"missing class", `"PNEUMONIA":{`, `"OTHER":{`, `lacks class "PNEUMONIA"`},
		{"omitted value not listed", `"precision":0.6666666666666666,`, ``, "does not match"},
		{"omitted summary not listed", `"auc_macro":0.75,`, ``, "does not match"},
		{"roc without auc", `"auc":0.75,`, `"undefined":["auc"],`, "roc must be present"},
		{"wrong positive class", `"positive_class":"PNEUMONIA"`, `"positive_class":"NORMAL"`, "positive_class"},
		{"roc lengths", `"fpr":[0,`, `"fpr":[`, "lengths"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := strings.Replace(string(good), tt.old, tt.new, 1)
			if bad == string(good) {
				t.Fatalf("%q not in %s", tt.old, good)
			}
			path := filepath.Join(t.TempDir(), "m.json")
			if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Read(path)
			if err == nil || !strings.Contains(err.Error(), tt.msg) || !strings.HasPrefix(err.Error(), "reading metrics") {
				t.Errorf("err = %v, want one containing %q", err, tt.msg)
			}
		})
	}
	if _, err := Read(filepath.Join(t.TempDir(), "missing.json")); err == nil || !strings.Contains(err.Error(), "reading metrics") {
		t.Errorf("missing file: err = %v", err)
	}
}

func TestWriteFailsInMissingFolder(t *testing.T) {
	r, err := Compute(handInput(), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	err = r.Write(filepath.Join(t.TempDir(), "no", "such", "m.json"))
	if err == nil || !strings.HasPrefix(err.Error(), "writing metrics") {
		t.Errorf("err = %v", err)
	}
}
