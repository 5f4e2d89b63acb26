package images_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"parak8s.dev/parak8s/images"
)

// TestBuildRootfs packs a tree: files with their modes, symbolic links and
// directories owned by root, the server's directories by its user, excluded
// paths and special files left out, the same digest twice.
func TestBuildRootfs(t *testing.T) {
	root := t.TempDir()
	write := func(name string, mode os.FileMode) {
		t.Helper()
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(name), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	write("usr/bin/server", 0o755)
	write("etc/server.conf", 0o644)
	write("var/cache/apt/pkgcache.bin", 0o644)
	if err := os.Symlink("usr/bin", filepath.Join(root, "bin")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "etc/fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := images.RootfsOptions{Dir: root, Cmd: []string{"server"}, Env: []string{"LANG=C.UTF-8"}, User: "101:102",
		Dirs: []string{"/var/lib/server"}, Exclude: []string{"/var/cache"}, Name: "server", Version: "1.0-1"}
	img, cf := buildTwice(t, func() (v1.Image, error) { return images.BuildRootfs(o) })
	if cf.Config.User != "101:102" || !cmp.Equal(cf.Config.Cmd, []string{"server"}) || !strings.HasPrefix(cf.Config.Env[0], "PATH=/usr/local/sbin:") ||
		cf.Config.Labels["org.opencontainers.image.version"] != "1.0-1" {
		t.Errorf("config: user %q cmd %q env %q labels %v", cf.Config.User, cf.Config.Cmd, cf.Config.Env, cf.Config.Labels)
	}
	got := map[string]string{}
	for _, h := range entries(t, img) {
		got[strings.TrimSuffix(h.Name, "/")] = fmt.Sprintf("%c %v %d %s", h.Typeflag, os.FileMode(h.Mode).Perm(), h.Uid, h.Linkname)
	}
	want := map[string]string{
		"usr":             "5 -rwxr-xr-x 0 ",
		"usr/bin":         "5 -rwxr-xr-x 0 ",
		"usr/bin/server":  "0 -rwxr-xr-x 0 ",
		"etc":             "5 -rwxr-xr-x 0 ",
		"etc/server.conf": "0 -rw-r--r-- 0 ",
		"bin":             "2 -rwxrwxrwx 0 usr/bin",
		"var":             "5 -rwxr-xr-x 0 ",
		"var/lib":         "5 -rwxr-xr-x 0 ",
		"var/lib/server":  "5 -rwxr-xr-x 101 ",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("layer (-want +got):\n%s", diff)
	}
	if _, err := images.BuildRootfs(images.RootfsOptions{Dir: filepath.Join(root, "missing")}); err == nil {
		t.Error("a missing root file system was accepted")
	}
}
