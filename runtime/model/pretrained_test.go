package model

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"parak8s.dev/parak8s/runtime/bundle"
)

// makeLegacyPth writes, with Python's pickle and fake torch globals, a file
// in PyTorch's legacy serialisation (what the pretrained wheel ships): a
// transposed (non-contiguous) 2×3 weight, a counter to drop, and, when
// evil, a global that is not part of a state dict.
const makeLegacyPth = `
import collections, pickle, struct, sys, types, array
torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")
class FloatStorage: pass
FloatStorage.__module__ = "torch"
def _rebuild_tensor_v2(*a): pass
_rebuild_tensor_v2.__module__ = "torch._utils"
torch.FloatStorage, utils._rebuild_tensor_v2 = FloatStorage, _rebuild_tensor_v2
sys.modules["torch"], sys.modules["torch._utils"] = torch, utils
class S:
    def __init__(s, key, vals): s.key, s.vals = key, vals
class T:
    def __init__(s, st, size, stride): s.st, s.size, s.stride = st, size, stride
    def __reduce__(s): return (_rebuild_tensor_v2, (s.st, 0, s.size, s.stride, False, collections.OrderedDict()))
class P(pickle.Pickler):
    def persistent_id(self, o):
        return ("storage", FloatStorage, o.key, "cpu", len(o.vals), None) if isinstance(o, S) else None
a, b = S("0", [0, 1, 2, 3, 4, 5]), S("1", [7])
sd = collections.OrderedDict([("_a._w.weight", T(a, (2, 3), (1, 2))), ("_a.num_batches_tracked", T(b, (), ()))])
if sys.argv[2] == "evil":
    import os
    sd["x"] = os.system
with open(sys.argv[1], "wb") as f:
    for o in (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001, "little_endian": True}):
        pickle.dump(o, f, protocol=2)
    P(f, protocol=2).dump(sd)
    pickle.dump(["0", "1"], f, protocol=2)
    for st in (a, b):
        f.write(struct.pack("<q", len(st.vals)) + array.array("f", st.vals).tobytes())
`

// TestPth2Safetensors runs scripts/pth2safetensors.py, the converter of
// `make pretrained`, on a small legacy .pth: names lose their leading
// underscores, the counter is dropped, a strided tensor comes out in
// row-major order, and a file with any other global is refused.
func TestPth2Safetensors(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3")
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "make.py")
	if err := os.WriteFile(script, []byte(makeLegacyPth), 0o644); err != nil {
		t.Fatal(err)
	}
	conv, err := filepath.Abs(filepath.Join("..", "..", "scripts", "pth2safetensors.py"))
	if err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		out, err := exec.Command(python, args...).CombinedOutput()
		return string(out), err
	}
	for _, kind := range []string{"good", "evil"} {
		pth := filepath.Join(dir, kind+".pth")
		if out, err := run(script, pth, kind); err != nil {
			t.Fatalf("making %s: %v\n%s", pth, err, out)
		}
	}
	st := filepath.Join(dir, "good.safetensors")
	if out, err := run(conv, filepath.Join(dir, "good.pth"), st, "--strip-underscore", "--drop", "num_batches_tracked", "--meta", "source=test"); err != nil {
		t.Fatalf("converting: %v\n%s", err, out)
	}
	ts, md, err := bundle.ReadTensors(st)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 || ts[0].Name != "a.w.weight" || !slices.Equal(ts[0].Shape, []int64{2, 3}) {
		t.Fatalf("tensors %+v, want only a.w.weight [2 3]", ts)
	}
	if want := []float32{0, 2, 4, 1, 3, 5}; !slices.Equal(ts[0].F32, want) {
		t.Errorf("values %v, want %v (row-major from strides [1 2])", ts[0].F32, want)
	}
	if md["source"] != "test" {
		t.Errorf("metadata %v", md)
	}
	out, err := run(conv, filepath.Join(dir, "evil.pth"), filepath.Join(dir, "evil.safetensors"))
	if err == nil || !strings.Contains(out, "refusing global") {
		t.Errorf("a file with os.system converted (err %v):\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "evil.safetensors")); err == nil {
		t.Error("the refused file left an output")
	}
}
