package score

import (
	"fmt"

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
// experiment's model.adaptBatchNorm; images averaged over
// evaluation.testTimeViews views) and scores the class probabilities with
// the experiment's options. It returns the report and the scored input
// (labels and probabilities, row-major by sample).
func Score(net *model.Net, classes []string, s Split, exp schema.Experiment) (*eval.Report, eval.Input, error) {
	probs, err := Probs(net, s, exp)
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

// Probs returns net's class probabilities for every sample of s, row-major:
// with evaluation.testTimeViews, the mean over the views of each image
// (images.Augment.View: the image itself and fixed warps of
// data.image.augment's geometry).
func Probs(net *model.Net, s Split, exp schema.Experiment) ([]float32, error) {
	views, alpha := exp.Evaluation.TestTimeViews, exp.Model.AdaptBatchNorm
	if views < 2 {
		return net.ProbsByRecord(s.X, s.Records, alpha, Batch)
	}
	aug, err := dataset.ViewAugment(exp)
	if err != nil {
		return nil, err
	}
	in := net.Spec().Input
	if len(in) != 3 || in[1] != in[2] {
		return nil, fmt.Errorf("evaluation.testTimeViews: the model reads samples of shape %v, not square images", in)
	}
	c, size := in[0], in[1]
	samples := len(s.X) / net.Spec().SampleSize()
	view := make([]float32, len(s.X))
	var sum []float64
	for v := range views {
		aug.View(s.X, view, samples, c, size, v)
		p, err := net.ProbsByRecord(view, s.Records, alpha, Batch)
		if err != nil {
			return nil, err
		}
		if sum == nil {
			sum = make([]float64, len(p))
		}
		for i, x := range p {
			sum[i] += float64(x)
		}
	}
	out := make([]float32, len(sum))
	for i, x := range sum {
		out[i] = float32(x / float64(views))
	}
	return out, nil
}
