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

// envPostgresPassword supplies --postgres-password when the flag is not given.
const envPostgresPassword = "PARAK8S_POSTGRES_PASSWORD"

func platformCmd(stdout, stderr io.Writer) *cobra.Command {
	opts := platform.DefaultOptions()
	cmd := &cobra.Command{
		Use:   "platform",
		Short: "Print the manifests of what experiments need on a cluster (PostgreSQL, MLflow, a registry, RBAC)",
		Long: `Platform prints the Kubernetes manifests that stand up, in one namespace, what
compiled experiments use: PostgreSQL for the results (its Secret "` + platform.Postgres + `"
holds the "dsn" that specs name in results.dsn), the MLflow tracking server
(PostgreSQL backend store, artifacts on a volume, --serve-artifacts), an OCI
registry, and the service account the step pods and Argo's executor run as.

  parac platform --namespace ml | kubectl apply --server-side -f -

The PostgreSQL password comes from --postgres-password or ` + envPostgresPassword + `;
without either a random one is generated: pass the same one when applying again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.PostgresPassword == "" {
				opts.PostgresPassword = os.Getenv(envPostgresPassword)
			}
			if opts.PostgresPassword == "" {
				b := make([]byte, 18)
				if _, err := rand.Read(b); err != nil {
					return fmt.Errorf("generating a PostgreSQL password: %w", err)
				}
				opts.PostgresPassword = hex.EncodeToString(b)
				fmt.Fprintf(stderr, "parac platform: generated a PostgreSQL password; set %s or --postgres-password to the one in Secret %s when applying again\n", envPostgresPassword, platform.Postgres)
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
	f.StringVar(&opts.StorageClass, "storage-class", "", "storage class of the volume claims (default: the cluster's)")
	return cmd
}
