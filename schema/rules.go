package schema

import (
	"fmt"
	"math"
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
	signal := kind.Signal()

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
	if len(d.Source.Records) > 0 && kind != SourceWFDB {
		add("data.source.records", "only WFDB sources have records (data.source.kind is %q)", kind)
	}

	// The split, for the source kind.
	sp := d.Split
	switch {
	case sp.By == SplitByRecord && kind != SourceWFDB:
		add("data.split.by", "%q needs WFDB records; %s splits by %s", sp.By, kindWords[kind], splitsOf[kind])
	case sp.By == SplitByFolder && kind == SourceCSV && strings.HasSuffix(strings.ToLower(d.Source.Path), ".csv"):
		add("data.split.by", "%q reads NAME.csv files from the folder data.source.path, but %s is one file: split it by \"fraction\"", sp.By, d.Source.Path)
	case sp.By == SplitByFolder && kind != SourceImages && kind != SourceCSV:
		add("data.split.by", "%q needs image folders or beat CSV files; %s splits by %s", sp.By, kindWords[kind], splitsOf[kind])
	}
	sets, problems := sp.Sets()
	out = append(out, problems...)
	hasTest := false
	switch sets.By {
	case SplitByFraction:
		if f, ok := sets.Fractions["val"]; ok && f == 0 {
			add("data.split.val", "fraction 0 leaves the val split empty (training validates on it every epoch)")
		}
		hasTest = sets.Fractions["test"] > 0
	case SplitByRecord:
		for _, n := range SplitNames() {
			for i, r := range sets.Records[n] {
				if len(d.Source.Records) > 0 && !slices.Contains(d.Source.Records, r) {
					add(fmt.Sprintf("data.split.%s[%d]", n, i), "record %q is not in data.source.records (prepare reads only those)", r)
				}
			}
		}
		hasTest = len(sets.Records["test"]) > 0
	case SplitByFolder:
		hasTest = sets.Folders["test"] != ""
	}
	if e.Evaluation.Split == "test" && !hasTest {
		add("evaluation.split", "\"test\" needs a test split (data.split.test): it would be empty")
	}

	// Labels and classes.
	classes := d.Classes
	if sig := d.Signal; signal && sig != nil {
		if sig.Labels == LabelsAAMI {
			if len(classes) > 0 && !slices.Equal(classes, AAMIClasses()) {
				add("data.classes", "AAMI labels give the classes %s, in that order (or set data.signal.labels: \"symbols\")", strings.Join(AAMIClasses(), ", "))
			}
			classes = AAMIClasses()
		}
		if kind == SourceCSV {
			if sig.Labels != LabelsAAMI {
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
	if v := e.Evaluation.TestTimeViews; v > 1 {
		switch img := d.Image; {
		case kind != SourceImages:
			add("evaluation.testTimeViews", "views are warps of images, but data.source.kind is %q", kind)
		case img == nil || !img.Augment.Enabled || (img.Augment.Rotate == 0 && img.Augment.Shift == 0 && img.Augment.Crop == 1 && !img.Augment.Flip):
			add("evaluation.testTimeViews", "views are warps of data.image.augment's rotation, shift, crop and flip, and it has none: all %d views would be the image itself", v)
		}
	}
	if e.Evaluation.Threshold != nil && len(classes) > 0 && len(classes) != 2 {
		add("evaluation.threshold", "a decision threshold needs 2 classes, the data has %d", len(classes))
	}
	if img := d.Image; kind == SourceImages && img != nil {
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
	case m.Kind == ModelDeepCNN1D && !signal:
		add("model.kind", "deepcnn1d reads beats (1-D signals), but data.source.kind is %q: use \"resnet\" for images", kind)
	case m.Kind == ModelResNet && signal:
		add("model.kind", "resnet reads images, but data.source.kind is %q: use \"deepcnn1d\" for beats", kind)
	}
	if m.AdaptBatchNorm > 0 && kind != SourceWFDB {
		add("model.adaptBatchNorm", "adapts batch norm per record and needs WFDB records (data.source.kind is %q)", kind)
	}
	if c := m.DeepCNN1D; m.Kind == ModelDeepCNN1D && c != nil && c.RRExpert != nil {
		if sig := d.Signal; sig == nil || !(sig.RRFeatures || sig.RRRelative || sig.RRIrregularity || sig.RRAverage) {
			add("model.deepcnn1d.rrExpert", "the RR expert needs RR features: set data.signal.rrFeatures, rrRelative or rrIrregularity")
		}
		if c.RRExpert.RemovePrior != nil && len(c.RRExpert.Decides) == 0 {
			add("model.deepcnn1d.rrExpert.removePrior", "adjusts the split of rrExpert.decides, which is not set")
		}
		for i, name := range c.RRExpert.Decides {
			if len(classes) > 0 && !slices.Contains(classes, name) {
				add(fmt.Sprintf("model.deepcnn1d.rrExpert.decides[%d]", i), "%q is not one of the data's classes (%s)", name, strings.Join(classes, ", "))
			}
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
		"training.loss.classWeights", "evaluation.split", "evaluation.threshold", "evaluation.testTimeViews",
	}
}

// CrossFieldSections are the sections of #Experiment whose CUE definitions
// hold rules across fields (comprehensions such as `if by == "fraction"`):
// only there can two swept values, each valid alone, break the schema
// together.
func CrossFieldSections() []string { return []string{"data", "model"} }

// SplitNames are the names of the splits, in canonical order.
func SplitNames() []string { return []string{"train", "val", "test"} }

// SplitSets is data.split decoded: fractions, record lists or folders per
// split name, by the method By. A value left out counts as 0, no records,
// no folder.
type SplitSets struct {
	By        SplitBy
	Seed      int
	Fractions map[string]float64  // by "fraction"
	Records   map[string][]string // by "record"
	Folders   map[string]string   // by "folder"
}

// Sets decodes data.split and checks the rules of a split alone, which
// both the compiler (on every trial, after the CUE schema) and prepare (on
// any TRIAL.json, hand-written ones included) enforce: values of the right
// form for the method, fractions that sum to 1, record names and split
// folders that are usable, a train split that is not empty, no record or
// folder in two splits. Split values may be as decoded from JSON (float64,
// []any of strings, string) or Go values ([]string, ints). By "" is
// "fraction", the schema's default. The problems come in the order of the
// fields; an element at fault is named by its index
// ("data.split.val[0]").
func (sp Split) Sets() (SplitSets, []Problem) {
	var out []Problem
	add := func(path, format string, args ...any) {
		out = append(out, Problem{path, fmt.Sprintf(format, args...)})
	}
	s := SplitSets{By: sp.By, Seed: sp.Seed}
	if s.By == "" {
		s.By = SplitByFraction
	}
	if sp.Seed < 0 {
		add("data.split.seed", "%d is negative", sp.Seed)
	}
	vals := map[string]any{"train": sp.Train, "val": sp.Val, "test": sp.Test}
	switch s.By {
	case SplitByFraction:
		s.Fractions = map[string]float64{}
		sum, ok := 0.0, true
		for _, n := range SplitNames() {
			f, isNum := Number(vals[n])
			if vals[n] == nil {
				f, isNum = 0, true
			}
			if !isNum || !(f >= 0 && f <= 1) {
				add("data.split."+n, "%v: want a fraction in [0, 1]", vals[n])
				ok = false
				continue
			}
			s.Fractions[n] = f
			sum += f
		}
		if ok && math.Abs(sum-1) > 1e-9 {
			add("data.split", "fractions sum to %v, want 1", sum)
		}
		if f, set := s.Fractions["train"]; set && f == 0 {
			add("data.split.train", "fraction 0 leaves the train split empty")
		}
	case SplitByRecord:
		s.Records = map[string][]string{}
		seen := map[string]string{}
		for _, n := range SplitNames() {
			l, isList := stringList(vals[n])
			if !isList {
				add("data.split."+n, "%v: want a list of record names", vals[n])
				continue
			}
			for i, r := range l {
				at := fmt.Sprintf("data.split.%s[%d]", n, i)
				if r == "" {
					add(at, "empty record name")
					continue
				}
				if prev, dup := seen[r]; dup {
					add(at, "record %q is already in data.split.%s (a record, one patient, belongs to one split)", r, prev)
				}
				seen[r] = n
			}
			s.Records[n] = l
		}
		if l, isList := stringList(vals["train"]); isList && len(l) == 0 {
			add("data.split.train", "no records")
		}
	case SplitByFolder:
		s.Folders = map[string]string{}
		for _, n := range SplitNames() {
			v := vals[n]
			if v == nil {
				continue
			}
			f, ok := v.(string)
			if !ok || f == "" || f == "." || f == ".." || strings.ContainsAny(f, `/\`) {
				add("data.split."+n, "%v: want a folder name", v)
				continue
			}
			s.Folders[n] = f
		}
		if vals["train"] == nil {
			add("data.split.train", "no folder named")
		}
		if a, b := s.Folders["train"], s.Folders["val"]; a != "" && a == b {
			add("data.split.val", "folder %q is also the train folder", b)
		}
	default:
		add("data.split.by", "%q: want \"fraction\", \"record\" or \"folder\"", s.By)
	}
	return s, out
}

// Field is the field of the problem: its path without the index of a list
// element at fault ("data.split.val" for "data.split.val[0]").
func (p Problem) Field() string {
	if strings.HasSuffix(p.Path, "]") {
		if i := strings.LastIndex(p.Path, "["); i > 0 {
			return p.Path[:i]
		}
	}
	return p.Path
}

var conditionMetric = regexp.MustCompile(`^(train|val|test)_([a-z0-9]+)`)

var kindWords = map[SourceKind]string{SourceWFDB: "a WFDB source", SourceCSV: "a beat CSV", SourceImages: "an image folder source"}

var splitsOf = map[SourceKind]string{SourceWFDB: `"fraction" or "record"`, SourceCSV: `"fraction" or "folder"`, SourceImages: `"fraction" or "folder"`}

// Number reads a number held in one of the experiment's untyped fields
// (split fractions, class weights): a decoded JSON number or a Go literal.
func Number(v any) (float64, bool) {
	switch t := v.(type) {
	case float64:
		return t, true
	case float32:
		return float64(t), true
	case int:
		return float64(t), true
	case int64:
		return float64(t), true
	}
	return 0, false
}

func stringList(v any) ([]string, bool) {
	switch t := v.(type) {
	case nil:
		return nil, true
	case []string:
		return slices.Clone(t), true
	case []any:
		out := make([]string, len(t))
		for i, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out[i] = s
		}
		return out, true
	}
	return nil, false
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
