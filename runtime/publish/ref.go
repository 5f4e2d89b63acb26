package publish

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
)

// Scheme is the prefix of artifact references in specs: oci://repo:tag or
// oci://repo@sha256:….
const Scheme = "oci://"

// tagPattern is the OCI distribution spec's tag grammar (at most 128
// characters), compiled on first use: its bounded repeat compiles to 127
// states, which every parac command paid at start-up.
var tagPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`) })

// ValidTag reports whether tag is a valid OCI tag.
func ValidTag(tag string) bool { return tagPattern().MatchString(tag) }

// ParseRef parses an artifact reference, with or without the oci:// prefix:
// repo:tag, repo@sha256:… or repo (tag "latest"). Registries on this
// machine (localhost, 127.0.0.0/8, ::1) and inside a cluster (a Service
// name: *.svc, *.svc.cluster.local, any *.local) are reached over plain
// HTTP, as go-containerregistry itself does for private (RFC 1918) addresses.
func ParseRef(s string) (name.Reference, error) {
	raw, err := stripScheme(s)
	if err != nil {
		return nil, err
	}
	ref, err := name.ParseReference(raw)
	if err != nil {
		return nil, fmt.Errorf("parsing artifact reference %q: %w", s, err)
	}
	if plainHTTP(ref.Context().RegistryStr()) {
		ref, err = name.ParseReference(raw, name.Insecure)
		if err != nil {
			return nil, fmt.Errorf("parsing artifact reference %q: %w", s, err)
		}
	}
	return ref, nil
}

// parseRepo parses a repository (no tag, no digest), with or without oci://.
func parseRepo(s string) (name.Repository, error) {
	raw, err := stripScheme(s)
	if err != nil {
		return name.Repository{}, err
	}
	var opts []name.Option
	repo, err := name.NewRepository(raw)
	if err != nil {
		return name.Repository{}, fmt.Errorf("parsing repository %q (a repository has no tag or digest): %w", s, err)
	}
	if plainHTTP(repo.RegistryStr()) {
		opts = append(opts, name.Insecure)
	}
	return name.NewRepository(raw, opts...)
}

func stripScheme(s string) (string, error) {
	raw := strings.TrimPrefix(s, Scheme)
	if raw == "" {
		return "", errors.New("parsing artifact reference: it is empty")
	}
	if i := strings.Index(raw, "://"); i >= 0 {
		return "", fmt.Errorf("parsing artifact reference %q: only the %s scheme is supported", s, Scheme)
	}
	return raw, nil
}

// plainHTTP reports whether a registry host[:port] is this machine or a
// cluster-internal Service, spoken to without TLS.
func plainHTTP(registry string) bool {
	host := registry
	if h, _, err := net.SplitHostPort(registry); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") ||
		strings.HasSuffix(host, ".svc") || strings.HasSuffix(host, ".local") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
