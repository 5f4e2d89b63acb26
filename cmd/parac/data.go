package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"parak8s.dev/parak8s/runtime/publish"
)

func dataCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data",
		Short: "Put data sets where the steps of a compiled workflow can read them",
	}
	cmd.AddCommand(dataPushCmd(stdout), dataCSVCmd(stdout))
	return cmd
}

func dataPushCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "push DIR|FILE... REPO[:TAG]",
		Short: "Push a data set to an OCI registry and print the reference a spec pins it by",
		Long: `Push packs a folder (with its subfolders), or a list of files, into one OCI
artifact and pushes it to REPO[:TAG] (oci:// optional; the tag defaults to
"latest"). Files keep their base names, so "106.hea 106.dat 106.atr" gives the
same artifact as a folder holding just those three files. The same files
always give the same digest.

Push prints what it pushed, the line to put in the spec, and last the pinned
reference alone, for scripts:

  pushed 3 files (1.9 MB) to registry.example.com/ml/mitdb:latest
  data.source.path: "oci://registry.example.com/ml/mitdb@sha256:…"
  oci://registry.example.com/ml/mitdb@sha256:…

The prepare step of a compiled workflow pulls that reference, checks its
digest and reads the files as it would read the folder.

Credentials come from the Docker config (docker login, credential helpers).
Registries on localhost, 127.0.0.0/8, RFC 1918 addresses and *.local names
are reached over plain HTTP.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return usageError{fmt.Errorf("%s takes a DIR or FILEs and then REPO, got %d arguments", cmd.CommandPath(), len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			paths, repo := args[:len(args)-1], args[len(args)-1]
			d, err := pushSource(paths)
			if err != nil {
				return err
			}
			ref, err := publish.ParseRef(repo)
			if err != nil {
				return usageError{err}
			}
			if _, ok := ref.(name.Digest); ok {
				return usageError{fmt.Errorf("%s names a digest: push to a repository or a tag; the digest is what push prints", repo)}
			}
			res, err := publish.PushDataset(cmd.Context(), d, repo, publish.DefaultOptions())
			if err != nil {
				if unreachable(err) {
					return fmt.Errorf("registry %s cannot be reached: %w", ref.Context().RegistryStr(), err)
				}
				return err
			}
			var size int64
			for _, f := range res.Config.Files {
				size += f.Size
			}
			pinned := publish.Scheme + res.Ref
			files := "files"
			if len(res.Config.Files) == 1 {
				files = "file"
			}
			fmt.Fprintf(stdout, "pushed %d %s (%s) to %s\n", len(res.Config.Files), files, byteSize(size), ref.Name())
			fmt.Fprintf(stdout, "data.source.path: %q\n", pinned)
			fmt.Fprintln(stdout, pinned)
			return nil
		},
	}
}

// pushSource is one folder, or a list of files.
func pushSource(paths []string) (publish.Dataset, error) {
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return publish.Dataset{}, fmt.Errorf("reading the data set: %w", err)
		}
		if st.IsDir() {
			if len(paths) > 1 {
				return publish.Dataset{}, usageError{fmt.Errorf("%s is a folder: give one folder, or files", p)}
			}
			return publish.Dataset{Dir: p}, nil
		}
	}
	return publish.Dataset{Files: paths}, nil
}

// unreachable reports whether err is a network failure to reach the
// registry at all.
func unreachable(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &op) || errors.As(err, &dns) || errors.Is(err, syscall.ECONNREFUSED)
}

// byteSize writes n bytes in B, kB, MB or GB (powers of 1000).
func byteSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, suffix := float64(n)/unit, "kB"
	for _, s := range []string{"MB", "GB", "TB"} {
		if v < unit {
			break
		}
		v, suffix = v/unit, s
	}
	return fmt.Sprintf("%.1f %s", v, suffix)
}
