package schema

// Every field the CUE schema restricts to a set of strings has a named Go
// type here, with one constant per value; code compares against these
// constants, never against string literals. TestDrift checks that each
// type's constants are exactly the CUE field's values.

// PullPolicy is images.pullPolicy.
type PullPolicy string

// Values of images.pullPolicy.
const (
	PullIfNotPresent PullPolicy = "IfNotPresent"
	PullAlways       PullPolicy = "Always"
	PullNever        PullPolicy = "Never"
)

// SourceKind is data.source.kind: the layout of the data.
type SourceKind string

// Values of data.source.kind.
const (
	// SourceWFDB is a folder of PhysioNet WFDB records.
	SourceWFDB SourceKind = "wfdb"
	// SourceCSV is a Kaggle-style beat CSV (187 samples and a label per row).
	SourceCSV SourceKind = "csv"
	// SourceImages is image folders in the Kermany layout (SPLIT/CLASS/*).
	SourceImages SourceKind = "images"
)

// Signal reports whether the source holds ECG signals (data.signal applies).
func (k SourceKind) Signal() bool { return k == SourceWFDB || k == SourceCSV }

// Recipe is data.signal.recipe: how beat windows are cut.
type Recipe string

// Values of data.signal.recipe.
const (
	RecipeWindow  Recipe = "window"
	RecipeKachuee Recipe = "kachuee"
)

// Normalize is data.signal.normalize.
type Normalize string

// Values of data.signal.normalize.
const (
	NormalizeZScore Normalize = "zscore"
	NormalizeMinMax Normalize = "minmax"
	NormalizeNone   Normalize = "none"
)

// LabelScheme is data.signal.labels: how beat symbols become classes.
type LabelScheme string

// Values of data.signal.labels.
const (
	// LabelsAAMI maps symbols to the five ANSI/AAMI EC57 classes.
	LabelsAAMI LabelScheme = "aami"
	// LabelsSymbols keeps each beat symbol as its own class.
	LabelsSymbols LabelScheme = "symbols"
)

// SplitBy is data.split.by: how the data is split into train, val and test.
type SplitBy string

// Values of data.split.by.
const (
	SplitByFraction SplitBy = "fraction"
	SplitByRecord   SplitBy = "record"
	SplitByFolder   SplitBy = "folder"
)

// ModelKind is model.kind: the network architecture.
type ModelKind string

// Values of model.kind.
const (
	ModelDeepCNN1D    ModelKind = "deepcnn1d"
	ModelResNet       ModelKind = "resnet"
	ModelEfficientNet ModelKind = "efficientnet"
)

// GlobalPool is model.deepcnn1d.globalPool.
type GlobalPool string

// Values of model.deepcnn1d.globalPool.
const (
	GlobalPoolAvg GlobalPool = "avg"
	GlobalPoolMax GlobalPool = "max"
)

// Stem is model.resnet.stem.
type Stem string

// Values of model.resnet.stem.
const (
	// StemSmall is a 3×3 stride-1 convolution, for small images.
	StemSmall Stem = "small"
	// StemImageNet is torchvision's 7×7 stride-2 convolution and max pool.
	StemImageNet Stem = "imagenet"
)

// EfficientNetVariant is model.efficientnet.variant.
type EfficientNetVariant string

// Values of model.efficientnet.variant.
const (
	EfficientNetLite0 EfficientNetVariant = "lite0"
)

// OptimizerKind is training.optimizer.kind.
type OptimizerKind string

// Values of training.optimizer.kind.
const (
	OptimizerAdam  OptimizerKind = "adam"
	OptimizerAdamW OptimizerKind = "adamw"
	OptimizerSGD   OptimizerKind = "sgd"
)

// ScheduleKind is training.schedule.kind.
type ScheduleKind string

// Values of training.schedule.kind.
const (
	ScheduleNone    ScheduleKind = "none"
	ScheduleStep    ScheduleKind = "step"
	ScheduleCosine  ScheduleKind = "cosine"
	SchedulePlateau ScheduleKind = "plateau"
)

// LossKind is training.loss.kind.
type LossKind string

// Values of training.loss.kind.
const (
	LossCrossEntropy LossKind = "crossentropy"
)

// ClassWeightMode is the string form of training.loss.classWeights (which
// may also be a list of numbers, so the field itself is any).
type ClassWeightMode string

// Values of training.loss.classWeights as a string.
const (
	ClassWeightsNone ClassWeightMode = "none"
	// ClassWeightsBalanced is n/(K·count) per class, scikit-learn's formula.
	ClassWeightsBalanced ClassWeightMode = "balanced"
	// ClassWeightsSqrt is the square root of the balanced weights, scaled so
	// that the average weight per sample is 1.
	ClassWeightsSqrt ClassWeightMode = "sqrt"
)

// Metric names a metric of the evaluate step (evaluation.metrics,
// training.earlyStopping.metric).
type Metric string

// Values of evaluation.metrics; earlyStopping.metric takes all but
// MetricConfusion.
const (
	MetricAccuracy  Metric = "accuracy"
	MetricAUC       Metric = "auc"
	MetricPrecision Metric = "precision"
	MetricRecall    Metric = "recall"
	MetricF1        Metric = "f1"
	MetricLoss      Metric = "loss"
	MetricConfusion Metric = "confusion"
)

// TolerationOperator is resources.tolerations[].operator.
type TolerationOperator string

// Values of resources.tolerations[].operator.
const (
	TolerationEqual  TolerationOperator = "Equal"
	TolerationExists TolerationOperator = "Exists"
)

// TaintEffect is resources.tolerations[].effect.
type TaintEffect string

// Values of resources.tolerations[].effect.
const (
	EffectNoSchedule       TaintEffect = "NoSchedule"
	EffectPreferNoSchedule TaintEffect = "PreferNoSchedule"
	EffectNoExecute        TaintEffect = "NoExecute"
)

// RetryPolicy is workflow.retryPolicy (Argo's retryStrategy.retryPolicy).
type RetryPolicy string

// Values of workflow.retryPolicy.
const (
	RetryOnFailure        RetryPolicy = "OnFailure"
	RetryOnError          RetryPolicy = "OnError"
	RetryAlways           RetryPolicy = "Always"
	RetryOnTransientError RetryPolicy = "OnTransientError"
)

// PodGC is workflow.podGC (Argo's podGC.strategy).
type PodGC string

// Values of workflow.podGC.
const (
	PodGCOnPodSuccess         PodGC = "OnPodSuccess"
	PodGCOnPodCompletion      PodGC = "OnPodCompletion"
	PodGCOnWorkflowSuccess    PodGC = "OnWorkflowSuccess"
	PodGCOnWorkflowCompletion PodGC = "OnWorkflowCompletion"
)

// SweepMode is sweep.mode.
type SweepMode string

// Values of sweep.mode.
const (
	// SweepGrid runs every combination of the parameters' values.
	SweepGrid SweepMode = "grid"
	// SweepRandom draws sweep.samples points.
	SweepRandom SweepMode = "random"
	// SweepList runs the explicit sweep.points.
	SweepList SweepMode = "list"
)

// Scale is sweep.parameters[].range.scale.
type Scale string

// Values of sweep.parameters[].range.scale.
const (
	ScaleLinear Scale = "linear"
	ScaleLog    Scale = "log"
)
