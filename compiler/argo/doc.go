// Package argo turns a plan.Plan into Argo Workflows: one DAG whose entry
// template prepares each distinct dataset once and fans out the trials that
// use it with withItems (each item carries only the trial id and its swept
// values), one template per step kind (from package templates), the
// experiment's resolved config passed once as a raw artifact, and every
// Argo-level setting of the spec (parallelism, retries, deadlines, pod GC,
// TTL, security); a sweep too large for one workflow is split into shards.
// Argo's own validator checks what Emit writes in the tests (internal/argolint),
// not at compile time: see that package for why.
package argo
