package platform

import (
	"errors"
	"fmt"
	"net/url"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Names of the objects, which specs and users refer to.
const (
	Postgres       = "parak8s-postgres" // StatefulSet, Service and Secret (keys username, password, dsn, mlflow-dsn)
	MLflow         = "parak8s-mlflow"   // Deployment, Service, artifacts claim
	Registry       = "parak8s-registry" // Deployment, Service, storage claim
	ServiceAccount = "parak8s-workflow" // step pods and Argo's executor
	executorRole   = "parak8s-executor"

	postgresPort = 5432
	mlflowPort   = 5000
	registryPort = 5000
	database     = "parak8s"
	mlflowDB     = "mlflow"
	dbUser       = "parak8s"
)

// Options say where and with what the platform runs.
type Options struct {
	Namespace string
	// PostgresPassword goes into the Secret; required (the CLI generates one).
	PostgresPassword string
	// Images of the three servers. The official MLflow image has no PostgreSQL
	// driver: an init container installs MLflowDriver into a shared volume.
	PostgresImage, MLflowImage, MLflowDriver, RegistryImage string
	// Sizes of the volume claims.
	PostgresStorage, MLflowStorage, RegistryStorage string
	// StorageClass of the claims ("" = the cluster's default).
	StorageClass string
}

// DefaultOptions are the pinned images and modest volume sizes.
func DefaultOptions() Options {
	return Options{
		Namespace:       "parak8s",
		PostgresImage:   "docker.io/library/postgres:16.4",
		MLflowImage:     "ghcr.io/mlflow/mlflow:v2.22.1",
		MLflowDriver:    "psycopg2-binary==2.9.10",
		RegistryImage:   "docker.io/library/registry:2.8.3",
		PostgresStorage: "20Gi",
		MLflowStorage:   "50Gi",
		RegistryStorage: "100Gi",
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
	for name, q := range map[string]string{"postgres": o.PostgresStorage, "mlflow": o.MLflowStorage, "registry": o.RegistryStorage} {
		if _, err := resource.ParseQuantity(q); err != nil {
			return nil, fmt.Errorf("%s storage %q: %w", name, q, err)
		}
	}
	objs := []runtime.Object{
		&corev1.Namespace{TypeMeta: typeMeta("v1", "Namespace"), ObjectMeta: metav1.ObjectMeta{Name: o.Namespace, Labels: labels("platform")}},
		postgresSecret(o),
		&corev1.ServiceAccount{TypeMeta: typeMeta("v1", "ServiceAccount"), ObjectMeta: o.meta(ServiceAccount, "workflow")},
		&rbacv1.Role{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "Role"), ObjectMeta: o.meta(executorRole, "workflow"),
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflowtaskresults"}, Verbs: []string{"create", "patch"}}}},
		&rbacv1.RoleBinding{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "RoleBinding"), ObjectMeta: o.meta(executorRole, "workflow"),
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: executorRole},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: ServiceAccount, Namespace: o.Namespace}}},
		postgresInit(o),
		service(o, Postgres, "postgres", postgresPort, true),
		postgresStatefulSet(o),
		o.claim(MLflow+"-artifacts", "mlflow", o.MLflowStorage),
		service(o, MLflow, "mlflow", mlflowPort, false),
		mlflowDeployment(o),
		o.claim(Registry, "registry", o.RegistryStorage),
		service(o, Registry, "registry", registryPort, false),
		registryDeployment(o),
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

func secretEnv(name, key string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: Postgres}, Key: key}}}
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

// postgresInit creates MLflow's own database next to the results database.
func postgresInit(o Options) *corev1.ConfigMap {
	return &corev1.ConfigMap{TypeMeta: typeMeta("v1", "ConfigMap"), ObjectMeta: o.meta(Postgres+"-init", "postgres"),
		Data: map[string]string{"10-mlflow.sql": "CREATE DATABASE " + mlflowDB + ";\n"}}
}

func postgresStatefulSet(o Options) *appsv1.StatefulSet {
	one := int32(1)
	claim := corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data"}, Spec: o.claimSpec(o.PostgresStorage)}
	return &appsv1.StatefulSet{TypeMeta: typeMeta("apps/v1", "StatefulSet"), ObjectMeta: o.meta(Postgres, "postgres"), Spec: appsv1.StatefulSetSpec{
		Replicas: &one, ServiceName: Postgres, Selector: selector(Postgres),
		Template: corev1.PodTemplateSpec{ObjectMeta: podMeta(Postgres, "postgres"), Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name: "postgres", Image: o.PostgresImage,
				Env: []corev1.EnvVar{
					secretEnv("POSTGRES_USER", "username"), secretEnv("POSTGRES_PASSWORD", "password"),
					{Name: "POSTGRES_DB", Value: database}, {Name: "PGDATA", Value: "/var/lib/postgresql/data/pgdata"},
				},
				Ports:     []corev1.ContainerPort{{Name: "postgres", ContainerPort: postgresPort}},
				Resources: requests("500m", "1Gi"),
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{
					Command: []string{"pg_isready", "-U", dbUser, "-d", database}}}, PeriodSeconds: 10},
				VolumeMounts: []corev1.VolumeMount{
					{Name: "data", MountPath: "/var/lib/postgresql/data"},
					{Name: "init", MountPath: "/docker-entrypoint-initdb.d", ReadOnly: true},
				},
			}},
			Volumes: []corev1.Volume{{Name: "init", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: Postgres + "-init"}}}}},
		}},
		VolumeClaimTemplates: []corev1.PersistentVolumeClaim{claim},
	}}
}

func mlflowDeployment(o Options) *appsv1.Deployment {
	deps := corev1.VolumeMount{Name: "deps", MountPath: "/deps"}
	return o.deployment(MLflow, "mlflow", corev1.PodSpec{
		InitContainers: []corev1.Container{{
			Name: "postgres-driver", Image: o.MLflowImage,
			Command:      []string{"pip", "install", "--no-cache-dir", "--target", "/deps", o.MLflowDriver},
			VolumeMounts: []corev1.VolumeMount{deps},
		}},
		Containers: []corev1.Container{{
			Name: "mlflow", Image: o.MLflowImage,
			Command: []string{"mlflow", "server", "--host", "0.0.0.0", "--port", fmt.Sprint(mlflowPort),
				"--backend-store-uri", "$(MLFLOW_BACKEND_STORE_URI)",
				"--artifacts-destination", "/mlflow/artifacts", "--serve-artifacts"},
			Env:            []corev1.EnvVar{secretEnv("MLFLOW_BACKEND_STORE_URI", "mlflow-dsn"), {Name: "PYTHONPATH", Value: "/deps"}},
			Ports:          []corev1.ContainerPort{{Name: "http", ContainerPort: mlflowPort}},
			Resources:      requests("500m", "2Gi"),
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/health", Port: intstr.FromInt32(mlflowPort)}}, PeriodSeconds: 10},
			VolumeMounts:   []corev1.VolumeMount{deps, {Name: "artifacts", MountPath: "/mlflow/artifacts"}},
		}},
		Volumes: []corev1.Volume{
			{Name: "deps", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			claimVolume("artifacts", MLflow+"-artifacts"),
		},
	})
}

func registryDeployment(o Options) *appsv1.Deployment {
	return o.deployment(Registry, "registry", corev1.PodSpec{
		Containers: []corev1.Container{{
			Name: "registry", Image: o.RegistryImage,
			Env: []corev1.EnvVar{
				{Name: "REGISTRY_HTTP_ADDR", Value: fmt.Sprintf("0.0.0.0:%d", registryPort)},
				{Name: "REGISTRY_STORAGE_DELETE_ENABLED", Value: "true"},
			},
			Ports:          []corev1.ContainerPort{{Name: "http", ContainerPort: registryPort}},
			Resources:      requests("100m", "256Mi"),
			ReadinessProbe: tcpProbe(registryPort),
			VolumeMounts:   []corev1.VolumeMount{{Name: "storage", MountPath: "/var/lib/registry"}},
		}},
		Volumes: []corev1.Volume{claimVolume("storage", Registry)},
	})
}
