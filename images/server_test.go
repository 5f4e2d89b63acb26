package images_test

import (
	"archive/tar"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"parak8s.dev/parak8s/images"
	"parak8s.dev/parak8s/internal/testenv"
)

// TestBuildServer wraps a static Go binary: entrypoint, user, files and
// directories as asked, the same digest twice; a dynamic binary is refused.
func TestBuildServer(t *testing.T) {
	dir := t.TempDir()
	static := filepath.Join(dir, "hello")
	if err := testenv.GoBuild([]string{"CGO_ENABLED=0"}, "-o", static, "./testdata/hello"); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(conf, []byte("addr: :5000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := images.ServerOptions{Binary: static, Name: "srv", Args: []string{"serve", "/etc/srv.yml"}, User: "8737",
		Dirs: []string{"/var/lib/srv"}, Files: map[string]string{"/etc/srv.yml": conf}, Version: "v1"}
	img, cf := buildTwice(t, func() (v1.Image, error) { return images.BuildServer(o) })
	if diff := cmp.Diff([]string{"/usr/local/bin/srv", "serve", "/etc/srv.yml"}, cf.Config.Entrypoint); diff != "" {
		t.Errorf("entrypoint (-want +got):\n%s", diff)
	}
	if cf.Config.User != "8737:8737" || !strings.HasPrefix(cf.Config.Env[0], "PATH=/usr/local/bin:") {
		t.Errorf("user %q, env %q", cf.Config.User, cf.Config.Env)
	}
	got := map[string]string{}
	for _, h := range entries(t, img) {
		got[strings.TrimSuffix(h.Name, "/")] = fmt.Sprintf("%v %d", os.FileMode(h.Mode).Perm(), h.Uid)
	}
	for name, want := range map[string]string{
		"usr/local/bin/srv": "-rwxr-xr-x 0", "etc/srv.yml": "-rw-r--r-- 0", "var/lib/srv": "-rwxr-xr-x 8737",
		"tmp": "-rwxrwxrwx 0", "etc/passwd": "-rw-r--r-- 0",
	} {
		if got[name] != want {
			t.Errorf("%s: %q, want %q", name, got[name], want)
		}
	}

	for _, c := range []struct {
		name string
		o    images.ServerOptions
		want string
	}{
		{"dynamic", images.ServerOptions{Binary: "/bin/sh"}, "dynamically linked"},
		{"missing", images.ServerOptions{Binary: filepath.Join(dir, "nope")}, "no such file"},
		{"user", images.ServerOptions{Binary: static, User: "nobody"}, `user "nobody": want numeric UID[:GID]`},
		{"relative dir", images.ServerOptions{Binary: static, Dirs: []string{"data"}}, `directory "data": want an absolute path`},
		{"missing file", images.ServerOptions{Binary: static, Files: map[string]string{"/etc/x": filepath.Join(dir, "nope")}}, "not a regular file"},
	} {
		if _, err := images.BuildServer(c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
}

// entries are the tar headers of an image's only layer.
func entries(t *testing.T, img v1.Image) []*tar.Header {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("%d layers, %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var hs []*tar.Header
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return hs
		}
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
}

// buildTwice builds an image twice, checks both have the same digest and
// returns it with its config.
func buildTwice(t *testing.T, build func() (v1.Image, error)) (v1.Image, *v1.ConfigFile) {
	t.Helper()
	img, err := build()
	if err != nil {
		t.Fatal(err)
	}
	again, err := build()
	if err != nil {
		t.Fatal(err)
	}
	if d1, d2 := digest(t, img), digest(t, again); d1 != d2 {
		t.Errorf("building twice gave %s and %s", d1, d2)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return img, cf
}
