package images

import (
	"context"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Resolver returns a function that maps an image reference to its
// digest-pinned form, repo@sha256:…, asking the registry with a HEAD request
// (GET when HEAD fails; default keychain) once per reference; errors are the
// registry client's, for the caller to place. A reference
// that already names a digest maps to itself without a request. The
// repository is kept as written (no docker.io expansion).
func Resolver(ctx context.Context, opts ...remote.Option) func(ref string) (string, error) {
	opts = append([]remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}, opts...)
	pinned := map[string]string{}
	return func(ref string) (string, error) {
		if p, ok := pinned[ref]; ok {
			return p, nil
		}
		r, err := name.ParseReference(ref)
		if err != nil {
			return "", err
		}
		t, ok := r.(name.Tag)
		if !ok {
			return ref, nil
		}
		desc, err := remote.Head(t, opts...)
		if err != nil {
			// Some registries answer HEAD badly, and a HEAD error has no
			// body to explain it: ask with GET, as crane digest does.
			d, getErr := remote.Get(t, opts...)
			if getErr != nil {
				return "", getErr
			}
			desc = &d.Descriptor
		}
		pinned[ref] = strings.TrimSuffix(ref, ":"+t.TagStr()) + "@" + desc.Digest.String()
		return pinned[ref], nil
	}
}
