package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"parak8s.dev/parak8s/internal/testenv"
)

// TestEditor runs testdata/editor/*.txtar: docs/specs.md's editor set-up as a user
// does it, with the real cue CLI (the version of cuelang.org/go in go.mod)
// on $PATH and this repository's examples copied to $WORK/exps. Its
// commands: `samepos CUE PARAC` checks that cue vet (its stderr in the file
// CUE) and parac vet (its stdout in PARAC) place the errors at the same
// file:line:col; `lsp hover FILE LINE COL` and `lsp diagnostics FILE` ask
// `cue lsp` what an editor would show and print it.
func TestEditor(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the cue CLI when it is not cached")
	}
	cue := cueCLI(t)
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/editor",
		Setup: func(e *testscript.Env) error {
			e.Setenv("PATH", filepath.Dir(cue)+string(os.PathListSeparator)+e.Getenv("PATH"))
			e.Setenv("CUE_REGISTRY", "none") // a user's vendored schema needs no registry
			e.Setenv("HOME", e.WorkDir)      // cue keeps its caches and config there
			return copyExamples(filepath.Join(root, "examples"), filepath.Join(e.WorkDir, "exps"))
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"samepos": samePositions,
			"lsp":     lspCmd,
		},
	})
}

// cueCLI returns a cue binary of the version go.mod requires: bin/cue when
// it is that version (make bin/cue), else $PARAK8S_CACHE/cue-VERSION/cue,
// installed there from the Go module proxy when missing (about a minute).
func cueCLI(t *testing.T) string {
	t.Helper()
	version := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "cuelang.org/go" {
				version = d.Version
			}
		}
	}
	if version == "" {
		t.Fatal("cuelang.org/go is not in the test binary's build info")
	}
	is := func(bin string) bool {
		out, err := exec.Command(bin, "version").Output()
		return err == nil && strings.Contains(string(out), "cue version "+version+"\n")
	}
	if root, err := testenv.RepoRoot(); err == nil {
		if bin := filepath.Join(root, "bin", "cue"); is(bin) {
			return bin
		}
	}
	cache := os.Getenv("PARAK8S_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatal(err)
		}
		cache = filepath.Join(home, ".cache", "parak8s")
	}
	dir := filepath.Join(cache, "cue-"+version)
	bin := filepath.Join(dir, "cue")
	if is(bin) {
		return bin
	}
	start := time.Now()
	cmd := exec.Command("go", "install", "cuelang.org/go/cmd/cue@"+version)
	cmd.Env = append(os.Environ(), "GOBIN="+dir)
	cmd.Dir = os.TempDir() // outside this module: cue's own go.mod decides
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("installing cue %s: %v\n%s", version, err, out)
	}
	t.Logf("installed cue %s into %s in %v", version, dir, time.Since(start).Round(time.Second))
	return bin
}

// copyExamples copies the examples that a user could have in their own
// module: ecg-cv imports examples/ecg, a package of this repository, and
// stays out.
func copyExamples(src, dst string) error {
	files, err := filepath.Glob(filepath.Join(src, "*", "*.cue"))
	if err != nil {
		return err
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), `"parak8s.dev/parak8s/examples/`) {
			continue
		}
		to := filepath.Join(dst, filepath.Base(filepath.Dir(f)), filepath.Base(f))
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(to, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

var (
	// parac vet: "dir/file.cue:LINE:COL: message".
	paracPos = regexp.MustCompile(`^(\S+\.cue):(\d+):(\d+): `)
	// cue vet: "message:" then one "    ./dir/file.cue:LINE:COL" per position.
	cuePos = regexp.MustCompile(`^\s+(?:\./)?(\S+\.cue):(\d+):(\d+)$`)
)

// samePositions compares where cue vet and parac vet put the errors: each
// error parac vet reports is at a position cue vet lists, and each error
// of cue vet that points into the user's files (not the vendored schema in
// cue.mod/) lists a position parac vet reports.
func samePositions(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: samepos CUE-STDERR-FILE PARAC-STDOUT-FILE")
	}
	var blocks [][]string // cue vet's errors: the user's positions of each
	for _, line := range strings.Split(ts.ReadFile(args[0]), "\n") {
		if m := cuePos.FindStringSubmatch(line); m != nil {
			if !strings.HasPrefix(m[1], "cue.mod/") && len(blocks) > 0 {
				blocks[len(blocks)-1] = append(blocks[len(blocks)-1], m[1]+":"+m[2]+":"+m[3])
			}
			continue
		}
		if strings.TrimSpace(line) != "" {
			blocks = append(blocks, nil)
		}
	}
	var parac []string
	for _, line := range strings.Split(ts.ReadFile(args[1]), "\n") {
		if m := paracPos.FindStringSubmatch(line); m != nil {
			parac = append(parac, m[1]+":"+m[2]+":"+m[3])
		}
	}
	if len(parac) == 0 {
		ts.Fatalf("parac vet reported no position in %s", args[1])
	}
	var all []string
	for _, b := range blocks {
		all = append(all, b...)
	}
	for _, p := range parac {
		if !slices.Contains(all, p) {
			ts.Fatalf("parac vet reports %s, which cue vet does not list (cue vet: %v)", p, all)
		}
	}
	for i, b := range blocks {
		if len(b) > 0 && !slices.ContainsFunc(b, func(p string) bool { return slices.Contains(parac, p) }) {
			ts.Fatalf("cue vet's error %d is at %v, none of which parac vet reports (%v)", i+1, b, parac)
		}
	}
	ts.Logf("same positions: %v", parac)
}

// lspCmd drives `cue lsp` in the script's working directory as an editor
// does: initialize, open FILE, then print the hover text at LINE COL
// (1-based, as editors show them) or how many diagnostics were published
// for the file within a few seconds ("N diagnostics"), then each of them
// ("LINE:COL: message").
func lspCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || (args[0] == "hover" && len(args) != 4) || (args[0] != "hover" && args[0] != "diagnostics") {
		ts.Fatalf("usage: lsp hover FILE LINE COL | lsp diagnostics FILE")
	}
	c, err := startLSP(ts.MkAbs("."), ts.Getenv("PATH"), ts.Getenv("HOME"))
	ts.Check(err)
	defer c.close()
	file := ts.MkAbs(args[1])
	text, err := os.ReadFile(file)
	ts.Check(err)
	uri := "file://" + file
	ts.Check(c.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": uri, "languageId": "cue", "version": 1, "text": string(text)}}))
	switch args[0] {
	case "hover":
		line, err1 := strconv.Atoi(args[2])
		col, err2 := strconv.Atoi(args[3])
		if err1 != nil || err2 != nil {
			ts.Fatalf("lsp hover: LINE and COL are numbers")
		}
		var res struct {
			Contents struct{ Value string }
		}
		ts.Check(c.call("textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": uri}, "position": map[string]any{"line": line - 1, "character": col - 1}}, &res))
		fmt.Fprintln(ts.Stdout(), res.Contents.Value)
	case "diagnostics":
		ds := c.diagnostics(uri, 5*time.Second)
		fmt.Fprintf(ts.Stdout(), "%d diagnostics\n", len(ds))
		for _, d := range ds {
			fmt.Fprintf(ts.Stdout(), "%d:%d: %s\n", d.Range.Start.Line+1, d.Range.Start.Character+1, d.Message)
		}
	}
}

type lspClient struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	msgs  chan lspMessage
	id    int
	early []lspMessage
}

type lspMessage struct {
	ID     *int            `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

type lspDiagnostic struct {
	Range struct {
		Start struct{ Line, Character int }
	}
	Message string
}

func startLSP(dir, path, home string) (*lspClient, error) {
	cmd := exec.Command("cue", "lsp")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+path, "HOME="+home, "CUE_REGISTRY=none")
	for _, d := range filepath.SplitList(path) {
		if p := filepath.Join(d, "cue"); fileExists(p) {
			cmd.Path, cmd.Err = p, nil
			break
		}
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting cue lsp: %w", err)
	}
	c := &lspClient{cmd: cmd, in: in, msgs: make(chan lspMessage, 64)}
	go func() {
		defer close(c.msgs)
		r := bufio.NewReader(out)
		for {
			n := 0
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				line = strings.TrimSpace(line)
				if line == "" {
					break
				}
				if v, ok := strings.CutPrefix(strings.ToLower(line), "content-length:"); ok {
					n, _ = strconv.Atoi(strings.TrimSpace(v))
				}
			}
			body := make([]byte, n)
			if _, err := io.ReadFull(r, body); err != nil {
				return
			}
			var m lspMessage
			if json.Unmarshal(body, &m) == nil {
				c.msgs <- m
			}
		}
	}()
	uri := "file://" + dir
	var init json.RawMessage
	if err := c.call("initialize", map[string]any{
		"processId": nil, "rootUri": uri,
		"workspaceFolders": []any{map[string]any{"uri": uri, "name": filepath.Base(dir)}},
		"capabilities":     map[string]any{"textDocument": map[string]any{"hover": map[string]any{"contentFormat": []string{"markdown", "plaintext"}}, "publishDiagnostics": map[string]any{}}},
	}, &init); err != nil {
		c.close()
		return nil, err
	}
	if err := c.notify("initialized", map[string]any{}); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func (c *lspClient) send(m map[string]any) error {
	m["jsonrpc"] = "2.0"
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.in, "Content-Length: %d\r\n\r\n%s", len(b), b)
	return err
}

func (c *lspClient) notify(method string, params any) error {
	return c.send(map[string]any{"method": method, "params": params})
}

// call sends a request and waits (20 s at most) for its answer; other
// messages that arrive meanwhile are kept for diagnostics.
func (c *lspClient) call(method string, params, result any) error {
	c.id++
	id := c.id
	if err := c.send(map[string]any{"id": id, "method": method, "params": params}); err != nil {
		return err
	}
	timeout := time.After(20 * time.Second)
	for {
		select {
		case m, ok := <-c.msgs:
			if !ok {
				return fmt.Errorf("cue lsp: %s: the server exited", method)
			}
			if m.ID == nil || *m.ID != id || m.Method != "" {
				c.early = append(c.early, m)
				continue
			}
			if m.Error != nil {
				return fmt.Errorf("cue lsp: %s: %s", method, m.Error.Message)
			}
			return json.Unmarshal(m.Result, result)
		case <-timeout:
			return fmt.Errorf("cue lsp: no answer to %s in 20 s", method)
		}
	}
}

// diagnostics returns the last diagnostics published for uri within wait.
func (c *lspClient) diagnostics(uri string, wait time.Duration) []lspDiagnostic {
	var last []lspDiagnostic
	take := func(m lspMessage) {
		if m.Method != "textDocument/publishDiagnostics" {
			return
		}
		var p struct {
			URI         string
			Diagnostics []lspDiagnostic
		}
		if json.Unmarshal(m.Params, &p) == nil && p.URI == uri {
			last = p.Diagnostics
		}
	}
	for _, m := range c.early {
		take(m)
	}
	timeout := time.After(wait)
	for {
		select {
		case m, ok := <-c.msgs:
			if !ok {
				return last
			}
			take(m)
		case <-timeout:
			return last
		}
	}
}

func (c *lspClient) close() {
	c.in.Close()
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
}
