package templates

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"

	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/schema"
)

// Label keys set on workflows and pods.
const (
	LabelExperiment = "parak8s.dev/experiment"
	LabelTrial      = "parak8s.dev/trial"
	LabelStep       = "parak8s.dev/step"
	LabelData       = "parak8s.dev/data"
	LabelShard      = "parak8s.dev/shard"
)

// Input parameter names of the step templates.
const (
	ParamTrial   = "trial"    // full trial id
	ParamShort   = "short"    // short trial id or data key (labels)
	ParamDataKey = "data-key" // prepare's data key
)

// ParamName turns a swept path into a template parameter name
// ("training.optimizer.lr" → "training-optimizer-lr").
func ParamName(path string) string { return strings.ReplaceAll(path, ".", "-") }

// Input is what the step templates of one workflow share.
type Input struct {
	// Experiment is the resolved experiment.
	Experiment schema.Experiment
	// Swept are the paths swept in this workflow (every trial sets all of them).
	Swept []string
	// StepImage runs every step but train; TrainImage runs train. Both are
	// the references the trial ids were computed with.
	StepImage, TrainImage string
	// Memoize makes prepare reuse a cached dataset for the same data key and
	// step image (only safe when both the data set and the image are pinned
	// by digest).
	Memoize bool
}

// Light resource requests of the steps after evaluate.
const (
	lightCPU    = "100m"
	lightMemory = "256Mi"
)

// Template returns the template of one step kind.
func Template(k step.Kind, in Input) (wfv1.Template, error) {
	exp := in.Experiment
	t := wfv1.Template{
		Name: string(k),
		Metadata: wfv1.Metadata{Labels: map[string]string{
			LabelExperiment: exp.Name,
			LabelStep:       string(k),
		}},
	}
	retry, err := retryStrategy(exp.Workflow, k == step.Train)
	if err != nil {
		return t, err
	}
	t.RetryStrategy = retry
	deadline, err := Seconds(exp.Workflow.StepDeadline)
	if err != nil {
		return t, fmt.Errorf("workflow.stepDeadline: %w", err)
	}
	t.ActiveDeadlineSeconds = &intstr.IntOrString{Type: intstr.Int, IntVal: int32(deadline)}

	cmd, err := StepCommand(k, in)
	if err != nil {
		return t, err
	}
	c := &corev1.Container{
		Image:           cmd.Image,
		ImagePullPolicy: corev1.PullPolicy(exp.Images.PullPolicy),
		Command:         []string{step.Program},
		SecurityContext: containerSecurity(),
		// A failed step's last log lines become its termination message,
		// which Argo shows as the node's message (argo get, the UI).
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
	for _, a := range cmd.Args {
		c.Args = append(c.Args, ArgoText(a))
	}
	for _, e := range cmd.Env {
		if e.Secret != nil {
			c.Env = append(c.Env, secretEnv(e.Name, *e.Secret))
			continue
		}
		c.Env = append(c.Env, corev1.EnvVar{Name: e.Name, Value: ArgoText(e.Value)})
	}
	t.Inputs.Artifacts = artifacts(cmd.Inputs)
	for _, p := range cmd.Params {
		t.Inputs.Parameters = append(t.Inputs.Parameters, wfv1.Parameter{Name: p})
	}
	if len(cmd.Outputs) > 0 {
		t.Outputs.Artifacts = artifacts(cmd.Outputs)
	}
	for _, r := range cmd.Results {
		t.Outputs.Parameters = append(t.Outputs.Parameters, wfv1.Parameter{Name: r.Name, ValueFrom: &wfv1.ValueFrom{Path: r.Path.Pod()}})
	}
	if k == step.Prepare {
		t.Metadata.Labels[LabelData] = input(ParamShort)
		c.Resources = requests("1", "4Gi")
		claim, _, ok, err := exp.Data.Source.Claim()
		if err != nil {
			return t, fmt.Errorf("data.source.path: %w", err)
		}
		if ok {
			t.Volumes, c.VolumeMounts = sourceClaim(claim)
		}
		// Argo 3.7 never completes a workflow whose memoized step has a
		// retryStrategy and hits the cache (the DAG stays Running; seen on
		// the real node, argo-workflows#10426, #12490): retries win.
		if in.Memoize && t.RetryStrategy == nil {
			t.Memoize = &wfv1.Memoize{
				Key:    MemoKey(input(ParamDataKey), in.StepImage),
				MaxAge: "720h",
				Cache:  &wfv1.Cache{ConfigMap: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "parak8s-prepare-cache"}}},
			}
		}
		t.Container = workDir(&t, c)
		return t, nil
	}

	t.Metadata.Labels[LabelTrial] = input(ParamShort)
	switch k {
	case step.Train:
		c.Resources, err = trainResources(exp.Resources)
		if err != nil {
			return t, err
		}
		t.NodeSelector = exp.Resources.NodeSelector
		t.Tolerations = tolerations(exp.Resources.Tolerations)
		t.PriorityClassName = exp.Resources.PriorityClass
		vol := corev1.Volume{Name: "checkpoints", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
		mount := corev1.VolumeMount{Name: "checkpoints", MountPath: step.PathCheckpoint}
		if claim := exp.Workflow.CheckpointClaim; claim != "" {
			// One folder per experiment and trial, mounted where train
			// writes in every backend (the command stays the local
			// runner's). The kubelet creates a missing subPath with the
			// claim root's mode, so the folder inherits the fsGroup
			// (65532) and g+rwx wherever the non-root step could write
			// to the claim's root itself (kubelet_pods.go makeMounts).
			vol.VolumeSource = corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}
			mount.SubPath = CheckpointSubPath(exp.Name, input(ParamTrial))
		}
		t.Volumes = []corev1.Volume{vol}
		c.VolumeMounts = []corev1.VolumeMount{mount}
	case step.Evaluate:
		c.Resources = requests("1", "4Gi")
	case step.Publish:
		if r := exp.Registry; r != nil && r.Auth != "" {
			t.Volumes = []corev1.Volume{{Name: "docker-config", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
				SecretName: r.Auth,
				Items:      []corev1.KeyToPath{{Key: ".dockerconfigjson", Path: "config.json"}},
			}}}}
			c.VolumeMounts = []corev1.VolumeMount{{Name: "docker-config", MountPath: step.PathDocker, ReadOnly: true}}
		}
		c.Resources = requests(lightCPU, lightMemory)
	default: // track, record
		c.Resources = requests(lightCPU, lightMemory)
	}
	t.Container = workDir(&t, c)
	return t, nil
}

// workDir gives the step a writable step.Root: an emptyDir, group-writable
// through the pod's fsGroup. The step writes its outputs there (as the
// non-root user, in any image); Argo mounts the input artifacts and the
// other volumes below it.
func workDir(t *wfv1.Template, c *corev1.Container) *corev1.Container {
	const name = "parak8s"
	t.Volumes = append([]corev1.Volume{{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}, t.Volumes...)
	c.VolumeMounts = append([]corev1.VolumeMount{{Name: name, MountPath: step.Root}}, c.VolumeMounts...)
	return c
}

// CheckpointSubPath is a trial's checkpoint folder inside
// workflow.checkpointClaim: one per experiment and trial, so trials and
// experiments sharing the claim never meet.
func CheckpointSubPath(experiment, trial string) string { return experiment + "/" + trial }

// sourceClaim mounts the claim of a pvc:// data source, all of it and
// read-only, at step.PathSource: prepare reads PATH below it. The whole
// claim rather than a subPath, because the kubelet creates a missing subPath
// (writing to the user's claim) or, on a read-only claim, fails to start the
// container at all; with the whole claim a wrong PATH is the step's clear
// error.
func sourceClaim(claim string) ([]corev1.Volume, []corev1.VolumeMount) {
	const name = "source"
	return []corev1.Volume{{Name: name, VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim, ReadOnly: true}}}},
		[]corev1.VolumeMount{{Name: name, MountPath: step.PathSource, ReadOnly: true}}
}

func artifacts(as []Artifact) []wfv1.Artifact {
	out := make([]wfv1.Artifact, len(as))
	for i, a := range as {
		out[i] = wfv1.Artifact{Name: a.Name, Path: a.Path.Pod()}
	}
	return out
}

// MemoKey is prepare's cache key: the data key and a hash of the image that
// prepares it, so a new step image never reuses a dataset an older one made.
func MemoKey(dataKey, image string) string {
	h := sha256.Sum256([]byte(image))
	return dataKey + "-" + step.Short(hex.EncodeToString(h[:]))
}

func input(name string) string { return Placeholder(name) }

// threads is the libtorch thread count: training.threads, else the CPU
// request rounded up.
func threads(exp schema.Experiment) int {
	if exp.Training.Threads > 0 {
		return exp.Training.Threads
	}
	q, err := resource.ParseQuantity(exp.Resources.CPU)
	if err != nil {
		return 1
	}
	return int(math.Max(1, math.Ceil(float64(q.MilliValue())/1000)))
}

func trackingEnv(exp schema.Experiment) []Env {
	t := exp.Tracking
	if t == nil {
		return nil
	}
	var env []Env
	if t.URI != "" {
		env = append(env, Env{Name: step.EnvMLflowURI, Value: Lit(t.URI)})
	}
	name := t.Experiment
	if name == "" {
		name = exp.Name
	}
	env = append(env, Env{Name: step.EnvMLflowExperiment, Value: Lit(name)})
	for _, s := range []struct {
		name string
		ref  *schema.SecretRef
	}{{step.EnvMLflowToken, t.Token}, {step.EnvMLflowUsername, t.Username}, {step.EnvMLflowPassword, t.Password}} {
		if s.ref != nil {
			ref := *s.ref
			env = append(env, Env{Name: s.name, Secret: &ref})
		}
	}
	return env
}

func registryEnv(exp schema.Experiment) []Env {
	r := exp.Registry
	if r == nil {
		return nil
	}
	env := []Env{{Name: step.EnvRegistry, Value: Lit(r.Repository)}}
	if r.Model != "" {
		env = append(env, Env{Name: step.EnvRegisteredModel, Value: Lit(r.Model)})
	}
	if r.When != "" {
		env = append(env, Env{Name: step.EnvPushCondition, Value: Lit(r.When)})
	}
	return append(env, Env{Name: step.EnvPushAlias, Value: Lit(r.Alias)})
}

func secretEnv(name string, ref schema.SecretRef) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: ref.Name},
		Key:                  ref.Key,
	}}}
}

func requests(cpu, memory string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse(cpu),
			corev1.ResourceMemory: resource.MustParse(memory),
		},
		Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(memory)},
	}
}

func trainResources(r schema.Resources) (corev1.ResourceRequirements, error) {
	cpu, err := resource.ParseQuantity(r.CPU)
	if err != nil {
		return corev1.ResourceRequirements{}, fmt.Errorf("resources.cpu %q: %w", r.CPU, err)
	}
	mem, err := resource.ParseQuantity(r.Memory)
	if err != nil {
		return corev1.ResourceRequirements{}, fmt.Errorf("resources.memory %q: %w", r.Memory, err)
	}
	out := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: cpu, corev1.ResourceMemory: mem},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: mem},
	}
	if r.GPUs > 0 {
		n := *resource.NewQuantity(int64(r.GPUs), resource.DecimalSI)
		out.Requests[corev1.ResourceName(r.GPUResource)] = n
		out.Limits[corev1.ResourceName(r.GPUResource)] = n
	}
	return out, nil
}

func tolerations(ts []schema.Toleration) []corev1.Toleration {
	var out []corev1.Toleration
	for _, t := range ts {
		out = append(out, corev1.Toleration{
			Key:      t.Key,
			Operator: corev1.TolerationOperator(t.Operator),
			Value:    t.Value,
			Effect:   corev1.TaintEffect(t.Effect),
		})
	}
	return out
}

func retryStrategy(w schema.Workflow, avoidNode bool) (*wfv1.RetryStrategy, error) {
	rp, err := RetryPolicy(w)
	if err != nil || rp.Limit == 0 {
		return nil, err
	}
	factor := intstr.FromInt32(int32(rp.Factor))
	limit := intstr.FromInt32(int32(rp.Limit))
	policy, expr := retryWhen(rp.Policy)
	r := &wfv1.RetryStrategy{
		Limit:       &limit,
		RetryPolicy: policy,
		Expression:  expr,
		Backoff:     &wfv1.Backoff{Duration: w.Backoff, Factor: &factor, MaxDuration: shortDuration(rp.MaxDuration)},
	}
	if avoidNode {
		// A retried train step goes to another node when one is free.
		r.Affinity = &wfv1.RetryAffinity{NodeAntiAffinity: &wfv1.RetryNodeAntiAffinity{}}
	}
	return r, nil
}

// retryWhen states the step contract's retry rule in Argo's terms, as the
// local runner applies it: a config mismatch (step.ExitConfig) or a usage
// error (step.ExitUsage) is never retried, an unreachable server
// (step.ExitTransient) always is, and otherwise the policy decides. Argo
// retries only when both the policy and the expression allow it, so OnError
// becomes Always with an expression that admits errors and ExitTransient.
// OnTransientError is left to Argo's own notion of a transient error.
func retryWhen(policy string) (wfv1.RetryPolicy, string) {
	final := fmt.Sprintf("!(lastRetry.exitCode in [%q, %q])", fmt.Sprint(step.ExitUsage), fmt.Sprint(step.ExitConfig))
	switch policy {
	case string(wfv1.RetryPolicyOnError):
		return wfv1.RetryPolicyAlways, fmt.Sprintf("lastRetry.status == %q || lastRetry.exitCode == %q", wfv1.NodeError, fmt.Sprint(step.ExitTransient))
	case string(wfv1.RetryPolicyOnTransientError):
		return wfv1.RetryPolicyOnTransientError, ""
	default: // OnFailure, Always
		return wfv1.RetryPolicy(policy), final
	}
}

// shortDuration writes a duration without trailing zero units ("1h", not
// "1h0m0s").
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Seconds converts a schema duration to whole seconds.
func Seconds(d string) (int64, error) {
	v, err := time.ParseDuration(d)
	if err != nil {
		return 0, err
	}
	return int64(math.Ceil(v.Seconds())), nil
}

func containerSecurity() *corev1.SecurityContext {
	no := false
	yes := true
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: &no,
		RunAsNonRoot:             &yes,
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
}

// PodSecurity is the pod security context of every step: non-root, the
// runtime's default seccomp profile.
func PodSecurity() *corev1.PodSecurityContext {
	yes := true
	uid := int64(65532)
	return &corev1.PodSecurityContext{
		RunAsNonRoot:   &yes,
		RunAsUser:      &uid,
		RunAsGroup:     &uid,
		FSGroup:        &uid,
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}
