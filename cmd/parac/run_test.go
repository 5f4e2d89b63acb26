package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"parak8s.dev/parak8s/internal/testenv"
	"parak8s.dev/parak8s/runtime/step"
)

func TestFindProgram(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, step.Program)
	if err := os.WriteFile(prog, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", t.TempDir())
	if _, err := findProgram(""); err == nil || !strings.Contains(err.Error(), "--parak8s") {
		t.Errorf("no program anywhere: %v", err)
	}
	if got, err := findProgram(prog); err != nil || got != prog {
		t.Errorf("--parak8s: %s, %v", got, err)
	}
	if _, err := findProgram(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing --parak8s should fail")
	}
	t.Setenv("PATH", dir)
	if got, err := findProgram(""); err != nil || got != prog {
		t.Errorf("from $PATH: %s, %v", got, err)
	}
}

// TestRunScripts runs the scripts of testdata/run (parac run, plan and
// report) with the test double of the step program
// (runtime/local/testdata/fakestep) in $PATH as fakestep.
func TestRunScripts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the fake step program")
	}
	bin := t.TempDir()
	if err := testenv.GoBuild(nil, "-o", filepath.Join(bin, "fakestep"), "parak8s.dev/parak8s/runtime/local/testdata/fakestep"); err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "run"),
		Setup: func(e *testscript.Env) error {
			e.Setenv("PATH", bin+string(os.PathListSeparator)+e.Getenv("PATH"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitfor": waitFor,
			"noprocs": noProcs,
		},
	})
}

// waitFor waits (up to 30s) until FILE matches REGEXP: waitfor FILE REGEXP.
func waitFor(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitfor FILE REGEXP")
	}
	re := regexp.MustCompile(args[1])
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		b, _ := os.ReadFile(ts.MkAbs(args[0]))
		if re.Match(b) {
			return
		}
	}
	ts.Fatalf("%s never matched %s", args[0], args[1])
}

// noProcs checks that no process the fake step program logged (steps and
// the children they started) is alive: noprocs LOG.
func noProcs(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: noprocs LOG")
	}
	f, err := os.Open(ts.MkAbs(args[0]))
	ts.Check(err)
	defer f.Close()
	var pids []int
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e struct{ PID, Child int }
		ts.Check(json.Unmarshal(sc.Bytes(), &e))
		pids = append(pids, e.PID)
		if e.Child > 0 {
			pids = append(pids, e.Child)
		}
	}
	if len(pids) == 0 {
		ts.Fatalf("%s names no process", args[0])
	}
	for _, pid := range pids {
		for end := time.Now().Add(5 * time.Second); alive(pid) && time.Now().Before(end); {
			time.Sleep(10 * time.Millisecond)
		}
		if alive(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
			ts.Fatalf("process %d outlived parac run", pid)
		}
	}
}

// alive reports whether a process exists and is not a zombie.
func alive(pid int) bool {
	if runtime.GOOS == "linux" {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return false
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndex(s, ")")+1:])
		return len(f) > 0 && f[0] != "Z" && f[0] != "X"
	}
	return syscall.Kill(pid, 0) == nil
}
