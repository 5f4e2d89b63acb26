package dataset

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/runtime/data/digest"
	"parak8s.dev/parak8s/runtime/data/ecg"
	"parak8s.dev/parak8s/runtime/publish"
	"parak8s.dev/parak8s/runtime/step"
	"parak8s.dev/parak8s/schema"
)

// Options configure Prepare.
type Options struct {
	// DataKey is recorded in the manifest: the data key of the trials the
	// set is prepared for.
	DataKey string
	// TempDir is where oci:// sources are pulled ("": os.TempDir()); the
	// pulled copy is removed when Prepare returns.
	TempDir string
	// ClaimDir is where the claim of a pvc:// source is mounted
	// (step.PathSource in prepare's pod).
	ClaimDir string
	// Publish configures pulls of oci:// sources.
	Publish publish.Options
	// Digest configures hashing of the source files.
	Digest digest.Options
	// Log receives progress messages (nil: none).
	Log *slog.Logger
}

// DefaultOptions returns the publish and digest defaults, with symbolic links
// to files inside the source followed (hashed as the file they point to).
func DefaultOptions() Options {
	d := digest.DefaultOptions()
	d.Symlinks = digest.SymlinksFollow
	return Options{Publish: publish.DefaultOptions(), Digest: d, ClaimDir: step.PathSource}
}

// Prepare builds the prepared data set for data into dir, which is created
// and must be absent or empty. On error nothing is left in dir (and dir is
// removed when Prepare created it); a process killed halfway leaves the
// FileIncomplete marker (see Inspect and Clear). The manifest is written last.
func Prepare(ctx context.Context, data schema.Data, dir string, opts Options) (*Manifest, error) {
	m, err := prepare(ctx, data, dir, opts)
	if err != nil {
		return nil, fmt.Errorf("preparing data set %s from %s: %w", dir, data.Source.Path, err)
	}
	return m, nil
}

func prepare(ctx context.Context, data schema.Data, dir string, opts Options) (_ *Manifest, err error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sp, err := parseSplit(data.Split)
	if err != nil {
		return nil, err
	}
	switch data.Source.Kind {
	case schema.SourceWFDB, schema.SourceCSV:
		if _, err := ECGOptions(data.Signal); err != nil {
			return nil, err
		}
	case schema.SourceImages:
		if _, err := imageOptions(data.Image, data.Classes); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("data.source.kind: %q: want %q, %q or %q", data.Source.Kind, schema.SourceWFDB, schema.SourceCSV, schema.SourceImages)
	}

	st, err := Inspect(dir)
	if err != nil {
		return nil, err
	}
	if st != StateEmpty {
		return nil, fmt.Errorf("%s is not empty (%s)", dir, st)
	}
	_, statErr := os.Stat(dir)
	created := errors.Is(statErr, os.ErrNotExist)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, FileIncomplete), nil, 0o644); err != nil {
		return nil, err
	}
	defer func() {
		if err == nil {
			return
		}
		if cerr := clearDir(dir); cerr != nil {
			err = errors.Join(err, cerr)
		}
		if created {
			os.Remove(dir)
		}
	}()

	local, pinned, cleanup, err := fetchSource(ctx, data.Source, opts, log)
	if err != nil {
		return nil, err
	}
	defer cleanup()

	m := &Manifest{
		Format:     Format,
		SourceKind: data.Source.Kind,
		Source:     data.Source.Path,
		DataKey:    opts.DataKey,
		Splits:     map[string]SplitInfo{},
	}
	var (
		root  string
		files []string
		write func() error
	)
	switch data.Source.Kind {
	case schema.SourceWFDB, schema.SourceCSV:
		var src *signalSource
		if data.Source.Kind == schema.SourceWFDB {
			parts, perr := wfdbParts(local, data.Source, sp)
			if perr != nil {
				return nil, perr
			}
			log.Info("reading WFDB records", "path", local, "records", recordCount(parts))
			src, err = loadWFDB(ctx, local, parts, data.Signal, data.Classes)
		} else if sp.by == schema.SplitByFolder {
			log.Info("reading beat CSVs", "path", local)
			src, err = loadCSVFolder(local, data.Signal, data.Classes, sp)
		} else {
			csv, cerr := csvFile(local)
			if cerr != nil {
				return nil, cerr
			}
			log.Info("reading beat CSV", "path", csv)
			src, err = loadCSV(csv, data.Signal, data.Classes, sp)
		}
		if err != nil {
			return nil, err
		}
		sig := *data.Signal
		m.Kind, m.Classes, m.Signal = KindSignal, src.classes, &sig
		m.Input, m.Features = []int{src.channels, src.length}, src.features
		root, files = src.root, src.files
		for n, b := range src.splits {
			m.Splits[n] = SplitInfo{N: b.Len(), Counts: b.counts(len(src.classes)), Records: b.records, File: n + ".safetensors"}
		}
		write = func() error {
			for _, n := range m.SplitNames() {
				md := map[string]string{"format": splitFormat, "split": n}
				if err := bundle.WriteTensors(filepath.Join(dir, m.Splits[n].File), src.splits[n].tensors(), md); err != nil {
					return err
				}
			}
			return nil
		}
	case schema.SourceImages:
		src, ierr := loadImages(local, data.Classes, sp)
		if ierr != nil {
			return nil, ierr
		}
		img := *data.Image
		m.Kind, m.Classes, m.Image = KindImage, src.classes, &img
		m.Input = []int{img.Channels, img.Size, img.Size}
		root, files = src.root, src.files
		for n, s := range src.splits {
			m.Splits[n] = SplitInfo{N: len(s), Counts: sampleCounts(s, len(src.classes)), File: n}
		}
		write = func() error {
			for _, n := range m.SplitNames() {
				if err := copyImages(ctx, dir, n, src.classes, src.splits[n]); err != nil {
					return err
				}
			}
			return nil
		}
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("checking the prepared manifest: %w", err)
	}

	dm, err := digest.Files(ctx, root, files, opts.Digest)
	if err != nil {
		return nil, fmt.Errorf("hashing the source files: %w", err)
	}
	m.Digest = dm.Digest()
	if want := data.Source.Digest; want != "" && !pinned && want != m.Digest {
		return nil, sourceErrorf("data.source.digest is %s, but the source files used have digest %s", want, m.Digest)
	}
	log.Info("source hashed", "files", len(dm.Entries), "bytes", dm.TotalSize(), "digest", m.Digest)

	if err := write(); err != nil {
		return nil, err
	}
	if err := bundle.WriteFile(filepath.Join(dir, FileSource), dm.Text()); err != nil {
		return nil, err
	}
	if err := bundle.WriteJSON(filepath.Join(dir, FileManifest), m); err != nil {
		return nil, err
	}
	if err := os.Remove(filepath.Join(dir, FileIncomplete)); err != nil {
		return nil, err
	}
	return m, nil
}

func recordCount(parts map[string][]string) int {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	return n
}

// wfdbParts assigns the records of a WFDB source to splits.
func wfdbParts(dir string, src schema.Source, sp splitSpec) (map[string][]string, error) {
	parts := map[string][]string{}
	switch sp.by {
	case schema.SplitByRecord:
		for _, n := range sp.names() {
			for _, r := range sp.records[n] {
				if len(src.Records) > 0 && !slices.Contains(src.Records, r) {
					return nil, fmt.Errorf("data.split.%s: record %q is not in data.source.records", n, r)
				}
			}
			parts[n] = slices.Clone(sp.records[n])
		}
	case schema.SplitByFraction:
		available := src.Records
		if len(available) == 0 {
			var err error
			if available, err = listRecords(dir); err != nil {
				return nil, err
			}
		}
		names := SplitNames()
		fractions := make([]float64, len(names))
		for i, n := range names {
			fractions[i] = sp.fractions[n]
		}
		ps, err := ecg.SplitByRecord(available, int64(sp.seed), fractions)
		if err != nil {
			return nil, fmt.Errorf("data.split: %w", err)
		}
		for i, n := range names {
			if fractions[i] > 0 && len(ps[i]) == 0 {
				return nil, fmt.Errorf("data.split.%s: fraction %v of %d records gives no record (records of one patient stay together); use more records or split by record", n, fractions[i], len(available))
			}
			if len(ps[i]) > 0 {
				parts[n] = ps[i]
			}
		}
	default:
		return nil, fmt.Errorf("data.split.by: %q: WFDB records split by %q or %q", sp.by, schema.SplitByRecord, schema.SplitByFraction)
	}
	return parts, nil
}

// csvFile returns path when it is a file, or the single *.csv file of the
// folder path.
func csvFile(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("data.source.path: %w", err)
	}
	if !st.IsDir() {
		return path, nil
	}
	m, err := filepath.Glob(filepath.Join(path, "*.csv"))
	if err != nil {
		return "", fmt.Errorf("data.source.path: %w", err)
	}
	if len(m) != 1 {
		return "", fmt.Errorf("data.source.path: folder %s holds %d *.csv files, want exactly one", path, len(m))
	}
	return m[0], nil
}

// ErrSource marks a source that does not give what the config asks for: a
// path that does not exist, an artifact that is not there or whose digest
// is not the pinned one, files whose digest is not data.source.digest.
// Running the step again does not help (prepare exits with step.ExitConfig).
var ErrSource = errors.New("the data source does not match the config")

// sourceError is an error of the source (errors.Is(err, ErrSource)) with its
// own message.
type sourceError struct{ error }

func (e sourceError) Unwrap() error        { return e.error }
func (e sourceError) Is(target error) bool { return target == ErrSource }

func sourceErrorf(format string, args ...any) error {
	return sourceError{fmt.Errorf(format, args...)}
}

// fetchSource returns a local path for the source: the path itself, the
// folder of a pvc:// source below opts.ClaimDir, or a pulled copy of an
// oci:// artifact (pinned reports that its digest was checked against the
// reference's or data.source.digest). cleanup removes what was pulled.
func fetchSource(ctx context.Context, src schema.Source, opts Options, log *slog.Logger) (local string, pinned bool, cleanup func(), err error) {
	cleanup = func() {}
	p := src.Path
	switch {
	case p == "":
		return "", false, cleanup, errors.New("data.source.path: empty")
	case strings.HasPrefix(p, "http://"), strings.HasPrefix(p, "https://"):
		return "", false, cleanup, sourceErrorf("data.source.path: %q: http(s) sources are not supported; push the data with `parac data push DIR REPO` and use the oci://REPO@sha256:… it prints", p)
	case strings.HasPrefix(p, schema.ClaimScheme):
		local, err := claimSource(src, opts.ClaimDir)
		return local, false, cleanup, err
	case !strings.HasPrefix(p, publish.Scheme):
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			return "", false, cleanup, sourceErrorf("data.source.path: %s does not exist", p)
		}
		return p, false, cleanup, nil
	}
	want := ""
	if _, d, ok := strings.Cut(p, "@"); ok {
		want = d
	}
	switch {
	case want == "":
		want = src.Digest
	case src.Digest != "" && src.Digest != want:
		return "", false, cleanup, sourceErrorf("data.source.digest %s disagrees with the digest of %s", src.Digest, p)
	}
	if want == "" {
		return "", false, cleanup, sourceErrorf("data.source.path: %q: an oci:// source must pin its digest (…@sha256:… or data.source.digest)", p)
	}
	tmp, err := os.MkdirTemp(opts.TempDir, "parak8s-source-")
	if err != nil {
		return "", false, cleanup, fmt.Errorf("pulling %s: %w", p, err)
	}
	cleanup = func() { os.RemoveAll(tmp) }
	local = filepath.Join(tmp, "data")
	log.Info("pulling source", "ref", p)
	res, err := publish.Pull(ctx, p, local, opts.Publish)
	if err != nil {
		cleanup()
		if notFound(err) {
			err = sourceError{err}
		}
		return "", false, func() {}, err
	}
	if res.Digest != want {
		cleanup()
		return "", false, func() {}, sourceErrorf("pulling %s: got digest %s, want %s", p, res.Digest, want)
	}
	return local, true, cleanup, nil
}

// notFound reports whether the registry answered that the artifact (or its
// repository) does not exist.
func notFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}

// claimSource returns the folder of a "pvc://CLAIM/PATH" source: PATH below
// dir, where prepare's pod mounts the claim (step.PathSource).
func claimSource(src schema.Source, dir string) (string, error) {
	claim, sub, _, err := src.Claim()
	if err != nil {
		return "", sourceErrorf("data.source.path: %w", err)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "", fmt.Errorf("data.source.path: %q: claim %s is not mounted at %s: a pvc:// source is read by prepare in a compiled workflow; on this machine use a local path (--set data.source.path=DIR)", src.Path, claim, dir)
	}
	local := filepath.Join(dir, filepath.FromSlash(sub))
	if _, err := os.Stat(local); errors.Is(err, os.ErrNotExist) {
		return "", sourceErrorf("data.source.path: %q: claim %s has no %q", src.Path, claim, sub)
	} else if err != nil {
		return "", fmt.Errorf("data.source.path: %q: %w", src.Path, err)
	}
	return local, nil
}
