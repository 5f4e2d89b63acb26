// Package kyaml writes Kubernetes objects (workflows, platform manifests) as
// YAML the way a person would: keys sorted, no nulls, no empty objects or
// lists from Go's zero values, so output is short and deterministic.
package kyaml
