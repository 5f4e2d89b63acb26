package main

import (
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/rogpeppe/go-internal/testscript"

	"parak8s.dev/parak8s/internal/testenv"
)

// TestImageScripts runs testdata/images: `parac images build` on the test
// binary itself (any linux/amd64 ELF program will do), and `parac compile
// --resolve` against a registry served in process.
func TestImageScripts(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	static := filepath.Join(t.TempDir(), "hello")
	if err := testenv.GoBuild([]string{"CGO_ENABLED=0"}, "-o", static, "parak8s.dev/parak8s/images/testdata/hello"); err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/images",
		Setup: func(env *testscript.Env) error {
			env.Setenv("ELF", self)
			env.Setenv("STATIC", static)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"registry": cmdRegistry,
			"push":     cmdPush,
		},
	})
}

// registry PACKAGE TAG starts a registry on 127.0.0.1 for the rest of the
// script, sets $REG to its host:port and writes registry.cue: the package's
// images.step, $REG/parak8s/parak8s:TAG.
func cmdRegistry(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: registry PACKAGE TAG")
	}
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	ts.Defer(srv.Close)
	reg := strings.TrimPrefix(srv.URL, "http://")
	ts.Setenv("REG", reg)
	cue := fmt.Sprintf("package %s\n\nimages: step: %q\n", args[0], reg+"/parak8s/parak8s:"+args[1])
	ts.Check(os.WriteFile(filepath.Join(ts.Getenv("WORK"), "registry.cue"), []byte(cue), 0o644))
}

// push REF CONTENT pushes a one-layer image holding CONTENT to REF.
func cmdPush(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: push REF CONTENT")
	}
	img, err := mutate.AppendLayers(empty.Image, static.NewLayer([]byte(args[1]), types.OCILayer))
	ts.Check(err)
	ref, err := name.ParseReference(args[0])
	ts.Check(err)
	ts.Check(remote.Write(ref, img))
	d, err := img.Digest()
	ts.Check(err)
	ts.Logf("pushed %s (%s)", args[0], d)
}
