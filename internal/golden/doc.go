// Package golden compares test output with the golden files kept beside the
// tests, and rewrites them when the test binary runs with -update (the one
// flag every golden test of the repository shares: go test ./PKG -update,
// then review the diff before committing it).
package golden
