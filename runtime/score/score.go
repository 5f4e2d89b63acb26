package score

import (
	"parak8s.dev/parak8s/runtime/data/loader"
	"parak8s.dev/parak8s/runtime/dataset"
	"parak8s.dev/parak8s/runtime/eval"
	"parak8s.dev/parak8s/runtime/model"
	"parak8s.dev/parak8s/schema"
)

// Batch is how many samples one forward pass takes.
const Batch = 512

// Split is a split read into memory: the samples, their labels and, for
// beats of WFDB records, each sample's record (model.adaptBatchNorm).
type Split struct {
	X       []float32
	Labels  []int
	Records []int64
}

// Read reads every sample of src.
func Read(src loader.Source) (Split, error) {
	x, y, err := dataset.ReadAll(src)
	if err != nil {
		return Split{}, err
	}
	return Split{X: x, Labels: y, Records: dataset.RecordIDs(src)}, nil
}

// Options are the evaluation options of the experiment for a model with
// the given number of classes: its decision threshold for two classes,
// argmax otherwise.
func Options(exp schema.Experiment, classes int) eval.Options {
	opts := eval.DefaultOptions()
	if t := exp.Evaluation.Threshold; t != nil && classes == 2 {
		opts.UseThreshold, opts.Threshold = true, *t
	}
	return opts
}

// Score runs net over s (batch-norm statistics adapted per record with the
// experiment's model.adaptBatchNorm) and scores the class probabilities
// with the experiment's options. It returns the report and the scored
// input (labels and probabilities, row-major by sample).
func Score(net *model.Net, classes []string, s Split, exp schema.Experiment) (*eval.Report, eval.Input, error) {
	probs, err := net.ProbsByRecord(s.X, s.Records, exp.Model.AdaptBatchNorm, Batch)
	if err != nil {
		return nil, eval.Input{}, err
	}
	in := eval.Input{Classes: classes, Labels: s.Labels, Probs: probs}
	rep, err := eval.Compute(in, Options(exp, len(classes)))
	if err != nil {
		return nil, in, err
	}
	return rep, in, nil
}
