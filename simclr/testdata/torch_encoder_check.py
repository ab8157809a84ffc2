"""Loads an encoder written by simclr.MarshalEncoder into the PyTorch module
of bench/torch_simclr_step.py and compares its outputs with Go's.

Usage: /usr/bin/python3 torch_encoder_check.py BENCH_SCRIPT ENCODER CHECK
  BENCH_SCRIPT  bench/torch_simclr_step.py; its Block and Net classes are
                taken from it (its benchmark is not run)
  ENCODER       the encoder.safetensors file
  CHECK         a safetensors file: the images x [B, C, H, W] and what Go
                computed from them in inference mode, h [B, F] and z [B, D]

The safetensors package is not needed (Debian does not ship it): the reader
is the few lines of read_safetensors. Prints the largest differences and
exits 1 when one exceeds TOL, or when the module's layers differ from the
file's "modules" metadata.
"""
import ast
import json
import struct
import sys

import torch
import torch.nn.functional as F

TOL = 1e-4
DTYPES = {"F32": torch.float32, "I64": torch.int64}


def read_safetensors(path):
    """Returns ({name: tensor}, metadata) of a safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        dtype = DTYPES[t["dtype"]]
        raw = bytearray(data[8 + n + begin:8 + n + end])  # writable: frombuffer shares it
        x = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        tensors[name] = x.reshape(t["shape"])
    return tensors, meta


def bench_module(path, cin):
    """Net() of the benchmark script, with its imports and classes only."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    keep = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom, ast.ClassDef))]
    ns = {"cin": cin}
    exec(compile(ast.Module(body=keep, type_ignores=[]), path, "exec"), ns)
    return ns["Net"]()


def main():
    bench, encoder, check = sys.argv[1:4]
    torch.set_num_threads(1)
    state, meta = read_safetensors(encoder)
    want, _ = read_safetensors(check)
    x = want["x"]
    net = bench_module(bench, x.shape[1])
    net.load_state_dict(state)  # strict: every name and shape must match
    net.eval()

    failed = False
    modules = dict(net.named_modules())
    for name, ctor in json.loads(meta["modules"]).items():
        if repr(modules.get(name)) != ctor:
            print("module %s: metadata says %s, the module is %r" % (name, ctor, modules.get(name)))
            failed = True

    with torch.no_grad():
        h = F.adaptive_avg_pool2d(net.layers(net.stem(x)), 1).flatten(1)  # as Net.forward
        z = net.head(h)
    for name, got in (("h", h), ("z", z)):
        diff = (got - want[name]).abs().max().item()
        scale = want[name].abs().max().item()
        print("%s %s: max |torch - go| = %.3g (values up to %.3g)" % (name, tuple(got.shape), diff, scale))
        if not diff <= TOL:
            failed = True
    print("steps %s, num_batches_tracked %d" % (meta["steps"], int(net.stem[1].num_batches_tracked)))
    if str(int(net.stem[1].num_batches_tracked)) != meta["steps"]:
        failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
