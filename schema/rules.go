package schema

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Problem is a broken rule of a resolved experiment: the field that breaks
// it (a path relative to the experiment, "data.split.val[1]") and what is
// wrong, in the user's words.
type Problem struct {
	Path string
	Msg  string
}

func (p Problem) Error() string { return p.Path + ": " + p.Msg }

// AAMIClasses are the classes of data.signal.labels "aami", in label order.
func AAMIClasses() []string { return []string{"N", "S", "V", "F", "Q"} }

// Problems checks the rules across fields that the CUE schema cannot state
// (or can state only without pointing at the field that breaks them) and
// that the step programs would otherwise find hours later: how data is
// split for its source kind, which model reads which data, list lengths
// that must match the classes, push conditions on metrics the trial
// computes. It is run by the compiler on every trial of a sweep and reads
// nothing but e; e must have passed the CUE schema.
func (e Experiment) Problems() []Problem {
	var out []Problem
	add := func(path, format string, args ...any) {
		out = append(out, Problem{path, fmt.Sprintf(format, args...)})
	}
	d := e.Data
	kind := d.Source.Kind
	signal := kind == "wfdb" || kind == "csv"

	// The source.
	if rest, ok := strings.CutPrefix(d.Source.Path, "oci://"); ok {
		_, digest, pinned := strings.Cut(rest, "@")
		switch {
		case !pinned && d.Source.Digest == "":
			add("data.source.path", "an oci:// source must pin its digest (oci://REPO@sha256:…, as `parac data push` prints it, or data.source.digest)")
		case pinned && d.Source.Digest != "" && d.Source.Digest != digest:
			add("data.source.digest", "%s disagrees with the digest of data.source.path (%s)", d.Source.Digest, digest)
		}
	}
	if len(d.Source.Records) > 0 && kind != "wfdb" {
		add("data.source.records", "only WFDB sources have records (data.source.kind is %q)", kind)
	}

	// The split, for the source kind.
	sp := d.Split
	switch {
	case sp.By == "record" && kind != "wfdb":
		add("data.split.by", "%q needs WFDB records; %s splits by %s", sp.By, kindWords[kind], splitsOf[kind])
	case sp.By == "folder" && kind == "csv" && strings.HasSuffix(strings.ToLower(d.Source.Path), ".csv"):
		add("data.split.by", "%q reads NAME.csv files from the folder data.source.path, but %s is one file: split it by \"fraction\"", sp.By, d.Source.Path)
	case sp.By == "folder" && kind != "images" && kind != "csv":
		add("data.split.by", "%q needs image folders or beat CSV files; %s splits by %s", sp.By, kindWords[kind], splitsOf[kind])
	}
	splits := []string{"train", "val", "test"}
	vals := map[string]any{"train": sp.Train, "val": sp.Val, "test": sp.Test}
	hasTest := false
	switch sp.By {
	case "fraction":
		f := map[string]float64{}
		for _, n := range splits {
			f[n], _ = vals[n].(float64)
		}
		if f["train"] == 0 {
			add("data.split.train", "fraction 0 leaves the train split empty")
		}
		if f["val"] == 0 {
			add("data.split.val", "fraction 0 leaves the val split empty (training validates on it every epoch)")
		}
		hasTest = f["test"] > 0
	case "record":
		seen := map[string]string{}
		for _, n := range splits {
			for i, r := range strings1(vals[n]) {
				at := fmt.Sprintf("data.split.%s[%d]", n, i)
				if prev, dup := seen[r]; dup {
					add(at, "record %q is already in data.split.%s (a record, one patient, belongs to one split)", r, prev)
				}
				seen[r] = n
				if len(d.Source.Records) > 0 && !slices.Contains(d.Source.Records, r) {
					add(at, "record %q is not in data.source.records (prepare reads only those)", r)
				}
			}
		}
		hasTest = len(strings1(sp.Test)) > 0
	case "folder":
		if a, b := str(sp.Train), str(sp.Val); a != "" && a == b {
			add("data.split.val", "folder %q is also the train folder", b)
		}
		hasTest = str(sp.Test) != ""
	}
	if e.Evaluation.Split == "test" && !hasTest {
		add("evaluation.split", "\"test\" needs a test split (data.split.test): it would be empty")
	}

	// Labels and classes.
	classes := d.Classes
	if sig := d.Signal; signal && sig != nil {
		if sig.Labels == "aami" {
			if len(classes) > 0 && !slices.Equal(classes, AAMIClasses()) {
				add("data.classes", "AAMI labels give the classes %s, in that order (or set data.signal.labels: \"symbols\")", strings.Join(AAMIClasses(), ", "))
			}
			classes = AAMIClasses()
		}
		if kind == "csv" {
			if sig.Labels != "aami" {
				add("data.signal.labels", "a beat CSV holds AAMI class numbers: want \"aami\"")
			}
			if sig.RecordTemplate {
				add("data.signal.recordTemplate", "a beat CSV holds no records to take templates from; set it to false")
			}
			for _, f := range []struct {
				name string
				on   bool
			}{{"rrFeatures", sig.RRFeatures}, {"rrRelative", sig.RRRelative}, {"rrIrregularity", sig.RRIrregularity}, {"rrAverage", sig.RRAverage}} {
				if f.on {
					add("data.signal."+f.name, "a beat CSV holds no R-peak times to compute RR features from; set it to false")
				}
			}
		}
	}
	if w, ok := e.Training.Loss.ClassWeights.([]any); ok && len(classes) > 0 && len(w) != len(classes) {
		add("training.loss.classWeights", "%d weights for %d classes (%s): want one per class", len(w), len(classes), strings.Join(classes, ", "))
	}
	if e.Evaluation.Threshold != nil && len(classes) > 0 && len(classes) != 2 {
		add("evaluation.threshold", "a decision threshold needs 2 classes, the data has %d", len(classes))
	}
	if img := d.Image; kind == "images" && img != nil {
		for _, l := range []struct {
			name string
			n    int
		}{{"mean", len(img.Mean)}, {"std", len(img.Std)}} {
			if l.n != 1 && l.n != img.Channels {
				want := "1"
				if img.Channels != 1 {
					want = fmt.Sprintf("1 or %d", img.Channels)
				}
				add("data.image."+l.name, "%d values for %d channel%s (data.image.channels): want %s", l.n, img.Channels, plural(img.Channels), want)
			}
		}
	}

	// The model for the data.
	m := e.Model
	switch {
	case m.Kind == "deepcnn1d" && !signal:
		add("model.kind", "deepcnn1d reads beats (1-D signals), but data.source.kind is %q: use \"resnet\" for images", kind)
	case m.Kind == "resnet" && signal:
		add("model.kind", "resnet reads images, but data.source.kind is %q: use \"deepcnn1d\" for beats", kind)
	}
	if m.AdaptBatchNorm > 0 && kind != "wfdb" {
		add("model.adaptBatchNorm", "adapts batch norm per record and needs WFDB records (data.source.kind is %q)", kind)
	}
	if c := m.DeepCNN1D; m.Kind == "deepcnn1d" && c != nil && c.RRExpert != nil {
		if sig := d.Signal; sig == nil || !(sig.RRFeatures || sig.RRRelative || sig.RRIrregularity || sig.RRAverage) {
			add("model.deepcnn1d.rrExpert", "the RR expert needs RR features: set data.signal.rrFeatures, rrRelative or rrIrregularity")
		}
	}

	// Publishing.
	if r := e.Registry; r != nil {
		if i := strings.LastIndex(r.Repository, "/"); strings.Contains(r.Repository[i+1:], ":") || strings.Contains(r.Repository, "@") {
			add("registry.repository", "a repository, without tag or digest: every model is tagged with its trial id (and registry.alias)")
		}
		if m := conditionMetric.FindStringSubmatch(r.When); m != nil {
			split, metric := m[1], m[2]
			switch {
			case split == "test" && e.Evaluation.Split != "test":
				add("registry.when", "%s is never computed: evaluate scores the %s split (set evaluation.split: \"test\")", split+"_"+metric, e.Evaluation.Split)
			case split == "train" && metric != "loss":
				add("registry.when", "%s is never computed: of the train split only train_loss is", split+"_"+metric)
			}
		}
	}
	return out
}

// RuleFields are the fields Problems reads: a sweep that changes none of
// them (nor a struct above one) cannot change its result. Keep it in step
// with Problems.
func RuleFields() []string {
	return []string{
		"data.source", "data.split", "data.classes", "data.signal", "data.image",
		"model.kind", "model.adaptBatchNorm", "model.deepcnn1d.rrExpert",
		"training.loss.classWeights", "evaluation.split", "evaluation.threshold",
	}
}

// CrossFieldSections are the sections of #Experiment whose CUE definitions
// hold rules across fields (comprehensions such as `if by == "fraction"`):
// only there can two swept values, each valid alone, break the schema
// together.
func CrossFieldSections() []string { return []string{"data", "model"} }

var conditionMetric = regexp.MustCompile(`^(train|val|test)_([a-z0-9]+)`)

var kindWords = map[string]string{"wfdb": "a WFDB source", "csv": "a beat CSV", "images": "an image folder source"}

var splitsOf = map[string]string{"wfdb": `"fraction" or "record"`, "csv": `"fraction" or "folder"`, "images": `"fraction" or "folder"`}

func strings1(v any) []string {
	var out []string
	switch l := v.(type) {
	case []any:
		for _, x := range l {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	case []string:
		out = l
	}
	return out
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
