// Package examples holds the reference experiments (ecg/, pneumonia/; ecg-cv/
// cross-validates the ECG one, ecg-csv/ reads beat CSVs), the
// small real sweep behind `make demo` (demo/), and the test that compiles
// each into its golden workflow.yaml.
package examples
