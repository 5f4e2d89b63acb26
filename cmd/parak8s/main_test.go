package main

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"parak8s.dev/parak8s/internal/testenv"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"parak8s": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the CLI scripts in testdata/script (testscript .txtar).
// Besides parak8s they may use the commands of scriptCmds (fixture, jsonget),
// the environment of scriptEnv and the condition [data:NAME].
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:       "testdata/script",
		Cmds:      scriptCmds(),
		Setup:     scriptEnv,
		Condition: scriptCondition,
	})
}

// scriptEnv gives scripts REPO (the module root) and the shared real data
// folders MITDB and PNEUMONIA, each set only when the data is there (scripts
// that need it start with `[!data:mitdb] skip`).
func scriptEnv(env *testscript.Env) error {
	root, err := testenv.RepoRoot()
	if err != nil {
		return err
	}
	env.Setenv("REPO", root)
	for name, dir := range map[string]string{
		"MITDB":     testenv.FindData("mitdb", "RECORDS"),
		"PNEUMONIA": testenv.FindData("pneumoniamnist", ""),
	} {
		if dir != "" {
			env.Setenv(name, dir)
		}
	}
	return nil
}

// scriptCondition adds [data:NAME]: whether shared/data/NAME exists.
func scriptCondition(cond string) (bool, error) {
	if name, ok := strings.CutPrefix(cond, "data:"); ok {
		return testenv.FindData(name, "") != "", nil
	}
	return false, fmt.Errorf("unknown condition %q", cond)
}
