// Package examples holds the reference experiments (ecg/, pneumonia/; ecg-cv/
// cross-validates the ECG one, ecg-csv/ reads beat CSVs, ecg-svdb/ trains it
// on a second database too), the
// small real sweep behind `make demo` (demo/), and the test that compiles
// each into its golden workflow.yaml.
package examples
