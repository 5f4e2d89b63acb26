package publish

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Pull fetches the artifact at ref (oci:// optional; by tag or by digest)
// into dir, which must not exist or be empty. The files are extracted into
// a temporary sibling of dir, checked against the artifact's file list
// (paths, sizes, modes, sha256) and only then renamed into place, so dir
// never holds half an artifact.
func Pull(ctx context.Context, ref, dir string, opts Options) (Result, error) {
	res, err := pull(ctx, ref, dir, opts)
	if err != nil {
		return Result{}, fmt.Errorf("pulling %s into %s: %w", ref, dir, err)
	}
	return res, nil
}

func pull(ctx context.Context, ref, dir string, opts Options) (Result, error) {
	r, err := ParseRef(ref)
	if err != nil {
		return Result{}, err
	}
	if err := checkTarget(dir); err != nil {
		return Result{}, err
	}
	desc, err := remote.Get(r, opts.remote(ctx)...)
	if err != nil {
		return Result{}, fmt.Errorf("fetching the manifest: %w", err)
	}
	if desc.MediaType != types.OCIManifestSchema1 {
		return Result{}, fmt.Errorf("%w: manifest media type is %s, want %s", errLayout, desc.MediaType, types.OCIManifestSchema1)
	}
	img, err := desc.Image()
	if err != nil {
		return Result{}, fmt.Errorf("reading the manifest: %w", err)
	}
	m, err := img.Manifest()
	if err != nil {
		return Result{}, fmt.Errorf("reading the manifest: %w", err)
	}
	var kind Kind
	switch m.Config.MediaType {
	case ModelConfigMediaType:
		kind = KindModel
	case DatasetConfigMediaType:
		kind = KindDataset
	default:
		return Result{}, fmt.Errorf("%w: config media type is %q", errLayout, m.Config.MediaType)
	}
	_, layerMT := kind.mediaTypes()
	if len(m.Layers) != 1 || string(m.Layers[0].MediaType) != layerMT {
		return Result{}, fmt.Errorf("%w: want exactly one %s layer, have %d layers", errLayout, layerMT, len(m.Layers))
	}
	raw, err := img.RawConfigFile() // verified against the manifest's config digest
	if err != nil {
		return Result{}, fmt.Errorf("fetching the config: %w", err)
	}
	var cfg Config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return Result{}, fmt.Errorf("%w: decoding the config: %v", errLayout, err)
	}
	if cfg.Kind != kind {
		return Result{}, fmt.Errorf("%w: config kind %q under media type %s", errLayout, cfg.Kind, m.Config.MediaType)
	}
	layer, err := img.LayerByDigest(m.Layers[0].Digest)
	if err != nil {
		return Result{}, fmt.Errorf("fetching the layer: %w", err)
	}
	rc, err := layer.Compressed() // verified against the layer digest while read
	if err != nil {
		return Result{}, fmt.Errorf("fetching the layer: %w", err)
	}
	defer rc.Close()

	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return Result{}, err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".pull-*")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	if err := extract(rc, tmp, cfg.Files); err != nil {
		return Result{}, err
	}
	// drain so the digest check of the whole blob runs
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return Result{}, fmt.Errorf("fetching the layer: %w", err)
	}
	if err := rc.Close(); err != nil {
		return Result{}, fmt.Errorf("fetching the layer: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return Result{}, err
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) { // empty, checked above
		return Result{}, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return Result{}, err
	}
	return Result{
		Ref:         r.Context().Digest(desc.Digest.String()).String(),
		Digest:      desc.Digest.String(),
		MediaType:   string(m.Config.MediaType),
		Size:        m.Layers[0].Size,
		Annotations: m.Annotations,
		Config:      cfg,
	}, nil
}

// checkTarget fails unless dir is absent or an empty directory.
func checkTarget(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return err
	case len(entries) > 0:
		return fmt.Errorf("%s is not empty", dir)
	}
	return nil
}

// extract unpacks a tar+gzip stream into dir, accepting only directories
// and regular files inside dir, and checks the result against want.
func extract(r io.Reader, dir string, want []File) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("%w: the layer is not gzip: %v", errLayout, err)
	}
	expected := make(map[string]File, len(want))
	for _, f := range want {
		expected[f.Path] = f
	}
	seen := make(map[string]bool, len(want))
	tr := tar.NewReader(zr)
	buf := make([]byte, 1<<20)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading the layer: %w", err)
		}
		rel := strings.TrimSuffix(hdr.Name, "/")
		if rel == "" || rel != path.Clean(rel) || !filepath.IsLocal(filepath.FromSlash(rel)) {
			return fmt.Errorf("%w: entry %q escapes the directory or is not clean", errLayout, hdr.Name)
		}
		target := filepath.Join(dir, filepath.FromSlash(rel))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			f, ok := expected[rel]
			if !ok || seen[rel] {
				return fmt.Errorf("%w: file %q is not in the config's file list (or is there twice)", errLayout, rel)
			}
			seen[rel] = true
			if err := writeFile(tr, target, f, buf); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: entry %q has tar type %q; only files and directories are allowed", errLayout, hdr.Name, hdr.Typeflag)
		}
	}
	if len(seen) != len(expected) {
		for _, f := range want {
			if !seen[f.Path] {
				return fmt.Errorf("%w: file %q of the config's file list is missing from the layer", errLayout, f.Path)
			}
		}
	}
	return nil
}

func writeFile(r io.Reader, target string, want File, buf []byte) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	mode := os.FileMode(0o644)
	if want.Mode&0o111 != 0 {
		mode = 0o755
	}
	out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.CopyBuffer(io.MultiWriter(out, h), r, buf)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", target, err)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); n != want.Size || got != want.Digest {
		return fmt.Errorf("%w: file %q has %d bytes with digest %s, the config says %d bytes with %s",
			errLayout, want.Path, n, got, want.Size, want.Digest)
	}
	// the umask may have cleared bits of mode
	return os.Chmod(target, mode)
}
