package argo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"parak8s.dev/parak8s/compiler/plan"
	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/templates"
)

// Limits Argo and Kubernetes put on what a workflow carries.
const (
	// EtcdLimit is the default etcd request limit a Workflow must fit in.
	EtcdLimit = 1536 * 1024
	// AnnotationLimit is the most a pod annotation or a parameter may hold.
	AnnotationLimit = 256 * 1024
)

// Options tune Emit.
type Options struct {
	// MaxBytes is the largest emitted workflow (YAML bytes) before the sweep
	// is split; it leaves room under EtcdLimit for the status Argo adds.
	MaxBytes int
	// MaxTrials caps the trials of one workflow; 0 takes the spec's
	// workflow.maxTrialsPerWorkflow.
	MaxTrials int
}

// DefaultOptions returns the options of `parac compile`.
func DefaultOptions() Options { return Options{MaxBytes: 1 << 20} }

// Workflow is one emitted workflow and its YAML.
type Workflow struct {
	Workflow *wfv1.Workflow
	YAML     []byte
	// Trials are the indexes into the plan's trials this workflow runs.
	Trials []int
}

// Names of the DAG templates.
const (
	EntryTemplate = "main"
	TrialTemplate = "trial"
)

// Emit compiles the plan into one workflow, or several when the sweep does not
// fit in one (shards of consecutive trials, each with the prepare steps its
// trials need). Argo's own validator checks what Emit writes in the tests
// (TestCorpusPassesArgo), not here: it would link client-go into parac.
func Emit(p *plan.Plan, opts Options) ([]Workflow, error) {
	maxTrials := opts.MaxTrials
	if maxTrials <= 0 {
		maxTrials = p.Experiment.Workflow.MaxTrialsPerWorkflow
	}
	if maxTrials <= 0 {
		maxTrials = len(p.Trials)
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultOptions().MaxBytes
	}
	chunk := min(maxTrials, max(len(p.Trials), 1))
	for {
		shards := split(len(p.Trials), chunk)
		out := make([]Workflow, 0, len(shards))
		largest := 0
		for i, trials := range shards {
			wf, err := build(p, trials, i, len(shards))
			if err != nil {
				return nil, err
			}
			y, err := Marshal(wf)
			if err != nil {
				return nil, err
			}
			largest = max(largest, len(y))
			out = append(out, Workflow{Workflow: wf, YAML: y, Trials: trials})
		}
		if largest <= opts.MaxBytes {
			return out, nil
		}
		if chunk == 1 {
			return nil, fmt.Errorf("compiling %s: one trial needs a %d-byte workflow, over the %d-byte limit", p.Experiment.Name, largest, opts.MaxBytes)
		}
		// Shrink the shards in proportion, with a margin for the fixed part.
		next := int(float64(chunk) * float64(opts.MaxBytes) / float64(largest) * 0.95)
		chunk = max(1, min(next, chunk-1))
	}
}

// ShardParallelism is how many trials one shard of a sweep runs at once.
// The shards never run more than the sweep's parallelism together: when
// each can have a slot they run side by side and share it (parallelism /
// shards each, rounded down); with more shards than parallelism they run
// one after another (see Chained) and each has all of it.
func ShardParallelism(parallelism, shards int) int {
	if Chained(parallelism, shards) {
		return max(parallelism, 1)
	}
	return max(1, parallelism/max(shards, 1))
}

// Chained reports whether the shards of a sweep run one at a time: there
// are more of them than the sweep's parallelism, so side by side each would
// still run one trial and together more than allowed. Each chained shard
// holds the Argo mutex ShardMutex while it runs; the others wait (Pending,
// "Waiting for … lock") and start in order of submission.
func Chained(parallelism, shards int) bool { return shards > 1 && shards > parallelism }

// RunningShards is how many shards of a sweep run at the same time.
func RunningShards(parallelism, shards int) int {
	if Chained(parallelism, shards) {
		return 1
	}
	return max(shards, 1)
}

// ShardMutex is the name of the Argo mutex the chained shards of an
// experiment take in turn (in the workflows' namespace).
func ShardMutex(experiment string) string { return "parak8s-" + experiment + "-shards" }

// MostAtOnce is the most trials the shards of a sweep run at once in
// total: ShardParallelism × RunningShards, never above the parallelism.
func MostAtOnce(parallelism, shards int) int {
	return ShardParallelism(parallelism, shards) * RunningShards(parallelism, shards)
}

// split cuts n trials into consecutive shards of at most size.
func split(n, size int) [][]int {
	var out [][]int
	for start := 0; start < n || start == 0; start += size {
		end := min(start+size, n)
		s := make([]int, 0, end-start)
		for i := start; i < end; i++ {
			s = append(s, i)
		}
		out = append(out, s)
		if end >= n {
			break
		}
	}
	return out
}

func build(p *plan.Plan, trials []int, shard, shards int) (*wfv1.Workflow, error) {
	exp := p.Experiment
	in := templates.Input{
		Experiment: exp,
		Swept:      p.Params,
		StepImage:  p.StepImage,
		TrainImage: p.TrainImage,
		Memoize:    pinned(p.StepImage) && datasetsPinned(p),
	}

	labels := map[string]string{templates.LabelExperiment: exp.Name}
	for k, v := range exp.Labels {
		labels[k] = v
	}
	name := exp.Name + "-"
	if shards > 1 {
		labels[templates.LabelShard] = fmt.Sprintf("%d-of-%d", shard+1, shards)
		name = fmt.Sprintf("%s-s%d-", exp.Name, shard+1)
	}
	deadline, err := templates.Seconds(exp.Workflow.ActiveDeadline)
	if err != nil {
		return nil, fmt.Errorf("workflow.activeDeadline: %w", err)
	}
	ttl, err := templates.Seconds(exp.Workflow.TTLAfterFinished)
	if err != nil {
		return nil, fmt.Errorf("workflow.ttlAfterFinished: %w", err)
	}
	ttl32 := int32(ttl)
	config, err := indent(p.Config)
	if err != nil {
		return nil, err
	}
	automount := exp.Workflow.AutomountServiceAccountToken
	wf := &wfv1.Workflow{
		TypeMeta: metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "Workflow"},
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: name,
			Namespace:    exp.Workflow.Namespace,
			Labels:       labels,
			Annotations: map[string]string{
				"workflows.argoproj.io/title":       title(p, len(trials), shard, shards),
				"workflows.argoproj.io/description": description(p),
			},
		},
		Spec: wfv1.WorkflowSpec{
			Entrypoint:                   EntryTemplate,
			Arguments:                    wfv1.Arguments{Artifacts: []wfv1.Artifact{{Name: step.ArtifactConfig, ArtifactLocation: wfv1.ArtifactLocation{Raw: &wfv1.RawArtifact{Data: config}}}}},
			ServiceAccountName:           exp.Workflow.ServiceAccount,
			AutomountServiceAccountToken: &automount,
			ActiveDeadlineSeconds:        &deadline,
			PodGC:                        &wfv1.PodGC{Strategy: wfv1.PodGCStrategy(exp.Workflow.PodGC)},
			TTLStrategy:                  &wfv1.TTLStrategy{SecondsAfterCompletion: &ttl32},
			SecurityContext:              templates.PodSecurity(),
			PodMetadata:                  &wfv1.Metadata{Labels: map[string]string{templates.LabelExperiment: exp.Name}},
		},
	}
	if sw := exp.Sweep; sw != nil && Chained(sw.Parallelism, shards) {
		wf.Spec.Synchronization = &wfv1.Synchronization{Mutexes: []*wfv1.Mutex{{Name: ShardMutex(exp.Name)}}}
	}
	if !automount {
		wf.Spec.Executor = &wfv1.ExecutorConfig{ServiceAccountName: exp.Workflow.ExecutorServiceAccount}
	}
	entry, err := entryTemplate(p, trials, shards)
	if err != nil {
		return nil, err
	}
	wf.Spec.Templates = append(wf.Spec.Templates, entry, trialTemplate(p))
	for _, k := range step.Kinds() {
		t, err := templates.Template(k, in)
		if err != nil {
			return nil, fmt.Errorf("compiling %s: %w", exp.Name, err)
		}
		wf.Spec.Templates = append(wf.Spec.Templates, t)
	}
	return wf, nil
}

func pinned(image string) bool { return strings.Contains(image, "@sha256:") }

func datasetsPinned(p *plan.Plan) bool {
	for _, d := range p.Datasets {
		if !d.Pinned {
			return false
		}
	}
	return true
}

func title(p *plan.Plan, n, shard, shards int) string {
	s := fmt.Sprintf("%s: %d trial", p.Experiment.Name, n)
	if n != 1 {
		s += "s"
	}
	if sw := p.Experiment.Sweep; sw != nil && len(p.Params) > 0 {
		short := make([]string, len(p.Params))
		for i, path := range p.Params {
			short[i] = path[strings.LastIndex(path, ".")+1:]
		}
		s += fmt.Sprintf(" (%s over %s)", sw.Mode, strings.Join(short, ", "))
	}
	if shards > 1 {
		s += fmt.Sprintf(", shard %d of %d", shard+1, shards)
		if sw := p.Experiment.Sweep; sw != nil && Chained(sw.Parallelism, shards) {
			s += " (one at a time)"
		}
	}
	return s
}

func description(p *plan.Plan) string {
	d := p.Experiment.Description
	if d == "" {
		d = "ParaK8s experiment " + p.Experiment.Name
	}
	return d + fmt.Sprintf("\n\nmodel %s · data %s · %d trials · %d datasets · compiled by parac", p.Experiment.Model.Kind, p.Experiment.Data.Source.Kind, len(p.Trials), len(p.Datasets))
}

// entryTemplate is the DAG: per dataset a prepare task and a fan-out of its
// trials over withItems.
func entryTemplate(p *plan.Plan, trials []int, shards int) (wfv1.Template, error) {
	t := wfv1.Template{
		Name:   EntryTemplate,
		Inputs: wfv1.Inputs{Artifacts: []wfv1.Artifact{{Name: step.ArtifactConfig}}},
		DAG:    &wfv1.DAGTemplate{},
	}
	if sw := p.Experiment.Sweep; sw != nil {
		n := int64(ShardParallelism(sw.Parallelism, shards))
		t.Parallelism = &n
	}
	inShard := map[int]bool{}
	for _, i := range trials {
		inShard[i] = true
	}
	configArg := wfv1.Artifact{Name: step.ArtifactConfig, From: "{{inputs.artifacts." + step.ArtifactConfig + "}}"}
	for _, d := range p.Datasets {
		var items []wfv1.Item
		for _, ti := range d.Trials {
			if !inShard[ti] {
				continue
			}
			it, err := item(p, p.Trials[ti])
			if err != nil {
				return t, err
			}
			items = append(items, it)
		}
		if len(items) == 0 {
			continue
		}
		prep := plan.NodeName(step.Prepare, d.Key)
		prepParams := []wfv1.Parameter{
			{Name: templates.ParamDataKey, Value: wfv1.AnyStringPtr(d.Key)},
			{Name: templates.ParamShort, Value: wfv1.AnyStringPtr(step.Short(d.Key))},
		}
		first := p.Trials[d.Trials[0]]
		for _, o := range first.Overrides {
			if step.PreparePath(o.Path) {
				v, err := step.Canonical(o.Value)
				if err != nil {
					return t, err
				}
				prepParams = append(prepParams, wfv1.Parameter{Name: templates.ParamName(o.Path), Value: wfv1.AnyStringPtr(string(v))})
			}
		}
		t.DAG.Tasks = append(t.DAG.Tasks, wfv1.DAGTask{
			Name:      prep,
			Template:  string(step.Prepare),
			Arguments: wfv1.Arguments{Parameters: prepParams, Artifacts: []wfv1.Artifact{configArg}},
		})
		params := []wfv1.Parameter{
			{Name: templates.ParamTrial, Value: wfv1.AnyStringPtr("{{item.id}}")},
			{Name: templates.ParamShort, Value: wfv1.AnyStringPtr("{{item.short}}")},
		}
		for _, path := range p.Params {
			params = append(params, wfv1.Parameter{Name: templates.ParamName(path), Value: wfv1.AnyStringPtr("{{item." + templates.ParamName(path) + "}}")})
		}
		t.DAG.Tasks = append(t.DAG.Tasks, wfv1.DAGTask{
			Name:      "trials-" + step.Short(d.Key),
			Template:  TrialTemplate,
			Depends:   prep,
			WithItems: items,
			Arguments: wfv1.Arguments{Parameters: params, Artifacts: []wfv1.Artifact{
				configArg,
				{Name: step.ArtifactDataset, From: "{{tasks." + prep + ".outputs.artifacts." + step.ArtifactDataset + "}}"},
			}},
		})
	}
	return t, nil
}

// indent pretty-prints canonical JSON so the config reads well in the YAML;
// steps canonicalise it again before hashing.
func indent(b []byte) (string, error) {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return "", fmt.Errorf("formatting config: %w", err)
	}
	return out.String() + "\n", nil
}

// item is one trial of a fan-out: its id, short id and swept values (each as
// the JSON text `--set` takes), so the Argo UI shows them on the node.
func item(p *plan.Plan, t plan.Trial) (wfv1.Item, error) {
	m := map[string]string{"id": t.ID, "short": t.Short()}
	for _, o := range t.Overrides {
		v, err := step.Canonical(o.Value)
		if err != nil {
			return wfv1.Item{}, err
		}
		m[templates.ParamName(o.Path)] = string(v)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return wfv1.Item{}, fmt.Errorf("encoding trial %s: %w", t.Short(), err)
	}
	return wfv1.Item{Value: b}, nil
}

// trialTemplate is one trial's chain, in the order plan.After defines.
func trialTemplate(p *plan.Plan) wfv1.Template {
	params := []wfv1.Parameter{{Name: templates.ParamTrial}, {Name: templates.ParamShort}}
	for _, path := range p.Params {
		params = append(params, wfv1.Parameter{Name: templates.ParamName(path)})
	}
	pass := make([]wfv1.Parameter, len(params))
	for i, q := range params {
		pass[i] = wfv1.Parameter{Name: q.Name, Value: wfv1.AnyStringPtr("{{inputs.parameters." + q.Name + "}}")}
	}
	t := wfv1.Template{
		Name: TrialTemplate,
		Inputs: wfv1.Inputs{Parameters: params, Artifacts: []wfv1.Artifact{
			{Name: step.ArtifactConfig}, {Name: step.ArtifactDataset},
		}},
		DAG: &wfv1.DAGTemplate{},
	}
	from := func(name string) wfv1.Artifact {
		return wfv1.Artifact{Name: name, From: "{{inputs.artifacts." + name + "}}"}
	}
	out := func(task step.Kind, name string) wfv1.Artifact {
		return wfv1.Artifact{Name: name, From: "{{tasks." + string(task) + ".outputs.artifacts." + name + "}}"}
	}
	outParam := func(task step.Kind, name string) wfv1.Parameter {
		return wfv1.Parameter{Name: name, Value: wfv1.AnyStringPtr("{{tasks." + string(task) + ".outputs.parameters." + name + "}}")}
	}
	for _, k := range step.TrialKinds() {
		task := wfv1.DAGTask{Name: string(k), Template: string(k)}
		if dep := plan.After(k); dep != step.Prepare {
			task.Depends = string(dep)
		}
		args := wfv1.Arguments{Parameters: append([]wfv1.Parameter(nil), pass...), Artifacts: []wfv1.Artifact{from(step.ArtifactConfig)}}
		switch k {
		case step.Train:
			args.Artifacts = append(args.Artifacts, from(step.ArtifactDataset))
		case step.Evaluate:
			args.Artifacts = append(args.Artifacts, from(step.ArtifactDataset), out(step.Train, step.ArtifactModel))
		case step.Track:
			args.Artifacts = append(args.Artifacts, out(step.Train, step.ArtifactModel), out(step.Evaluate, step.ArtifactMetrics))
		case step.Publish:
			args.Artifacts = append(args.Artifacts, out(step.Train, step.ArtifactModel), out(step.Evaluate, step.ArtifactMetrics))
			args.Parameters = append(args.Parameters, outParam(step.Track, step.OutRunID))
		case step.Record:
			args.Artifacts = append(args.Artifacts, out(step.Train, step.ArtifactModel), out(step.Evaluate, step.ArtifactMetrics))
			args.Parameters = append(args.Parameters, outParam(step.Track, step.OutRunID), outParam(step.Publish, step.OutDigest))
		}
		task.Arguments = args
		t.DAG.Tasks = append(t.DAG.Tasks, task)
	}
	return t
}
