// Command bench measures the compiler side by side with its peer in one run
// (the machines are noisy: compare the ratios, not the absolute times):
//
//   - `cue export` of the ECG example vs `parac compile` of it (process wall
//     time, median of interleaved runs, and their ratio);
//   - `parac compile` of generated 1,000- and 10,000-trial sweeps (time, bytes
//     of YAML, number of workflows).
//
// It prints a table and writes every figure to out/bench.json. Run it with
// `make bench`, which builds bin/parac and bin/cue first.
package main
