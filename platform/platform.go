package platform

import (
	"errors"
	"fmt"
	"net/url"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"parak8s.dev/parak8s/schema"
)

// Names of the objects, which specs and users refer to.
const (
	Postgres = "parak8s-postgres" // StatefulSet, Service and Secret (keys username, password, dsn, mlflow-dsn)
	MLflow   = "parak8s-mlflow"   // Deployment, Service, artifacts claim
	Registry = "parak8s-registry" // Deployment, Service, storage claim
	// S3 is the object store behind Argo's artifacts: Deployment, Service
	// (port S3Port), claim, and Secret (keys S3AccessKeyKey, S3SecretKeyKey).
	S3 = "parak8s-s3"
	// S3Bucket holds the workflows' artifacts; Argo creates it on the first
	// upload (createBucketIfNotPresent).
	S3Bucket       = "parak8s-artifacts"
	S3AccessKeyKey = "accesskey"
	S3SecretKeyKey = "secretkey"
	S3Port         = 7070
	// ArtifactRepositories is the ConfigMap Argo reads a namespace's artifact
	// repositories from; its DefaultArtifactRepository key is the default.
	ArtifactRepositories      = "artifact-repositories"
	DefaultArtifactRepository = "default-v1"
	// ServiceAccount is what step pods and Argo's executor run as (the
	// schema's default workflow.serviceAccount and executorServiceAccount).
	ServiceAccount = schema.DefaultServiceAccount
	// ServiceAccountToken is the Secret Argo mounts into the executor's
	// containers, by the name Argo looks for when the account lists none.
	ServiceAccountToken = ServiceAccount + ".service-account-token"
	// Checkpoints is the ReadWriteMany claim of the train steps' checkpoints
	// (the schema's default workflow.checkpointClaim).
	Checkpoints  = schema.DefaultCheckpointClaim
	executorRole = "parak8s-executor"

	postgresPort = 5432
	mlflowPort   = 5000
	registryPort = 5000
	database     = "parak8s"
	mlflowDB     = "mlflow"
	dbUser       = "parak8s"
	s3Data       = "/data"
	s3Region     = "us-east-1" // versitygw's default; Argo signs with it
	nonRoot      = 65532
)

// Default images of the servers: the ones ParaK8s builds without Docker
// (scripts/cluster/platform-images.sh and scripts/cluster.sh's node_images:
// PostgreSQL from Debian's packages, MLflow from Debian's Python and the
// pinned wheels of scripts/mlflow.sh with its PostgreSQL driver, the
// registry and versitygw from their Go modules). Push them to a registry
// your cluster pulls from and point the Options at them
// (docs/platform.md).
const (
	DefaultPostgresImage = "parak8s.local/postgres:15"
	DefaultMLflowImage   = "parak8s.local/mlflow:2.22.1"
	DefaultRegistryImage = "parak8s.local/registry:v3.0.0"
	DefaultS3Image       = "parak8s.local/versitygw:v1.8.0"
)

// Options say where and with what the platform runs.
type Options struct {
	Namespace string
	// PostgresPassword goes into the Secret; required (the CLI generates one).
	PostgresPassword string
	// S3AccessKey and S3SecretKey are the object store's root credentials;
	// the secret key is required (the CLI generates one).
	S3AccessKey, S3SecretKey string
	// Images of the servers. PostgresImage has PostgreSQL's server programs
	// on PATH (initdb, postgres, pg_isready) and /bin/sh; MLflowImage has
	// `mlflow` with a PostgreSQL driver; RegistryImage is distribution's
	// registry reading its configuration from the environment; S3Image
	// runs `versitygw` (its entrypoint) with the posix backend.
	PostgresImage, MLflowImage, RegistryImage, S3Image string
	// Sizes of the volume claims.
	PostgresStorage, MLflowStorage, RegistryStorage, S3Storage, CheckpointStorage string
	// StorageClass of the claims ("" = the cluster's default).
	StorageClass string
	// CheckpointStorageClass of the ReadWriteMany checkpoints claim ("" =
	// StorageClass): often another class than the ReadWriteOnce claims'.
	CheckpointStorageClass string
}

// DefaultOptions are the pinned images and modest volume sizes.
func DefaultOptions() Options {
	return Options{
		Namespace:         "parak8s",
		S3AccessKey:       "parak8s",
		PostgresImage:     DefaultPostgresImage,
		MLflowImage:       DefaultMLflowImage,
		RegistryImage:     DefaultRegistryImage,
		S3Image:           DefaultS3Image,
		PostgresStorage:   "20Gi",
		MLflowStorage:     "50Gi",
		RegistryStorage:   "100Gi",
		S3Storage:         "100Gi",
		CheckpointStorage: "100Gi",
	}
}

// Objects returns the platform's objects in the order they can be applied.
func Objects(o Options) ([]runtime.Object, error) {
	if errs := validation.IsDNS1123Label(o.Namespace); len(errs) > 0 {
		return nil, fmt.Errorf("namespace %q: %s", o.Namespace, errs[0])
	}
	if o.PostgresPassword == "" {
		return nil, errors.New("no PostgreSQL password")
	}
	if o.S3AccessKey == "" || o.S3SecretKey == "" {
		return nil, errors.New("no S3 access key or secret key")
	}
	for _, q := range []struct{ name, size string }{{"postgres", o.PostgresStorage}, {"mlflow", o.MLflowStorage},
		{"registry", o.RegistryStorage}, {"s3", o.S3Storage}, {"checkpoint", o.CheckpointStorage}} {
		if _, err := resource.ParseQuantity(q.size); err != nil {
			return nil, fmt.Errorf("%s storage %q: %w", q.name, q.size, err)
		}
	}
	for _, img := range []struct{ name, ref string }{{"postgres", o.PostgresImage}, {"mlflow", o.MLflowImage},
		{"registry", o.RegistryImage}, {"s3", o.S3Image}} {
		if img.ref == "" {
			return nil, fmt.Errorf("no %s image", img.name)
		}
	}
	repos, err := artifactRepositories(o)
	if err != nil {
		return nil, err
	}
	checkpoints := o.claim(Checkpoints, "checkpoints", o.CheckpointStorage)
	checkpoints.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
	if o.CheckpointStorageClass != "" {
		checkpoints.Spec.StorageClassName = &o.CheckpointStorageClass
	}
	objs := []runtime.Object{
		&corev1.Namespace{TypeMeta: typeMeta("v1", "Namespace"), ObjectMeta: metav1.ObjectMeta{Name: o.Namespace, Labels: labels("platform")}},
		postgresSecret(o),
		s3Secret(o),
		&corev1.ServiceAccount{TypeMeta: typeMeta("v1", "ServiceAccount"), ObjectMeta: o.meta(ServiceAccount, "workflow")},
		serviceAccountToken(o),
		&rbacv1.Role{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "Role"), ObjectMeta: o.meta(executorRole, "workflow"),
			// What Argo's executor needs since v3.4 (docs/workflow-rbac.md):
			// it reports outputs as WorkflowTaskResults and reads artifact
			// credentials from mounted Secrets, not from the API.
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflowtaskresults"}, Verbs: []string{"create", "patch"}}}},
		&rbacv1.RoleBinding{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "RoleBinding"), ObjectMeta: o.meta(executorRole, "workflow"),
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: executorRole},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: ServiceAccount, Namespace: o.Namespace}}},
		repos,
		checkpoints,
		service(o, Postgres, "postgres", postgresPort, true),
		postgresStatefulSet(o),
		o.claim(MLflow+"-artifacts", "mlflow", o.MLflowStorage),
		service(o, MLflow, "mlflow", mlflowPort, false),
		mlflowDeployment(o),
		o.claim(Registry, "registry", o.RegistryStorage),
		service(o, Registry, "registry", registryPort, false),
		registryDeployment(o),
		o.claim(S3, "s3", o.S3Storage),
		service(o, S3, "s3", S3Port, false),
		s3Deployment(o),
	}
	return objs, nil
}

// Endpoints are what specs and step pods use to reach the servers.
func Endpoints(o Options) (tracking, registry string) {
	return fmt.Sprintf("http://%s:%d", o.host(MLflow), mlflowPort), fmt.Sprintf("%s:%d", o.host(Registry), registryPort)
}

func (o Options) host(name string) string { return name + "." + o.Namespace + ".svc.cluster.local" }

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

func labels(component string) map[string]string {
	return map[string]string{"app.kubernetes.io/part-of": "parak8s", "app.kubernetes.io/component": component}
}

func (o Options) meta(name, component string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: o.Namespace, Labels: labels(component)}
}

func (o Options) claim(name, component, size string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{TypeMeta: typeMeta("v1", "PersistentVolumeClaim"), ObjectMeta: o.meta(name, component), Spec: o.claimSpec(size)}
}

// claimSpec is a ReadWriteOnce claim of size, of o.StorageClass when set.
func (o Options) claimSpec(size string) corev1.PersistentVolumeClaimSpec {
	c := corev1.PersistentVolumeClaimSpec{
		AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
	}
	if o.StorageClass != "" {
		c.StorageClassName = &o.StorageClass
	}
	return c
}

// deployment runs pod as one replica of name, replaced rather than rolled
// (one pod at a time on its ReadWriteOnce claim).
func (o Options) deployment(name, component string, pod corev1.PodSpec) *appsv1.Deployment {
	one := int32(1)
	return &appsv1.Deployment{TypeMeta: typeMeta("apps/v1", "Deployment"), ObjectMeta: o.meta(name, component), Spec: appsv1.DeploymentSpec{
		Replicas: &one, Selector: selector(name),
		Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
		Template: corev1.PodTemplateSpec{ObjectMeta: podMeta(name, component), Spec: pod},
	}}
}

func service(o Options, name, component string, port int32, headless bool) *corev1.Service {
	s := &corev1.Service{TypeMeta: typeMeta("v1", "Service"), ObjectMeta: o.meta(name, component), Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app.kubernetes.io/name": name},
		Ports:    []corev1.ServicePort{{Name: component, Port: port, TargetPort: intstr.FromInt32(port)}},
	}}
	if headless {
		s.Spec.ClusterIP = corev1.ClusterIPNone
	}
	return s
}

func podMeta(name, component string) metav1.ObjectMeta {
	l := labels(component)
	l["app.kubernetes.io/name"] = name
	return metav1.ObjectMeta{Labels: l}
}

func selector(name string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": name}}
}

func requests(cpu, memory string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory)},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(memory)},
	}
}

func secretEnv(name, key string) corev1.EnvVar { return secretKeyEnv(name, Postgres, key) }

func secretKeyEnv(name, secret, key string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: secretKey(secret, key)}}
}

func secretKey(secret, key string) *corev1.SecretKeySelector {
	return &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key}
}

func claimVolume(name, claim string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}
}

func tcpProbe(port int32) *corev1.Probe {
	return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(port)}}, PeriodSeconds: 10}
}

// postgresSecret holds the credentials and the connection strings: "dsn" is what
// specs name as results.dsn (DATABASE_URL of the record step), "mlflow-dsn" is
// MLflow's backend store.
func postgresSecret(o Options) *corev1.Secret {
	dsn := func(scheme, db string) string {
		u := url.URL{Scheme: scheme, User: url.UserPassword(dbUser, o.PostgresPassword),
			Host: fmt.Sprintf("%s:%d", o.host(Postgres), postgresPort), Path: "/" + db, RawQuery: "sslmode=disable"}
		return u.String()
	}
	return &corev1.Secret{TypeMeta: typeMeta("v1", "Secret"), ObjectMeta: o.meta(Postgres, "postgres"), Type: corev1.SecretTypeOpaque,
		StringData: map[string]string{
			"username":   dbUser,
			"password":   o.PostgresPassword,
			"dsn":        dsn("postgres", database),
			"mlflow-dsn": dsn("postgresql", mlflowDB),
		}}
}

// postgresStart initialises the database cluster on the volume the first
// time (into a scratch folder renamed at the end, so a pod killed half-way
// starts over): the user and password from the Secret, password
// authentication for connections from other pods, the results and MLflow
// databases. Then it runs the server. The password is set once: changing
// the Secret later does not change it in the database.
const postgresStart = `set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  rm -rf "$PGDATA.init"
  umask 077
  printf '%s' "$POSTGRES_PASSWORD" >/tmp/pwfile
  initdb -D "$PGDATA.init" -U "$POSTGRES_USER" --pwfile=/tmp/pwfile -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f /tmp/pwfile
  printf 'host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n' >>"$PGDATA.init/pg_hba.conf"
  for db in ` + database + ` ` + mlflowDB + `; do
    echo "CREATE DATABASE $db;" | postgres --single -D "$PGDATA.init" -c unix_socket_directories=/tmp postgres >/dev/null
  done
  mv "$PGDATA.init" "$PGDATA"
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/tmp`

// podSecurity runs a server's pod as the images' non-root user, its volumes
// made writable by that group.
func podSecurity() *corev1.PodSecurityContext {
	yes, uid := true, int64(nonRoot)
	return &corev1.PodSecurityContext{
		RunAsNonRoot: &yes, RunAsUser: &uid, RunAsGroup: &uid, FSGroup: &uid,
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// containerSecurity drops every privilege; readOnly also makes the root file
// system read-only (the server then writes only to its volumes).
func containerSecurity(readOnly bool) *corev1.SecurityContext {
	no := false
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &readOnly,
		Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
}

func emptyDir(name string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
}

func postgresStatefulSet(o Options) *appsv1.StatefulSet {
	one, no := int32(1), false
	claim := corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data"}, Spec: o.claimSpec(o.PostgresStorage)}
	return &appsv1.StatefulSet{TypeMeta: typeMeta("apps/v1", "StatefulSet"), ObjectMeta: o.meta(Postgres, "postgres"), Spec: appsv1.StatefulSetSpec{
		Replicas: &one, ServiceName: Postgres, Selector: selector(Postgres),
		Template: corev1.PodTemplateSpec{ObjectMeta: podMeta(Postgres, "postgres"), Spec: corev1.PodSpec{
			AutomountServiceAccountToken: &no,
			SecurityContext:              podSecurity(),
			Containers: []corev1.Container{{
				Name: "postgres", Image: o.PostgresImage,
				Command: []string{"/bin/sh", "-c", postgresStart},
				Env: []corev1.EnvVar{
					secretEnv("POSTGRES_USER", "username"), secretEnv("POSTGRES_PASSWORD", "password"),
					{Name: "PGDATA", Value: "/var/lib/postgresql/data/pgdata"},
				},
				Ports:     []corev1.ContainerPort{{Name: "postgres", ContainerPort: postgresPort}},
				Resources: requests("250m", "1Gi"),
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{
					Command: []string{"pg_isready", "-h", "127.0.0.1", "-U", dbUser, "-d", database}}}, PeriodSeconds: 5},
				SecurityContext: containerSecurity(true),
				VolumeMounts: []corev1.VolumeMount{
					{Name: "data", MountPath: "/var/lib/postgresql/data"},
					{Name: "tmp", MountPath: "/tmp"},
				},
			}},
			Volumes: []corev1.Volume{emptyDir("tmp")},
		}},
		VolumeClaimTemplates: []corev1.PersistentVolumeClaim{claim},
	}}
}

// mlflowDeployment runs the tracking server with the model registry, its
// runs and models in PostgreSQL and the artifacts on its claim, served
// through the server (--serve-artifacts), so steps need only its URL. It
// upgrades the database schema when it starts, which can take a minute the
// first time: the startup probe allows five.
func mlflowDeployment(o Options) *appsv1.Deployment {
	no := false
	health := corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/health", Port: intstr.FromInt32(mlflowPort)}}
	return o.deployment(MLflow, "mlflow", corev1.PodSpec{
		AutomountServiceAccountToken: &no,
		SecurityContext:              podSecurity(),
		Containers: []corev1.Container{{
			Name: "mlflow", Image: o.MLflowImage,
			Command: []string{"mlflow", "server", "--host", "0.0.0.0", "--port", fmt.Sprint(mlflowPort), "--workers", "2",
				"--backend-store-uri", "$(MLFLOW_BACKEND_STORE_URI)",
				"--artifacts-destination", "/mlflow/artifacts", "--serve-artifacts"},
			Env:             []corev1.EnvVar{secretEnv("MLFLOW_BACKEND_STORE_URI", "mlflow-dsn"), {Name: "HOME", Value: "/tmp"}},
			Ports:           []corev1.ContainerPort{{Name: "http", ContainerPort: mlflowPort}},
			Resources:       requests("250m", "1536Mi"),
			StartupProbe:    &corev1.Probe{ProbeHandler: health, PeriodSeconds: 5, FailureThreshold: 60},
			ReadinessProbe:  &corev1.Probe{ProbeHandler: health, PeriodSeconds: 10},
			SecurityContext: containerSecurity(true),
			VolumeMounts:    []corev1.VolumeMount{{Name: "artifacts", MountPath: "/mlflow/artifacts"}, {Name: "tmp", MountPath: "/tmp"}},
		}},
		Volumes: []corev1.Volume{claimVolume("artifacts", MLflow+"-artifacts"), emptyDir("tmp")},
	})
}

func registryDeployment(o Options) *appsv1.Deployment {
	no := false
	return o.deployment(Registry, "registry", corev1.PodSpec{
		AutomountServiceAccountToken: &no,
		SecurityContext:              podSecurity(),
		Containers: []corev1.Container{{
			Name: "registry", Image: o.RegistryImage,
			Env: []corev1.EnvVar{
				{Name: "REGISTRY_HTTP_ADDR", Value: fmt.Sprintf("0.0.0.0:%d", registryPort)},
				{Name: "REGISTRY_STORAGE_DELETE_ENABLED", Value: "true"},
			},
			Ports:           []corev1.ContainerPort{{Name: "http", ContainerPort: registryPort}},
			Resources:       requests("100m", "256Mi"),
			ReadinessProbe:  tcpProbe(registryPort),
			SecurityContext: containerSecurity(true),
			VolumeMounts:    []corev1.VolumeMount{{Name: "storage", MountPath: "/var/lib/registry"}},
		}},
		Volumes: []corev1.Volume{claimVolume("storage", Registry)},
	})
}

// s3Secret holds the object store's root credentials, which versitygw reads
// from its environment and Argo's executor from the artifact repository's
// accessKeySecret and secretKeySecret.
func s3Secret(o Options) *corev1.Secret {
	return &corev1.Secret{TypeMeta: typeMeta("v1", "Secret"), ObjectMeta: o.meta(S3, "s3"), Type: corev1.SecretTypeOpaque,
		StringData: map[string]string{S3AccessKeyKey: o.S3AccessKey, S3SecretKeyKey: o.S3SecretKey}}
}

// serviceAccountToken is a long-lived token of ServiceAccount, filled in by
// the cluster's token controller. Workflows do not mount a token into their
// pods (automountServiceAccountToken: false); Argo's controller then mounts
// this Secret, found by its name, into the executor's init and wait
// containers only, so the step's own container has no token.
func serviceAccountToken(o Options) *corev1.Secret {
	m := o.meta(ServiceAccountToken, "workflow")
	m.Annotations = map[string]string{corev1.ServiceAccountNameKey: ServiceAccount}
	return &corev1.Secret{TypeMeta: typeMeta("v1", "Secret"), ObjectMeta: m, Type: corev1.SecretTypeServiceAccountToken}
}

// ArtifactRepository is the namespace's default artifact repository: the
// S3 store, path-style (Argo's client uses path-style addressing for an
// endpoint that is not AWS's), over plain HTTP inside the cluster, keys
// WORKFLOW/POD/ARTIFACT as Argo's default.
func ArtifactRepository(o Options) wfv1.ArtifactRepository {
	insecure := true
	return wfv1.ArtifactRepository{S3: &wfv1.S3ArtifactRepository{
		S3Bucket: wfv1.S3Bucket{
			Endpoint:                 fmt.Sprintf("%s:%d", o.host(S3), S3Port),
			Bucket:                   S3Bucket,
			Region:                   s3Region,
			Insecure:                 &insecure,
			AccessKeySecret:          secretKey(S3, S3AccessKeyKey),
			SecretKeySecret:          secretKey(S3, S3SecretKeyKey),
			CreateBucketIfNotPresent: &wfv1.CreateS3BucketOptions{},
		},
		KeyFormat: "{{workflow.name}}/{{pod.name}}",
	}}
}

// artifactRepositories is the ConfigMap Argo reads the namespace's artifact
// repositories from (docs/artifact-repository-ref.md); the annotation makes
// DefaultArtifactRepository the one workflows use when they name none.
func artifactRepositories(o Options) (*corev1.ConfigMap, error) {
	repo, err := yaml.Marshal(ArtifactRepository(o))
	if err != nil {
		return nil, fmt.Errorf("encoding the artifact repository: %w", err)
	}
	m := o.meta(ArtifactRepositories, "s3")
	m.Annotations = map[string]string{"workflows.argoproj.io/default-artifact-repository": DefaultArtifactRepository}
	return &corev1.ConfigMap{TypeMeta: typeMeta("v1", "ConfigMap"), ObjectMeta: m,
		Data: map[string]string{DefaultArtifactRepository: string(repo)}}, nil
}

// s3Deployment runs versitygw's POSIX gateway on the claim: a bucket is a
// directory under the data root, object metadata are extended attributes
// (the claim's file system must support user xattrs, as ext4, xfs and btrfs
// do). Non-root, read-only root file system; the gateway is one static
// binary, so no shell, and the bucket is made through the S3 API by Argo.
func s3Deployment(o Options) *appsv1.Deployment {
	no := false
	return o.deployment(S3, "s3", corev1.PodSpec{
		AutomountServiceAccountToken: &no,
		SecurityContext:              podSecurity(),
		Containers: []corev1.Container{{
			Name: "versitygw", Image: o.S3Image,
			Args: []string{"--port", fmt.Sprintf(":%d", S3Port), "--health", "/health", "posix", s3Data},
			Env: []corev1.EnvVar{
				secretKeyEnv("ROOT_ACCESS_KEY", S3, S3AccessKeyKey), secretKeyEnv("ROOT_SECRET_KEY", S3, S3SecretKeyKey),
				{Name: "VGW_REGION", Value: s3Region},
			},
			Ports:     []corev1.ContainerPort{{Name: "s3", ContainerPort: S3Port}},
			Resources: requests("250m", "512Mi"),
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: "/health", Port: intstr.FromInt32(S3Port)}}, PeriodSeconds: 10},
			SecurityContext: containerSecurity(true),
			VolumeMounts:    []corev1.VolumeMount{{Name: "data", MountPath: s3Data}, {Name: "tmp", MountPath: "/tmp"}},
		}},
		Volumes: []corev1.Volume{
			claimVolume("data", S3),
			emptyDir("tmp"),
		},
	})
}
