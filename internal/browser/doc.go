// Package browser looks at pages the way a person does: it drives Debian's
// headless Chromium through the DevTools protocol (chromedp) to open a page,
// wait until it has rendered, read what is on screen with JavaScript and save
// a screenshot. The report test (runtime/report) and the Argo UI test (e2e)
// use it.
//
// Find locates the browser ($PARAK8S_CHROMIUM, else chromium on $PATH;
// scripts/chromium.sh installs it). Need is how a test asks for it: without
// a browser it skips with the command that installs one, except in CI
// ($CI set), where a missing browser fails the test.
package browser
