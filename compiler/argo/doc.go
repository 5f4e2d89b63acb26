// Package argo turns a plan.Plan into Argo Workflows: one DAG whose entry
// template prepares each distinct dataset once and fans out the trials that
// use it with withItems (each item carries only the trial id and its swept
// values), one template per step kind (from package templates), the
// experiment's resolved config passed once as a raw artifact, and every
// Argo-level setting of the spec (parallelism, retries, deadlines, pod GC,
// TTL, security). Every workflow is checked with Argo's own validator before it
// is returned, and a sweep too large for one workflow is split into shards.
package argo
