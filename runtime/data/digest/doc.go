// Package digest computes the content digest of a dataset: the value that,
// with the trial config, the image digest and the seed, makes up a trial id.
//
// A Manifest lists every regular file of a tree by its slash-separated path
// relative to the root, its size and the SHA-256 of its bytes, sorted by path
// (byte order). Its canonical text is
//
//	parak8s-manifest v1
//	<sha256 hex> <size> <path>
//	…
//
// one line per file, each ended by "\n", lower-case hex, the size in decimal
// without leading zeros, and the path last so that it may contain spaces. The
// digest is "sha256:" followed by the hex SHA-256 of that text. It therefore
// depends on file names, sizes and contents only: not on the order the walk
// met files, modification times, permissions, owners or empty folders. A
// renamed or moved file, a changed byte, and an added or removed file all
// change it.
//
// Paths must be valid UTF-8 without control characters or backslashes;
// a tree holding any other name is refused rather than silently encoded.
//
// # Symbolic links
//
// All reads go through an os.Root opened on the root, so no path can escape
// the tree; the root itself may be a symbolic link. What happens to links
// inside the tree is set by Options.Symlinks:
//
//   - SymlinksReject (default): a link anywhere in the tree is an error, so the
//     digest always describes bytes that live in the tree;
//   - SymlinksSkip: links are left out of the manifest;
//   - SymlinksFollow: a link to a regular file is hashed as that file's
//     content under the link's own path; a link to a folder is an error (it is
//     never descended, so no cycle is possible), and so is a link that is
//     absolute or leads outside the root.
//
// Other non-regular files (devices, sockets, pipes) are always an error.
//
// Hashing runs on Options.Workers goroutines; a file whose size changes
// while it is hashed is an error.
package digest
