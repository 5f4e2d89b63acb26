// Package examples holds the reference experiments (ecg/, pneumonia/) and the
// test that compiles each into its golden workflow.yaml.
package examples
