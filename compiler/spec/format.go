package spec

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	cueerrors "cuelang.org/go/cue/errors"
)

// Lines formats the problems of a CUE error list one per line, as
// "file:line:col: message", with file names relative to dir when they lie
// under it. It returns nil when err is not a CUE error; the caller prints
// those as they are.
func Lines(err error, dir string) []string {
	var ce cueerrors.Error
	list := cueerrors.Errors(err)
	if !errors.As(err, &ce) || len(list) == 0 {
		return nil
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		format, args := e.Msg()
		msg := fmt.Sprintf(format, args...)
		if p := e.Path(); len(p) > 0 && !strings.Contains(msg, ":") {
			msg = strings.Join(p, ".") + ": " + msg
		}
		pos := e.Position()
		if !pos.IsValid() {
			if ps := cueerrors.Positions(e); len(ps) > 0 {
				pos = ps[0]
			}
		}
		if !pos.IsValid() {
			out = append(out, msg)
			continue
		}
		name := pos.Filename()
		if rel, err := filepath.Rel(dir, name); err == nil && !strings.HasPrefix(rel, "..") {
			name = filepath.ToSlash(rel)
		}
		out = append(out, fmt.Sprintf("%s:%d:%d: %s", name, pos.Line(), pos.Column(), msg))
	}
	return out
}

// userinfo matches the user:password@ part of a URI.
var userinfo = regexp.MustCompile(`(?i)\b([a-z][-+.a-z0-9]*://)[^/?#@\s"]+@`)

// quoted matches a CUE string literal in a message.
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// redact removes credentials from a message: the user:password@ of every
// URI it quotes.
func redact(msg string) string {
	return quoted.ReplaceAllStringFunc(msg, func(lit string) string {
		return userinfo.ReplaceAllString(lit, "${1}***@")
	})
}

// secretFields are the fields (relative to the experiment) that name
// Kubernetes Secrets: a string written there may be the secret itself, so
// messages about them never quote it.
var secretFields = [][]string{
	{"tracking", "token"},
	{"tracking", "username"},
	{"tracking", "password"},
	{"results", "dsn"},
	{"registry", "auth"},
}

// secretField returns the secret field at or above rel ("" when none).
func secretField(rel []string) string {
	for _, f := range secretFields {
		if len(rel) >= len(f) && strings.Join(rel[:len(f)], ".") == strings.Join(f, ".") {
			return strings.Join(f, ".")
		}
	}
	return ""
}
