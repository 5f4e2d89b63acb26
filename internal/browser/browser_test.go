package browser_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"parak8s.dev/parak8s/internal/browser"
)

func TestFindHonoursEnv(t *testing.T) {
	t.Setenv(browser.EnvChromium, filepath.Join(t.TempDir(), "none"))
	if _, err := browser.Find(); err == nil || !strings.Contains(err.Error(), browser.EnvChromium) {
		t.Errorf("Find with a missing %s: %v", browser.EnvChromium, err)
	}
	t.Setenv(browser.EnvChromium, "")
	t.Setenv("PATH", t.TempDir())
	if _, err := browser.Find(); err != browser.ErrNoBrowser {
		t.Errorf("Find without a browser on PATH: %v", err)
	}
}

// TestBrowser opens a page that its script changes, as a person would see
// it: the script's text, the storage set before the page loaded, a
// screenshot that is a PNG of the window's width.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	exe := browser.Need(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!DOCTYPE html><html><body><p id="p">static</p>
<script>document.getElementById("p").textContent = "seen " + localStorage.getItem("k");</script></body></html>`)
	}))
	defer srv.Close()
	b, err := browser.Start(exe, browser.Options{Width: 640, Height: 480})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.BeforeLoad(`localStorage.setItem("k", "v")`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Open(srv.URL); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitVisible("#p"); err != nil {
		t.Fatal(err)
	}
	var text string
	if err := b.Eval(`document.getElementById("p").textContent`, &text); err != nil {
		t.Fatal(err)
	}
	if text != "seen v" {
		t.Errorf("the page shows %q, want %q", text, "seen v")
	}
	// A page that changes after loading: WaitFor sees the change.
	if err := b.Eval(`setTimeout(() => document.getElementById("p").textContent = "later", 600)`, nil); err != nil {
		t.Fatal(err)
	}
	var later string
	if err := b.WaitFor(`document.getElementById("p").textContent === "later" && "yes"`, &later); err != nil || later != "yes" {
		t.Errorf("WaitFor: %q, %v", later, err)
	}
	if err := b.Eval(`nope(`, nil); err == nil {
		t.Error("a script with a syntax error evaluated without an error")
	}
	png := filepath.Join(t.TempDir(), "shot.png")
	if err := b.Screenshot(png); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(png)
	if err != nil {
		t.Fatal(err)
	}
	// PNG signature, then the IHDR chunk with the width (big-endian) at 16.
	if !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) || len(data) < 24 {
		t.Fatalf("the screenshot is not a PNG (%d bytes)", len(data))
	}
	if w := int(data[16])<<24 | int(data[17])<<16 | int(data[18])<<8 | int(data[19]); w != 640 {
		t.Errorf("the screenshot is %d pixels wide, want 640", w)
	}
}
