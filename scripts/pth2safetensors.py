#!/usr/bin/env python3
"""Convert a PyTorch state dict (.pth) to a safetensors file, without PyTorch.

    pth2safetensors.py IN.pth OUT.safetensors [--strip-underscore] [--drop SUFFIX]...
                       [--meta KEY=VALUE]...

Reads both of PyTorch's formats with the standard library only: the zip format
(torch >= 1.6: archive/data.pkl plus one file per storage) and the legacy
format (a sequence of pickles followed by the raw storages). The unpickler
accepts nothing but the globals a state dict needs (OrderedDict, the tensor
rebuild functions and the storage types) and fails on any other, so no code
in the file is ever run.

Tensors are written row-major (a tensor saved with non-contiguous strides, as
weights ported from TensorFlow often are, is gathered into logical order),
float tensors as F32 and integer tensors as I64, names sorted, so the output
depends only on the input. --strip-underscore drops the leading underscore of
every dotted name component (_blocks.0._bn1.weight -> blocks.0.bn1.weight);
--drop removes tensors whose name ends with SUFFIX (num_batches_tracked).
"""
import argparse
import array
import collections
import itertools
import json
import pickle
import struct
import sys
import zipfile

# storage type -> (array typecode, bytes per element, safetensors dtype)
STORAGES = {
    "FloatStorage": ("f", 4, "F32"),
    "DoubleStorage": ("d", 8, "F32"),
    "HalfStorage": ("e", 2, "F32"),
    "LongStorage": ("q", 8, "I64"),
    "IntStorage": ("i", 4, "I64"),
}
MAGIC = 0x1950A86A20F9469CFC6C


class Storage:
    def __init__(self, kind, size):
        self.kind, self.size, self.values = kind, size, None


class StorageType:
    def __init__(self, name):
        self.name = name


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)


def _rebuild(storage, offset, size, stride, *_):
    return Tensor(storage, offset, size, stride)


def _unpickler(f, load_storage):
    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            if module == "torch._utils" and name in ("_rebuild_tensor", "_rebuild_tensor_v2"):
                return _rebuild
            if module == "torch" and name in STORAGES:
                return StorageType(name)
            if module == "collections" and name == "OrderedDict":
                return collections.OrderedDict
            raise pickle.UnpicklingError(f"refusing global {module}.{name}: not part of a state dict")

        def persistent_load(self, pid):
            if pid[0] != "storage":
                raise pickle.UnpicklingError(f"unexpected persistent id {pid[0]!r}")
            return load_storage(*pid[1:])

    return Unpickler(f)


def _values(kind, raw):
    code, _, _ = STORAGES[kind]
    a = array.array(code)
    a.frombytes(raw)
    if sys.byteorder != "little":
        a.byteswap()
    return a


def load_legacy(path):
    storages = {}

    def load_storage(stype, key, location, size, view=None):
        if view is not None:
            raise pickle.UnpicklingError("storage views are not supported")
        if key not in storages:
            storages[key] = Storage(stype.name, size)
        return storages[key]

    with open(path, "rb") as f:
        if pickle.load(f) != MAGIC:
            raise ValueError(f"{path}: not a PyTorch file (bad magic number)")
        pickle.load(f)  # protocol version
        info = pickle.load(f)
        if not info.get("little_endian", True):
            raise ValueError(f"{path}: big-endian files are not supported")
        result = _unpickler(f, load_storage).load()
        for key in pickle.load(f):
            (n,) = struct.unpack("<q", f.read(8))
            st = storages[key]
            if n != st.size:
                raise ValueError(f"{path}: storage {key} has {n} elements, the pickle says {st.size}")
            st.values = _values(st.kind, f.read(n * STORAGES[st.kind][1]))
    return result


def load_zip(path):
    with zipfile.ZipFile(path) as z:
        pkl = next(n for n in z.namelist() if n.endswith("/data.pkl"))
        prefix = pkl[: -len("data.pkl")]
        storages = {}

        def load_storage(stype, key, location, size):
            if key not in storages:
                st = Storage(stype.name, size)
                st.values = _values(st.kind, z.read(f"{prefix}data/{key}"))
                storages[key] = st
            return storages[key]

        with z.open(pkl) as f:
            return _unpickler(f, load_storage).load()


def load(path):
    return load_zip(path) if zipfile.is_zipfile(path) else load_legacy(path)


def contiguous(t):
    """The tensor's values in row-major order."""
    v = t.storage.values
    if not t.size:
        return [v[t.offset]]
    want, acc = [], 1
    for d in reversed(t.size):
        want.append(acc)
        acc *= d
    if tuple(reversed(want)) == t.stride:
        n = acc
        return v[t.offset : t.offset + n]
    out = []
    for idx in itertools.product(*(range(d) for d in t.size)):
        out.append(v[t.offset + sum(i * s for i, s in zip(idx, t.stride))])
    return out


def save(path, tensors, metadata):
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name in sorted(tensors):
        dtype, shape, values = tensors[name]
        a = array.array("f" if dtype == "F32" else "q", values)
        if sys.byteorder != "little":
            a.byteswap()
        raw = a.tobytes()
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":"), sort_keys=False).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for c in chunks:
            f.write(c)


def rename(name, strip):
    if not strip:
        return name
    return ".".join(p[1:] if p.startswith("_") else p for p in name.split("."))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--strip-underscore", action="store_true")
    ap.add_argument("--drop", action="append", default=[])
    ap.add_argument("--meta", action="append", default=[])
    args = ap.parse_args()
    sd = load(args.src)
    if "state_dict" in sd and not isinstance(sd["state_dict"], Tensor):
        sd = sd["state_dict"]
    out = {}
    for name, t in sd.items():
        if not isinstance(t, Tensor):
            raise SystemExit(f"{args.src}: entry {name!r} is not a tensor")
        if any(name.endswith(s) for s in args.drop):
            continue
        new = rename(name, args.strip_underscore)
        if new in out:
            raise SystemExit(f"{args.src}: {name!r} and another entry both become {new!r}")
        out[new] = (STORAGES[t.storage.kind][2], t.size, contiguous(t))
    meta = dict(kv.split("=", 1) for kv in args.meta)
    save(args.dst, out, meta)
    print(f"{args.dst}: {len(out)} tensors, {sum(len(v[2]) for v in out.values())} values", file=sys.stderr)


if __name__ == "__main__":
    main()
