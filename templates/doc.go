// Package templates says how each step kind becomes a container in an Argo
// workflow: its image, command line, environment (secrets by reference only),
// volumes, resources, retry strategy, deadlines, security context, inputs and
// outputs. It is the one place that knows; the compiler's emitter only wires
// these templates into a DAG.
package templates
