package spec_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"parak8s.dev/parak8s/compiler/spec"
	"parak8s.dev/parak8s/internal/golden"
)

// minInvalid is the least number of cases the invalid corpus must hold.
const minInvalid = 35

// TestInvalid loads every spec of testdata/invalid and compares its problems,
// rendered as `parac vet` prints them, with the archive's want section.
//
// An archive holds exp.cue (and any other files of the spec's directory), an
// optional args section and want. args holds lines of options:
//
//	dir               load the archive's directory instead of exp.cue
//	experiment NAME   select one experiment (Options.Experiment)
func TestInvalid(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "invalid", "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < minInvalid {
		t.Errorf("testdata/invalid holds %d cases, want at least %d", len(files), minInvalid)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			target := filepath.Join(dir, "exp.cue")
			var opts spec.Options
			wantAt := -1
			for i, f := range ar.Files {
				switch f.Name {
				case "want":
					wantAt = i
					continue
				case "args":
					for _, line := range strings.Split(strings.TrimSpace(string(f.Data)), "\n") {
						switch fields := strings.Fields(line); {
						case len(fields) == 1 && fields[0] == "dir":
							target = dir
						case len(fields) == 2 && fields[0] == "experiment":
							opts.Experiment = fields[1]
						default:
							t.Fatalf("bad args line %q", line)
						}
					}
					continue
				}
				p := filepath.Join(dir, filepath.FromSlash(f.Name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, f.Data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if wantAt < 0 {
				t.Fatal("archive has no want section")
			}
			specs, err := spec.Load(target, opts)
			if err == nil {
				t.Fatalf("Load accepted the spec (%d experiments); every case must fail", len(specs))
			}
			got := render(err, dir)
			if golden.Update() {
				ar.Files[wantAt].Data = []byte(got)
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if want := string(ar.Files[wantAt].Data); got != want {
				t.Errorf("problems differ (run go test ./compiler/spec -run TestInvalid -update and review the diff)\ngot:\n%swant:\n%s", got, want)
			}
		})
	}
}

// render prints err as printError in cmd/parac does, with file names
// relative to dir.
func render(err error, dir string) string {
	lines := spec.Lines(err, dir)
	if lines == nil {
		return "parac: " + strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "") + "\n"
	}
	return strings.Join(lines, "\n") + "\n"
}
