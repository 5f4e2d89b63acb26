package images

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Lib is a shared library a binary needs, found the way the dynamic loader
// finds it.
type Lib struct {
	// Name is the name asked for (DT_NEEDED), e.g. libc10.so.
	Name string
	// Path is the file found on this machine (symbolic links resolved).
	Path string
	// System says it came from a system library directory rather than from
	// an RPATH or RUNPATH: part of the C/C++ runtime a base image may have.
	System bool
}

// SystemLibDirs are the directories the dynamic loader searches last, on
// this machine and in images (x86-64 Debian and Red Hat layouts).
var SystemLibDirs = []string{
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
	"/lib64", "/usr/lib64", "/lib", "/usr/lib",
}

// Deps returns the program interpreter of an x86-64 ELF executable and every
// shared library it needs, transitively, in breadth-first order. Libraries
// are searched as ld.so searches them, without the environment: the needing
// object's DT_RPATH (when it has no DT_RUNPATH), its DT_RUNPATH, then
// SystemLibDirs. A static binary has no interpreter and no libraries.
func Deps(binary string) (interp string, libs []Lib, err error) {
	f, err := openELF(binary)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return "", nil, fmt.Errorf("%s: not an executable (ELF type %v)", binary, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err != nil {
				return "", nil, fmt.Errorf("%s: reading its interpreter: %w", binary, err)
			}
			interp = strings.TrimRight(string(b), "\x00")
		}
	}
	seen := map[string]bool{}
	if interp != "" {
		seen[filepath.Base(interp)] = true // the loader satisfies its own name
	}
	type object struct{ path string }
	queue := []object{{path: binary}}
	for len(queue) > 0 {
		o := queue[0]
		queue = queue[1:]
		names, dirs, err := dynamic(o.path)
		if err != nil {
			return "", nil, err
		}
		for _, name := range names {
			if seen[name] {
				continue
			}
			seen[name] = true
			lib, err := find(name, dirs)
			if err != nil {
				return "", nil, fmt.Errorf("%s (needed by %s): %w", name, o.path, err)
			}
			libs = append(libs, lib)
			queue = append(queue, object{path: lib.Path})
		}
	}
	return interp, libs, nil
}

// openELF opens an x86-64 ELF file.
func openELF(path string) (*elf.File, error) {
	f, err := elf.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%s: not an ELF file (%v)", path, err)
	}
	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_X86_64 {
		f.Close()
		return nil, fmt.Errorf("%s: %v %v, want a 64-bit x86-64 ELF file (images are linux/amd64)", path, f.Class, f.Machine)
	}
	return f, nil
}

// dynamic returns an object's DT_NEEDED names and the directories its
// RPATH/RUNPATH name, $ORIGIN expanded.
func dynamic(path string) (needed, dirs []string, err error) {
	f, err := openELF(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	if needed, err = f.DynString(elf.DT_NEEDED); err != nil {
		if errors.Is(err, elf.ErrNoSymbols) || f.Section(".dynamic") == nil {
			return nil, nil, nil // static
		}
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	runpath, _ := f.DynString(elf.DT_RUNPATH)
	if len(runpath) == 0 {
		runpath, _ = f.DynString(elf.DT_RPATH)
	}
	origin := filepath.Dir(path)
	for _, rp := range runpath {
		for _, d := range strings.Split(rp, ":") {
			d = strings.NewReplacer("${ORIGIN}", origin, "$ORIGIN", origin).Replace(d)
			if d != "" {
				dirs = append(dirs, d)
			}
		}
	}
	return needed, dirs, nil
}

// find looks name up in dirs, then in SystemLibDirs, skipping files that are
// not x86-64 ELF objects (e.g. 32-bit libraries in /usr/lib).
func find(name string, dirs []string) (Lib, error) {
	search := func(dirs []string) (string, bool) {
		for _, d := range dirs {
			p, err := filepath.EvalSymlinks(filepath.Join(d, name))
			if err != nil {
				continue
			}
			if f, err := openELF(p); err == nil {
				f.Close()
				return p, true
			}
		}
		return "", false
	}
	if p, ok := search(dirs); ok {
		return Lib{Name: name, Path: p}, nil
	}
	if p, ok := search(SystemLibDirs); ok {
		return Lib{Name: name, Path: p, System: true}, nil
	}
	return Lib{}, fmt.Errorf("not found in %s", strings.Join(append(dirs, SystemLibDirs...), ":"))
}

// isFile reports whether path is a regular file (after symbolic links).
func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}
