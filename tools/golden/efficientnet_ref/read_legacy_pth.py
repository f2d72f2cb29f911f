#!/usr/bin/env python3
"""Parse a *legacy* (pre-1.6, non-zip) torch.save file without torch.

Usage: python read_legacy_pth.py efficientnet-lite0-57934424.pth [--keys keys.txt]

Layout of the file (torch/serialization.py `_legacy_save`), all pickles protocol 2:
  pickle #1  MAGIC_NUMBER   = 0x1950a86a20f9469cfc6c   (LONG1 opcode, 10 bytes LE)
  pickle #2  PROTOCOL_VERSION = 1001
  pickle #3  sys_info = {'protocol_version': 1001, 'little_endian': True,
                          'type_sizes': {'short': 2, 'int': 4, 'long': 4}}
  pickle #4  the object (here an OrderedDict state_dict). Each tensor is
             REDUCE(torch._utils._rebuild_tensor_v2,
                    (storage, storage_offset, size, stride, requires_grad, backward_hooks))
             where `storage` is a BINPERSID whose pid tuple is
             ('storage', torch.FloatStorage, key:str, location:str, numel:int, view_metadata|None)
  pickle #5  list of storage keys (str), in the order their data follows
  then for every key in that list:
             int64 LE element count, followed by count*elem_size raw LE bytes.
"""
import pickle
import struct
import sys
import collections

import numpy as np

MAGIC = 0x1950A86A20F9469CFC6C
DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


class StorageType:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"torch.{self.name}"


class StorageRef:
    def __init__(self, stype, key, location, numel, view):
        self.stype, self.key, self.location, self.numel, self.view = stype, key, location, numel, view


class TensorRef:
    def __init__(self, storage, offset, size, stride, requires_grad):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)
        self.requires_grad = requires_grad


def rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, *rest):
    return TensorRef(storage, storage_offset, size, stride, requires_grad)


class LegacyUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return rebuild_tensor_v2
        if module == "torch" and name.endswith("Storage"):
            return StorageType(name)
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"unexpected global {module}.{name}")

    def persistent_load(self, pid):
        kind, stype, key, location, numel, view = pid
        assert kind == "storage", pid
        assert view is None, "storage views not expected"
        return StorageRef(stype, key, location, numel, view)


def load(path):
    with open(path, "rb") as f:
        magic = pickle.load(f)
        assert magic == MAGIC, hex(magic)
        proto = pickle.load(f)
        assert proto == 1001, proto
        sys_info = pickle.load(f)
        assert sys_info["little_endian"], sys_info
        up = LegacyUnpickler(f)
        obj = up.load()
        keys = pickle.load(f)
        # collect storage declarations from the tensors
        storages = {}
        for name, t in obj.items():
            s = t.storage
            storages.setdefault(s.key, s)
        data_start = f.tell()
        raw = {}
        for k in keys:
            (numel,) = struct.unpack("<q", f.read(8))
            s = storages[k]
            assert numel == s.numel, (k, numel, s.numel)
            dt = np.dtype(DTYPES[s.stype.name]).newbyteorder("<")
            raw[k] = np.frombuffer(f.read(numel * dt.itemsize), dtype=dt)
        trailing = f.read()
        assert trailing == b"", len(trailing)
    tensors = collections.OrderedDict()
    for name, t in obj.items():
        buf = raw[t.storage.key]
        item = buf.itemsize
        arr = np.lib.stride_tricks.as_strided(
            buf[t.offset:], shape=t.size, strides=tuple(s * item for s in t.stride)
        ).copy()
        tensors[name] = (arr, t)
    return sys_info, obj, keys, data_start, tensors


def main():
    path = sys.argv[1]
    sys_info, obj, keys, data_start, tensors = load(path)
    print("sys_info:", sys_info)
    print("state_dict type:", type(obj).__name__, "entries:", len(obj))
    print("_metadata attribute present:", hasattr(obj, "_metadata"))
    print("storage keys:", len(keys), "unique; data section starts at byte", data_start)
    shared = len(keys) != len(obj)
    print("storages shared between tensors:", shared)
    nonzero_off = [n for n, (_, t) in tensors.items() if t.offset != 0]
    print("tensors with storage_offset != 0:", nonzero_off)
    noncontig = []
    for n, (a, t) in tensors.items():
        exp, acc = [], 1
        for d in reversed(t.size):
            exp.insert(0, acc)
            acc *= d
        if tuple(exp) != t.stride:
            noncontig.append(n)
    print("non-contiguous tensors:", noncontig)
    print("storage numel == tensor numel for all:",
          all(t.storage.numel == a.size for a, t in tensors.values()))
    print("requires_grad any:", any(t.requires_grad for _, t in tensors.values()))
    print("dtypes:", collections.Counter(t.storage.stype.name for _, t in tensors.values()))
    total = sum(a.size for a, _ in tensors.values())
    params = sum(a.size for n, (a, _) in tensors.items()
                 if not (n.endswith("running_mean") or n.endswith("running_var")
                         or n.endswith("num_batches_tracked")))
    print("tensor count:", len(tensors), "total elements:", total, "learnable params:", params)
    if "--keys" in sys.argv:
        out = sys.argv[sys.argv.index("--keys") + 1]
        with open(out, "w") as fo:
            for i, (n, (a, t)) in enumerate(tensors.items()):
                fo.write(f"{i:3d}\t{n}\t{list(t.size)}\t{t.storage.stype.name}\tstorage_key={t.storage.key}\toffset={t.offset}\tstride={list(t.stride)}\n")
        print("wrote", out)
    print()
    print("checksums (float64 sum, first 3 values in flat C order):")
    pick = ["_conv_stem.weight", "_bn0.weight", "_bn0.bias", "_bn0.running_mean", "_bn0.running_var",
            "_blocks.0._depthwise_conv.weight", "_blocks.1._expand_conv.weight",
            "_blocks.15._project_conv.weight", "_conv_head.weight", "_bn1.running_var",
            "_fc.weight", "_fc.bias"]
    for n in pick:
        if n in tensors:
            a = tensors[n][0]
            print(f"  {n:40s} shape={list(a.shape)} sum={a.astype(np.float64).sum():.6f} "
                  f"first3={[float(x) for x in a.reshape(-1)[:3]]}")
    allsum = sum(a.astype(np.float64).sum() for a, _ in tensors.values())
    print(f"  sum over all tensors = {allsum:.6f}")


if __name__ == "__main__":
    main()
