package dataset

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"

	"parak8s.dev/parak8s/internal/testenv"
	"parak8s.dev/parak8s/runtime/publish"
)

// TestPrepareSources prepares the same records from a local folder, a
// pvc:// claim (mounted at Options.ClaimDir) and an oci:// artifact pushed
// as a list of files, and checks that each source that does not give what
// the config asks for fails with ErrSource (prepare's exit code 3), an
// unmounted claim or an unreachable registry without it, and that no
// failure leaves the output folder behind.
func TestPrepareSources(t *testing.T) {
	mitdb := testenv.MITDB(t)
	records := copyRecords(t, mitdb, "101", "106")
	claimDir := filepath.Dir(records) // the claim's root; PATH "records"
	data := wfdbData(records, "window", false, []any{"101"}, []any{"106"})
	_, local := prepareT(t, data)

	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	ctx := context.Background()
	var files []string
	for _, r := range []string{"101", "106"} {
		for _, ext := range []string{".hea", ".dat", ".atr"} {
			files = append(files, filepath.Join(mitdb, r+ext))
		}
	}
	pushed, err := publish.PushDataset(ctx, publish.Dataset{Files: files}, host+"/data/mitdb:two", publish.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	zeros := "sha256:" + strings.Repeat("0", 64)

	for _, tc := range []struct {
		name, path, digest string
		claimDir           string // "" for claimDir
		err                string // "" for success
		source             bool   // errors.Is(err, ErrSource)
	}{
		{name: "claim", path: "pvc://ecg-data/records"},
		{name: "claim pinned", path: "pvc://ecg-data/records", digest: local.Digest},
		{name: "artifact of files", path: "oci://" + pushed.Ref},
		{name: "claim path missing", path: "pvc://ecg-data/mitdb", err: `claim ecg-data has no "mitdb"`, source: true},
		{name: "claim not mounted", path: "pvc://ecg-data/records", claimDir: filepath.Join(claimDir, "nope"), err: "is not mounted at"},
		{name: "claim malformed", path: "pvc://Ecg/records", err: "not a DNS-1123 subdomain", source: true},
		{name: "claim bad digest", path: "pvc://ecg-data/records", digest: zeros, err: "data.source.digest is " + zeros, source: true},
		{name: "local path missing", path: filepath.Join(claimDir, "mitdb"), err: "does not exist", source: true},
		{name: "artifact not there", path: "oci://" + host + "/data/mitdb@" + zeros, err: "MANIFEST_UNKNOWN", source: true},
		{name: "artifact bad pin", path: "oci://" + host + "/data/mitdb:two", digest: zeros, err: "want " + zeros, source: true},
		{name: "registry unreachable", path: "oci://127.0.0.1:1/data/mitdb@" + pushed.Digest, err: "connection refused"},
		{name: "http", path: "https://example.com/mitdb", err: "parac data push", source: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := data
			d.Source.Path, d.Source.Digest = tc.path, tc.digest
			opts := DefaultOptions()
			opts.ClaimDir = claimDir
			if tc.claimDir != "" {
				opts.ClaimDir = tc.claimDir
			}
			out := filepath.Join(t.TempDir(), "out")
			m, err := Prepare(ctx, d, out, opts)
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if m.Digest != local.Digest || m.Source != tc.path {
					t.Errorf("digest %s source %s, want %s (the local folder's) and %s", m.Digest, m.Source, local.Digest, tc.path)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
			if errors.Is(err, ErrSource) != tc.source {
				t.Errorf("errors.Is(%v, ErrSource) = %v", err, !tc.source)
			}
			if _, serr := os.Stat(out); serr == nil {
				t.Errorf("failed Prepare left %s", out)
			}
		})
	}
}
