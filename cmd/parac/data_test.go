package main

import (
	"bytes"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

// TestDataPushErrors checks the exit code and message of each mistake
// parac data push refuses.
func TestDataPushErrors(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	dir := t.TempDir()
	file := filepath.Join(dir, "106.hea")
	if err := os.WriteFile(file, []byte("106 2 360\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "106.hea")
	if err := os.WriteFile(other, []byte("106 2 360\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	digest := "@sha256:" + strings.Repeat("0", 64)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no repo", []string{dir}, 2, "takes a DIR or FILEs and then REPO"},
		{"missing file", []string{file, filepath.Join(dir, "107.hea"), host + "/d"}, 1, "107.hea: no such file or directory"},
		{"missing folder", []string{filepath.Join(dir, "nope"), host + "/d"}, 1, "reading the data set"},
		{"folder among files", []string{file, dir, host + "/d"}, 2, "is a folder: give one folder, or files"},
		{"same base name", []string{file, other, host + "/d"}, 1, "have the same name 106.hea"},
		{"empty folder", []string{empty, host + "/d"}, 1, "has no files"},
		{"digest", []string{dir, host + "/d" + digest}, 2, "names a digest"},
		{"tag and digest", []string{dir, host + "/d:v1" + digest}, 2, "names a digest"},
		{"bad repo", []string{dir, host + "/D"}, 2, "parsing artifact reference"},
		{"other scheme", []string{dir, "https://" + host + "/d"}, 2, "only the oci:// scheme"},
		{"unreachable", []string{dir, "127.0.0.1:1/d"}, 1, "registry 127.0.0.1:1 cannot be reached"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"data", "push"}, tc.args...), &stdout, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tc.code, tc.want)
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout %q after a failure", stdout.String())
			}
		})
	}
}
