package images

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Resolve maps each image reference to its digest-pinned form,
// repo@sha256:…, asking the registry with a HEAD request (default keychain).
// A reference that already names a digest maps to itself without a request.
// The repository is kept as written (no docker.io expansion).
func Resolve(ctx context.Context, refs []string, opts ...remote.Option) (map[string]string, error) {
	opts = append([]remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}, opts...)
	out := map[string]string{}
	for _, ref := range refs {
		if _, done := out[ref]; done {
			continue
		}
		r, err := name.ParseReference(ref)
		if err != nil {
			return nil, fmt.Errorf("image %q: %w", ref, err)
		}
		t, ok := r.(name.Tag)
		if !ok {
			out[ref] = ref
			continue
		}
		desc, err := remote.Head(t, opts...)
		if err != nil {
			// Some registries answer HEAD badly, and a HEAD error has no
			// body to explain it: ask with GET, as crane digest does.
			d, getErr := remote.Get(t, opts...)
			if getErr != nil {
				return nil, fmt.Errorf("resolving image %s: %w", ref, getErr)
			}
			desc = &d.Descriptor
		}
		repo := strings.TrimSuffix(ref, ":"+t.TagStr())
		out[ref] = repo + "@" + desc.Digest.String()
	}
	return out, nil
}
