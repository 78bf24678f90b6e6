#!/usr/bin/python3
"""Write the seed corpus of the fuzzing harnesses into OUTDIR/<harness>/ (docs/reliability.md).

Seeds are valid and nearly valid inputs of each reader: the io fixtures of tools/make_fixtures.py (Keras,
safetensors, and their native-format expectations, good and broken), the INI files of tests/config and
inputs/, and small IDX and HDF5 datasets made here. Usage: make_corpus.py OUTDIR"""
import glob
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import h5py
import numpy as np

src = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
out = os.path.abspath(sys.argv[1])
shutil.rmtree(out, ignore_errors=True)
dirs = {h: os.path.join(out, h) for h in ("config", "safetensors", "keras", "native", "idx", "h5data", "onnx")}
for d in dirs.values():
    os.makedirs(d)


def put(harness, name, data):
    with open(os.path.join(dirs[harness], name), "wb") as f:
        f.write(data)


# Configurations, some with overrides after a "--" line (fuzz_config.c).
for path in sorted(glob.glob(f"{src}/tests/config/good/*.ini") + glob.glob(f"{src}/tests/config/bad/*.ini") +
                   glob.glob(f"{src}/inputs/*.ini")):
    put("config", os.path.basename(os.path.dirname(path)) + "_" + os.path.basename(path), open(path, "rb").read())
put("config", "overrides.ini", b"[model]\npath = m.h5\n[cluster]\nk = 4\n--\ncluster.k=8\ngraph.kind=activations\n")

# Models: the io fixtures, by format.
with tempfile.TemporaryDirectory() as tmp:
    subprocess.run(["/usr/bin/python3", f"{src}/tools/make_fixtures.py", tmp], check=True, stdout=subprocess.DEVNULL)
    for path in sorted(glob.glob(f"{tmp}/*")):
        name = os.path.basename(path)
        if os.path.isdir(path) or os.path.getsize(path) > 200_000:
            continue
        if name.endswith(".safetensors"):
            put("safetensors", name, open(path, "rb").read())
        elif name.endswith(".expect.h5"):
            put("native", name, open(path, "rb").read())
        elif name.endswith(".h5"):
            put("keras", name, open(path, "rb").read())
        elif name.endswith(".ini"):
            put("config", "fixture_" + name, open(path, "rb").read())


def safetensors(tensors, dtype="F32"):
    np_type = {"F32": "<f4", "F64": "<f8", "F16": "<f2"}[dtype]
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name, arr in tensors.items():
        b = np.ascontiguousarray(arr, dtype=np_type).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    import json
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


rng = np.random.default_rng(1)
mlp = {"0.weight": rng.normal(size=(6, 8)), "0.bias": rng.normal(size=6), "2.weight": rng.normal(size=(3, 6)),
       "2.bias": rng.normal(size=3)}
for dt in ("F32", "F64", "F16"):
    put("safetensors", f"small_{dt}.safetensors", safetensors(mlp, dt))

# ONNX: small networks exported by torch.onnx at several opsets (an N,H,W,C input behind a Transpose, a shape
# subgraph, a residual Add, Concat, Pad), and Keras Functional DAGs (tests/nn/test_dag_keras.py).
import warnings  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

warnings.filterwarnings("ignore")  # torch.onnx's export notes

torch.manual_seed(0)


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(2, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1, groups=4)
        self.bn, self.fc = nn.BatchNorm2d(4), nn.Linear(8 * 9, 3)

    def forward(self, x):
        x = F.pad(x.permute(0, 3, 1, 2), (0, 1, 0, 1))
        y = F.relu(self.bn(self.c1(x)))
        z = torch.cat([y, F.hardswish(self.c2(y)) + y], 1)
        z = F.max_pool2d(z, 2, ceil_mode=True)
        return torch.softmax(self.fc(z.reshape(z.shape[0], -1)), -1)


with tempfile.TemporaryDirectory() as tmp:
    for opset in (9, 11, 13, 17):
        p = os.path.join(tmp, f"small_{opset}.onnx")
        torch.onnx.export(Small().eval(), torch.rand(1, 5, 5, 2), p, opset_version=opset, dynamic_axes={"x": {0: "n"}},
                          input_names=["x"], do_constant_folding=opset != 11)
        put("onnx", f"small_{opset}.onnx", open(p, "rb").read())
sys.path.insert(0, os.path.join(src, "tests", "nn"))
import test_dag_keras  # noqa: E402

with tempfile.TemporaryDirectory() as tmp:
    for net in (test_dag_keras.resnet_like(), test_dag_keras.mobilenet_like()):
        p = os.path.join(tmp, net.name + ".h5")
        net.write(p)
        put("keras", net.name + ".h5", open(p, "rb").read())

# A small native model from modclust-synth.
bin_dir = os.environ.get("MC_BIN", os.path.join(src, "build"))
native = os.path.join(out, "synth.h5")
r = subprocess.run([os.path.join(bin_dir, "modclust-synth"), "-widths", "6,5,4", "-modules", "2", "-o", native],
                   capture_output=True)
if r.returncode == 0:
    shutil.move(native, os.path.join(dirs["native"], "synth.h5"))


# IDX: two bytes giving the images file's length, the images file, the labels file (fuzz_dataset.c).
def idx(dims, payload):
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


for n, shape in ((3, (4, 4)), (2, (3, 3, 2)), (1, (1, 1))):
    images = idx([n, *shape], rng.integers(0, 256, size=n * int(np.prod(shape)), dtype=np.uint8).tobytes())
    labels = idx([n], rng.integers(0, 10, size=n, dtype=np.uint8).tobytes())
    put("idx", f"idx_{n}_{'x'.join(map(str, shape))}", struct.pack("<H", len(images)) + images + labels)

# HDF5 datasets: uint8 and float images, 3-D and 4-D, labels N and N x 1.
for name, images, labels in (
        ("u8", rng.integers(0, 256, size=(3, 4, 4), dtype=np.uint8), np.array([0, 1, 2], dtype=np.int64)),
        ("f32_hwc", rng.random((2, 3, 3, 2), dtype=np.float32), np.array([[1], [0]], dtype=np.int32)),
        ("f64", rng.random((2, 2, 2)), np.array([3, 4], dtype=np.uint8))):
    path = os.path.join(dirs["h5data"], name + ".h5")
    with h5py.File(path, "w") as f:
        for split in ("train", "test"):
            f[f"{split}/images"] = images
            f[f"{split}/labels"] = labels

counts = {h: len(os.listdir(d)) for h, d in dirs.items()}
print("seed corpus:", ", ".join(f"{h} {n}" for h, n in counts.items()))
if min(counts.values()) == 0:
    sys.exit("a harness has no seeds")
