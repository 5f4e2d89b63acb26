package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/rogpeppe/go-internal/testscript"

	"parak8s.dev/parak8s/internal/testenv"
	"parak8s.dev/parak8s/runtime/publish"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"parac": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the CLI scripts in testdata/script (testscript .txtar).
// Every script has an in-process OCI registry (go-containerregistry's) at
// $REGISTRY, and a command `pull REF|@FILE DIR` that pulls an artifact (the
// reference, or the last word of FILE) as the prepare step does
// (publish.Pull, its digest checked when the reference pins one), and
// $MITDB, the shared MIT-BIH records' folder (condition [mitdb]: it is
// there).
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(e *testscript.Env) error {
			srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
			e.Defer(srv.Close)
			e.Setenv("REGISTRY", strings.TrimPrefix(srv.URL, "http://"))
			e.Setenv("MITDB", testenv.FindData("mitdb", "RECORDS"))
			return nil
		},
		// [mitdb]: the real MIT-BIH records are at $MITDB.
		Condition: func(cond string) (bool, error) {
			if cond == "mitdb" {
				return testenv.FindData("mitdb", "RECORDS") != "", nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"pull": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: pull REF DIR")
				}
				ref := args[0]
				if file, ok := strings.CutPrefix(ref, "@"); ok {
					lines := strings.Fields(ts.ReadFile(file))
					if len(lines) == 0 {
						ts.Fatalf("%s is empty", file)
					}
					ref = lines[len(lines)-1]
				}
				res, err := publish.Pull(context.Background(), ref, ts.MkAbs(args[1]), publish.DefaultOptions())
				if err == nil {
					if _, want, ok := strings.Cut(ref, "@"); ok && res.Digest != want {
						ts.Fatalf("pulled digest %s, want %s", res.Digest, want)
					}
				}
				if neg != (err != nil) {
					ts.Fatalf("pull %s: unexpected result: %v", ref, err)
				}
			},
		},
	})
}
