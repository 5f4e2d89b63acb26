package tracking

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
)

// artifactsRoute is the proxied artifact route of `mlflow server --serve-artifacts`.
const artifactsRoute = "/api/2.0/mlflow-artifacts/artifacts"

// artifactRoot is a run's artifact root resolved to the artifact route of
// a server: base is the server URL (with its path prefix), root the path
// below the route, e.g. "1/0123abcd/artifacts".
type artifactRoot struct {
	base *url.URL
	root string
}

// resolveArtifactURI resolves a run's artifact_uri.
func (c *Client) resolveArtifactURI(artifactURI string) (artifactRoot, error) {
	u, err := url.Parse(artifactURI)
	if err != nil {
		return artifactRoot{}, fmt.Errorf("parsing artifact uri %q: %w", artifactURI, err)
	}
	switch u.Scheme {
	case "mlflow-artifacts":
		base := c.base
		if u.Host != "" {
			// mlflow-artifacts://host:port/path: the same scheme and path
			// prefix as the tracking URI, on that host.
			b := *c.base
			b.Host = u.Host
			base = &b
		}
		root := strings.Trim(u.Path, "/")
		if root == "" {
			return artifactRoot{}, fmt.Errorf("artifact uri %q has no path", artifactURI)
		}
		return artifactRoot{base: base, root: root}, nil
	case "http", "https":
		i := strings.Index(u.Path, artifactsRoute+"/")
		if i < 0 {
			return artifactRoot{}, fmt.Errorf("artifact uri %q is not under %s", artifactURI, artifactsRoute)
		}
		b := *u
		b.Path, b.RawPath, b.RawQuery, b.Fragment = strings.TrimRight(u.Path[:i], "/"), "", "", ""
		return artifactRoot{base: &b, root: strings.Trim(u.Path[i+len(artifactsRoute):], "/")}, nil
	case "":
		return artifactRoot{}, fmt.Errorf("artifact uri %q is a local path: the tracking server does not serve artifacts (start it with --serve-artifacts)", artifactURI)
	default:
		return artifactRoot{}, fmt.Errorf("artifact uri %q: scheme %q is not served by the tracking server (start it with --serve-artifacts)", artifactURI, u.Scheme)
	}
}

// cleanArtifactPath checks a relative, slash-separated artifact path and
// returns it cleaned ("" for the root).
func cleanArtifactPath(p string) (string, error) {
	p = strings.ReplaceAll(p, "\\", "/")
	if strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("artifact path %q is absolute", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return "", fmt.Errorf("artifact path %q leaves the run's artifact root", p)
		}
	}
	c := path.Clean("/" + p)[1:]
	return c, nil
}

func escapeSegments(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// full returns root/rel.
func (a artifactRoot) full(rel string) string {
	if rel == "" {
		return a.root
	}
	return a.root + "/" + rel
}

// missingArtifact recognises the server's answer for a missing file: MLflow
// 2.x reports the storage error as a 500 INTERNAL_ERROR ("No such file or
// directory" for a local store, NoSuchKey/404 for object stores), which is
// not worth retrying.
func missingArtifact(e *APIError) bool {
	if e.StatusCode == http.StatusNotFound {
		return true
	}
	if e.StatusCode != http.StatusInternalServerError {
		return false
	}
	for _, s := range []string{"No such file or directory", "NoSuchKey", "does not exist", "Not Found"} {
		if strings.Contains(e.Message, s) {
			return true
		}
	}
	return false
}

// ArtifactURL returns the URL that serves the artifact at artifactPath of
// a run whose artifact_uri is artifactURI.
func (c *Client) ArtifactURL(artifactURI, artifactPath string) (string, error) {
	root, err := c.resolveArtifactURI(artifactURI)
	if err != nil {
		return "", err
	}
	rel, err := cleanArtifactPath(artifactPath)
	if err != nil {
		return "", err
	}
	return c.endpointURL(root.base, artifactsRoute+"/"+escapeSegments(root.full(rel))), nil
}

// ArtifactSource returns the artifact URI of a path inside a run's
// artifacts, e.g. mlflow-artifacts:/1/<run>/artifacts/model: the source
// of a model version.
func ArtifactSource(artifactURI, artifactPath string) (string, error) {
	rel, err := cleanArtifactPath(artifactPath)
	if err != nil {
		return "", err
	}
	if rel == "" {
		return artifactURI, nil
	}
	return strings.TrimRight(artifactURI, "/") + "/" + rel, nil
}

// UploadFile uploads one local file to artifactPath (a relative,
// slash-separated path such as "model/weights.bin") of a run's artifacts.
func (c *Client) UploadFile(ctx context.Context, artifactURI, localFile, artifactPath string) error {
	root, err := c.resolveArtifactURI(artifactURI)
	if err != nil {
		return fmt.Errorf("uploading %s: %w", localFile, err)
	}
	rel, err := cleanArtifactPath(artifactPath)
	if err != nil {
		return fmt.Errorf("uploading %s: %w", localFile, err)
	}
	if rel == "" {
		return fmt.Errorf("uploading %s: empty artifact path", localFile)
	}
	return c.uploadFile(ctx, root, localFile, rel)
}

func (c *Client) uploadFile(ctx context.Context, root artifactRoot, localFile, rel string) error {
	st, err := os.Stat(localFile)
	if err != nil {
		return fmt.Errorf("uploading artifact %s: %w", rel, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("uploading artifact %s: %s is not a regular file", rel, localFile)
	}
	body := func() (io.ReadCloser, int64, error) {
		f, err := os.Open(localFile)
		if err != nil {
			return nil, 0, err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, 0, err
		}
		return f, st.Size(), nil
	}
	err = c.do(ctx, request{
		method: "PUT", base: root.base, path: artifactsRoute + "/" + escapeSegments(root.full(rel)),
		body: body, contentType: "application/octet-stream", artifact: true,
	})
	if err != nil {
		return fmt.Errorf("uploading artifact %s from %s: %w", rel, localFile, err)
	}
	return nil
}

// UploadStats says what an upload sent.
type UploadStats struct {
	Files int
	Bytes int64
}

// UploadDir uploads every regular file below localDir (symlinks to files
// are followed, other special files skipped) to artifactDir ("" for the
// root) of a run's artifacts, keeping the relative layout. Up to
// UploadConcurrency files are sent at once.
func (c *Client) UploadDir(ctx context.Context, artifactURI, localDir, artifactDir string) (UploadStats, error) {
	root, err := c.resolveArtifactURI(artifactURI)
	if err != nil {
		return UploadStats{}, fmt.Errorf("uploading directory %s: %w", localDir, err)
	}
	dest, err := cleanArtifactPath(artifactDir)
	if err != nil {
		return UploadStats{}, fmt.Errorf("uploading directory %s: %w", localDir, err)
	}
	type job struct {
		local, rel string
		size       int64
	}
	var jobs []job
	err = filepath.WalkDir(localDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		st, err := os.Stat(p) // follows symlinks
		if err != nil {
			return err
		}
		if !st.Mode().IsRegular() {
			return nil
		}
		r, err := filepath.Rel(localDir, p)
		if err != nil {
			return err
		}
		r = filepath.ToSlash(r)
		if dest != "" {
			r = dest + "/" + r
		}
		jobs = append(jobs, job{local: p, rel: r, size: st.Size()})
		return nil
	})
	if err != nil {
		return UploadStats{}, fmt.Errorf("uploading directory %s: listing files: %w", localDir, err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		first error
		stats UploadStats
		wg    sync.WaitGroup
	)
	ch := make(chan job)
	for range min(c.opts.UploadConcurrency, max(len(jobs), 1)) {
		wg.Go(func() {
			for j := range ch {
				err := c.uploadFile(ctx, root, j.local, j.rel)
				mu.Lock()
				if err != nil && first == nil {
					first = err
					cancel()
				}
				if err == nil {
					stats.Files++
					stats.Bytes += j.size
				}
				mu.Unlock()
			}
		})
	}
feed:
	for _, j := range jobs {
		select {
		case ch <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(ch)
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	if first != nil {
		return stats, fmt.Errorf("uploading directory %s (%d of %d files sent): %w", localDir, stats.Files, len(jobs), first)
	}
	return stats, nil
}

// ArtifactFile is an entry of an artifact listing; Path is relative to the
// run's artifact root.
type ArtifactFile struct {
	Path     string
	IsDir    bool
	FileSize int64
}

// ListArtifacts lists the entries directly below dir ("" for the root) of a
// run's artifacts.
func (c *Client) ListArtifacts(ctx context.Context, artifactURI, dir string) ([]ArtifactFile, error) {
	root, err := c.resolveArtifactURI(artifactURI)
	if err != nil {
		return nil, fmt.Errorf("listing artifacts: %w", err)
	}
	rel, err := cleanArtifactPath(dir)
	if err != nil {
		return nil, fmt.Errorf("listing artifacts: %w", err)
	}
	return c.listArtifacts(ctx, root, rel)
}

func (c *Client) listArtifacts(ctx context.Context, root artifactRoot, rel string) ([]ArtifactFile, error) {
	var out struct {
		Files []struct {
			Path     string `json:"path"`
			IsDir    bool   `json:"is_dir"`
			FileSize Int64  `json:"file_size"`
		} `json:"files"`
	}
	err := c.do(ctx, request{
		method: "GET", base: root.base, path: artifactsRoute,
		query: url.Values{"path": {root.full(rel)}}, handle: decodeInto(&out),
	})
	if err != nil {
		return nil, fmt.Errorf("listing artifacts in %q: %w", rel, err)
	}
	files := make([]ArtifactFile, 0, len(out.Files))
	for _, f := range out.Files {
		name := f.Path
		if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\") {
			return nil, fmt.Errorf("listing artifacts in %q: the server listed an invalid name %q", rel, name)
		}
		p := name
		if rel != "" {
			p = rel + "/" + name
		}
		files = append(files, ArtifactFile{Path: p, IsDir: f.IsDir, FileSize: int64(f.FileSize)})
	}
	return files, nil
}

// DownloadFile downloads the artifact at artifactPath to localFile,
// creating its parent directories.
func (c *Client) DownloadFile(ctx context.Context, artifactURI, artifactPath, localFile string) error {
	root, err := c.resolveArtifactURI(artifactURI)
	if err != nil {
		return fmt.Errorf("downloading artifact %s: %w", artifactPath, err)
	}
	rel, err := cleanArtifactPath(artifactPath)
	if err != nil {
		return fmt.Errorf("downloading artifact: %w", err)
	}
	return c.downloadFile(ctx, root, rel, localFile)
}

func (c *Client) downloadFile(ctx context.Context, root artifactRoot, rel, localFile string) error {
	if err := os.MkdirAll(filepath.Dir(localFile), 0o755); err != nil {
		return fmt.Errorf("downloading artifact %s: %w", rel, err)
	}
	tmp := localFile + ".part"
	err := c.do(ctx, request{
		method: "GET", base: root.base, path: artifactsRoute + "/" + escapeSegments(root.full(rel)), artifact: true,
		missing: missingArtifact,
		handle: func(resp *http.Response) error {
			f, err := os.Create(tmp)
			if err != nil {
				return err
			}
			n, err := io.Copy(f, resp.Body)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
				err = fmt.Errorf("got %d of %d bytes", n, resp.ContentLength)
			}
			return err
		},
	})
	if err == nil {
		err = os.Rename(tmp, localFile)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("downloading artifact %s to %s: %w", rel, localFile, err)
	}
	return nil
}

// DownloadDir downloads every artifact below artifactDir ("" for the root)
// into localDir, keeping the layout, and returns what it fetched.
func (c *Client) DownloadDir(ctx context.Context, artifactURI, artifactDir, localDir string) (UploadStats, error) {
	var stats UploadStats
	root, err := c.resolveArtifactURI(artifactURI)
	if err != nil {
		return stats, fmt.Errorf("downloading artifacts: %w", err)
	}
	dir, err := cleanArtifactPath(artifactDir)
	if err != nil {
		return stats, fmt.Errorf("downloading artifacts: %w", err)
	}
	var walk func(rel string) error
	walk = func(rel string) error {
		files, err := c.listArtifacts(ctx, root, rel)
		if err != nil {
			return err
		}
		for _, f := range files {
			if f.IsDir {
				if err := walk(f.Path); err != nil {
					return err
				}
				continue
			}
			sub := strings.TrimPrefix(strings.TrimPrefix(f.Path, dir), "/")
			if err := c.downloadFile(ctx, root, f.Path, filepath.Join(localDir, filepath.FromSlash(sub))); err != nil {
				return err
			}
			stats.Files++
			stats.Bytes += f.FileSize
		}
		return nil
	}
	if err := walk(dir); err != nil {
		return stats, fmt.Errorf("downloading artifacts %q to %s: %w", dir, localDir, err)
	}
	if stats.Files == 0 {
		return stats, fmt.Errorf("downloading artifacts %q to %s: %w", dir, localDir, errors.New("no files there"))
	}
	return stats, nil
}
