package images_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"parak8s.dev/parak8s/compiler"
	"parak8s.dev/parak8s/images"
	"parak8s.dev/parak8s/internal/golden"
)

// TestResolveGolden compiles testdata/resolve with its images resolved
// against a registry (in process, over TLS, as registry.test): the workflow
// names each image by digest (golden file), and pushing another image under
// the same tag changes the digest and every trial id.
func TestResolveGolden(t *testing.T) {
	srv := httptest.NewTLSServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
	}
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // the test server's certificate names 127.0.0.1
	rt := remote.WithTransport(tr)
	spec := filepath.Join("testdata", "resolve")

	push := func(ref, content string) v1.Hash {
		t.Helper()
		img, err := mutate.AppendLayers(empty.Image, static.NewLayer([]byte(content), types.OCILayer))
		if err != nil {
			t.Fatal(err)
		}
		r, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(r, img, rt); err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		return d
	}
	compile := func() ([]byte, []string) {
		t.Helper()
		opts := compiler.DefaultOptions()
		opts.Plan.ResolveImage = images.Resolver(context.Background(), rt)
		res, err := compiler.Compile(spec, opts)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, tr := range res[0].Plan.Trials {
			ids = append(ids, tr.ID)
		}
		return res[0].Workflows[0].YAML, ids
	}

	step := push("registry.test/parak8s/parak8s:v1", "step image 1")
	gpu := push("registry.test/parak8s/parak8s:v1-cuda", "cuda image 1")
	yaml, ids := compile()
	for _, want := range []string{"image: registry.test/parak8s/parak8s@" + step.String(), "image: registry.test/parak8s/parak8s@" + gpu.String()} {
		if !bytes.Contains(yaml, []byte(want)) {
			t.Errorf("compiled workflow lacks %q", want)
		}
	}
	if bytes.Contains(yaml, []byte("image: registry.test/parak8s/parak8s:")) {
		t.Errorf("a container of the compiled workflow still names a tag")
	}
	golden.Check(t, filepath.Join(spec, "workflow.yaml"), yaml)

	// A new image under the same GPU tag: train runs in it, so every trial
	// id changes; the step image is untouched.
	gpu2 := push("registry.test/parak8s/parak8s:v1-cuda", "cuda image 2")
	yaml2, ids2 := compile()
	if !bytes.Contains(yaml2, []byte("registry.test/parak8s/parak8s@"+gpu2.String())) || bytes.Contains(yaml2, []byte(gpu.String())) {
		t.Errorf("after the new push the workflow does not name %s alone", gpu2)
	}
	if len(ids2) != len(ids) || slices.ContainsFunc(ids2, func(id string) bool { return slices.Contains(ids, id) }) {
		t.Errorf("trial ids %v did not all change with the image digest (were %v)", short(ids2), short(ids))
	}
}

func short(ids []string) string {
	var s []string
	for _, id := range ids {
		s = append(s, id[:12])
	}
	return strings.Join(s, " ")
}
