package schema

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// The structs below mirror the CUE definitions field by field (the JSON names
// are the CUE names). They hold resolved experiments: the CUE defaults are
// already filled in, so zero values mean "absent" only for optional fields,
// which are pointers or omitempty.

// Experiment mirrors #Experiment.
type Experiment struct {
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Labels      map[string]string `json:"labels"`
	Images      Images            `json:"images"`
	Data        Data              `json:"data"`
	Model       Model             `json:"model"`
	Training    Training          `json:"training"`
	Evaluation  Evaluation        `json:"evaluation"`
	Tracking    *Tracking         `json:"tracking,omitempty"`
	Results     *Results          `json:"results,omitempty"`
	Registry    *Registry         `json:"registry,omitempty"`
	Resources   Resources         `json:"resources"`
	Workflow    Workflow          `json:"workflow"`
	Sweep       *Sweep            `json:"sweep,omitempty"`
}

// SecretRef mirrors #SecretRef.
type SecretRef struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// Images mirrors #Images.
type Images struct {
	Step       string     `json:"step"`
	GPU        string     `json:"gpu,omitempty"`
	PullPolicy PullPolicy `json:"pullPolicy"`
}

// Data mirrors #Data.
type Data struct {
	Source  Source   `json:"source"`
	Classes []string `json:"classes,omitempty"`
	Signal  *Signal  `json:"signal,omitempty"`
	Image   *Image   `json:"image,omitempty"`
	Split   Split    `json:"split"`
	Loader  Loader   `json:"loader"`
}

// Source mirrors #Source.
type Source struct {
	Kind    SourceKind `json:"kind"`
	Path    string     `json:"path"`
	Records []string   `json:"records,omitempty"`
	Digest  string     `json:"digest,omitempty"`
}

// ClaimScheme starts a data source in a persistent volume claim:
// "pvc://CLAIM/PATH".
const ClaimScheme = "pvc://"

// claimName is a DNS-1123 subdomain, as Kubernetes names claims.
var claimName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// Claim splits a "pvc://CLAIM/PATH" source path into the claim's name and
// the slash-separated PATH inside it ("" for the claim's root). ok is false
// for a path without the pvc:// scheme; err says what is wrong with a
// malformed one.
func (s Source) Claim() (claim, sub string, ok bool, err error) {
	rest, ok := strings.CutPrefix(s.Path, ClaimScheme)
	if !ok {
		return "", "", false, nil
	}
	claim, sub, _ = strings.Cut(rest, "/")
	sub = strings.TrimSuffix(sub, "/")
	switch {
	case claim == "":
		return "", "", true, fmt.Errorf("%q names no claim (want %sCLAIM/PATH)", s.Path, ClaimScheme)
	case len(claim) > 253 || !claimName.MatchString(claim):
		return "", "", true, fmt.Errorf("claim name %q is not a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', at most 253 characters)", claim)
	case sub != "" && (path.Clean(sub) != sub || sub == "." || sub == ".." || strings.HasPrefix(sub, "/") || strings.HasPrefix(sub, "../")):
		return "", "", true, fmt.Errorf("path %q inside claim %s is not a clean relative path (no '//', '.' or '..' segments)", sub, claim)
	}
	return claim, sub, true, nil
}

// Signal mirrors #Signal.
type Signal struct {
	Lead           string        `json:"lead"`
	OtherLeads     []string      `json:"otherLeads,omitempty"`
	SampleRate     int           `json:"sampleRate"`
	Recipe         Recipe        `json:"recipe"`
	Before         float64       `json:"before"`
	After          float64       `json:"after"`
	Normalize      Normalize     `json:"normalize"`
	RRFeatures     bool          `json:"rrFeatures"`
	RRRelative     bool          `json:"rrRelative"`
	RRIrregularity bool          `json:"rrIrregularity,omitempty"`
	RRAverage      bool          `json:"rrAverage,omitempty"`
	RecordTemplate bool          `json:"recordTemplate"`
	Labels         LabelScheme   `json:"labels"`
	Augment        SignalAugment `json:"augment"`
}

// SignalAugment mirrors #SignalAugment.
type SignalAugment struct {
	Enabled  bool    `json:"enabled"`
	Scale    float64 `json:"scale"`
	Noise    float64 `json:"noise"`
	Baseline float64 `json:"baseline"`
	Shift    float64 `json:"shift"`
}

// Image mirrors #Image.
type Image struct {
	Size     int       `json:"size"`
	Channels int       `json:"channels"`
	Mean     []float64 `json:"mean"`
	Std      []float64 `json:"std"`
	Augment  Augment   `json:"augment"`
}

// Augment mirrors #Augment.
type Augment struct {
	Enabled    bool    `json:"enabled"`
	Flip       bool    `json:"flip"`
	Rotate     float64 `json:"rotate"`
	Shift      float64 `json:"shift"`
	Crop       float64 `json:"crop"`
	Brightness float64 `json:"brightness"`
	Contrast   float64 `json:"contrast"`
}

// Split mirrors #Split. Train, Val and Test are fractions (by "fraction"),
// record lists (by "record") or folder names (by "folder"); see the Fraction,
// Records and Folder accessors.
type Split struct {
	By    SplitBy `json:"by"`
	Seed  int     `json:"seed"`
	Train any     `json:"train"`
	Val   any     `json:"val"`
	Test  any     `json:"test,omitempty"`
}

// Loader mirrors #Loader.
type Loader struct {
	BatchSize int  `json:"batchSize"`
	Workers   int  `json:"workers"`
	Prefetch  int  `json:"prefetch"`
	Shuffle   bool `json:"shuffle"`
	Seed      int  `json:"seed"`
}

// Model mirrors #Model.
type Model struct {
	Kind       ModelKind `json:"kind"`
	Dropout    float64   `json:"dropout"`
	Pretrained string    `json:"pretrained,omitempty"`
	Frozen     []string  `json:"frozen"`
	// AdaptBatchNorm is 0 when unset.
	AdaptBatchNorm float64 `json:"adaptBatchNorm,omitempty"`
	// Ensemble is the number of member networks; 0 when unset (one).
	Ensemble     int           `json:"ensemble,omitempty"`
	DeepCNN1D    *DeepCNN1D    `json:"deepcnn1d,omitempty"`
	ResNet       *ResNet       `json:"resnet,omitempty"`
	EfficientNet *EfficientNet `json:"efficientnet,omitempty"`
}

// DeepCNN1D mirrors #DeepCNN1D.
type DeepCNN1D struct {
	Filters       []int      `json:"filters"`
	Kernel        int        `json:"kernel"`
	ConvsPerBlock int        `json:"convsPerBlock"`
	Pool          int        `json:"pool"`
	BatchNorm     bool       `json:"batchNorm"`
	GlobalPool    GlobalPool `json:"globalPool"`
	Hidden        int        `json:"hidden"`
	RRExpert      *RRExpert  `json:"rrExpert,omitempty"`
}

// RRExpert mirrors #RRExpert.
type RRExpert struct {
	Hidden  []int    `json:"hidden"`
	Weight  float64  `json:"weight,omitempty"` // 0: unset, 0.5
	Decides []string `json:"decides,omitempty"`
	// RemovePrior: nil is unset, 1.
	RemovePrior *float64 `json:"removePrior,omitempty"`
}

// ResNet mirrors #ResNet.
type ResNet struct {
	Depth int  `json:"depth"`
	Width int  `json:"width"`
	Stem  Stem `json:"stem"`
}

// EfficientNet mirrors #EfficientNet.
type EfficientNet struct {
	Variant EfficientNetVariant `json:"variant"`
}

// Training mirrors #Training.
type Training struct {
	Epochs          int            `json:"epochs"`
	Optimizer       Optimizer      `json:"optimizer"`
	Schedule        Schedule       `json:"schedule"`
	Loss            Loss           `json:"loss"`
	EarlyStopping   *EarlyStopping `json:"earlyStopping,omitempty"`
	CheckpointEvery int            `json:"checkpointEvery"`
	Seed            int64          `json:"seed"`
	Threads         int            `json:"threads"`
	EMA             float64        `json:"ema"`
	Refit           bool           `json:"refit,omitempty"`
}

// Optimizer mirrors #Optimizer.
type Optimizer struct {
	Kind        OptimizerKind `json:"kind"`
	LR          float64       `json:"lr"`
	WeightDecay float64       `json:"weightDecay"`
	Momentum    float64       `json:"momentum"`
}

// Schedule mirrors #Schedule.
type Schedule struct {
	Kind         ScheduleKind `json:"kind"`
	StepEpochs   int          `json:"stepEpochs"`
	Gamma        float64      `json:"gamma"`
	Patience     int          `json:"patience"`
	MinLR        float64      `json:"minLR"`
	WarmupEpochs int          `json:"warmupEpochs"`
}

// Loss mirrors #Loss. ClassWeights is a string (a ClassWeightMode) or a
// []any of numbers.
type Loss struct {
	Kind           LossKind `json:"kind"`
	ClassWeights   any      `json:"classWeights"`
	LabelSmoothing float64  `json:"labelSmoothing"`
}

// EarlyStopping mirrors #EarlyStopping.
type EarlyStopping struct {
	Metric   Metric  `json:"metric"`
	Patience int     `json:"patience"`
	MinDelta float64 `json:"minDelta"`
}

// Evaluation mirrors #Evaluation.
type Evaluation struct {
	Metrics   []Metric `json:"metrics"`
	Threshold *float64 `json:"threshold,omitempty"`
	Split     string   `json:"split"`
	// TestTimeViews > 1 averages the class probabilities over that many
	// views of each image (runtime/score).
	TestTimeViews int `json:"testTimeViews,omitempty"`
}

// Tracking mirrors #Tracking.
type Tracking struct {
	URI        string     `json:"uri,omitempty"`
	Experiment string     `json:"experiment,omitempty"`
	Token      *SecretRef `json:"token,omitempty"`
	Username   *SecretRef `json:"username,omitempty"`
	Password   *SecretRef `json:"password,omitempty"`
}

// Results mirrors #Results.
type Results struct {
	DSN SecretRef `json:"dsn"`
}

// Registry mirrors #Registry.
type Registry struct {
	Repository string `json:"repository"`
	Model      string `json:"model,omitempty"`
	When       string `json:"when,omitempty"`
	Alias      string `json:"alias"`
	Auth       string `json:"auth,omitempty"`
}

// Resources mirrors #Resources.
type Resources struct {
	CPU           string            `json:"cpu"`
	Memory        string            `json:"memory"`
	GPUs          int               `json:"gpus"`
	GPUResource   string            `json:"gpuResource"`
	NodeSelector  map[string]string `json:"nodeSelector"`
	Tolerations   []Toleration      `json:"tolerations"`
	PriorityClass string            `json:"priorityClass,omitempty"`
}

// Toleration mirrors #Toleration.
type Toleration struct {
	Key      string             `json:"key,omitempty"`
	Operator TolerationOperator `json:"operator"`
	Value    string             `json:"value,omitempty"`
	Effect   TaintEffect        `json:"effect,omitempty"`
}

// Defaults of #Workflow that `parac platform` creates objects for, so the
// compiled workflows and the platform agree (TestWorkflowDefaults checks
// them against the CUE schema).
const (
	// DefaultServiceAccount is the account of the step pods and of Argo's
	// executor (workflow.serviceAccount, workflow.executorServiceAccount).
	DefaultServiceAccount = "parak8s-workflow"
	// DefaultCheckpointClaim is the ReadWriteMany claim of the train step's
	// checkpoints (workflow.checkpointClaim).
	DefaultCheckpointClaim = "parak8s-checkpoints"
)

// Workflow mirrors #Workflow.
type Workflow struct {
	Namespace                    string      `json:"namespace,omitempty"`
	ServiceAccount               string      `json:"serviceAccount"`
	AutomountServiceAccountToken bool        `json:"automountServiceAccountToken"`
	ExecutorServiceAccount       string      `json:"executorServiceAccount"`
	Retries                      int         `json:"retries"`
	RetryPolicy                  RetryPolicy `json:"retryPolicy"`
	Backoff                      string      `json:"backoff"`
	ActiveDeadline               string      `json:"activeDeadline"`
	StepDeadline                 string      `json:"stepDeadline"`
	TTLAfterFinished             string      `json:"ttlAfterFinished"`
	PodGC                        PodGC       `json:"podGC"`
	CheckpointClaim              string      `json:"checkpointClaim"`
	MaxTrialsPerWorkflow         int         `json:"maxTrialsPerWorkflow"`
}

// Sweep mirrors #Sweep.
type Sweep struct {
	Mode        SweepMode        `json:"mode"`
	Parallelism int              `json:"parallelism"`
	Seed        int64            `json:"seed"`
	Parameters  []Parameter      `json:"parameters,omitempty"`
	Samples     int              `json:"samples,omitempty"`
	Points      []map[string]any `json:"points,omitempty"`
}

// Parameter mirrors #Parameter.
type Parameter struct {
	Path   string `json:"path"`
	Values []any  `json:"values,omitempty"`
	Range  *Range `json:"range,omitempty"`
}

// Range mirrors #Range.
type Range struct {
	Min     float64 `json:"min"`
	Max     float64 `json:"max"`
	Count   int     `json:"count,omitempty"`
	Scale   Scale   `json:"scale"`
	Integer bool    `json:"integer"`
}

// SweepRoots are the top-level experiment fields a sweep may change: the ones
// that shape a trial. The rest shape the workflow.
func SweepRoots() []string { return []string{"data", "model", "training", "evaluation"} }

// TrialRoots are the fields of the experiment that make up a trial's
// configuration (and so its id): its name and the sweepable parts.
func TrialRoots() []string { return []string{"name", "data", "model", "training", "evaluation"} }
