//go:build unix

package digest

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestSpecialFileRefused(t *testing.T) {
	root := tree(t)
	if err := syscall.Mkfifo(filepath.Join(root, "train", "pipe"), 0o644); err != nil {
		t.Skipf("cannot make a named pipe here: %v", err)
	}
	for _, policy := range []Symlinks{SymlinksReject, SymlinksSkip, SymlinksFollow} {
		_, err := Dir(context.Background(), root, Options{Workers: 2, Symlinks: policy})
		if err == nil || !strings.Contains(err.Error(), `"train/pipe" is a named pipe`) {
			t.Fatalf("policy %d: error = %v, want one naming the pipe", policy, err)
		}
	}
}
