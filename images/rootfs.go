package images

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// RootfsOptions say how to pack a root file system assembled on this machine
// (from Debian packages with mmdebstrap, a pip --target tree, …) into an
// image: the platform's PostgreSQL and MLflow servers.
type RootfsOptions struct {
	// Dir is the root file system.
	Dir string
	// Entrypoint and Cmd of the image (a platform manifest usually gives its
	// own command).
	Entrypoint, Cmd []string
	// Env is KEY=VALUE lines; PATH defaults to Debian's.
	Env []string
	// User is the numeric uid:gid the server runs as; "" is UID:GID.
	User string
	// Dirs are directories the server writes, made owned by User.
	Dirs []string
	// Exclude are paths in the image left out with everything under them
	// (package caches, logs, the distribution's default database cluster).
	Exclude []string
	// Name, Source and Version become OCI labels (Name: what the image is).
	Name, Source, Version string
}

// BuildRootfs builds a one-layer image of the tree at o.Dir: regular files,
// directories and symbolic links with their modes, owned by root (Dirs by
// User); device files, sockets and FIFOs are left out (the runtime provides
// /dev). Times are Epoch, so the same tree gives the same digest.
func BuildRootfs(o RootfsOptions) (v1.Image, error) {
	root, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("root file system %s: not a directory", o.Dir)
	}
	uid, gid := UID, GID
	if o.User != "" {
		if uid, gid, err = parseUser(o.User); err != nil {
			return nil, err
		}
	}
	excluded := map[string]bool{}
	for _, e := range o.Exclude {
		if !path.IsAbs(e) {
			return nil, fmt.Errorf("exclude %q: want an absolute path in the image", e)
		}
		excluded[path.Clean(e)] = true
	}
	l := newLayer()
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		name := path.Clean("/" + filepath.ToSlash(rel))
		if name == "/" {
			return nil
		}
		if excluded[name] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := int64(info.Mode().Perm())
		if info.Mode()&fs.ModeSetuid != 0 {
			mode |= 0o4000
		}
		if info.Mode()&fs.ModeSetgid != 0 {
			mode |= 0o2000
		}
		if info.Mode()&fs.ModeSticky != 0 {
			mode |= 0o1000
		}
		switch {
		case d.IsDir():
			l.add(entry{name: name, mode: mode, dir: true})
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			l.add(entry{name: name, mode: 0o777, link: target})
		case info.Mode().IsRegular():
			l.add(entry{name: name, mode: mode, src: p})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", o.Dir, err)
	}
	for _, d := range o.Dirs {
		if !path.IsAbs(d) {
			return nil, fmt.Errorf("directory %q: want an absolute path", d)
		}
		l.add(entry{name: d, mode: 0o755, uid: uid, gid: gid, dir: true})
	}
	if l.empty() {
		return nil, fmt.Errorf("root file system %s is empty", o.Dir)
	}
	layer, err := l.image(types.OCILayer)
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(emptyOCI(), mutate.Addendum{Layer: layer, History: v1.History{
		Created: v1.Time{Time: Epoch}, CreatedBy: "parac images rootfs: " + o.Name, Comment: "parak8s",
	}})
	if err != nil {
		return nil, err
	}
	cf, err := configFile(img)
	if err != nil {
		return nil, err
	}
	cf.Config.Entrypoint, cf.Config.Cmd = o.Entrypoint, o.Cmd
	cf.Config.User = fmt.Sprintf("%d:%d", uid, gid)
	cf.Config.WorkingDir = "/"
	cf.Config.Env = o.Env
	if !hasKey(o.Env, "PATH") {
		cf.Config.Env = append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, o.Env...)
	}
	setLabels(cf, map[string]string{LabelSource: o.Source, LabelVersion: o.Version, "org.opencontainers.image.title": o.Name})
	return mutate.ConfigFile(img, cf)
}

func hasKey(env []string, key string) bool {
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			return true
		}
	}
	return false
}
