package images

import (
	"fmt"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ServerOptions say how to wrap one static server binary into an image: the
// executor, the S3 store, the registry and the sandbox image of the test
// cluster, and any static Go server a user runs beside the steps.
type ServerOptions struct {
	// Binary is a statically linked linux/amd64 executable; it goes to
	// BinDir under its own file name (or Name).
	Binary string
	// Name is its name in the image ("": the binary's file name).
	Name string
	// Args follow the binary in the entrypoint.
	Args []string
	// User is the numeric uid:gid the server runs as; "" is the non-root
	// UID:GID of the step images. Root ("0:0") only for what must be.
	User string
	// Dirs are directories the server writes, created owned by User (e.g.
	// its data folder when no volume is mounted there).
	Dirs []string
	// Files are more files to put in, image path → host file (e.g. a
	// default config the server reads), readable by everyone.
	Files map[string]string
	// Source, Version become OCI labels.
	Source, Version string
}

// BuildServer builds a one-layer image of a static binary, the user and
// group files, /tmp and this machine's CA certificates. Like Build, it reads
// every file it puts in but runs nothing, and the same inputs give the same
// digest.
func BuildServer(o ServerOptions) (v1.Image, error) {
	interp, libs, err := Deps(o.Binary)
	if err != nil {
		return nil, err
	}
	if interp != "" || len(libs) > 0 {
		return nil, fmt.Errorf("%s is dynamically linked (%d libraries): a server image takes a static binary (CGO_ENABLED=0)", o.Binary, len(libs))
	}
	name := o.Name
	if name == "" {
		name = filepath.Base(o.Binary)
	}
	uid, gid := UID, GID
	if o.User != "" {
		if uid, gid, err = parseUser(o.User); err != nil {
			return nil, err
		}
	}
	l := newLayer()
	fs, _ := index(nil)
	addSystemFiles(l, fs)
	for _, d := range o.Dirs {
		if !path.IsAbs(d) {
			return nil, fmt.Errorf("directory %q: want an absolute path", d)
		}
		l.add(entry{name: d, mode: 0o755, uid: uid, gid: gid, dir: true})
	}
	for dst, src := range o.Files {
		if !path.IsAbs(dst) {
			return nil, fmt.Errorf("file %q: want an absolute path in the image", dst)
		}
		if !isFile(src) {
			return nil, fmt.Errorf("file %s: not a regular file", src)
		}
		l.add(entry{name: dst, mode: 0o644, src: src})
	}
	bin := path.Join(BinDir, name)
	l.add(entry{name: bin, mode: 0o755, src: o.Binary})
	layer, err := l.image(types.OCILayer)
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(emptyOCI(), mutate.Addendum{Layer: layer, History: v1.History{
		Created: v1.Time{Time: Epoch}, CreatedBy: "parac images server: " + name, Comment: "parak8s",
	}})
	if err != nil {
		return nil, err
	}
	cf, err := configFile(img)
	if err != nil {
		return nil, err
	}
	cf.Config.Entrypoint = append([]string{bin}, o.Args...)
	cf.Config.User = fmt.Sprintf("%d:%d", uid, gid)
	cf.Config.WorkingDir = "/"
	// Programs that look themselves up on PATH (Argo's executor) find the binary.
	cf.Config.Env = []string{"PATH=" + BinDir + ":/usr/bin:/bin", "HOME=" + Home}
	setLabels(cf, map[string]string{LabelSource: o.Source, LabelRevision: revision(o.Binary), LabelVersion: o.Version})
	return mutate.ConfigFile(img, cf)
}

// parseUser reads "UID:GID" (or "UID", with GID = UID).
func parseUser(s string) (uid, gid int, err error) {
	u, g, ok := strings.Cut(s, ":")
	if uid, err = strconv.Atoi(u); err != nil || uid < 0 {
		return 0, 0, fmt.Errorf("user %q: want numeric UID[:GID]", s)
	}
	if !ok {
		return uid, uid, nil
	}
	if gid, err = strconv.Atoi(g); err != nil || gid < 0 {
		return 0, 0, fmt.Errorf("user %q: want numeric UID[:GID]", s)
	}
	return uid, gid, nil
}
