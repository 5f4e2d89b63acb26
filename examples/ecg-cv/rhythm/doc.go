// Package rhythm makes up the beat times of the synthetic rhythms the ECG
// research harnesses (examples/ecg-cv/rrprobe, examples/ecg-cv/splice)
// check a model on: rhythms DS1 lacks or holds only a little of. Each takes
// its draws from the generator it is given, so a seed gives one rhythm.
package rhythm
