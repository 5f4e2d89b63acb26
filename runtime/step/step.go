package step

// Kind is a step kind: one program of the step image, one template of a
// compiled workflow.
type Kind string

// The step kinds, in DAG order.
const (
	Prepare  Kind = "prepare"
	Train    Kind = "train"
	Evaluate Kind = "evaluate"
	Track    Kind = "track"
	Publish  Kind = "publish"
	Record   Kind = "record"
)

// Kinds returns every step kind in DAG order.
func Kinds() []Kind { return []Kind{Prepare, Train, Evaluate, Track, Publish, Record} }

// TrialKinds returns the kinds that run once per trial, in order.
func TrialKinds() []Kind { return []Kind{Train, Evaluate, Track, Publish, Record} }

// Program is the name of the step program inside the images.
const Program = "parak8s"

// Flags of `parak8s <step>`.
const (
	FlagConfig     = "--config"       // the experiment's resolved JSON (all trials share it)
	FlagSet        = "--set"          // the trial's overrides: a JSON object of path → value
	FlagTrial      = "--trial"        // the expected trial id; the step checks it
	FlagDataKey    = "--data-key"     // the expected data key (prepare)
	FlagImage      = "--image"        // the image reference the trial id was computed with
	FlagData       = "--data"         // the prepared data set directory (or raw data for evaluate)
	FlagModel      = "--model"        // the model directory
	FlagMetrics    = "--metrics"      // the metrics directory
	FlagOut        = "--out"          // where a step writes its output
	FlagCheckpoint = "--checkpoints"  // the checkpoint directory of train
	FlagRunID      = "--run-id"       // the MLflow run id written by track
	FlagDigest     = "--model-digest" // the OCI digest written by publish
)

// Environment variable names read by the step programs. The MLflow and
// Postgres names are the ones those tools' users already know.
const (
	EnvExperiment       = "PARAK8S_EXPERIMENT"
	EnvTrial            = "PARAK8S_TRIAL"
	EnvThreads          = "PARAK8S_THREADS"
	EnvRegistry         = "PARAK8S_REGISTRY"
	EnvRegisteredModel  = "PARAK8S_REGISTERED_MODEL"
	EnvPushCondition    = "PARAK8S_PUSH_WHEN"
	EnvPushAlias        = "PARAK8S_PUSH_ALIAS"
	EnvMLflowURI        = "MLFLOW_TRACKING_URI"
	EnvMLflowExperiment = "MLFLOW_EXPERIMENT_NAME"
	EnvMLflowToken      = "MLFLOW_TRACKING_TOKEN"
	EnvMLflowUsername   = "MLFLOW_TRACKING_USERNAME"
	EnvMLflowPassword   = "MLFLOW_TRACKING_PASSWORD"
	EnvDatabaseURL      = "DATABASE_URL"
	EnvDockerConfig     = "DOCKER_CONFIG"
	// EnvOMPWait is OpenMP's wait policy, set to "PASSIVE" for the libtorch
	// steps: waiting threads sleep instead of spinning, which otherwise
	// starves other trials on a shared node (measured: 0.6 → 5.5 steps/s
	// at load average 5 on 2 cores).
	EnvOMPWait = "OMP_WAIT_POLICY"
)

// Artifact names passed between steps.
const (
	ArtifactConfig  = "config"
	ArtifactDataset = "dataset"
	ArtifactModel   = "model"
	ArtifactMetrics = "metrics"
)

// Paths inside a step's container.
const (
	Root           = "/parak8s"
	PathConfig     = Root + "/config/experiment.json"
	PathDataset    = Root + "/dataset"
	PathModel      = Root + "/model"
	PathMetrics    = Root + "/metrics"
	PathCheckpoint = Root + "/checkpoints"
	PathTmp        = "/tmp"
	PathDocker     = Root + "/docker"
	PathOut        = Root + "/out"
	// PathSource is where prepare's container mounts the persistent volume
	// claim of a "pvc://CLAIM/PATH" data source (read-only, the whole
	// claim); the step reads PathSource/PATH.
	PathSource = Root + "/source"
)

// Output parameters written by steps under PathOut, one value per file.
const (
	OutRunID  = "run-id"       // track: the MLflow run id
	OutDigest = "model-digest" // publish: the model artifact's OCI digest
)

// Exit codes of the step programs. Retry policies treat ExitTransient as worth
// retrying and ExitConfig as final.
const (
	ExitOK        = 0
	ExitFailure   = 1
	ExitUsage     = 2
	ExitConfig    = 3  // the config does not match the trial id or data key it was given
	ExitTransient = 75 // a server was unreachable; outputs are kept for a rerun (EX_TEMPFAIL)
)
