package images

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"parak8s.dev/parak8s/internal/testenv"
)

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func greyImage(w, h int, f func(x, y int) uint8) *image.Gray {
	m := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetGray(x, y, color.Gray{Y: f(x, y)})
		}
	}
	return m
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestAxisWeights(t *testing.T) {
	tests := []struct {
		name  string
		n, m  int
		f     Filter
		start []int
		w     [][]float32
	}{
		{"area 4 to 2", 4, 2, FilterArea, []int{0, 2}, [][]float32{{0.5, 0.5}, {0.5, 0.5}}},
		{"area 3 to 2", 3, 2, FilterArea, []int{0, 1}, [][]float32{{2.0 / 3, 1.0 / 3}, {1.0 / 3, 2.0 / 3}}},
		{"area 2 to 4 is bilinear", 2, 4, FilterArea, []int{0, 0, 0, 1}, [][]float32{{1}, {0.75, 0.25}, {0.25, 0.75}, {1}}},
		{"bilinear 4 to 2", 4, 2, FilterBilinear, []int{0, 2}, [][]float32{{0.5, 0.5}, {0.5, 0.5}}},
		{"bilinear 8 to 2 skips pixels", 8, 2, FilterBilinear, []int{1, 5}, [][]float32{{0.5, 0.5}, {0.5, 0.5}}},
		{"area 8 to 2 covers all", 8, 2, FilterArea, []int{0, 4}, [][]float32{{0.25, 0.25, 0.25, 0.25}, {0.25, 0.25, 0.25, 0.25}}},
		{"identity", 3, 3, FilterBilinear, []int{0, 1, 2}, [][]float32{{1}, {1}, {1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAxisWeights(tc.n, tc.m, tc.f)
			if !slices.Equal(a.start, tc.start) {
				t.Fatalf("start = %v, want %v", a.start, tc.start)
			}
			for i, want := range tc.w {
				got := a.w[a.off[i]:a.off[i+1]]
				if len(got) != len(want) {
					t.Fatalf("output %d: weights %v, want %v", i, got, want)
				}
				for k := range got {
					if !near(float64(got[k]), float64(want[k]), 1e-6) {
						t.Fatalf("output %d: weights %v, want %v", i, got, want)
					}
				}
			}
		})
	}
}

func TestAxisWeightsSumToOne(t *testing.T) {
	for _, f := range []Filter{FilterArea, FilterBilinear} {
		for n := 1; n <= 40; n++ {
			for m := 1; m <= 40; m++ {
				a := newAxisWeights(n, m, f)
				for i := range m {
					ws := a.w[a.off[i]:a.off[i+1]]
					var s float64
					for _, w := range ws {
						s += float64(w)
						if w < 0 {
							t.Fatalf("%v %d->%d: negative weight", f, n, m)
						}
					}
					if !near(s, 1, 1e-5) || a.start[i] < 0 || a.start[i]+len(ws) > n {
						t.Fatalf("%v %d->%d output %d: weights %v from %d", f, n, m, i, ws, a.start[i])
					}
				}
			}
		}
	}
}

func TestResize(t *testing.T) {
	// A 4×4 grey ramp shrunk to 2×2 by area is the mean of each 2×2 block.
	src := planes{c: 1, w: 4, h: 4, pix: make([]float32, 16)}
	for i := range src.pix {
		src.pix[i] = float32(i) / 15
	}
	dst := make([]float32, 4)
	resize(src, 2, FilterArea, dst, nil)
	want := []float32{(0 + 1 + 4 + 5) / 60.0, (2 + 3 + 6 + 7) / 60.0, (8 + 9 + 12 + 13) / 60.0, (10 + 11 + 14 + 15) / 60.0}
	for i := range want {
		if !near(float64(dst[i]), float64(want[i]), 1e-6) {
			t.Fatalf("area 4->2 = %v, want %v", dst, want)
		}
	}
	// A constant 3-channel image stays constant at every size and filter.
	c := planes{c: 3, w: 7, h: 5, pix: make([]float32, 3*35)}
	for i := range c.pix {
		c.pix[i] = float32(i/35+1) / 4
	}
	for _, f := range []Filter{FilterArea, FilterBilinear} {
		for _, s := range []int{1, 3, 5, 7, 28, 64} {
			out := make([]float32, 3*s*s)
			resize(c, s, f, out, nil)
			for i, v := range out {
				if !near(float64(v), float64(i/(s*s)+1)/4, 1e-5) {
					t.Fatalf("%v to %d: value %d = %v", f, s, i, v)
				}
			}
		}
	}
}

func TestDecode(t *testing.T) {
	grey := greyImage(3, 2, func(x, y int) uint8 { return uint8(40*x + 100*y) })
	nrgba := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	nrgba.SetNRGBA(0, 0, color.NRGBA{R: 255, G: 0, B: 0, A: 128})
	nrgba.SetNRGBA(1, 0, color.NRGBA{R: 0, G: 255, B: 51, A: 255})
	g16 := image.NewGray16(image.Rect(0, 0, 1, 1))
	g16.SetGray16(0, 0, color.Gray16{Y: 65535})
	pal := image.NewPaletted(image.Rect(0, 0, 2, 1), color.Palette{color.Gray{Y: 0}, color.RGBA{R: 255, G: 255, B: 255, A: 255}})
	pal.SetColorIndex(1, 0, 1)
	flat := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := 0; i < len(flat.Pix); i += 4 {
		copy(flat.Pix[i:], []byte{200, 100, 50, 255})
	}
	tests := []struct {
		name     string
		data     []byte
		channels int
		want     []float32
		tol      float64
	}{
		{"png grey as grey", encodePNG(t, grey), 1, []float32{0, 40. / 255, 80. / 255, 100. / 255, 140. / 255, 180. / 255}, 1e-6},
		{"png grey as rgb", encodePNG(t, greyImage(1, 1, func(int, int) uint8 { return 51 })), 3, []float32{0.2, 0.2, 0.2}, 1e-6},
		{"png nrgba drops alpha", encodePNG(t, nrgba), 3, []float32{1, 0, 0, 1, 0, 0.2}, 1e-6},
		{"png nrgba luma", encodePNG(t, nrgba), 1, []float32{0.299, 0.587 + 0.114*0.2}, 1e-6},
		{"png gray16", encodePNG(t, g16), 1, []float32{1}, 1e-6},
		{"png paletted", encodePNG(t, pal), 1, []float32{0, 1}, 1e-6},
		{"jpeg colour as rgb", encodeJPEG(t, flat), 3, []float32{200. / 255, 100. / 255, 50. / 255}, 3. / 255},
		{"jpeg colour as grey", encodeJPEG(t, flat), 1, []float32{(0.299*200 + 0.587*100 + 0.114*50) / 255}, 3. / 255},
		{"jpeg grey", encodeJPEG(t, greyImage(8, 8, func(int, int) uint8 { return 77 })), 1, []float32{77. / 255}, 2. / 255},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := decode(tc.data, tc.channels, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if p.c != tc.channels {
				t.Fatalf("channels = %d, want %d", p.c, tc.channels)
			}
			n := p.w * p.h
			if len(tc.want) == tc.channels { // one value per channel: check every pixel
				for c := range tc.channels {
					for k := range n {
						if !near(float64(p.pix[c*n+k]), float64(tc.want[c]), tc.tol) {
							t.Fatalf("channel %d pixel %d = %v, want %v", c, k, p.pix[c*n+k], tc.want[c])
						}
					}
				}
				return
			}
			if len(p.pix) != len(tc.want) {
				t.Fatalf("got %d values, want %d", len(p.pix), len(tc.want))
			}
			for i := range tc.want {
				if !near(float64(p.pix[i]), float64(tc.want[i]), tc.tol) {
					t.Fatalf("values = %v, want %v", p.pix, tc.want)
				}
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	big := encodePNG(t, greyImage(100, 100, func(int, int) uint8 { return 1 }))
	tests := []struct {
		name  string
		data  []byte
		limit int
		want  string
	}{
		{"empty", nil, 1 << 20, "not a PNG or JPEG"},
		{"text", []byte("hello"), 1 << 20, "not a PNG or JPEG"},
		{"truncated header", big[:20], 1 << 20, "reading image header"},
		{"truncated pixels", big[:len(big)-20], 1 << 20, "decoding image"},
		{"too many pixels", big, 5000, "more than the limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decode(tc.data, 1, tc.limit)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// makeTree writes root/CLASS/NAME.png for every class with n grey images
// whose value is 10*label + k.
func makeTree(t testing.TB, root string, classes []string, n int, side int) {
	t.Helper()
	for label, c := range classes {
		for k := range n {
			v := uint8(10*label + k)
			writeFile(t, filepath.Join(root, c, fmt.Sprintf("img%02d.png", k)),
				encodePNG(t, greyImage(side, side, func(int, int) uint8 { return v })))
		}
	}
}

func TestScan(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, []string{"b", "a"}, 2, 4)
	writeFile(t, filepath.Join(root, "a", "notes.txt"), []byte("x"))
	writeFile(t, filepath.Join(root, "a", "upper.JPEG"), encodeJPEG(t, greyImage(4, 4, func(int, int) uint8 { return 9 })))
	writeFile(t, filepath.Join(root, ".hidden", "x.png"), []byte("x"))
	if err := os.MkdirAll(filepath.Join(root, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "empty", "readme.md"), []byte("x"))
	tests := []struct {
		name    string
		classes []string
		want    []string
		counts  []int
		errHas  string
	}{
		{"sorted folders, empty one refused", nil, nil, nil, filepath.Join(root, "empty")},
		{"explicit order", []string{"b", "a"}, []string{"b", "a"}, []int{2, 3}, ""},
		{"explicit subset", []string{"a"}, []string{"a"}, []int{3}, ""},
		{"missing class", []string{"a", "c"}, nil, nil, filepath.Join(root, "c")},
		{"duplicate class", []string{"a", "a"}, nil, nil, "twice"},
		{"path as class", []string{"../a"}, nil, nil, "not a folder name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			classes, samples, err := Scan(root, tc.classes)
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("error = %v, want one naming %q", err, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(classes, tc.want) {
				t.Fatalf("classes = %v, want %v", classes, tc.want)
			}
			counts := make([]int, len(classes))
			for _, s := range samples {
				counts[s.Label]++
				if filepath.Base(filepath.Dir(s.Path)) != classes[s.Label] {
					t.Fatalf("sample %q labelled %q", s.Path, classes[s.Label])
				}
			}
			if !slices.Equal(counts, tc.counts) {
				t.Fatalf("counts = %v, want %v", counts, tc.counts)
			}
		})
	}
	if err := os.RemoveAll(filepath.Join(root, "empty")); err != nil {
		t.Fatal(err)
	}
	classes, samples, err := Scan(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(classes, []string{"a", "b"}) || len(samples) != 5 {
		t.Fatalf("classes %v, %d samples; want [a b], 5", classes, len(samples))
	}
	if !slices.IsSortedFunc(samples, compareSamples) {
		t.Fatalf("samples not sorted: %v", samples)
	}
}

func TestSplitStratified(t *testing.T) {
	var all []Sample
	counts := []int{10, 31, 1, 2}
	for label, n := range counts {
		for k := range n {
			all = append(all, Sample{Path: fmt.Sprintf("c%d/%03d.png", label, k), Label: label})
		}
	}
	kept, held, err := SplitStratified(all, 0.2, 7)
	if err != nil {
		t.Fatal(err)
	}
	wantHeld := []int{2, 6, 0, 1} // round(0.2n), at least 1 and at most n-1 when n >= 2
	got := make([]int, len(counts))
	for _, s := range held {
		got[s.Label]++
	}
	if !slices.Equal(got, wantHeld) {
		t.Fatalf("held per class = %v, want %v", got, wantHeld)
	}
	union := append(slices.Clone(kept), held...)
	slices.SortFunc(union, compareSamples)
	if !slices.Equal(union, all) {
		t.Fatal("kept and held are not a partition of the samples")
	}
	// Same seed, reversed input: same split.
	rev := slices.Clone(all)
	slices.Reverse(rev)
	kept2, held2, err := SplitStratified(rev, 0.2, 7)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(kept, kept2) || !slices.Equal(held, held2) {
		t.Fatal("split depends on input order")
	}
	_, held3, err := SplitStratified(all, 0.2, 8)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(held, held3) {
		t.Fatal("seeds 7 and 8 hold out the same samples")
	}
	for _, f := range []float64{0, 1, -0.1, math.NaN()} {
		if _, _, err := SplitStratified(all, f, 1); err == nil {
			t.Fatalf("fraction %v accepted", f)
		}
	}
	if _, _, err := SplitStratified([]Sample{{"a", 0}, {"a", 0}}, 0.5, 1); err == nil {
		t.Fatal("duplicate path accepted")
	}
}

func TestGet(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, []string{"NORMAL", "PNEUMONIA"}, 3, 28)
	writeFile(t, filepath.Join(root, "PNEUMONIA", "zbroken.png"), []byte("\x89PNG\r\n\x1a\nbroken"))
	for _, cache := range []bool{false, true} {
		t.Run(fmt.Sprintf("cache=%v", cache), func(t *testing.T) {
			opts := DefaultOptions()
			opts.Size = 14
			opts.Channels = 3
			opts.Mean = []float32{0, 0.5, 1}
			opts.Std = []float32{1, 0.5, 0.25}
			opts.Cache = cache
			ds, err := OpenDir(root, opts)
			if err != nil {
				t.Fatal(err)
			}
			if ds.Len() != 7 || !slices.Equal(ds.ClassCounts(), []int{3, 4}) {
				t.Fatalf("len %d counts %v", ds.Len(), ds.ClassCounts())
			}
			dst := make([]float32, ds.SampleSize())
			for rep := range 2 {
				label, err := ds.Get(4, rep, dst) // PNEUMONIA/img01.png, value 11
				if err != nil {
					t.Fatal(err)
				}
				if label != 1 {
					t.Fatalf("label = %d, want 1", label)
				}
				v := 11.0 / 255
				want := []float64{v, (v - 0.5) / 0.5, (v - 1) / 0.25}
				for c := range 3 {
					for k := range 14 * 14 {
						if !near(float64(dst[c*196+k]), want[c], 1e-5) {
							t.Fatalf("channel %d value %v, want %v", c, dst[c*196+k], want[c])
						}
					}
				}
			}
			_, err = ds.Get(6, 0, dst)
			if err == nil || !strings.Contains(err.Error(), "zbroken.png") {
				t.Fatalf("broken image error = %v, want one naming the file", err)
			}
			if _, err := ds.Get(7, 0, dst); err == nil {
				t.Fatal("index out of range accepted")
			}
			if _, err := ds.Get(0, 0, dst[:10]); err == nil {
				t.Fatal("short destination accepted")
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Options)
		ok   bool
	}{
		{"default", func(*Options) {}, true},
		{"rgb one mean", func(o *Options) { o.Channels = 3 }, true},
		{"channels 2", func(o *Options) { o.Channels = 2 }, false},
		{"size 0", func(o *Options) { o.Size = 0 }, false},
		{"std 0", func(o *Options) { o.Std = []float32{0} }, false},
		{"two means for grey", func(o *Options) { o.Mean = []float32{0, 1} }, false},
		{"nan mean", func(o *Options) { o.Mean = []float32{float32(math.NaN())} }, false},
		{"negative rotate", func(o *Options) { o.Augment.Rotate = -1 }, false},
		{"zoom 1", func(o *Options) { o.Augment.Zoom = 1 }, false},
		{"bad filter", func(o *Options) { o.Filter = 9 }, false},
		{"default augment", func(o *Options) { o.Augment = DefaultAugment() }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			tc.edit(&o)
			if err := o.validate(); (err == nil) != tc.ok {
				t.Fatalf("validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestWarp(t *testing.T) {
	const s = 6
	src := make([]float32, s*s)
	for i := range src {
		src[i] = float32(i) / float32(s*s)
	}
	at := func(p []float32, x, y int) float32 { return p[y*s+x] }
	dst := make([]float32, s*s)
	tests := []struct {
		name string
		d    draw
		fill Fill
		want func(x, y int) float32
	}{
		{"identity", draw{scale: 1}, FillZero, func(x, y int) float32 { return at(src, x, y) }},
		{"flip", draw{scale: 1, flip: true}, FillZero, func(x, y int) float32 { return at(src, s-1-x, y) }},
		{"shift right zero fill", draw{scale: 1, tx: 2}, FillZero, func(x, y int) float32 {
			if x < 2 {
				return 0
			}
			return at(src, x-2, y)
		}},
		{"shift down edge fill", draw{scale: 1, ty: 1}, FillEdge, func(x, y int) float32 { return at(src, x, max(y-1, 0)) }},
		// Rotating by +90° in image coordinates (y down) sends (x,y) about
		// the centre to (s-1-y, x); the output at (x,y) reads (y, s-1-x).
		{"rotate 90", draw{scale: 1, angle: math.Pi / 2}, FillZero, func(x, y int) float32 { return at(src, y, s-1-x) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			warp(src, dst, 1, s, tc.d, tc.fill)
			for y := range s {
				for x := range s {
					if !near(float64(at(dst, x, y)), float64(tc.want(x, y)), 1e-5) {
						t.Fatalf("(%d,%d) = %v, want %v", x, y, at(dst, x, y), tc.want(x, y))
					}
				}
			}
		})
	}
}

func TestJitter(t *testing.T) {
	pix := []float32{0, 0.5, 1}
	jitter(pix, draw{brightness: 0.1, contrast: 2})
	want := []float32{0, 0.6, 1} // mean 0.5: (-0.5*2+0.6 → 0 clamped), 0.6, (1.6 → 1)
	for i := range want {
		if !near(float64(pix[i]), float64(want[i]), 1e-6) {
			t.Fatalf("jitter = %v, want %v", pix, want)
		}
	}
}

func TestAugmentation(t *testing.T) {
	root := t.TempDir()
	// An asymmetric image so that flips, shifts and rotations show.
	writeFile(t, filepath.Join(root, "A", "x.png"), encodePNG(t, greyImage(20, 20, func(x, y int) uint8 { return uint8(x*10 + y) })))
	writeFile(t, filepath.Join(root, "A", "y.png"), encodePNG(t, greyImage(20, 20, func(x, y int) uint8 { return uint8(200 - x*5 - y*3) })))
	get := func(a Augment, i, epoch int) []float32 {
		t.Helper()
		opts := DefaultOptions()
		opts.Size = 16
		opts.Augment = a
		ds, err := OpenDir(root, opts)
		if err != nil {
			t.Fatal(err)
		}
		dst := make([]float32, ds.SampleSize())
		if _, err := ds.Get(i, epoch, dst); err != nil {
			t.Fatal(err)
		}
		return dst
	}
	plain := get(Augment{}, 0, 0)
	aug := DefaultAugment()
	aug.Seed = 42
	a1 := get(aug, 0, 3)
	if !slices.Equal(a1, get(aug, 0, 3)) {
		t.Fatal("same seed, epoch and index gave different images")
	}
	if slices.Equal(a1, plain) {
		t.Fatal("augmentation changed nothing")
	}
	if slices.Equal(a1, get(aug, 0, 4)) {
		t.Fatal("epochs 3 and 4 gave the same augmentation")
	}
	other := aug
	other.Seed = 43
	if slices.Equal(a1, get(other, 0, 3)) {
		t.Fatal("seeds 42 and 43 gave the same augmentation")
	}
	// Enabled with every transform off is the identity.
	if !slices.Equal(plain, get(Augment{Enabled: true, Seed: 1}, 0, 0)) {
		t.Fatal("enabled augmentation with all transforms off changed the image")
	}
	// Flip only: never flips unless HFlip; with HFlip, some epochs flip exactly.
	flips := 0
	for epoch := range 16 {
		got := get(Augment{Enabled: true, Seed: 5, HFlip: true}, 0, epoch)
		if slices.Equal(got, plain) {
			continue
		}
		flips++
		for y := range 16 {
			for x := range 16 {
				if !near(float64(got[y*16+x]), float64(plain[y*16+15-x]), 1e-5) {
					t.Fatalf("epoch %d: flipped image is not the mirror", epoch)
				}
			}
		}
	}
	if flips == 0 || flips == 16 {
		t.Fatalf("%d of 16 epochs flipped, want some but not all", flips)
	}
	// Disabling a transform leaves the others' draws unchanged.
	d1 := aug.drawFor(3, 0, 16)
	noRot := aug
	noRot.Rotate = 0
	d2 := noRot.drawFor(3, 0, 16)
	if d2.angle != 0 || d1.scale != d2.scale || d1.tx != d2.tx || d1.brightness != d2.brightness {
		t.Fatalf("disabling rotation changed other draws: %+v vs %+v", d1, d2)
	}
	// Draws stay in their ranges.
	for i := range 1000 {
		d := aug.drawFor(i%7, i, 28)
		if math.Abs(d.angle) > 10*math.Pi/180 || math.Abs(d.scale-1) > 0.1 || math.Abs(d.tx) > 2.8 || math.Abs(d.ty) > 2.8 ||
			d.flip || math.Abs(float64(d.brightness)) > 0.1 || math.Abs(float64(d.contrast)-1) > 0.1 {
			t.Fatalf("draw %d out of range: %+v", i, d)
		}
	}
}

// TestView: view 0 is the images; other views are fixed warps of the
// augmentation's geometry, the same for every image and every call, which
// commute with normalisation (edge fill); odd views flip with HFlip.
func TestView(t *testing.T) {
	const size, c, samples = 12, 2, 3
	src := make([]float32, samples*c*size*size)
	for i := range src {
		src[i] = float32((i*37)%101) / 100
	}
	aug := DefaultAugment()
	aug.Brightness, aug.Contrast = 0.5, 0.5 // must not touch the views
	view := func(a Augment, x []float32, v int) []float32 {
		dst := make([]float32, len(x))
		a.View(x, dst, len(x)/(c*size*size), c, size, v)
		return dst
	}
	if !slices.Equal(view(aug, src, 0), src) {
		t.Fatal("view 0 is not the images themselves")
	}
	seen := [][]float32{src}
	for v := 1; v < 6; v++ {
		got := view(aug, src, v)
		if !slices.Equal(got, view(aug, src, v)) {
			t.Fatalf("view %d differs between calls", v)
		}
		for j, s := range seen {
			if slices.Equal(got, s) {
				t.Fatalf("view %d equals view %d", v, j)
			}
		}
		seen = append(seen, got)
		// The same warp for every image: the second image's view is the
		// view of the second image alone.
		n := c * size * size
		if !slices.Equal(got[n:2*n], view(aug, src[n:2*n], v)) {
			t.Fatalf("view %d warps images differently", v)
		}
		// Normalising commutes with the warp, so views of normalised
		// tensors are the normalised views.
		norm := func(x []float32) []float32 {
			out := make([]float32, len(x))
			for i, p := range x {
				out[i] = (p - 0.5) / 0.25
			}
			return out
		}
		a, b := view(aug, norm(src), v), norm(got)
		for i := range a {
			if !near(float64(a[i]), float64(b[i]), 1e-4) {
				t.Fatalf("view %d: warp of the normalised image %v, normalised warp %v at %d", v, a[i], b[i], i)
			}
		}
	}
	// No geometry: every view is the image.
	if !slices.Equal(view(Augment{Enabled: true, Brightness: 0.3}, src, 3), src) {
		t.Fatal("a view without geometry changed the images")
	}
	// HFlip only: odd views are mirrors, even views the image.
	flip := Augment{Enabled: true, HFlip: true}
	one, two := view(flip, src, 1), view(flip, src, 2)
	if !slices.Equal(two, src) {
		t.Fatal("view 2 of a flip-only augmentation is not the image")
	}
	for p := range samples * c {
		for y := range size {
			for x := range size {
				if one[p*size*size+y*size+x] != src[p*size*size+y*size+size-1-x] {
					t.Fatalf("view 1 of a flip-only augmentation is not the mirror at plane %d (%d,%d)", p, x, y)
				}
			}
		}
	}
}

func TestRealPneumonia(t *testing.T) {
	dir := testenv.Pneumonia(t)
	opts := DefaultOptions()
	opts.Size = 64
	opts.Augment = DefaultAugment()
	ds, err := Open(dir, "train", opts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ds.Classes(), []string{"NORMAL", "PNEUMONIA"}) || !slices.Equal(ds.ClassCounts(), []int{1214, 3494}) {
		t.Fatalf("classes %v counts %v", ds.Classes(), ds.ClassCounts())
	}
	// Concurrent Gets of the same samples agree (run with -race).
	var wg sync.WaitGroup
	outs := make([][]float32, 4)
	errs := make([]error, 4)
	for g := range outs {
		wg.Go(func() {
			outs[g] = make([]float32, ds.SampleSize()*50)
			for i := range 50 {
				_, err := ds.Get(i*90, 1, outs[g][i*ds.SampleSize():(i+1)*ds.SampleSize()])
				if err != nil {
					errs[g] = err
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for g := 1; g < len(outs); g++ {
		if !slices.Equal(outs[0], outs[g]) {
			t.Fatal("concurrent Gets disagree")
		}
	}
	for _, v := range outs[0] {
		if math.IsNaN(float64(v)) || v < -1-1e-6 || v > 1+1e-6 {
			t.Fatalf("value %v outside [-1,1]", v)
		}
	}
	val, err := Open(dir, "val", DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	mean, std, err := val.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(mean) != 1 || mean[0] < 0.2 || mean[0] > 0.8 || std[0] < 0.05 || std[0] > 0.5 {
		t.Fatalf("val stats mean %v std %v look wrong for chest X-rays", mean, std)
	}
	kept, held, err := SplitStratified(ds.Samples(), 0.1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(kept)+len(held) != ds.Len() || len(held) != 121+349 {
		t.Fatalf("split %d/%d", len(kept), len(held))
	}
	t.Logf("val mean %.4f std %.4f", mean[0], std[0])
}

func FuzzDecode(f *testing.F) {
	f.Add(encodePNG(f, greyImage(3, 2, func(x, y int) uint8 { return uint8(x + y) })))
	rgba := image.NewNRGBA(image.Rect(0, 0, 2, 2))
	rgba.Pix[3] = 200
	f.Add(encodePNG(f, rgba))
	f.Add(encodeJPEG(f, greyImage(8, 8, func(x, y int) uint8 { return uint8(x * y) })))
	f.Add(encodeJPEG(f, image.NewYCbCr(image.Rect(0, 0, 9, 7), image.YCbCrSubsampleRatio420)))
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, ch := range []int{1, 3} {
			p, err := decode(data, ch, 1<<16)
			if err != nil {
				continue
			}
			if p.c != ch || p.w < 1 || p.h < 1 || len(p.pix) != ch*p.w*p.h || p.w*p.h > 1<<16 {
				t.Fatalf("bad planes %dx%dx%d with %d values", p.c, p.w, p.h, len(p.pix))
			}
			for _, v := range p.pix {
				if !(v >= 0 && v <= 1+1e-6) {
					t.Fatalf("value %v outside [0,1]", v)
				}
			}
			out := make([]float32, ch*9)
			resize(p, 3, FilterArea, out, nil)
		}
	})
}
