// Package platform builds the Kubernetes manifests that stand up what compiled
// experiments need on a cluster, as `parac platform` prints them: PostgreSQL
// for the results (StatefulSet with its volume claim, headless Service, and the
// Secret parak8s-postgres whose "dsn" key the specs reference as results.dsn),
// the MLflow tracking server (Deployment, Service, volume claim for artifacts
// served with --serve-artifacts, PostgreSQL as backend store), an OCI registry
// (Deployment, volume claim, Service), an S3 object store (versitygw's POSIX
// gateway: Deployment, volume claim, Service, credentials Secret parak8s-s3)
// configured as Argo's default artifact repository by the namespace's
// artifact-repositories ConfigMap, the ReadWriteMany claim parak8s-checkpoints
// for the train steps' checkpoints, and the service account parak8s-workflow
// the step pods and Argo's executor run as, with its token Secret and the
// Role that lets the executor report outputs. It is a pure library: objects
// in, YAML out, no cluster access.
package platform
