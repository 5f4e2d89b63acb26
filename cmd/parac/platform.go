package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"parak8s.dev/parak8s/platform"
)

// Environment variables that supply the secrets when their flags are not given.
const (
	envPostgresPassword = "PARAK8S_POSTGRES_PASSWORD"
	envS3SecretKey      = "PARAK8S_S3_SECRET_KEY"
)

func platformCmd(stdout, stderr io.Writer) *cobra.Command {
	opts := platform.DefaultOptions()
	cmd := &cobra.Command{
		Use:   "platform",
		Short: "Print the manifests of what experiments need on a cluster (PostgreSQL, MLflow, a registry, an S3 store, RBAC)",
		Long: `Platform prints the Kubernetes manifests that stand up, in one namespace, what
compiled experiments use: PostgreSQL for the results (its Secret "` + platform.Postgres + `"
holds the "dsn" that specs name in results.dsn), the MLflow tracking server
(PostgreSQL backend store, artifacts on a volume, --serve-artifacts), an OCI
registry, an S3 object store (versitygw) configured as Argo's default artifact
repository (ConfigMap "` + platform.ArtifactRepositories + `"), the ReadWriteMany claim
"` + platform.Checkpoints + `" for train checkpoints, and the service account
"` + platform.ServiceAccount + `" the step pods and Argo's executor run as, with its
token and the executor's Role. Compiled workflows use these names by default,
so submit them to the same namespace:

  parac platform --namespace ml | kubectl apply --server-side -f -
  parac compile exp.cue | argo submit -n ml -

The default images of PostgreSQL, MLflow and the registry are the projects'
official ones; the S3 default, ` + platform.DefaultS3Image + `, is the image
ParaK8s builds from versitygw's Go module: point --s3-image (and the other
--*-image flags) at images your cluster can pull.

The PostgreSQL password comes from --postgres-password or ` + envPostgresPassword + `,
the S3 secret key from --s3-secret-key or ` + envS3SecretKey + `; without
either a random one is generated: pass the same ones when applying again (they
are in the Secrets "` + platform.Postgres + `" and "` + platform.S3 + `").`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, s := range []struct {
				value           *string
				env, what, flag string
				secret          string
			}{
				{&opts.PostgresPassword, envPostgresPassword, "a PostgreSQL password", "--postgres-password", platform.Postgres},
				{&opts.S3SecretKey, envS3SecretKey, "an S3 secret key", "--s3-secret-key", platform.S3},
			} {
				if *s.value == "" {
					*s.value = os.Getenv(s.env)
				}
				if *s.value != "" {
					continue
				}
				b := make([]byte, 18)
				if _, err := rand.Read(b); err != nil {
					return fmt.Errorf("generating %s: %w", s.what, err)
				}
				*s.value = hex.EncodeToString(b)
				fmt.Fprintf(stderr, "parac platform: generated %s; set %s or %s to the one in Secret %s when applying again\n", s.what, s.env, s.flag, s.secret)
			}
			y, err := platform.YAML(opts)
			if err != nil {
				return err
			}
			_, err = stdout.Write(y)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Namespace, "namespace", "n", opts.Namespace, "namespace of the platform (the one workflows are submitted to)")
	f.StringVar(&opts.PostgresPassword, "postgres-password", "", "password of the PostgreSQL user (default: $"+envPostgresPassword+", else random)")
	f.StringVar(&opts.S3SecretKey, "s3-secret-key", "", "secret key of the S3 store (default: $"+envS3SecretKey+", else random)")
	f.StringVar(&opts.StorageClass, "storage-class", "", "storage class of the volume claims (default: the cluster's)")
	f.StringVar(&opts.CheckpointStorageClass, "checkpoint-storage-class", "", "storage class of the ReadWriteMany checkpoints claim (default: --storage-class)")
	f.StringVar(&opts.PostgresImage, "postgres-image", opts.PostgresImage, "PostgreSQL image (initdb, postgres, pg_isready on PATH; scripts/cluster/platform-images.sh builds one)")
	f.StringVar(&opts.MLflowImage, "mlflow-image", opts.MLflowImage, "MLflow image (mlflow and a PostgreSQL driver; scripts/cluster/platform-images.sh builds one)")
	f.StringVar(&opts.RegistryImage, "registry-image", opts.RegistryImage, "OCI registry image (distribution)")
	f.StringVar(&opts.S3Image, "s3-image", opts.S3Image, "versitygw image, whose entrypoint is versitygw")
	return cmd
}
