package images

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"parak8s.dev/parak8s/runtime/data/splitmix"
)

// Sample is one image file and its class label.
type Sample struct {
	Path  string
	Label int
}

// isImageName reports whether a file name has one of the extensions Scan
// lists (.png, .jpg, .jpeg, in any case).
func isImageName(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".png", ".jpg", ".jpeg":
		return true
	}
	return false
}

// Scan lists the images of dir in the layout dir/CLASS/*.png|jpg|jpeg.
// With classes empty, every folder of dir whose name does not start with "."
// is a class, in sorted order; otherwise classes gives the folders and their
// label order. A class folder that is missing or holds no image is an error
// naming it. Files with other extensions and sub-folders of a class folder
// are ignored; symbolic links to files and folders are followed. Samples
// come sorted by label, then by file name.
func Scan(dir string, classes []string) ([]string, []Sample, error) {
	if len(classes) == 0 {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, nil, fmt.Errorf("listing class folders of %q: %w", dir, err)
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				continue
			}
			if isDir(filepath.Join(dir, e.Name()), e) {
				classes = append(classes, e.Name())
			}
		}
		if len(classes) == 0 {
			return nil, nil, fmt.Errorf("listing class folders of %q: no class folder found", dir)
		}
		slices.Sort(classes)
	} else {
		classes = slices.Clone(classes)
		seen := make(map[string]bool, len(classes))
		for _, c := range classes {
			if c == "" || c == "." || c == ".." || strings.ContainsAny(c, `/\`) {
				return nil, nil, fmt.Errorf("checking class list: %q is not a folder name", c)
			}
			if seen[c] {
				return nil, nil, fmt.Errorf("checking class list: class %q is listed twice", c)
			}
			seen[c] = true
		}
	}
	var samples []Sample
	for label, c := range classes {
		cdir := filepath.Join(dir, c)
		entries, err := os.ReadDir(cdir)
		if err != nil {
			return nil, nil, fmt.Errorf("listing images of class %q in folder %q: %w", c, cdir, err)
		}
		n := 0
		for _, e := range entries { // os.ReadDir sorts by name
			if !isImageName(e.Name()) {
				continue
			}
			p := filepath.Join(cdir, e.Name())
			if isDir(p, e) {
				continue
			}
			samples = append(samples, Sample{Path: p, Label: label})
			n++
		}
		if n == 0 {
			return nil, nil, fmt.Errorf("listing images of class %q: folder %q holds no .png, .jpg or .jpeg file", c, cdir)
		}
	}
	return classes, samples, nil
}

// isDir reports whether the entry is a folder, following a symbolic link.
func isDir(path string, e os.DirEntry) bool {
	if e.Type()&os.ModeSymlink != 0 {
		fi, err := os.Stat(path)
		return err == nil && fi.IsDir()
	}
	return e.IsDir()
}

// SplitStratified splits samples into a kept part and a held-out part that
// holds round(frac × n) of the n samples of every class (at least 1 and at
// most n-1 when n >= 2; a class with a single sample stays in the kept part).
// The choice depends only on seed and on the set of samples, not on their
// order; both parts come sorted by label, then path. frac must be in (0,1).
func SplitStratified(samples []Sample, frac float64, seed uint64) (kept, held []Sample, err error) {
	if !(frac > 0 && frac < 1) {
		return nil, nil, fmt.Errorf("splitting samples: fraction must be in (0,1), got %v", frac)
	}
	sorted := slices.Clone(samples)
	slices.SortFunc(sorted, compareSamples)
	for i := 1; i < len(sorted); i++ {
		if sorted[i].Path == sorted[i-1].Path {
			return nil, nil, fmt.Errorf("splitting samples: %q is listed twice", sorted[i].Path)
		}
	}
	for start := 0; start < len(sorted); {
		end := start
		for end < len(sorted) && sorted[end].Label == sorted[start].Label {
			end++
		}
		class := sorted[start:end]
		n := len(class)
		h := int(math.Round(frac * float64(n)))
		if n >= 2 {
			h = min(max(h, 1), n-1)
		} else {
			h = 0
		}
		r := splitmix.New(seed, uint64(int64(sorted[start].Label)), 0x5eed5117)
		perm := make([]int, n)
		for i := range perm {
			perm[i] = i
		}
		for i := n - 1; i > 0; i-- {
			j := r.Intn(i + 1)
			perm[i], perm[j] = perm[j], perm[i]
		}
		for k, p := range perm {
			if k < h {
				held = append(held, class[p])
			} else {
				kept = append(kept, class[p])
			}
		}
		start = end
	}
	slices.SortFunc(kept, compareSamples)
	slices.SortFunc(held, compareSamples)
	if len(kept) == 0 || len(held) == 0 {
		return nil, nil, errors.New("splitting samples: too few samples to hold any out")
	}
	return kept, held, nil
}

func compareSamples(a, b Sample) int {
	if c := cmp.Compare(a.Label, b.Label); c != 0 {
		return c
	}
	return strings.Compare(a.Path, b.Path)
}
