// Package examples holds the reference experiments (ecg/, pneumonia/), the
// small real sweep behind `make demo` (demo/), and the test that compiles
// each into its golden workflow.yaml.
package examples
