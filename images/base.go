package images

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Platform is the platform of every image built here.
var Platform = v1.Platform{OS: "linux", Architecture: "amd64"}

// LoadBase returns the linux/amd64 image named by ref: a directory holding an
// OCI layout (its only image, or the one for linux/amd64) or a registry
// reference, pulled with the default keychain.
func LoadBase(ctx context.Context, ref string) (v1.Image, error) {
	st, err := os.Stat(ref)
	looksLikePath := strings.HasPrefix(ref, ".") || strings.HasPrefix(ref, "/") || strings.HasSuffix(ref, "/")
	switch {
	case err == nil && st.IsDir():
		if _, err := os.Stat(filepath.Join(ref, "oci-layout")); err != nil {
			return nil, fmt.Errorf("base %s: a directory without an oci-layout file, so not an OCI layout", ref)
		}
		return fromLayout(ref)
	case looksLikePath:
		return nil, fmt.Errorf("base %s: no such OCI layout directory", ref)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("base %q: neither an OCI layout directory nor an image reference: %w", ref, err)
	}
	img, err := remote.Image(r, remote.WithContext(ctx), remote.WithPlatform(Platform), remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil {
		return nil, fmt.Errorf("base %s: %w", ref, err)
	}
	return img, nil
}

func fromLayout(dir string) (v1.Image, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("base %s: %w", dir, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("base %s: %w", dir, err)
	}
	var found []v1.Hash
	for _, d := range m.Manifests {
		if d.MediaType.IsImage() && (d.Platform == nil || d.Platform.Satisfies(Platform)) {
			found = append(found, d.Digest)
		}
	}
	if len(found) != 1 {
		return nil, fmt.Errorf("base %s: %d linux/amd64 images in the layout, want exactly one (one layout per base image)", dir, len(found))
	}
	return idx.Image(found[0])
}

// fsIndex is the file tree of an image's layers: names and symbolic links,
// enough to ask whether a path exists.
type fsIndex struct {
	files map[string]bool   // cleaned absolute paths of files and dirs
	links map[string]string // symbolic link → target
}

// index reads the headers of every layer of img (nil: an empty tree).
func index(img v1.Image) (*fsIndex, error) {
	ix := &fsIndex{files: map[string]bool{"/": true}, links: map[string]string{}}
	if img == nil {
		return ix, nil
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	for _, l := range layers {
		if err := ix.read(l); err != nil {
			return nil, fmt.Errorf("reading base layer: %w", err)
		}
	}
	return ix, nil
}

func (ix *fsIndex) read(l v1.Layer) error {
	rc, err := l.Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		p := path.Clean("/" + h.Name)
		dir, base := path.Split(p)
		if strings.HasPrefix(base, ".wh.") { // whiteout: a deletion in this layer
			gone := path.Join(dir, strings.TrimPrefix(base, ".wh."))
			delete(ix.files, gone)
			delete(ix.links, gone)
			continue
		}
		for d := p; !ix.files[d]; d = path.Dir(d) {
			ix.files[d] = true // parents too: a layer need not list them
		}
		switch h.Typeflag {
		case tar.TypeSymlink:
			ix.links[p] = h.Linkname
		default:
			delete(ix.links, p)
		}
	}
}

// has reports whether p exists, following symbolic links (at most 40, as
// the kernel does).
func (ix *fsIndex) has(p string) bool {
	cur := "/"
	rest := strings.Split(strings.Trim(path.Clean(p), "/"), "/")
	for hops := 0; len(rest) > 0; {
		next := path.Join(cur, rest[0])
		rest = rest[1:]
		if next == cur {
			continue
		}
		if !ix.files[next] {
			return false
		}
		if t, ok := ix.links[next]; ok {
			if hops++; hops > 40 {
				return false
			}
			if !path.IsAbs(t) {
				t = path.Join(cur, t)
			}
			rest = append(strings.Split(strings.Trim(path.Clean(t), "/"), "/"), rest...)
			cur = "/"
			continue
		}
		cur = next
	}
	return true
}

// hasLib reports whether the loader of an image with this tree would find
// the library name in its system directories.
func (ix *fsIndex) hasLib(name string) bool {
	for _, d := range SystemLibDirs {
		if ix.has(path.Join(d, name)) {
			return true
		}
	}
	return false
}
