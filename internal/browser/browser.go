package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// EnvChromium names the browser binary to use instead of the one on $PATH.
const EnvChromium = "PARAK8S_CHROMIUM"

// names are the binaries Find looks for on $PATH, Debian's first.
var names = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// ErrNoBrowser is returned by Find when no browser is installed.
var ErrNoBrowser = errors.New("no headless browser: install Debian's chromium (scripts/chromium.sh, or apt-get install chromium) or set " + EnvChromium)

// Find returns the path of the browser: $PARAK8S_CHROMIUM when set (it must
// exist), else the first of chromium, chromium-browser, google-chrome on
// $PATH.
func Find() (string, error) {
	if p := os.Getenv(EnvChromium); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvChromium, p, err)
		}
		return p, nil
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", ErrNoBrowser
}

// Need returns the browser's path for a test. Without one the test is
// skipped, saying how to install it; in CI ($CI set) it fails instead, as
// CI installs the browser first (make test runs scripts/chromium.sh).
func Need(t testing.TB) string {
	t.Helper()
	p, err := Find()
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("CI must have a browser: %v", err)
	}
	t.Skipf("skipped: %v", err)
	return ""
}

// Options tune Start.
type Options struct {
	// Width and Height are the window's size in CSS pixels (default
	// 1280 x 900).
	Width, Height int
	// Timeout bounds each call on the browser (default 60 s).
	Timeout time.Duration
}

// Browser is one headless browser with one tab.
type Browser struct {
	profile string
	ctx     context.Context
	cancel  func()
	timeout time.Duration
}

// Start starts the browser at path, headless, with a fresh profile that is
// removed on Close.
func Start(path string, opts Options) (*Browser, error) {
	if opts.Width == 0 {
		opts.Width, opts.Height = 1280, 900
	}
	if opts.Timeout == 0 {
		opts.Timeout = 60 * time.Second
	}
	profile, err := os.MkdirTemp("", "parak8s-chromium-")
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", path, err)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.DisableGPU,
		// Root (CI, containers) cannot use Chromium's sandbox.
		chromedp.NoSandbox,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(opts.Width, opts.Height),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	b := &Browser{profile: profile, ctx: ctx, timeout: opts.Timeout, cancel: func() {
		cancelCtx()
		cancelAlloc()
		os.RemoveAll(profile)
	}}
	// The first call starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		b.cancel()
		return nil, fmt.Errorf("starting %s: %w", path, err)
	}
	return b, nil
}

// Close stops the browser and removes its profile.
func (b *Browser) Close() {
	chromedp.Cancel(b.ctx)
	b.cancel()
}

func (b *Browser) call() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, b.timeout)
}

// BeforeLoad runs a script in every page before the page's own scripts
// (to set localStorage, say), from the next Open on.
func (b *Browser) BeforeLoad(js string) error {
	ctx, cancel := b.call()
	defer cancel()
	_, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) (page.AddScriptToEvaluateOnNewDocumentResult, error) {
		return cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: js})
	})
	if err != nil {
		return fmt.Errorf("adding a script to run before the page loads: %w", err)
	}
	return nil
}

// Open loads url and waits until the page has loaded and drawn its first
// frame after that; it returns how long that took.
func (b *Browser) Open(url string) (time.Duration, error) {
	ctx, cancel := b.call()
	defer cancel()
	start := time.Now()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		return 0, fmt.Errorf("opening %s: %w", url, err)
	}
	// Navigate returns after the load event; two animation frames later the
	// page has been laid out and painted.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`, chromedp.EvalAwaitPromise)); err != nil {
		return 0, fmt.Errorf("waiting for %s to render: %w", url, err)
	}
	return time.Since(start), nil
}

// WaitVisible waits until an element matching the CSS selector is visible.
func (b *Browser) WaitVisible(selector string) error {
	ctx, cancel := b.call()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(selector))); err != nil {
		return fmt.Errorf("waiting for %s to be visible: %w", selector, err)
	}
	return nil
}

// WaitFor waits, within the browser's timeout, until a JavaScript
// expression is truthy (polled every 250 ms), and decodes its value into out
// (nil: ignored). Pages that render after loading (single-page apps) are
// read this way.
func (b *Browser) WaitFor(js string, out any) error {
	poll := `new Promise((resolve, reject) => {
  const start = Date.now();
  (function poll() {
    let v;
    try { v = (` + js + `); } catch (e) { v = undefined; }
    if (v) return resolve(v);
    if (Date.now() - start > ` + strconv.FormatInt(b.timeout.Milliseconds()-1000, 10) + `) return reject(new Error("timed out"));
    setTimeout(poll, 250);
  })();
})`
	if err := b.Eval(poll, out); err != nil {
		return fmt.Errorf("waiting for %.80q: %w", js, err)
	}
	return nil
}

// Eval evaluates a JavaScript expression in the page and decodes its value
// (JSON) into out; a promise is awaited.
func (b *Browser) Eval(js string, out any) error {
	ctx, cancel := b.call()
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
	if err != nil {
		return fmt.Errorf("evaluating %.60q: %w", js, err)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("evaluating %.60q: decoding %.200s: %w", js, raw, err)
	}
	return nil
}

// Screenshot saves the whole page, beyond the window, as a PNG file.
func (b *Browser) Screenshot(path string) error {
	ctx, cancel := b.call()
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return fmt.Errorf("taking a screenshot: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("saving the screenshot: %w", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return fmt.Errorf("saving the screenshot: %w", err)
	}
	return nil
}

// CPU returns the processor time the browser's processes have used so far
// (user and system, of those still running), read from /proc: unlike the
// wall time Open returns, it does not grow when other programs load the
// machine. Zero where /proc cannot be read.
func (b *Browser) CPU() time.Duration {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var ticks int64
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmd, []byte("--user-data-dir="+b.profile)) {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the command's closing parenthesis: utime and stime
		// are the 12th and 13th (fields 14 and 15 of proc(5)).
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) < 13 {
			continue
		}
		for _, v := range f[11:13] {
			n, _ := strconv.ParseInt(v, 10, 64)
			ticks += n
		}
	}
	// USER_HZ is 100 on every Linux this runs on.
	return time.Duration(ticks) * (time.Second / 100)
}
