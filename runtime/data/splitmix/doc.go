// Package splitmix is the random number generator behind every seeded
// choice in the data pipeline: the loader's shuffles, image augmentations
// and image splits. It is splitmix64: tiny, allocation-free and fixed, so
// that a trial's shuffles and augmentations never change under a new Go
// toolchain.
package splitmix
