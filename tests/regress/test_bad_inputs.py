#!/usr/bin/python3
"""Bad input, table-driven: one clear message naming the file, key or value, a non-zero exit on every
rank, no hang, and nothing left in the output directory."""
import json
import os
import shutil
import struct
import sys

import numpy as np

import mcrun

work = os.path.abspath("bad_inputs")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
os.chdir(work)
NP = int(sys.argv[1]) if len(sys.argv) > 1 else 2


def safetensors(path, tensors, truncate=0, pad=b""):
    """Write a safetensors file, cut short by `truncate` bytes."""
    data = mcrun.safetensors_bytes(tensors, pad)
    with open(path, "wb") as f:
        f.write(data[: len(data) - truncate] if truncate else data)


def raw_safetensors(path, header, data=b"", pad=b""):
    """A safetensors file from a header given as text or a dict: for headers no exporter would write."""
    h = (header if isinstance(header, str) else json.dumps(header)).encode() + pad
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


def idx(path, dims, payload):
    """An uncompressed IDX u8 file whose header claims dims but holds only payload."""
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload)


rng = np.random.default_rng(0)
mlp = {"0.weight": rng.normal(size=(32, 64)), "0.bias": np.zeros(32), "2.weight": rng.normal(size=(10, 32)),
       "2.bias": np.zeros(10)}
safetensors("good.safetensors", mlp)
safetensors("padded.safetensors", mlp, pad=b"      ")  # spaces are the format's own padding
nan = dict(mlp)
nan["2.weight"] = mlp["2.weight"].copy()
nan["2.weight"][3, 4] = np.nan
safetensors("nan.safetensors", nan)
safetensors("truncated.safetensors", mlp, truncate=100)
mismatch = dict(mlp)
mismatch["2.weight"] = rng.normal(size=(10, 31))
safetensors("mismatch.safetensors", mismatch)
mcrun.synth(os.path.join(work, "planted.h5"), [16, 12, 8], 2)
with open("planted.h5", "rb") as f:
    blob = f.read()
with open("truncated.h5", "wb") as f:
    f.write(blob[: len(blob) // 2])
# A global heap object (where HDF5 keeps variable-length strings) claiming 64 TB: HDF5 1.10 trusts the length
# and reads wild memory (found by fuzzing the native reader); src/io/h5_heap.c must refuse it first.
heap = bytearray(blob)
gcol = heap.find(b"GCOL")
assert gcol >= 0, "no global heap in planted.h5"
struct.pack_into("<Q", heap, gcol + 24, 1 << 46)
with open("heap.h5", "wb") as f:
    f.write(heap)
# A collection whose size wraps the file offset around 2^64 (found by fuzzing: the check itself overflowed).
heap = bytearray(blob)
struct.pack_into("<Q", heap, gcol + 8, (1 << 64) - 64)
with open("heapwrap.h5", "wb") as f:
    f.write(heap)
# An attribute message whose name runs into garbage (the datatype that follows is lost): H5Aexists fails, and
# the message must still name the file and the group (found by tools/mutate.py).
bad = bytearray(blob)
at = bad.find(b"activation\x00")
bad[at + 5:at + 24] = b"G\x87\xe9\x00\xb5\\t\xa3M\x18\x1dR9\xb8B\xbf\xf9\x9d\xd3"
with open("badattr.h5", "wb") as f:
    f.write(bad)
with open("garbage.bin", "wb") as f:
    f.write(b"this is not a model file at all" * 10)
os.makedirs("existing_out")
# Fashion-MNIST-shaped MLPs for the activation graph: one live, one whose first hidden layer is constant.
fm = {"0.weight": rng.normal(size=(16, 784)) * 0.05, "0.bias": np.zeros(16), "2.weight": rng.normal(size=(12, 16)),
      "2.bias": np.zeros(12), "4.weight": rng.normal(size=(10, 12)), "4.bias": np.zeros(10)}
safetensors("fashion.safetensors", fm)
safetensors("deadlayer.safetensors", dict(fm, **{"0.weight": np.zeros((16, 784)), "0.bias": np.full(16, 0.5)}))
FASHION = "/usr/share/datasets/fashion-mnist"
# Malformed safetensors headers (regressions of the issue 14 probe).
w32 = rng.normal(size=(4, 3)).astype("<f4").tobytes()
ok_hdr = {"0.weight": {"dtype": "F32", "shape": [4, 3], "data_offsets": [0, 48]}}
raw_safetensors("trailing.safetensors", json.dumps(ok_hdr) + "}garbage", w32)
raw_safetensors("fracshape.safetensors", {"0.weight": {"dtype": "F32", "shape": [4, 3.5], "data_offsets": [0, 48]}}, w32)
raw_safetensors("fracoffset.safetensors", {"0.weight": {"dtype": "F32", "shape": [4, 3], "data_offsets": [0, 47.5]}}, w32)
raw_safetensors("emptyname.safetensors", {"": {"dtype": "F32", "shape": [4, 3], "data_offsets": [0, 48]}}, w32)
conv = np.zeros((4, 3, 3, 3), "<f4").tobytes()
raw_safetensors("threed.safetensors", {"0.weight": {"dtype": "F32", "shape": [4, 3, 3, 3], "data_offsets": [0, len(conv)]}}, conv)
# HDF5 datasets whose shapes claim more than they hold: images of 2^32 pixels (chunked, nothing written; the
# pixel count overflowed a 32-bit product, found by fuzzing), and a contiguous dataset never written.
import h5py  # noqa: E402
with h5py.File("huge_images.h5", "w") as f:
    for split in ("train", "test"):
        f.create_dataset(f"{split}/images", shape=(2, 65536, 65536), dtype="u1", chunks=(1, 64, 64))
        f[f"{split}/labels"] = np.zeros(2, dtype=np.int64)
with h5py.File("unwritten.h5", "w") as f:
    for split in ("train", "test"):
        f.create_dataset(f"{split}/images", shape=(1000, 28, 28), dtype="u1")
        f[f"{split}/labels"] = np.zeros(1000, dtype=np.int64)
# IDX datasets whose headers claim more than the files hold: a damaged count, and dimensions of terabytes.
for d, dims in (("idx_short", [60000, 28, 28]), ("idx_huge", [1 << 29, 1 << 29, 28])):
    os.makedirs(d)
    idx(f"{d}/train-images-idx3-ubyte", dims, bytes(28 * 28 * 100))
    idx(f"{d}/train-labels-idx1-ubyte", [60000], bytes(100))
ACT = ["graph.kind=activations", "data.source=" + FASHION]
# A small dataset for the memory cases: -mc_memory_per_rank below a few MB refuses Fashion-MNIST itself.
with h5py.File("small.h5", "w") as f:
    rng = np.random.default_rng(5)
    for split in ("train", "test"):
        f[f"{split}/images"] = rng.integers(0, 256, size=(400, 28, 28), dtype=np.uint8)
        f[f"{split}/labels"] = rng.integers(0, 10, size=400).astype(np.int64)
SMALL = ["graph.kind=activations", "data.source=small.h5"]
# Inputs a little beyond a memory budget of 5 MB (-mc_memory_per_rank 5e6): 6.3 MB of float images, a 6.3 MB
# weight tensor in a safetensors file and in a native model file.
with h5py.File("big.h5", "w") as f:
    for split in ("train", "test"):
        f[f"{split}/images"] = np.zeros((2000, 28, 28), dtype=np.float32)
        f[f"{split}/labels"] = np.zeros(2000, dtype=np.int64)
safetensors("wide.safetensors", {"0.weight": rng.normal(size=(2000, 784)), "0.bias": np.zeros(2000), "2.weight": rng.normal(size=(10, 2000)),
                                 "2.bias": np.zeros(10)})
mcrun.synth(os.path.join(work, "wide.h5"), [784, 2000, 10], 2)

GOOD = "[model]\npath = good.safetensors\ninfer = mlp\n[cluster]\nk = 4\n"
mcrun.write_config("good.ini", GOOD)
mcrun.write_config("typo.ini", "[model]\npath = good.safetensors\ninfer = mlp\n[cluster]\nn_clusterz = 4\n")
mcrun.write_config("badsection.ini", "[modle]\npath = good.safetensors\n")
mcrun.write_config("dupkey.ini", "[model]\npath = good.safetensors\npath = other.safetensors\n")
mcrun.write_config("nopath.ini", "[cluster]\nk = 4\n")

# (name, config, overrides, fragments that must all appear in the message)
CASES = [
    ("missing config", "nosuch.ini", [], ["nosuch.ini"]),
    ("unknown key", "typo.ini", [], ["typo.ini:5", "n_clusterz"]),
    ("unknown section", "badsection.ini", [], ["badsection.ini:1", "modle"]),
    ("duplicate key", "dupkey.ini", [], ["dupkey.ini:3", "path"]),
    ("model path required", "nopath.ini", [], ["path"]),
    ("bad override value", "good.ini", ["cluster.k=abc"], ["cluster", "k", "abc"]),
    ("k below range", "good.ini", ["cluster.k=1"], ["k", "1"]),
    ("k above node count", "good.ini", ["cluster.k=5000"], ["5000"]),
    ("k near N beyond dense", "good.ini", ["cluster.k=50", "-mc_eig_dense_max_rows", "50"], ["cluster.k = 50", "third", "106"]),
    ("missing model", "good.ini", ["model.path=nosuch.safetensors"], ["nosuch.safetensors"]),
    ("truncated safetensors", "good.ini", ["model.path=truncated.safetensors"], ["truncated.safetensors"]),
    ("NaN weights", "good.ini", ["model.path=nan.safetensors"], ["nan.safetensors", "weight", "NaN"]),
    ("shape mismatch", "good.ini", ["model.path=mismatch.safetensors"], ["mismatch.safetensors"]),
    ("safetensors trailing bytes", "good.ini", ["model.path=trailing.safetensors"], ["trailing.safetensors", "after the safetensors header"]),
    ("safetensors fractional shape", "good.ini", ["model.path=fracshape.safetensors"], ["fracshape.safetensors", "0.weight", "shape"]),
    ("safetensors fractional offset", "good.ini", ["model.path=fracoffset.safetensors"], ["fracoffset.safetensors", "data_offsets"]),
    ("safetensors empty name", "good.ini", ["model.path=emptyname.safetensors"], ["emptyname.safetensors", "empty name"]),
    ("conv kernel under infer mlp", "good.ini", ["model.path=threed.safetensors"], ["threed.safetensors", "0.weight", "4 dimensions"]),
    ("IDX shorter than header", "good.ini", ["graph.kind=activations", "model.path=fashion.safetensors", "data.source=idx_short"],
     ["idx_short/train-images-idx3-ubyte", "truncated", "47040000"]),
    ("HDF5 images of 2^32 pixels", "good.ini", ["graph.kind=activations", "model.path=fashion.safetensors", "data.source=huge_images.h5"],
     ["huge_images.h5", "/train/images", "2^31"]),
    ("HDF5 dataset never written", "good.ini", ["graph.kind=activations", "model.path=fashion.safetensors", "data.source=unwritten.h5"],
     ["unwritten.h5", "/train/images", "holds 0"]),
    ("crash while reading", "good.ini", ["-mc_fault_read_crash"], ["good.safetensors", "crashed (signal 11)"]),
    ("read watchdog", "good.ini", [*ACT, "model.path=fashion.safetensors", "-mc_read_timeout", "0.001"], ["did not end within 0.001 s"]),
    ("IDX header of terabytes", "good.ini", ["graph.kind=activations", "model.path=fashion.safetensors", "data.source=idx_huge"],
     ["idx_huge/train-images-idx3-ubyte", "2^40"]),
    ("truncated HDF5", "good.ini", ["model.path=truncated.h5", "model.infer=none"], ["truncated.h5"]),
    ("not a model", "good.ini", ["model.path=garbage.bin"], ["garbage.bin"]),
    ("unreadable HDF5 attribute", "good.ini", ["model.path=badattr.h5", "model.infer=none"], ["badattr.h5", "attribute activation", "/layers/000"]),
    ("corrupt HDF5 global heap", "good.ini", ["model.path=heap.h5", "model.infer=none"], ["heap.h5", "corrupt", "global heap"]),
    ("HDF5 global heap size wraps", "good.ini", ["model.path=heapwrap.h5", "model.infer=none"], ["heapwrap.h5", "corrupt", "global heap", "18446744073709551552"]),
    ("output exists", "good.ini", ["output.dir=existing_out"], ["existing_out", "overwrite"]),
    ("stage not implemented", "good.ini", ["coherence.enabled=true"], ["coherence", "not implemented"]),
    ("activations without data", "good.ini", ["graph.kind=activations"], ["data", "source"]),
    ("activations and shuffles", "good.ini", [*ACT, "clusterability.n_shuffles=5"], ["n_shuffles", "activations"]),
    ("dataset shape mismatch", "good.ini", ACT, [FASHION, "28 x 28 x 1", "good.safetensors", "64"]),
    ("act_samples too large", "good.ini", [*ACT, "model.path=fashion.safetensors", "graph.act_samples=70000"],
     ["act_samples", "70000", "60000"]),
    ("layer all dead", "good.ini", [*ACT, "model.path=deadlayer.safetensors"], ["deadlayer.safetensors", "dead", "0"]),
    ("graph beyond memory", "good.ini", [*SMALL, "model.path=fashion.safetensors", "graph.act_samples=300", "-mc_memory_per_rank", "40000"],
     ["activation graph", "28 units", "at least 8 ranks"]),
    ("kendall with act_knn", "good.ini", [*ACT, "model.path=fashion.safetensors", "graph.act_corr=kendall", "graph.act_knn=5"], ["act_knn", "kendall"]),
    ("graph beyond any ranks", "good.ini", [*SMALL, "model.path=fashion.safetensors", "graph.act_samples=400", "-mc_memory_per_rank", "10000"],
     ["activation graph", "28 units", "act_samples"]),
    ("dataset beyond memory", "good.ini", [*ACT, "model.path=fashion.safetensors", "-mc_memory_per_rank", "1e8"],
     [FASHION + "/train-images-idx3-ubyte", "0.1882 GB", "0.1 GB", "-mc_memory_per_rank"]),
    ("HDF5 dataset beyond memory", "good.ini", ["graph.kind=activations", "model.path=fashion.safetensors", "data.source=big.h5", "-mc_memory_per_rank", "5e6"],
     ["big.h5", "/train/images", "0.006272 GB", "0.005 GB"]),
    ("model tensor beyond memory", "good.ini", ["model.path=wide.safetensors", "-mc_memory_per_rank", "5e6"],
     ["wide.safetensors", "0.weight", "GB", "-mc_memory_per_rank"]),
    ("native tensor beyond memory", "good.ini", ["model.path=wide.h5", "model.infer=none", "-mc_memory_per_rank", "5e6"],
     ["wide.h5", "weight", "0.006272 GB", "0.005 GB"]),
]

failures = []
for name, cfg, overrides, fragments in CASES:
    out = "out_" + name.replace(" ", "_")
    args = [cfg, *(["output.dir=" + out] if not any(o.startswith("output.dir") for o in overrides) else []), *overrides]
    try:
        code, stdout, stderr = mcrun.run(NP, args, timeout=60)
    except Exception as e:  # a hang is a failure, not a stuck CI job
        failures.append(f"{name}: {e}")
        continue
    msgs = [l for l in stderr.splitlines() if l.startswith("modclust-mpi: error")]
    problems = []
    if code == 0:
        problems.append("exit status 0")
    if len(msgs) != 1:
        problems.append(f"{len(msgs)} error lines instead of one")
    text = " ".join(msgs)
    problems += [f"message lacks {f!r}" for f in fragments if f not in text]
    if out != "out_output_exists" and os.path.exists(out):
        problems.append("output directory left behind")
    if any(e.startswith(out + ".partial") for e in os.listdir(".")):
        problems.append("staging directory left behind")
    status = "ok" if not problems else "FAIL: " + "; ".join(problems)
    print(f"{name:24s} {status}\n    {msgs[0] if msgs else stderr.strip()[:300]}")
    if problems:
        failures.append(f"{name}: {'; '.join(problems)}\n--- stderr\n{stderr}")

# The good config really works, so the failures above are about the inputs.
mcrun.run_ok(NP, ["good.ini", "output.dir=out_good"])
mcrun.run_ok(NP, ["good.ini", "output.dir=out_padded", "model.path=padded.safetensors"])
if failures:
    sys.exit("FAILED:\n" + "\n".join(failures))
print(f"{len(CASES)} bad inputs rejected cleanly on {NP} ranks")
