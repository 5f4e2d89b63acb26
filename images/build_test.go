package images_test

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"parak8s.dev/parak8s/compiler"
	"parak8s.dev/parak8s/images"
	"parak8s.dev/parak8s/internal/testenv"
	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/runtime/eval"
	"parak8s.dev/parak8s/runtime/step"
)

// TestImage builds the CPU image of a freshly built parak8s twice (same
// digest), pushes it to a real registry process, pulls it back by digest,
// unpacks its layers into a directory and runs the binary there under
// chroot as the image's user with the image's environment: --version, then
// a short real train and evaluate on MIT-BIH records. No container runtime
// is involved, so this shows the image holds everything parak8s needs.
func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds parak8s and a 170 MB image")
	}
	if os.Geteuid() != 0 {
		t.Skip("chroot needs root")
	}
	mitdb := testenv.MITDB(t)
	testenv.NeedLibtorch(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "parak8s")
	if err := testenv.GoBuild(nil, "-ldflags", "-X main.version=v0.0.0-imagetest", "-o", bin, "parak8s.dev/parak8s/cmd/parak8s"); err != nil {
		t.Fatal(err)
	}

	opts := images.Options{Binary: bin, Variant: images.CPU, Source: "https://example.com/parak8s", Version: "v0.0.0-imagetest"}
	t0 := time.Now()
	img, err := images.Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	d1 := digest(t, img)
	t.Logf("built %s in %v", d1, time.Since(t0).Round(time.Millisecond))
	again, err := images.Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	if d2 := digest(t, again); d2 != d1 {
		t.Fatalf("building twice gave %s and %s", d1, d2)
	}
	lay := filepath.Join(dir, "layout")
	if err := images.WriteLayout(lay, "cpu", img); err != nil {
		t.Fatal(err)
	}
	if idx, err := layout.ImageIndexFromPath(lay); err != nil {
		t.Fatal(err)
	} else if m, err := idx.IndexManifest(); err != nil || len(m.Manifests) != 1 || m.Manifests[0].Digest != d1 {
		t.Fatalf("layout index: %+v, %v; want one image %s", m, err, d1)
	}

	reg := registryProcess(t)
	pinned, err := images.Push(context.Background(), reg+"/parak8s/step:cpu", img)
	if err != nil {
		t.Fatal(err)
	}
	if want := reg + "/parak8s/step@" + d1.String(); pinned != want {
		t.Errorf("Push = %s, want %s", pinned, want)
	}
	if got, err := images.Resolver(context.Background())(reg + "/parak8s/step:cpu"); err != nil || got != pinned {
		t.Errorf("Resolver = %s, %v; want %s", got, err, pinned)
	}
	ref, err := name.NewDigest(pinned)
	if err != nil {
		t.Fatal(err)
	}
	pulled, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := pulled.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" || cf.Config.User != "65532:65532" || cf.Config.WorkingDir != images.WorkDir ||
		cf.Config.Labels[images.LabelSource] != opts.Source || cf.Config.Labels[images.LabelVersion] != opts.Version || cf.Config.Labels[images.LabelVariant] != "cpu" {
		t.Errorf("config: %s/%s user %q dir %q labels %v", cf.OS, cf.Architecture, cf.Config.User, cf.Config.WorkingDir, cf.Config.Labels)
	}

	root := filepath.Join(dir, "root")
	unpack(t, pulled, root)
	for _, rec := range []string{"106", "119", "118"} {
		for _, ext := range []string{".hea", ".dat", ".atr"} {
			copyTo(t, filepath.Join(mitdb, rec+ext), filepath.Join(root, "data", "mitdb", rec+ext))
		}
	}
	writeTrial(t, filepath.Join(root, images.WorkDir, "trial.json"))
	runtimeMounts(t, root)

	if out := chrooted(t, root, cf, "--version"); !strings.Contains(out, "v0.0.0-imagetest") {
		t.Errorf("parak8s --version in the image printed %q", out)
	}
	chrooted(t, root, cf, "train", "--config", "trial.json", "--out", "model", "--max-steps-per-epoch", "30")
	chrooted(t, root, cf, "evaluate", "--model", "model", "--data", "/data/mitdb", "--split", "val", "--out", "metrics")
	m, err := eval.Read(filepath.Join(root, images.WorkDir, "metrics", bundle.FileMetrics))
	if err != nil {
		t.Fatal(err)
	}
	if m.N == 0 || m.Accuracy <= 0 {
		t.Errorf("metrics from the image: %d beats, accuracy %v", m.N, m.Accuracy)
	}
	t.Logf("trained and evaluated inside the unpacked image: accuracy %.3f", m.Accuracy)
}

func digest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// registryProcess is $OCI_REGISTRY or a registry process started with
// scripts/registry.sh on a free port for this test.
func registryProcess(t *testing.T) string {
	t.Helper()
	if r := os.Getenv("OCI_REGISTRY"); r != "" {
		return r
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	env := []string{"REGISTRY_PORT=" + strconv.Itoa(port), "PARAK8S_REGISTRY_STATE=" + filepath.Join(t.TempDir(), "registry")}
	reg, stop, err := testenv.Server{Script: "registry.sh", Env: env, Export: "OCI_REGISTRY"}.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	})
	return reg
}

// unpack writes the image's file system (its layers flattened) into root.
func unpack(t *testing.T, img v1.Image, root string) {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(root, filepath.Clean("/"+h.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, 0o755)
		case tar.TypeReg:
			var f *os.File
			if f, err = os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600); err == nil {
				_, err = io.Copy(f, tr)
				err = errors.Join(err, f.Close())
			}
		case tar.TypeSymlink:
			err = os.Symlink(h.Linkname, p)
		default:
			t.Fatalf("%s: unexpected tar entry type %c", h.Name, h.Typeflag)
		}
		if err == nil {
			err = errors.Join(os.Chmod(p, h.FileInfo().Mode().Perm()|h.FileInfo().Mode()&os.ModeSticky), os.Lchown(p, h.Uid, h.Gid))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// runtimeMounts gives root what every container runtime gives a container
// (runc's defaults): the /dev nodes null, zero, random and urandom, and
// /proc (libtorch seeds from /dev/urandom and sizes its thread pool from
// /proc/cpuinfo).
func runtimeMounts(t *testing.T, root string) {
	t.Helper()
	for _, d := range []struct {
		name         string
		major, minor uint32
	}{ // old-style device numbers (major<<8 | minor) suffice for these
		{"null", 1, 3}, {"zero", 1, 5}, {"random", 1, 8}, {"urandom", 1, 9}} {
		p := filepath.Join(root, "dev", d.name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, int(d.major<<8|d.minor)); err != nil {
			t.Fatalf("mknod %s: %v", p, err)
		}
		if err := os.Chmod(p, 0o666); err != nil {
			t.Fatal(err)
		}
	}
	proc := filepath.Join(root, "proc")
	if err := os.MkdirAll(proc, 0o555); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("proc", proc, "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
		t.Fatalf("mounting /proc in the image root: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(proc, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", proc, err)
		}
	})
}

func copyTo(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err == nil {
		if err = os.MkdirAll(filepath.Dir(dst), 0o755); err == nil {
			err = os.WriteFile(dst, b, 0o644)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
}

// writeTrial writes a small version of the ECG example's config: two
// training records, one for validation, narrow filters, one epoch.
func writeTrial(t *testing.T, path string) {
	t.Helper()
	res, err := compiler.Plan(filepath.Join("..", "examples", "ecg"), compiler.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var sets []step.Override
	for _, s := range []string{`data.split.train=["106","119"]`, `data.split.val=["118"]`, `model.deepcnn1d.filters=[8,16]`, `training.epochs=1`} {
		o, err := step.ParseSet(s)
		if err != nil {
			t.Fatal(err)
		}
		sets = append(sets, o)
	}
	exp, err := step.Apply(res[0].Spec.Resolved, sets)
	if err != nil {
		t.Fatal(err)
	}
	if err := bundle.WriteJSON(path, exp); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, images.UID, images.GID); err != nil {
		t.Fatal(err)
	}
}

// chrooted runs the image's entrypoint with args inside root, as the
// image's user, in its working directory, with its environment only.
func chrooted(t *testing.T, root string, cf *v1.ConfigFile, args ...string) string {
	t.Helper()
	uid, gid, _ := strings.Cut(cf.Config.User, ":")
	u, _ := strconv.Atoi(uid)
	g, _ := strconv.Atoi(gid)
	cmd := &exec.Cmd{
		Path: cf.Config.Entrypoint[0],
		Args: append(cf.Config.Entrypoint[:1:1], args...),
		Env:  cf.Config.Env,
		Dir:  cf.Config.WorkingDir,
		SysProcAttr: &syscall.SysProcAttr{
			Chroot:     root,
			Credential: &syscall.Credential{Uid: uint32(u), Gid: uint32(g)},
		},
	}
	t0 := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("parak8s %s in the image: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("parak8s %s in the image: %v", strings.Join(args, " "), time.Since(t0).Round(time.Millisecond))
	return fmt.Sprint(string(out))
}
