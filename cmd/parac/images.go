package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"parak8s.dev/parak8s/images"
)

func imagesCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "images",
		Short: "Build the step images (no Docker needed)",
	}
	cmd.AddCommand(imagesBuildCmd(stdout), imagesServerCmd(stdout), imagesRootfsCmd(stdout), imagesPushCmd(stdout))
	return cmd
}

func imagesBuildCmd(stdout io.Writer) *cobra.Command {
	o := images.Options{Variant: images.CPU, Version: version}
	var base, push, dir, tag string
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build the image of parak8s and its libtorch; write it to an OCI layout and/or push it",
		Long: `Build builds the step image with go-containerregistry, without a Docker
daemon: parak8s, the libtorch libraries it links and the C/C++ runtime it
needs (found from its ELF dependencies, left out when the base has them), a
non-root user, /work as working directory, OCI labels. The same inputs give
the same digest.

The cpu variant runs anywhere; the cuda variant needs a parak8s linked with
the CUDA build of libtorch and a CUDA runtime --base (docs/step-images.md). The image
goes into the OCI layout --layout (default out/images/VARIANT when nothing is
pushed) and, with --push REPO, to REPO:TAG (credentials from the Docker
config). The last line printed is the image digest.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if base != "" {
				var err error
				if o.Base, err = images.LoadBase(ctx, base); err != nil {
					return err
				}
				o.BaseName = base
			}
			img, err := images.Build(o)
			if err != nil {
				return err
			}
			if tag == "" {
				tag = string(o.Variant)
				if o.Version != "" && o.Version != "dev" {
					tag = o.Version + "-" + tag
				}
			}
			if dir == "" && push == "" {
				dir = filepath.Join("out", "images", string(o.Variant))
			}
			return writeImage(ctx, stdout, img, dir, push, tag)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Binary, "binary", filepath.Join("bin", "parak8s"), "the parak8s `FILE` to put in the image")
	f.Var((*variantFlag)(&o.Variant), "variant", "`cpu` or cuda")
	f.StringVar(&base, "base", "", "base image: a `REF` or an OCI layout directory (default: an empty image)")
	f.StringVar(&dir, "layout", "", "write the image into the OCI layout `DIR`")
	f.StringVar(&push, "push", "", "push the image to the repository `REPO`")
	f.StringVar(&tag, "tag", "", "the image's tag (default VERSION-VARIANT, or VARIANT for dev builds)")
	f.StringVar(&o.Version, "image-version", o.Version, "the org.opencontainers.image.version label")
	f.StringVar(&o.Source, "source", "https://github.com/parak8s/parak8s", "the org.opencontainers.image.source label")
	f.StringVar(&o.Revision, "revision", "", "the org.opencontainers.image.revision label (default: the commit recorded in the binary)")
	return cmd
}

// variantFlag is --variant, checked when parsed.
type variantFlag images.Variant

func (v *variantFlag) String() string { return string(*v) }
func (v *variantFlag) Type() string   { return "variant" }
func (v *variantFlag) Set(s string) error {
	if s != string(images.CPU) && s != string(images.CUDA) {
		return fmt.Errorf("want %s or %s", images.CPU, images.CUDA)
	}
	*v = variantFlag(s)
	return nil
}

func imagesServerCmd(stdout io.Writer) *cobra.Command {
	var o images.ServerOptions
	var out imageOutput
	var files []string
	cmd := &cobra.Command{
		Use:   "server --binary FILE [--layout DIR] [--push REPO] [--tag TAG] [-- ARGS...]",
		Short: "Wrap a static server binary into a minimal image (Argo's executor, the S3 store, a registry)",
		Long: `Server builds a one-layer image of a statically linked binary, without a
Docker daemon: the binary in ` + images.BinDir + ` (first on PATH), ARGS after it in
the entrypoint, a non-root user (--user, default 65532:65532), /tmp, the CA
certificates of this machine. The test cluster builds Argo's executor, the
S3 store and the registry with it; the same inputs give the same digest.
The image goes into the OCI layout --layout and/or to REPO:TAG with --push
REPO (e.g. your cluster's registry, for parac platform's --s3-image); the
last line printed is the image digest.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Args = args
			o.Files = map[string]string{}
			for _, f := range files {
				src, dst, ok := strings.Cut(f, ":")
				if !ok || src == "" || dst == "" {
					return fmt.Errorf("--file %q: want HOSTFILE:IMAGEPATH", f)
				}
				o.Files[dst] = src
			}
			if out.dir == "" && out.push == "" {
				return usageError{fmt.Errorf("give --layout DIR, --push REPO or both")}
			}
			img, err := images.BuildServer(o)
			if err != nil {
				return err
			}
			return writeImage(cmd.Context(), stdout, img, out.dir, out.push, out.tag)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Binary, "binary", "", "the static `FILE` to wrap")
	f.StringVar(&o.Name, "name", "", "its `NAME` in the image (default: the file's name)")
	f.StringVar(&o.User, "user", "", "the `UID[:GID]` it runs as (default 65532:65532)")
	f.StringSliceVar(&o.Dirs, "dir", nil, "a `DIR` the server writes, made owned by its user (repeatable)")
	f.StringArrayVar(&files, "file", nil, "put `HOSTFILE:IMAGEPATH` in the image too (repeatable)")
	out.flags(f, &o.Version)
	_ = cmd.MarkFlagRequired("binary")
	return cmd
}

func imagesRootfsCmd(stdout io.Writer) *cobra.Command {
	var o images.RootfsOptions
	var out imageOutput
	cmd := &cobra.Command{
		Use:   "rootfs --rootfs DIR [--layout DIR] [--push REPO] [--tag TAG] [-- CMD...]",
		Short: "Pack a root file system (e.g. Debian packages unpacked by mmdebstrap) into a one-layer image",
		Long: `Rootfs packs the directory tree --rootfs into a one-layer image, without a
Docker daemon: files, directories and symbolic links with their modes, owned
by root except the --dir directories (owned by --user), fixed times, so the
same tree gives the same digest. CMD becomes the image's command. The test
cluster builds the platform's PostgreSQL and MLflow images this way
(scripts/cluster/platform-images.sh); the last line printed is the digest.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out.dir == "" && out.push == "" {
				return usageError{fmt.Errorf("give --layout DIR, --push REPO or both")}
			}
			o.Cmd = args
			img, err := images.BuildRootfs(o)
			if err != nil {
				return err
			}
			return writeImage(cmd.Context(), stdout, img, out.dir, out.push, out.tag)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Dir, "rootfs", "", "the root file system `DIR` to pack")
	f.StringVar(&o.Name, "name", "", "what the image is (the org.opencontainers.image.title label)")
	f.StringVar(&o.User, "user", "", "the `UID[:GID]` it runs as (default 65532:65532)")
	f.StringSliceVar(&o.Dirs, "dir", nil, "a `DIR` the server writes, made owned by its user (repeatable)")
	f.StringArrayVar(&o.Env, "env", nil, "a `KEY=VALUE` of the image's environment (repeatable)")
	f.StringSliceVar(&o.Exclude, "exclude", nil, "leave out the image `PATH` and all under it (repeatable)")
	out.flags(f, &o.Version)
	_ = cmd.MarkFlagRequired("rootfs")
	return cmd
}

func imagesPushCmd(stdout io.Writer) *cobra.Command {
	var tag string
	cmd := &cobra.Command{
		Use:   "push LAYOUT REPO",
		Short: "Push the image of an OCI layout (e.g. the platform's PostgreSQL or MLflow) to a registry",
		Long: `Push pushes the one image of the OCI layout LAYOUT to REPO:TAG (credentials
from the Docker config) and prints the pinned reference, for parac platform's
--postgres-image, --mlflow-image and the like.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			img, err := images.LoadBase(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return writeImage(cmd.Context(), stdout, img, "", args[1], tag)
		},
	}
	cmd.Flags().StringVar(&tag, "tag", "latest", "the tag to push")
	return cmd
}

// imageOutput is where a built image goes: --layout, --push and --tag.
type imageOutput struct{ dir, push, tag string }

func (out *imageOutput) flags(f *pflag.FlagSet, version *string) {
	f.StringVar(&out.dir, "layout", "", "write the image into the OCI layout `DIR`")
	f.StringVar(&out.push, "push", "", "push the image to the repository `REPO` (credentials from the Docker config)")
	f.StringVar(&out.tag, "tag", "latest", "the image's tag (its name in the layout)")
	f.StringVar(version, "image-version", "", "the org.opencontainers.image.version label")
}

// writeImage writes img to the layout dir and/or pushes it to push:tag, then
// prints its digest as the last line.
func writeImage(ctx context.Context, stdout io.Writer, img v1.Image, dir, push, tag string) error {
	if dir != "" {
		if err := images.WriteLayout(dir, tag, img); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s (%s)\n", dir, tag)
	}
	if push != "" {
		pinned, err := images.Push(ctx, push+":"+tag, img)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "pushed %s:%s\n%s\n", push, tag, pinned)
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, d)
	return err
}
