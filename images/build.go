package images

import (
	"debug/buildinfo"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Variant is the kind of libtorch an image carries.
type Variant string

const (
	CPU  Variant = "cpu"
	CUDA Variant = "cuda"
)

// Where things go in an image.
const (
	BinDir  = "/usr/local/bin"
	LibDir  = "/opt/parak8s/lib"
	WorkDir = "/work"
	Home    = "/home/nonroot"
	// UID and GID of the non-root user the steps run as (distroless's).
	UID, GID = 65532, 65532
)

// Labels of every image (OCI annotation keys).
const (
	LabelSource   = "org.opencontainers.image.source"
	LabelRevision = "org.opencontainers.image.revision"
	LabelVersion  = "org.opencontainers.image.version"
	LabelBaseName = "org.opencontainers.image.base.name"
	LabelVariant  = "dev.parak8s.image.variant"
)

// cudaLib is the library a CUDA build of the binary needs and a CPU build
// must not.
const cudaLib = "libtorch_cuda.so"

// Options say what to build.
type Options struct {
	// Binary is the parak8s executable (linux/amd64).
	Binary string
	// Variant is CPU or CUDA; CUDA needs a binary linked with the CUDA
	// build of libtorch and a CUDA runtime Base.
	Variant Variant
	// Base is the image to build on; nil builds from an empty image.
	Base v1.Image
	// BaseName names Base in the image's labels ("" for none).
	BaseName string
	// Source, Revision and Version become the OCI labels; an empty Revision
	// is taken from the binary's Go build information (vcs.revision).
	Source, Revision, Version string
}

// Build builds the image. It reads every file it puts in but runs nothing.
func Build(o Options) (v1.Image, error) {
	if o.Variant != CPU && o.Variant != CUDA {
		return nil, fmt.Errorf("variant %q: want %s or %s", o.Variant, CPU, CUDA)
	}
	if o.Variant == CUDA && o.Base == nil {
		return nil, fmt.Errorf("the %s variant needs a CUDA runtime base image (e.g. nvidia/cuda:12.1.1-cudnn8-runtime-ubuntu22.04)", CUDA)
	}
	interp, libs, err := Deps(o.Binary)
	if err != nil {
		return nil, err
	}
	cuda := slices.ContainsFunc(libs, func(l Lib) bool { return l.Name == cudaLib })
	switch {
	case o.Variant == CPU && cuda:
		return nil, fmt.Errorf("%s links %s (a CUDA build): build the %s variant from a CUDA base", o.Binary, cudaLib, CUDA)
	case o.Variant == CUDA && !cuda:
		return nil, fmt.Errorf("%s does not link %s (a CPU build): link it against the CUDA libtorch for the %s variant", o.Binary, cudaLib, CUDA)
	}
	if o.Revision == "" {
		o.Revision = revision(o.Binary)
	}
	base := o.Base
	if base == nil {
		base = emptyOCI()
	}
	fs, err := index(o.Base)
	if err != nil {
		return nil, err
	}

	runtime, torch, app := newLayer(), newLayer(), newLayer()
	if interp != "" && !fs.has(interp) {
		runtime.add(entry{name: interp, mode: 0o755, src: interp})
	}
	dirs := map[string]bool{}
	for _, l := range libs {
		switch {
		case !l.System:
			torch.add(entry{name: path.Join(LibDir, l.Name), mode: 0o755, src: l.Path})
			dirs[filepath.Dir(l.Path)] = true
		case !fs.hasLib(l.Name):
			runtime.add(entry{name: path.Join(LibDir, l.Name), mode: 0o755, src: l.Path})
		}
	}
	if o.Variant == CUDA {
		// CUDA loads more at run time than the binary names (cuDNN's parts,
		// NVRTC's builtins): take the libtorch directories whole.
		if err := addDirs(torch, dirs); err != nil {
			return nil, err
		}
	}
	addSystemFiles(runtime, fs)
	app.add(entry{name: path.Join(BinDir, "parak8s"), mode: 0o755, src: o.Binary})

	mt := types.OCILayer
	if m, err := base.MediaType(); err == nil && m == types.DockerManifestSchema2 {
		mt = types.DockerLayer
	}
	img := base
	for _, part := range []struct {
		name string
		l    *layer
	}{{"runtime", runtime}, {"libtorch", torch}, {"app", app}} {
		if part.l.empty() {
			continue
		}
		layer, err := part.l.image(mt)
		if err != nil {
			return nil, err
		}
		img, err = mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{
			Created: v1.Time{Time: Epoch}, CreatedBy: "parac images build: " + part.name + " layer", Comment: "parak8s",
		}})
		if err != nil {
			return nil, err
		}
	}
	cf, err := configFile(img)
	if err != nil {
		return nil, err
	}
	cf.Config.Entrypoint = []string{path.Join(BinDir, "parak8s")}
	cf.Config.Cmd = nil
	cf.Config.User = fmt.Sprintf("%d:%d", UID, GID)
	cf.Config.WorkingDir = WorkDir
	cf.Config.Env = environment(cf.Config.Env, o.Variant)
	setLabels(cf, map[string]string{
		LabelSource: o.Source, LabelRevision: o.Revision, LabelVersion: o.Version,
		LabelBaseName: o.BaseName, LabelVariant: string(o.Variant),
	})
	return mutate.ConfigFile(img, cf)
}

// emptyOCI is the empty image with OCI media types, the base of images
// built without one.
func emptyOCI() v1.Image {
	return mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
}

// configFile returns a copy of img's config to edit, with the fixed creation
// time and the platform of every image built here.
func configFile(img v1.Image) (*v1.ConfigFile, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Created = v1.Time{Time: Epoch}
	cf.OS, cf.Architecture = Platform.OS, Platform.Architecture
	return cf, nil
}

// setLabels sets the labels that have a value and removes those that have
// none (a base image's stale ones).
func setLabels(cf *v1.ConfigFile, labels map[string]string) {
	if cf.Config.Labels == nil {
		cf.Config.Labels = map[string]string{}
	}
	for k, v := range labels {
		if v != "" {
			cf.Config.Labels[k] = v
		} else {
			delete(cf.Config.Labels, k)
		}
	}
}

// environment sets PATH (BinDir first), LD_LIBRARY_PATH (LibDir first, the
// base's kept: CUDA bases point it at the driver's libraries) and HOME over
// the base's variables.
func environment(base []string, v Variant) []string {
	env := map[string]string{}
	var order []string
	for _, kv := range base {
		k, val, _ := strings.Cut(kv, "=")
		if _, ok := env[k]; !ok {
			order = append(order, k)
		}
		env[k] = val
	}
	set := func(k, val string) {
		if _, ok := env[k]; !ok {
			order = append(order, k)
		}
		env[k] = val
	}
	prepend := func(k, dir, dflt string) {
		cur, ok := env[k]
		if !ok {
			cur = dflt
		}
		parts := slices.DeleteFunc(strings.Split(cur, ":"), func(p string) bool { return p == "" || p == dir })
		set(k, strings.Join(append([]string{dir}, parts...), ":"))
	}
	prepend("PATH", BinDir, "/usr/bin:/bin")
	prepend("LD_LIBRARY_PATH", LibDir, "")
	set("HOME", Home)
	if v == CUDA {
		for k, val := range map[string]string{"NVIDIA_VISIBLE_DEVICES": "all", "NVIDIA_DRIVER_CAPABILITIES": "compute,utility"} {
			if _, ok := env[k]; !ok {
				set(k, val)
			}
		}
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+env[k])
	}
	return out
}

// addSystemFiles adds what a non-root step needs and the base lacks: the
// user and group, /tmp, the home and working directories, and this
// machine's CA certificates (for HTTPS registries and tracking servers).
func addSystemFiles(l *layer, fs *fsIndex) {
	if !fs.has("/etc/passwd") {
		l.add(entry{name: "/etc/passwd", mode: 0o644, data: fmt.Appendf(nil,
			"root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:%s:/sbin/nologin\n", UID, GID, Home)})
	}
	if !fs.has("/etc/group") {
		l.add(entry{name: "/etc/group", mode: 0o644, data: fmt.Appendf(nil, "root:x:0:\nnonroot:x:%d:\n", GID)})
	}
	if !fs.has("/tmp") {
		l.add(entry{name: "/tmp", mode: 0o1777, dir: true})
	}
	const certs = "/etc/ssl/certs/ca-certificates.crt"
	if !fs.has(certs) && isFile(certs) {
		l.add(entry{name: certs, mode: 0o644, src: certs})
	}
	l.add(entry{name: Home, mode: 0o755, uid: UID, gid: GID, dir: true})
	l.add(entry{name: WorkDir, mode: 0o755, uid: UID, gid: GID, dir: true})
}

// addDirs adds every shared library in dirs to LibDir.
func addDirs(l *layer, dirs map[string]bool) error {
	for d := range dirs {
		names, err := os.ReadDir(d)
		if err != nil {
			return err
		}
		for _, n := range names {
			p := filepath.Join(d, n.Name())
			if strings.Contains(n.Name(), ".so") && isFile(p) {
				l.add(entry{name: path.Join(LibDir, n.Name()), mode: 0o755, src: p})
			}
		}
	}
	return nil
}

// revision is the commit the binary was built from, "-dirty" appended when
// the tree had changes, or "" when Go recorded none.
func revision(binary string) string {
	bi, err := buildinfo.ReadFile(binary)
	if err != nil {
		return ""
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision":
			rev = s.Value
		case s.Key == "vcs.modified" && s.Value == "true":
			dirty = "-dirty"
		}
	}
	if rev == "" {
		return ""
	}
	return rev + dirty
}
