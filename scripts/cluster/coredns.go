//go:build ignore

// coredns is CoreDNS with only the plugins the test cluster's DNS needs
// (errors, cache, kubernetes), the way CoreDNS documents building it with a
// chosen plugin set: its full build pulls every cloud provider's SDK for
// plugins the cluster never uses. scripts/cluster/build.sh builds this file
// in a wrapper module that requires github.com/coredns/coredns.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/kubernetes"
)

func init() { dnsserver.Directives = []string{"errors", "cache", "kubernetes"} }

func main() { coremain.Run() }
