package dataset

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"parak8s.dev/parak8s/runtime/data/images"
	"parak8s.dev/parak8s/schema"
)

// imageSource is what an image source yields: the samples of each split and
// the source files they come from.
type imageSource struct {
	classes []string
	splits  map[string][]images.Sample // absolute paths
	root    string
	files   []string // relative to root, slash-separated
}

// loadImages lists the images of each split of the folder path.
func loadImages(path string, classes []string, sp splitSpec) (*imageSource, error) {
	src := &imageSource{splits: map[string][]images.Sample{}, root: path}
	switch sp.by {
	case schema.SplitByFolder:
		for _, n := range sp.names() {
			folder := filepath.Join(path, sp.folders[n])
			st, err := os.Stat(folder)
			if err != nil {
				return nil, fmt.Errorf("data.split.%s: folder %q: %w", n, sp.folders[n], err)
			}
			if !st.IsDir() {
				return nil, fmt.Errorf("data.split.%s: %s is not a folder", n, folder)
			}
			cls, samples, err := images.Scan(folder, classes)
			if err != nil {
				return nil, fmt.Errorf("data.split.%s: %w", n, err)
			}
			classes = cls // the train folder's classes fix the others'
			src.splits[n] = samples
		}
	case schema.SplitByFraction:
		cls, samples, err := images.Scan(path, classes)
		if err != nil {
			return nil, fmt.Errorf("data.split.by %q reads PATH/CLASS/*.png|jpg (for split folders use %q): %w", schema.SplitByFraction, schema.SplitByFolder, err)
		}
		classes = cls
		names := sp.names()
		fractions := make([]float64, len(names))
		for i, n := range names {
			fractions[i] = sp.fractions[n]
		}
		labels := make([]int, len(samples))
		keys := make([]string, len(samples))
		for i, s := range samples {
			rel, err := filepath.Rel(path, s.Path)
			if err != nil {
				return nil, fmt.Errorf("listing images of %s: %w", path, err)
			}
			labels[i], keys[i] = s.Label, filepath.ToSlash(rel)
		}
		part := stratify(labels, keys, sp.seed, fractions)
		for i, s := range samples {
			n := names[part[i]]
			src.splits[n] = append(src.splits[n], s)
		}
	default:
		return nil, fmt.Errorf("data.split.by: %q: image folders have no records; use %q or %q", sp.by, schema.SplitByFolder, schema.SplitByFraction)
	}
	src.classes = classes
	for _, n := range SplitNames() {
		for _, s := range src.splits[n] {
			rel, err := filepath.Rel(path, s.Path)
			if err != nil {
				return nil, fmt.Errorf("listing images of %s: %w", path, err)
			}
			src.files = append(src.files, filepath.ToSlash(rel))
		}
	}
	return src, nil
}

// counts returns the number of samples per class.
func sampleCounts(samples []images.Sample, k int) []int {
	c := make([]int, k)
	for _, s := range samples {
		c[s.Label]++
	}
	return c
}

// copyImages copies the samples of a split into dir/SPLIT/CLASS/, bytes
// unchanged.
func copyImages(ctx context.Context, dir, split string, classes []string, samples []images.Sample) error {
	for _, c := range classes {
		if err := os.MkdirAll(filepath.Join(dir, split, c), 0o755); err != nil {
			return fmt.Errorf("copying images: %w", err)
		}
	}
	for _, s := range samples {
		if err := ctx.Err(); err != nil {
			return err
		}
		dst := filepath.Join(dir, split, classes[s.Label], filepath.Base(s.Path))
		if err := copyFile(s.Path, dst); err != nil {
			return fmt.Errorf("copying images: %w", err)
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("copying %s to %s: %w", src, dst, err)
	}
	return nil
}
