package digest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"parak8s.dev/parak8s/internal/testenv"
)

func write(t testing.TB, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tree makes a small dataset-like tree and returns its root.
func tree(t testing.TB) string {
	t.Helper()
	root := t.TempDir()
	write(t, root, "train/NORMAL/a.png", "alpha")
	write(t, root, "train/NORMAL/b.png", "bravo")
	write(t, root, "train/PNEUMONIA/c d.png", "charlie delta")
	write(t, root, "val/NORMAL/e.png", "")
	write(t, root, "README", "readme\n")
	for i := range 30 {
		write(t, root, fmt.Sprintf("many/%02d.bin", i), strings.Repeat("x", i*1000))
	}
	return root
}

func mustDir(t testing.TB, root string, opts Options) *Manifest {
	t.Helper()
	m, err := Dir(context.Background(), root, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDigestFormat(t *testing.T) {
	root := t.TempDir()
	write(t, root, "b/x.txt", "hello")
	write(t, root, "a.txt", "")
	m := mustDir(t, root, DefaultOptions())
	h := func(s string) string { x := sha256.Sum256([]byte(s)); return hex.EncodeToString(x[:]) }
	// Written out independently of the code under test.
	text := "parak8s-manifest v1\n" +
		h("") + " 0 a.txt\n" +
		h("hello") + " 5 b/x.txt\n"
	if got := string(m.Text()); got != text {
		t.Fatalf("manifest text:\n%s\nwant:\n%s", got, text)
	}
	if got, want := m.Digest(), "sha256:"+h(text); got != want {
		t.Fatalf("digest %s, want %s", got, want)
	}
	if m.TotalSize() != 5 {
		t.Fatalf("total size %d, want 5", m.TotalSize())
	}
}

func TestDigestChanges(t *testing.T) {
	base := tree(t)
	want := mustDir(t, base, DefaultOptions()).Digest()
	tests := []struct {
		name  string
		edit  func(t *testing.T, root string)
		same  bool
		wantN int // entries expected, 0 = don't check
	}{
		{"nothing", func(*testing.T, string) {}, true, 35},
		{"one worker", nil, true, 0},
		{"mtime and mode", func(t *testing.T, root string) {
			p := filepath.Join(root, "README")
			if err := os.Chmod(p, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(p, time.Unix(0, 0), time.Unix(0, 0)); err != nil {
				t.Fatal(err)
			}
		}, true, 0},
		{"empty folder", func(t *testing.T, root string) {
			if err := os.MkdirAll(filepath.Join(root, "empty/deeper"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, true, 0},
		{"one byte changed", func(t *testing.T, root string) { write(t, root, "many/17.bin", strings.Repeat("x", 16999)+"y") }, false, 0},
		{"renamed", func(t *testing.T, root string) {
			if err := os.Rename(filepath.Join(root, "train/NORMAL/a.png"), filepath.Join(root, "train/NORMAL/a2.png")); err != nil {
				t.Fatal(err)
			}
		}, false, 35},
		{"moved to other class", func(t *testing.T, root string) {
			if err := os.Rename(filepath.Join(root, "train/NORMAL/a.png"), filepath.Join(root, "train/PNEUMONIA/a.png")); err != nil {
				t.Fatal(err)
			}
		}, false, 35},
		{"file added", func(t *testing.T, root string) { write(t, root, "val/NORMAL/f.png", "") }, false, 36},
		{"file removed", func(t *testing.T, root string) {
			if err := os.Remove(filepath.Join(root, "README")); err != nil {
				t.Fatal(err)
			}
		}, false, 34},
		{"contents swapped", func(t *testing.T, root string) {
			write(t, root, "train/NORMAL/a.png", "bravo")
			write(t, root, "train/NORMAL/b.png", "alpha")
		}, false, 35},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := base
			opts := DefaultOptions()
			if tc.edit == nil {
				opts.Workers = 1
			} else {
				root = tree(t)
				tc.edit(t, root)
			}
			m := mustDir(t, root, opts)
			if got := m.Digest(); (got == want) != tc.same {
				t.Fatalf("digest %s, base %s, want same=%v", got, want, tc.same)
			}
			if tc.wantN != 0 && len(m.Entries) != tc.wantN {
				t.Fatalf("%d entries, want %d", len(m.Entries), tc.wantN)
			}
		})
	}
}

func TestFilesMatchesDir(t *testing.T) {
	root := tree(t)
	dir := mustDir(t, root, DefaultOptions())
	var paths []string
	for i := len(dir.Entries) - 1; i >= 0; i-- { // reversed: order must not matter
		paths = append(paths, dir.Entries[i].Path)
	}
	m, err := Files(context.Background(), root, paths, Options{Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	if m.Digest() != dir.Digest() {
		t.Fatal("Files and Dir disagree on the same files")
	}
	bad := []struct {
		name  string
		paths []string
		want  string
	}{
		{"escape", []string{"../x"}, "not a clean relative path"},
		{"absolute", []string{"/etc/passwd"}, "not a clean relative path"},
		{"missing", []string{"nope"}, "nope"},
		{"folder", []string{"train"}, "is a folder"},
		{"twice", []string{"README", "README"}, "listed twice"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Files(context.Background(), root, tc.paths, DefaultOptions())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestSymlinks(t *testing.T) {
	outside := t.TempDir()
	write(t, outside, "secret", "outside")
	mk := func(t *testing.T, link func(root string) error) string {
		root := t.TempDir()
		write(t, root, "data/a.png", "alpha")
		if err := link(root); err != nil {
			t.Skipf("cannot make symbolic links here: %v", err)
		}
		return root
	}
	fileLink := func(root string) error { return os.Symlink("a.png", filepath.Join(root, "data/link.png")) }
	dirLink := func(root string) error { return os.Symlink("data", filepath.Join(root, "loop")) }
	cycle := func(root string) error { return os.Symlink("..", filepath.Join(root, "data/up")) }
	escape := func(root string) error {
		return os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "data/secret"))
	}
	relEscape := func(root string) error {
		rel, err := filepath.Rel(filepath.Join(root, "data"), filepath.Join(outside, "secret"))
		if err != nil {
			return err
		}
		return os.Symlink(rel, filepath.Join(root, "data/secret"))
	}
	tests := []struct {
		name    string
		link    func(string) error
		policy  Symlinks
		entries []string // nil: expect an error containing errHas
		errHas  string
	}{
		{"file link rejected", fileLink, SymlinksReject, nil, "symbolic link"},
		{"file link skipped", fileLink, SymlinksSkip, []string{"data/a.png"}, ""},
		{"file link followed", fileLink, SymlinksFollow, []string{"data/a.png", "data/link.png"}, ""},
		{"folder link followed is refused", dirLink, SymlinksFollow, nil, "not a regular file"},
		{"folder link skipped", dirLink, SymlinksSkip, []string{"data/a.png"}, ""},
		{"cycle followed is refused", cycle, SymlinksFollow, nil, "not a regular file"},
		{"absolute escape refused", escape, SymlinksFollow, nil, "following symbolic link"},
		{"relative escape refused", relEscape, SymlinksFollow, nil, "following symbolic link"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := mk(t, tc.link)
			m, err := Dir(context.Background(), root, Options{Workers: 2, Symlinks: tc.policy})
			if tc.entries == nil {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("error = %v, want one containing %q", err, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range m.Entries {
				got = append(got, e.Path)
			}
			if strings.Join(got, ",") != strings.Join(tc.entries, ",") {
				t.Fatalf("entries %v, want %v", got, tc.entries)
			}
			if tc.policy == SymlinksFollow && m.Entries[0].SHA256 != m.Entries[1].SHA256 {
				t.Fatal("followed link hashed differently from its target")
			}
		})
	}
	// The root itself may be a link.
	root := tree(t)
	link := filepath.Join(t.TempDir(), "root")
	if err := os.Symlink(root, link); err != nil {
		t.Skipf("cannot make symbolic links here: %v", err)
	}
	if mustDir(t, link, DefaultOptions()).Digest() != mustDir(t, root, DefaultOptions()).Digest() {
		t.Fatal("a linked root gives a different digest")
	}
}

func TestManifestRoundTrip(t *testing.T) {
	m := mustDir(t, tree(t), DefaultOptions())
	name := filepath.Join(t.TempDir(), "manifest.txt")
	if err := m.WriteFile(name); err != nil {
		t.Fatal(err)
	}
	back, err := ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if back.Digest() != m.Digest() || len(back.Entries) != len(m.Entries) {
		t.Fatal("manifest read back differs")
	}
	var buf bytes.Buffer
	if _, err := back.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), m.Text()) {
		t.Fatal("manifest text changed on a round trip")
	}
}

func TestReadRejects(t *testing.T) {
	h := strings.Repeat("ab", 32)
	tests := []struct {
		name, text, want string
	}{
		{"no header", h + " 1 a\n", "first line"},
		{"wrong header", "parak8s-manifest v2\n", "first line"},
		{"no final newline", Header + "\n" + h + " 1 a", "no final newline"},
		{"upper hex", Header + "\n" + strings.ToUpper(h) + " 1 a\n", "lower-case"},
		{"short hex", Header + "\n" + h[2:] + " 1 a\n", "64"},
		{"leading zero", Header + "\n" + h + " 01 a\n", "canonical decimal"},
		{"negative", Header + "\n" + h + " -1 a\n", "canonical decimal"},
		{"unsorted", Header + "\n" + h + " 1 b\n" + h + " 1 a\n", "not after"},
		{"duplicate", Header + "\n" + h + " 1 a\n" + h + " 1 a\n", "not after"},
		{"dot dot", Header + "\n" + h + " 1 ../a\n", "clean relative"},
		{"backslash", Header + "\n" + h + " 1 a\\b\n", "backslash"},
		{"carriage return", Header + "\n" + h + " 1 a\r\n", "control"},
		{"missing path", Header + "\n" + h + " 1\n", "want"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
	if m, err := Read(strings.NewReader(Header + "\n")); err != nil || len(m.Entries) != 0 {
		t.Fatalf("empty manifest: %v, %v", m, err)
	}
}

func TestErrors(t *testing.T) {
	if _, err := Dir(context.Background(), filepath.Join(t.TempDir(), "missing"), DefaultOptions()); err == nil {
		t.Fatal("missing root accepted")
	}
	if _, err := Dir(context.Background(), t.TempDir(), Options{Workers: 0}); err == nil {
		t.Fatal("zero workers accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Dir(ctx, tree(t), DefaultOptions()); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled walk: %v", err)
	}
	root := tree(t)
	if err := os.Chmod(filepath.Join(root, "README"), 0); err != nil {
		t.Fatal(err)
	}
	if f, err := os.Open(filepath.Join(root, "README")); err == nil {
		f.Close()
		t.Log("running as a user who can read mode-0 files; skipping the unreadable-file case")
		return
	}
	if _, err := Dir(context.Background(), root, DefaultOptions()); err == nil || !strings.Contains(err.Error(), "README") {
		t.Fatalf("unreadable file: %v, want an error naming it", err)
	}
}

func TestRealPneumonia(t *testing.T) {
	root := testenv.Pneumonia(t)
	start := time.Now()
	m := mustDir(t, root, DefaultOptions())
	el := time.Since(start)
	if len(m.Entries) != 1214+3494+135+389 {
		t.Fatalf("%d files, want 5232", len(m.Entries))
	}
	m1 := mustDir(t, root, Options{Workers: 1})
	if m1.Digest() != m.Digest() {
		t.Fatal("digest depends on the worker count")
	}
	t.Logf("%d files, %.1f MB in %v: %.1f MB/s; %s", len(m.Entries), float64(m.TotalSize())/1e6, el,
		float64(m.TotalSize())/1e6/el.Seconds(), m.Digest())
}

func FuzzRead(f *testing.F) {
	h := strings.Repeat("0f", 32)
	f.Add(Header + "\n")
	f.Add(Header + "\n" + h + " 12 a/b c.png\n" + h + " 0 b\n")
	f.Add(Header + "\n" + h + " 1 a\r\n")
	f.Add("garbage")
	f.Fuzz(func(t *testing.T, text string) {
		m, err := Read(strings.NewReader(text))
		if err != nil {
			return
		}
		// Only canonical text parses, so writing it back gives it exactly.
		if got := string(m.Text()); got != text {
			t.Fatalf("round trip changed the text:\n%q\n%q", text, got)
		}
	})
}
