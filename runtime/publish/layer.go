package publish

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// gzipLevel is part of every artifact digest: changing it changes them all.
const gzipLevel = gzip.BestSpeed

// File is one file of an artifact, as listed in its config.
type File struct {
	Path   string `json:"path"`   // slash-separated, relative to the directory
	Size   int64  `json:"size"`   // bytes
	Mode   uint32 `json:"mode"`   // 0644 or 0755
	Digest string `json:"digest"` // sha256:hex of the content
}

// fileLayer is a tar+gzip layer staged in a temporary file.
type fileLayer struct {
	path      string
	mediaType types.MediaType
	digest    v1.Hash // of the compressed bytes
	diffID    v1.Hash // of the tar
	size      int64
}

var _ v1.Layer = (*fileLayer)(nil)

func (l *fileLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *fileLayer) Size() (int64, error)                { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error)  { return os.Open(l.path) }

func (l *fileLayer) Uncompressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{zr, f}, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// epoch is the time written into every tar header.
var epoch = time.Unix(0, 0).UTC()

// source is what a layer holds: a directory, or files under their base
// names.
type source struct {
	dir   string
	files []string
}

func (s source) String() string {
	if len(s.files) == 0 {
		return s.dir
	}
	return fmt.Sprintf("%d files", len(s.files))
}

// listed is one file of a list and its name in the layer.
type listed struct{ path, name string }

// entries checks a list of files: regular files (symbolic links followed),
// distinct base names. They are returned in lexical order of their names.
func entries(files []string) ([]listed, error) {
	out := make([]listed, 0, len(files))
	from := map[string]string{}
	for _, f := range files {
		info, err := os.Stat(f)
		if err != nil {
			return nil, err
		}
		if !info.Mode().IsRegular() {
			return nil, fmt.Errorf("%s is not a regular file: give a directory alone, or files", f)
		}
		n := filepath.Base(f)
		if prev, dup := from[n]; dup {
			return nil, fmt.Errorf("%s and %s have the same name %s in the artifact", prev, f, n)
		}
		from[n] = f
		out = append(out, listed{f, n})
	}
	slices.SortFunc(out, func(a, b listed) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// buildLayer writes src as a reproducible tar+gzip into a temporary file in
// tmpDir and returns the layer and the list of files. The caller removes
// the layer's file.
func buildLayer(src source, tmpDir string, mediaType types.MediaType) (_ *fileLayer, _ []File, err error) {
	var list []listed
	dir := src.dir
	if len(src.files) > 0 {
		if list, err = entries(src.files); err != nil {
			return nil, nil, err
		}
	} else {
		info, err := os.Stat(dir)
		if err != nil {
			return nil, nil, err
		}
		if !info.IsDir() {
			return nil, nil, fmt.Errorf("%s is not a directory", dir)
		}
	}
	tmp, err := os.CreateTemp(tmpDir, "parak8s-layer-*.tar.gz")
	if err != nil {
		return nil, nil, fmt.Errorf("staging the layer: %w", err)
	}
	defer func() {
		if cerr := tmp.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("staging the layer: %w", cerr)
		}
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()

	compressedHash := sha256.New()
	counter := &countingWriter{w: io.MultiWriter(tmp, compressedHash)}
	buf := bufio.NewWriterSize(counter, 1<<20)
	zw, err := gzip.NewWriterLevel(buf, gzipLevel)
	if err != nil {
		return nil, nil, err
	}
	tarHash := sha256.New()
	tw := tar.NewWriter(io.MultiWriter(zw, tarHash))

	var files []File
	copyBuf := make([]byte, 1<<20)
	for _, e := range list {
		f, err := addFile(tw, e.path, e.name, copyBuf)
		if err != nil {
			return nil, nil, err
		}
		files = append(files, f)
	}
	if list == nil {
		if err := walkDir(tw, dir, copyBuf, &files); err != nil {
			return nil, nil, err
		}
	}
	if len(files) == 0 {
		return nil, nil, fmt.Errorf("%s has no files", dir)
	}
	if err := tw.Close(); err != nil {
		return nil, nil, fmt.Errorf("writing the tar: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, nil, fmt.Errorf("compressing the layer: %w", err)
	}
	if err := buf.Flush(); err != nil {
		return nil, nil, fmt.Errorf("staging the layer: %w", err)
	}
	return &fileLayer{
		path:      tmp.Name(),
		mediaType: mediaType,
		digest:    sumHash(compressedHash),
		diffID:    sumHash(tarHash),
		size:      counter.n,
	}, files, nil
}

// walkDir adds the directories and regular files below dir, in lexical
// order, to tw and their list to files.
func walkDir(tw *tar.Writer, dir string, copyBuf []byte, files *[]File) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.IsDir():
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: rel + "/", Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX})
		case d.Type().IsRegular():
			f, err := addFile(tw, p, rel, copyBuf)
			if err != nil {
				return err
			}
			*files = append(*files, f)
			return nil
		default:
			return fmt.Errorf("%s is a %s: only regular files and directories can be published", p, typeName(d.Type()))
		}
	})
}

func addFile(tw *tar.Writer, path, rel string, buf []byte) (File, error) {
	f, err := os.Open(path)
	if err != nil {
		return File{}, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return File{}, err
	}
	mode := int64(0o644)
	if info.Mode().Perm()&0o111 != 0 {
		mode = 0o755
	}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: rel, Size: info.Size(), Mode: mode, ModTime: epoch, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return File{}, fmt.Errorf("adding %s: %w", rel, err)
	}
	h := sha256.New()
	n, err := io.CopyBuffer(io.MultiWriter(tw, h), io.LimitReader(f, info.Size()), buf)
	if err != nil {
		return File{}, fmt.Errorf("adding %s: %w", rel, err)
	}
	if n != info.Size() {
		return File{}, fmt.Errorf("adding %s: it changed size while being read (%d of %d bytes)", rel, n, info.Size())
	}
	return File{Path: rel, Size: n, Mode: uint32(mode), Digest: "sha256:" + hex.EncodeToString(h.Sum(nil))}, nil
}

func sumHash(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}

func typeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// errLayout is wrapped by every error about an artifact that is not a
// ParaK8s artifact or whose content does not match its config.
var errLayout = errors.New("not a valid parak8s artifact")
