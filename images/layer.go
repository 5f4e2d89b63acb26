package images

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Epoch is the time of every file and of the image: building twice gives
// the same bytes.
var Epoch = time.Unix(0, 0).UTC()

// entry is one file or directory of a layer.
type entry struct {
	name     string // absolute path in the image
	mode     int64
	uid, gid int
	dir      bool
	src      string // host file to copy, or
	data     []byte // the contents, or
	link     string // the target of a symbolic link
}

// layer is a set of entries written as one deterministic tar stream:
// sorted by name, parents first, fixed times and owners.
type layer struct{ entries map[string]entry }

func newLayer() *layer { return &layer{entries: map[string]entry{}} }

func (l *layer) empty() bool { return len(l.entries) == 0 }

// add adds e and a root-owned 0755 directory for each missing parent.
func (l *layer) add(e entry) {
	e.name = path.Clean("/" + e.name)
	l.entries[e.name] = e
	for d := path.Dir(e.name); d != "/"; d = path.Dir(d) {
		if _, ok := l.entries[d]; !ok {
			l.entries[d] = entry{name: d, mode: 0o755, dir: true}
		}
	}
}

// write writes the tar stream.
func (l *layer) write(w io.Writer) error {
	names := make([]string, 0, len(l.entries))
	for n := range l.entries {
		names = append(names, n)
	}
	sort.Strings(names) // "/a" < "/a/b": parents come first
	tw := tar.NewWriter(w)
	for _, n := range names {
		e := l.entries[n]
		h := &tar.Header{
			Name: strings.TrimPrefix(n, "/"), Mode: e.mode, Uid: e.uid, Gid: e.gid,
			ModTime: Epoch, Format: tar.FormatPAX,
		}
		if e.dir {
			h.Typeflag, h.Name = tar.TypeDir, h.Name+"/"
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			continue
		}
		if e.link != "" {
			h.Typeflag, h.Linkname = tar.TypeSymlink, e.link
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			continue
		}
		h.Typeflag = tar.TypeReg
		if e.src == "" {
			h.Size = int64(len(e.data))
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			if _, err := tw.Write(e.data); err != nil {
				return err
			}
			continue
		}
		if err := copyFile(tw, h, e.src); err != nil {
			return err
		}
	}
	return tw.Close()
}

func copyFile(tw *tar.Writer, h *tar.Header, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	h.Size = st.Size()
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// image layer of l, streamed (the libtorch layer is hundreds of MB) and
// compressed at gzip's fastest level: Go's gzip output is deterministic.
func (l *layer) image(mt types.MediaType) (v1.Layer, error) {
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(l.write(pw)) }()
		return pr, nil
	}, tarball.WithCompressionLevel(gzip.BestSpeed), tarball.WithMediaType(mt))
}
