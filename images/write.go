package images

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// refName is the OCI annotation that names an image in a layout.
const refName = "org.opencontainers.image.ref.name"

// WriteLayout writes img into the OCI layout dir under the name tag,
// replacing the image of that name if there is one (other images stay).
func WriteLayout(dir, tag string, img v1.Image) error {
	opt := layout.WithAnnotations(map[string]string{refName: tag})
	p, err := layout.FromPath(dir)
	if err != nil {
		if _, statErr := os.Stat(filepath.Join(dir, "oci-layout")); !errors.Is(statErr, os.ErrNotExist) {
			return fmt.Errorf("OCI layout %s: %w", dir, err)
		}
		if p, err = layout.Write(dir, empty.Index); err != nil {
			return fmt.Errorf("OCI layout %s: %w", dir, err)
		}
	}
	if err := p.ReplaceImage(img, match.Annotation(refName, tag), opt, layout.WithPlatform(Platform)); err != nil {
		return fmt.Errorf("OCI layout %s: %w", dir, err)
	}
	return nil
}

// Push pushes img to ref (a tag) with the default keychain and returns the
// digest-pinned reference.
func Push(ctx context.Context, ref string, img v1.Image, opts ...remote.Option) (string, error) {
	r, err := name.NewTag(ref)
	if err != nil {
		return "", fmt.Errorf("push: %w", err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	opts = append([]remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}, opts...)
	if err := remote.Write(r, img, opts...); err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	return r.Context().Digest(d.String()).String(), nil
}
