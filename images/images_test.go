package images

import (
	"archive/tar"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"parak8s.dev/parak8s/internal/testenv"
)

// tarLayer is a layer of the given headers (regular files are empty).
func tarLayer(t *testing.T, hs ...tar.Header) v1.Layer {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, h := range hs {
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return static.NewLayer(b.Bytes(), types.OCIUncompressedLayer)
}

func TestIndexHas(t *testing.T) {
	// A merged-/usr base in two layers; the second deletes a file.
	img, err := mutate.AppendLayers(empty.Image,
		tarLayer(t,
			tar.Header{Name: "usr/", Typeflag: tar.TypeDir},
			tar.Header{Name: "usr/lib/x86_64-linux-gnu/libc.so.6"},
			tar.Header{Name: "usr/lib/x86_64-linux-gnu/libstdc++.so.6", Typeflag: tar.TypeSymlink, Linkname: "libstdc++.so.6.0.30"},
			tar.Header{Name: "usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30"},
			tar.Header{Name: "usr/lib/x86_64-linux-gnu/libgone.so.1"},
			tar.Header{Name: "lib", Typeflag: tar.TypeSymlink, Linkname: "usr/lib"},
			tar.Header{Name: "lib64", Typeflag: tar.TypeSymlink, Linkname: "/usr/lib64"},
			tar.Header{Name: "usr/lib64/ld-linux-x86-64.so.2", Typeflag: tar.TypeSymlink, Linkname: "../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"},
			tar.Header{Name: "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"},
			tar.Header{Name: "loop", Typeflag: tar.TypeSymlink, Linkname: "loop"},
			tar.Header{Name: "etc/passwd"},
		),
		tarLayer(t, tar.Header{Name: "usr/lib/x86_64-linux-gnu/.wh.libgone.so.1"}),
	)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := index(img)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"/etc/passwd", true},
		{"/etc/group", false},
		{"/usr/lib/x86_64-linux-gnu/libc.so.6", true},
		{"/lib/x86_64-linux-gnu/libc.so.6", true},               // through the /lib link
		{"/lib/x86_64-linux-gnu/libstdc++.so.6", true},          // link to a link's target
		{"/lib64/ld-linux-x86-64.so.2", true},                   // absolute, then relative link
		{"/usr/lib/x86_64-linux-gnu/libgone.so.1", false},       // whited out
		{"/usr/lib/x86_64-linux-gnu/../x86_64-linux-gnu", true}, // cleaned
		{"/loop/x", false},                                      // a link loop ends
		{"/", true},
	} {
		if got := ix.has(tc.path); got != tc.want {
			t.Errorf("has(%s) = %v, want %v", tc.path, got, tc.want)
		}
	}
	if !ix.hasLib("libstdc++.so.6") || ix.hasLib("libtorch_cpu.so") {
		t.Errorf("hasLib: libstdc++ %v, libtorch_cpu %v", ix.hasLib("libstdc++.so.6"), ix.hasLib("libtorch_cpu.so"))
	}
}

func TestEnvironment(t *testing.T) {
	for _, tc := range []struct {
		name string
		base []string
		v    Variant
		want []string
	}{
		{"scratch", nil, CPU, []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LD_LIBRARY_PATH=/opt/parak8s/lib", "HOME=/home/nonroot"}},
		{"debian", []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}, CPU,
			[]string{"PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "LD_LIBRARY_PATH=/opt/parak8s/lib", "HOME=/home/nonroot"}},
		{"cuda base keeps the driver's libraries", []string{"PATH=/usr/bin", "LD_LIBRARY_PATH=/usr/local/nvidia/lib:/usr/local/nvidia/lib64", "NVIDIA_VISIBLE_DEVICES=all"}, CUDA,
			[]string{"PATH=/usr/local/bin:/usr/bin", "LD_LIBRARY_PATH=/opt/parak8s/lib:/usr/local/nvidia/lib:/usr/local/nvidia/lib64", "NVIDIA_VISIBLE_DEVICES=all", "HOME=/home/nonroot", "NVIDIA_DRIVER_CAPABILITIES=compute,utility"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := environment(tc.base, tc.v); !slices.Equal(got, tc.want) {
				t.Errorf("environment:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestDeps(t *testing.T) {
	dir := t.TempDir()
	static := filepath.Join(dir, "static")
	if err := testenv.GoBuild([]string{"CGO_ENABLED=0"}, "-o", static, "./testdata/hello"); err != nil {
		t.Fatal(err)
	}
	interp, libs, err := Deps(static)
	if err != nil || interp != "" || len(libs) != 0 {
		t.Errorf("static binary: %q %v %v, want no interpreter, no libraries", interp, libs, err)
	}

	// A system program: its libraries come from the system directories.
	if interp, libs, err := Deps("/bin/true"); err != nil || interp == "" || !slices.ContainsFunc(libs, func(l Lib) bool { return l.Name == "libc.so.6" && l.System }) {
		t.Errorf("/bin/true: %q %v %v, want an interpreter and the system libc", interp, libs, err)
	}

	notELF := filepath.Join(dir, "script.sh")
	if err := os.WriteFile(notELF, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Deps(notELF); err == nil || !strings.Contains(err.Error(), notELF) {
		t.Errorf("Deps(a script) = %v, want an error naming it", err)
	}
	if _, err := Build(Options{Binary: static, Variant: "gpu"}); err == nil || !strings.Contains(err.Error(), `variant "gpu"`) {
		t.Errorf("Build(variant gpu) = %v", err)
	}
	if _, err := Build(Options{Binary: static, Variant: CUDA}); err == nil || !strings.Contains(err.Error(), "base") {
		t.Errorf("Build(cuda, no base) = %v, want the base asked for", err)
	}
	if _, err := Build(Options{Binary: static, Variant: CUDA, Base: empty.Image}); err == nil || !strings.Contains(err.Error(), "CPU build") {
		t.Errorf("Build(cuda, CPU binary) = %v", err)
	}
}

// TestBuildCUDA builds the CUDA variant of a small C program that links a
// stand-in libtorch_cuda.so, on a base that has the C runtime: the C
// runtime is left to the base, the library directory comes whole (with a
// library nothing names, as cuDNN's parts are), and the NVIDIA variables
// are set.
func TestBuildCUDA(t *testing.T) {
	cc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("needs gcc")
	}
	dir := t.TempDir()
	lib := filepath.Join(dir, "lib")
	if err := os.Mkdir(lib, 0o755); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "x.c")
	if err := os.WriteFile(src, []byte("int torch_cuda(void) { return 1; }\nint main(void) { return 0; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "parak8s")
	for _, args := range [][]string{
		{"-shared", "-fPIC", "-o", filepath.Join(lib, "libtorch_cuda.so"), src},
		{"-shared", "-fPIC", "-o", filepath.Join(lib, "libcudnn_ops_infer.so.8"), src},
		{"-o", bin, src, "-L" + lib, "-Wl,--no-as-needed", "-ltorch_cuda", "-Wl,-rpath," + lib},
	} {
		if out, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
			t.Fatalf("gcc %v: %v\n%s", args, err, out)
		}
	}
	interp, libs, err := Deps(bin)
	if err != nil {
		t.Fatal(err)
	}
	var base []tar.Header
	for _, l := range libs {
		if l.System {
			base = append(base, tar.Header{Name: strings.TrimPrefix(filepath.Join("/usr/lib/x86_64-linux-gnu", l.Name), "/")})
		}
	}
	base = append(base, tar.Header{Name: strings.TrimPrefix(interp, "/")}, tar.Header{Name: "etc/passwd"})
	baseImg, err := mutate.AppendLayers(empty.Image, tarLayer(t, base...))
	if err != nil {
		t.Fatal(err)
	}
	if baseImg, err = mutate.Config(baseImg, v1.Config{Env: []string{"PATH=/usr/bin", "LD_LIBRARY_PATH=/usr/local/nvidia/lib64"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(Options{Binary: bin, Variant: CPU}); err == nil || !strings.Contains(err.Error(), "CUDA build") {
		t.Errorf("CPU variant of a CUDA binary: %v", err)
	}
	img, err := Build(Options{Binary: bin, Variant: CUDA, Base: baseImg, BaseName: "example.com/cuda:12.1"})
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	// base, runtime (passwd is there, so only the directories), libtorch, app
	if len(layers) != 4 {
		t.Errorf("%d layers, want 4", len(layers))
	}
	ix, err := index(img)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{
		LibDir + "/libtorch_cuda.so":        true,
		LibDir + "/libcudnn_ops_infer.so.8": true,
		LibDir + "/libc.so.6":               false, // the base has it
		BinDir + "/parak8s":                 true,
		WorkDir:                             true,
	} {
		if ix.has(p) != want {
			t.Errorf("image has %s: %v, want %v", p, !want, want)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(cf.Config.Env, "LD_LIBRARY_PATH="+LibDir+":/usr/local/nvidia/lib64") || !slices.Contains(cf.Config.Env, "NVIDIA_VISIBLE_DEVICES=all") ||
		cf.Config.Labels[LabelVariant] != "cuda" || cf.Config.Labels[LabelBaseName] != "example.com/cuda:12.1" {
		t.Errorf("config: env %q, labels %v", cf.Config.Env, cf.Config.Labels)
	}
}
