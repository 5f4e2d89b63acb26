package model

// #include <stdint.h>
// void at_set_num_threads(int n_threads);
// void at_manual_seed(int64_t seed);
import "C"

import "runtime"

// Libtorch is the libtorch version gotch v0.9.1 is built against.
const Libtorch = "2.1.2"

// SetThreads sets libtorch's intra-op thread count; n <= 0 uses the number of
// CPUs. It returns the count set.
func SetThreads(n int) int {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	C.at_set_num_threads(C.int(n))
	return n
}

// Seed seeds libtorch's generators (initial weights, dropout).
func Seed(seed int64) { C.at_manual_seed(C.int64_t(seed)) }
