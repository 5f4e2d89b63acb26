package main

import (
	"bytes"
	"strings"
	"testing"

	"parak8s.dev/parak8s/runtime/step"
)

// TestHelp checks that every subcommand has its long help, with the
// contract's names filled in.
func TestHelp(t *testing.T) {
	root := newRoot(&bytes.Buffer{}, &bytes.Buffer{})
	for _, c := range root.Commands() {
		if c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		if c.Long == "" || strings.Contains(c.Long, "${") || strings.HasSuffix(c.Long, "\n") {
			t.Errorf("%s: long help %q", c.Name(), c.Long)
		}
	}
	if !strings.Contains(help("prepare"), "at "+step.PathSource+".") {
		t.Errorf("prepare's help does not name %s", step.PathSource)
	}
}
