// Package images builds the step images (`parak8s` and the libtorch shared
// libraries it needs) with go-containerregistry, without a Docker daemon, the
// way ko builds Go images: layers are plain tar streams with fixed
// timestamps, owners and file order, so building twice gives the same digest.
//
// An image has up to three layers, from least to most often changed:
//
//  1. runtime: the C/C++ runtime the binary links (libc, libstdc++, the
//     dynamic loader, …), found from its ELF dependencies, plus /etc/passwd,
//     /etc/group, /tmp and the working directory, each only when the base
//     image lacks it;
//  2. libtorch: every other shared library the binary needs, in LibDir (the
//     CUDA variant takes each library directory whole, for the libraries
//     CUDA loads at run time);
//  3. app: the binary itself, in BinDir.
//
// Resolve turns image tags into digest-pinned references for
// `parac compile --resolve`.
package images
