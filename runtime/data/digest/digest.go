package digest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Header is the first line of a canonical manifest.
const Header = "parak8s-manifest v1"

// Symlinks says what a walk does with symbolic links.
type Symlinks int

const (
	// SymlinksReject makes any link an error.
	SymlinksReject Symlinks = iota
	// SymlinksSkip leaves links out.
	SymlinksSkip
	// SymlinksFollow hashes the regular file a link points to, inside root.
	SymlinksFollow
)

// Options configures hashing.
type Options struct {
	// Workers is the number of files hashed at once.
	Workers int
	// Symlinks is the policy for symbolic links.
	Symlinks Symlinks
}

// DefaultOptions returns two workers per CPU, at least 4 (hashing small
// files mostly waits on open and read calls), and SymlinksReject.
func DefaultOptions() Options {
	return Options{Workers: max(4, 2*runtime.GOMAXPROCS(0)), Symlinks: SymlinksReject}
}

// Entry is one file of a manifest.
type Entry struct {
	Path   string // slash-separated, relative to the root
	Size   int64
	SHA256 [32]byte
}

// Manifest is the sorted list of a tree's files.
type Manifest struct {
	Entries []Entry
}

// Text returns the canonical manifest text.
func (m *Manifest) Text() []byte {
	var b bytes.Buffer
	b.Grow(len(Header) + 1 + len(m.Entries)*(64+2+10+40))
	b.WriteString(Header)
	b.WriteByte('\n')
	var hx [64]byte
	for _, e := range m.Entries {
		hex.Encode(hx[:], e.SHA256[:])
		b.Write(hx[:])
		b.WriteByte(' ')
		b.WriteString(strconv.FormatInt(e.Size, 10))
		b.WriteByte(' ')
		b.WriteString(e.Path)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// Digest returns "sha256:<hex>" of the canonical manifest text.
func (m *Manifest) Digest() string {
	sum := sha256.Sum256(m.Text())
	return "sha256:" + hex.EncodeToString(sum[:])
}

// TotalSize returns the sum of the file sizes.
func (m *Manifest) TotalSize() int64 {
	var n int64
	for _, e := range m.Entries {
		n += e.Size
	}
	return n
}

// WriteTo writes the canonical manifest text to w.
func (m *Manifest) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(m.Text())
	if err != nil {
		return int64(n), fmt.Errorf("writing manifest: %w", err)
	}
	return int64(n), nil
}

// WriteFile writes the canonical manifest text to the file name.
func (m *Manifest) WriteFile(name string) error {
	if err := os.WriteFile(name, m.Text(), 0o644); err != nil {
		return fmt.Errorf("writing manifest: %w", err)
	}
	return nil
}

// ReadFile reads a manifest written by WriteFile.
func ReadFile(name string) (*Manifest, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	defer f.Close()
	m, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("reading manifest %q: %w", name, err)
	}
	return m, nil
}

// Read parses canonical manifest text. Anything that is not exactly what
// Text would write (unsorted or repeated paths, upper-case hex, a missing
// final newline, …) is refused, so that the digest of a manifest read back
// is the digest of the text read.
func Read(r io.Reader) (*Manifest, error) {
	br := bufio.NewReader(r)
	line, err := br.ReadString('\n')
	if err != nil || line != Header+"\n" {
		return nil, fmt.Errorf("parsing manifest: first line must be %q", Header)
	}
	m := &Manifest{}
	for n := 2; ; n++ {
		line, err := br.ReadString('\n')
		if err == io.EOF {
			if line != "" {
				return nil, fmt.Errorf("parsing manifest line %d: no final newline", n)
			}
			return m, nil
		}
		if err != nil {
			return nil, fmt.Errorf("parsing manifest line %d: %w", n, err)
		}
		e, err := parseLine(line[:len(line)-1])
		if err != nil {
			return nil, fmt.Errorf("parsing manifest line %d: %w", n, err)
		}
		if k := len(m.Entries); k > 0 && m.Entries[k-1].Path >= e.Path {
			return nil, fmt.Errorf("parsing manifest line %d: path %q is not after %q", n, e.Path, m.Entries[k-1].Path)
		}
		m.Entries = append(m.Entries, e)
	}
}

func parseLine(line string) (Entry, error) {
	hx, rest, ok := strings.Cut(line, " ")
	if !ok {
		return Entry{}, errors.New("want \"<sha256> <size> <path>\"")
	}
	size, p, ok := strings.Cut(rest, " ")
	if !ok {
		return Entry{}, errors.New("want \"<sha256> <size> <path>\"")
	}
	var e Entry
	if len(hx) != 64 || strings.ToLower(hx) != hx {
		return Entry{}, fmt.Errorf("hash %q is not 64 lower-case hex digits", hx)
	}
	if _, err := hex.Decode(e.SHA256[:], []byte(hx)); err != nil {
		return Entry{}, fmt.Errorf("hash %q: %w", hx, err)
	}
	n, err := strconv.ParseInt(size, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != size {
		return Entry{}, fmt.Errorf("size %q is not a canonical decimal number", size)
	}
	if err := checkPath(p); err != nil {
		return Entry{}, err
	}
	e.Size, e.Path = n, p
	return e, nil
}

// checkPath accepts clean, relative, slash-separated, printable UTF-8 paths.
func checkPath(p string) error {
	if !fs.ValidPath(p) || p == "." {
		return fmt.Errorf("path %q is not a clean relative path", p)
	}
	if !utf8.ValidString(p) {
		return fmt.Errorf("path %q is not valid UTF-8", p)
	}
	for _, r := range p {
		if unicode.IsControl(r) || r == '\\' || r == utf8.RuneError {
			return fmt.Errorf("path %q holds a control character or backslash", p)
		}
	}
	return nil
}

// Dir hashes every regular file under root.
func Dir(ctx context.Context, root string, opts Options) (*Manifest, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("hashing tree %q: %w", root, err)
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("hashing tree %q: %w", root, err)
	}
	defer r.Close()
	var files []string
	err = fs.WalkDir(r.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		keep, err := admit(r, p, d.Type(), opts.Symlinks)
		if err != nil {
			return err
		}
		if keep {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hashing tree %q: listing files: %w", root, err)
	}
	m, err := hashAll(ctx, r, files, opts.Workers)
	if err != nil {
		return nil, fmt.Errorf("hashing tree %q: %w", root, err)
	}
	return m, nil
}

// Files hashes the listed files, given by slash-separated paths relative to
// root. Listing a folder or the same file twice is an error; the symlink
// policy applies to the last element of each path.
func Files(ctx context.Context, root string, paths []string, opts Options) (*Manifest, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("hashing files of %q: %w", root, err)
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("hashing files of %q: %w", root, err)
	}
	defer r.Close()
	var files []string
	for _, p := range paths {
		if err := checkPath(p); err != nil {
			return nil, fmt.Errorf("hashing files of %q: %w", root, err)
		}
		fi, err := r.Lstat(p)
		if err != nil {
			return nil, fmt.Errorf("hashing files of %q: %w", root, err)
		}
		keep, err := admit(r, p, fi.Mode().Type(), opts.Symlinks)
		if err != nil {
			return nil, fmt.Errorf("hashing files of %q: %w", root, err)
		}
		if keep {
			files = append(files, p)
		}
	}
	m, err := hashAll(ctx, r, files, opts.Workers)
	if err != nil {
		return nil, fmt.Errorf("hashing files of %q: %w", root, err)
	}
	return m, nil
}

func (o Options) validate() error {
	if o.Workers < 1 {
		return fmt.Errorf("workers must be >= 1, got %d", o.Workers)
	}
	if o.Symlinks < SymlinksReject || o.Symlinks > SymlinksFollow {
		return fmt.Errorf("unknown symlink policy %d", o.Symlinks)
	}
	return nil
}

// admit applies the symlink policy to the entry p of type t and reports
// whether it is a file to hash.
func admit(r *os.Root, p string, t fs.FileMode, policy Symlinks) (bool, error) {
	switch {
	case t.IsRegular():
		return true, checkPath(p)
	case t.IsDir():
		return false, fmt.Errorf("%q is a folder", p)
	case t&fs.ModeSymlink != 0:
		switch policy {
		case SymlinksSkip:
			return false, nil
		case SymlinksFollow:
			fi, err := r.Stat(p) // refuses targets outside the root
			if err != nil {
				return false, fmt.Errorf("following symbolic link %q: %w", p, err)
			}
			if !fi.Mode().IsRegular() {
				return false, fmt.Errorf("symbolic link %q points to a %s, not a regular file", p, kind(fi.Mode()))
			}
			return true, checkPath(p)
		default:
			return false, fmt.Errorf("%q is a symbolic link (choose a symlink policy to skip or follow links)", p)
		}
	default:
		return false, fmt.Errorf("%q is a %s, not a regular file", p, kind(t))
	}
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "folder"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// hashAll hashes files on workers goroutines and returns the sorted manifest.
func hashAll(ctx context.Context, r *os.Root, files []string, workers int) (*Manifest, error) {
	slices.Sort(files)
	for i := 1; i < len(files); i++ {
		if files[i] == files[i-1] {
			return nil, fmt.Errorf("%q is listed twice", files[i])
		}
	}
	entries := make([]Entry, len(files))
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, max(len(files), 1)) {
		wg.Go(func() {
			buf := make([]byte, 256<<10)
			for i := range next {
				e, err := hashFile(r, files[i], buf)
				if err != nil {
					cancel(err)
					return
				}
				entries[i] = e
			}
		})
	}
feed:
	for i := range files {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	return &Manifest{Entries: entries}, nil
}

func hashFile(r *os.Root, p string, buf []byte) (Entry, error) {
	f, err := r.Open(p)
	if err != nil {
		return Entry{}, fmt.Errorf("hashing %q: %w", p, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Entry{}, fmt.Errorf("hashing %q: %w", p, err)
	}
	if !fi.Mode().IsRegular() {
		return Entry{}, fmt.Errorf("hashing %q: not a regular file", p)
	}
	h := sha256.New()
	n, err := io.CopyBuffer(h, struct{ io.Reader }{f}, buf)
	if err != nil {
		return Entry{}, fmt.Errorf("hashing %q: %w", p, err)
	}
	if n != fi.Size() {
		return Entry{}, fmt.Errorf("hashing %q: size changed from %d to %d bytes while reading", p, fi.Size(), n)
	}
	e := Entry{Path: p, Size: n}
	h.Sum(e.SHA256[:0])
	return e, nil
}
