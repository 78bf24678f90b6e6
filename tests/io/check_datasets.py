#!/usr/bin/python3
"""Drive tests/io/test_io_dataset: the Fashion-MNIST test split read as IDX (gzipped and plain) and as
HDF5 must match numpy's reading (gzip + numpy); truncated or inconsistent copies must fail with one message
naming the file. check_datasets.py IDX_DIR FIXTURE_DIR NP"""
import gzip
import os
import re
import shlex
import subprocess
import sys

import h5py
import numpy as np

BIN = os.environ.get("MC_BIN", ".")
MPIEXEC = os.environ.get("MC_MPIEXEC", "mpiexec")
MPI_FLAGS = shlex.split(os.environ.get("MC_MPI_FLAGS", "--oversubscribe"))
EXE = os.path.join(BIN, "tests", "io", "test_io_dataset")


def run(np_, source, split):
    cmd = [MPIEXEC, "-n", str(np_), *MPI_FLAGS, EXE, "-source", source, "-split", split]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    return p.returncode, p.stdout, p.stderr


def summary(x, y):
    """The same numbers test_io_dataset prints, computed in numpy (float32 pixels, double sums)."""
    flat = x.reshape(-1).astype(np.float64)
    w = np.arange(flat.size, dtype=np.int64) % 1009
    return {"n": len(y), "shape": "x".join(map(str, (list(x.shape[1:]) + [1])[:3])), "classes": int(y.max()) + 1,
            "y0": int(y[0]), "sumx": flat.sum(), "sumy": float(y.sum()), "wx": (flat * w).sum()}


def parse(out):
    m = re.search(r"summary n=(\d+) shape=(\S+) classes=(\d+) y0=(\d+) sumx=(\S+) sumy=(\S+) wx=(\S+)", out)
    if not m:
        return None
    return {"n": int(m.group(1)), "shape": m.group(2), "classes": int(m.group(3)), "y0": int(m.group(4)),
            "sumx": float(m.group(5)), "sumy": float(m.group(6)), "wx": float(m.group(7))}


def main():
    idx, fx, np_ = sys.argv[1], sys.argv[2], int(sys.argv[3])
    d = os.path.join(fx, "data")
    with gzip.open(os.path.join(idx, "t10k-images-idx3-ubyte.gz")) as f:
        x = np.frombuffer(f.read()[16:], np.uint8).reshape(-1, 28, 28)
    with gzip.open(os.path.join(idx, "t10k-labels-idx1-ubyte.gz")) as f:
        y = np.frombuffer(f.read()[8:], np.uint8)
    xs = x.astype(np.float32) / np.float32(255)
    want = summary(xs, y)
    assert want["n"] == 10000 and want["shape"] == "28x28x1" and want["classes"] == 10
    with h5py.File(os.path.join(d, "float_nhwc.h5")) as f:
        xf, yf = f["test/images"][()], f["test/labels"][()]
    good = [(idx, "test", want), (os.path.join(d, "idx_plain"), "test", want),
            (os.path.join(d, "fashion_test.h5"), "test", want),
            (os.path.join(d, "fashion_test.h5"), "train", summary(xs[:100], y[:100])),
            (os.path.join(d, "float_nhwc.h5"), "test", summary(xf, yf))]
    bad = [(os.path.join(d, "idx_trunc_plain"), "test", ["t10k-images-idx3-ubyte", "truncated"]),
           (os.path.join(d, "idx_trunc_gz"), "test", ["t10k-images-idx3-ubyte.gz", "truncated"]),
           (os.path.join(d, "idx_badmagic"), "test", ["t10k-images-idx3-ubyte", "magic"]),
           (os.path.join(d, "idx_plain"), "train", ["train-images-idx3-ubyte", "dataset-fashion-mnist"]),
           (os.path.join(d, "bad_count.h5"), "test", ["bad_count.h5", "50 images", "49 labels"]),
           (os.path.join(d, "nonexistent"), "test", ["nonexistent", "apt-get install dataset-fashion-mnist"])]
    failures = []
    for source, split, exp in good:
        code, out, err = run(np_, source, split)
        got = parse(out)
        if code != 0 or got is None:
            failures.append("%s %s: exit %d\n%s%s" % (source, split, code, out, err))
            continue
        for k, v in exp.items():
            ok = abs(got[k] - v) <= 1e-9 * max(1.0, abs(v)) + 1e-4 if isinstance(v, float) else got[k] == v
            if not ok:
                failures.append("%s %s: %s = %r, numpy says %r" % (source, split, k, got[k], v))
        print("ok", source, split, out.strip())
    for source, split, keys in bad:
        code, out, err = run(np_, source, split)
        msgs = [l for l in err.splitlines() if re.match(r"[\w.-]+: error", l)]
        text = "\n".join(msgs)
        problems = (["exit code 0"] if code == 0 else []) + ([] if len(msgs) == 1 else ["%d error lines" % len(msgs)])
        problems += ["message lacks %r" % k for k in keys if k not in text]
        if problems:
            failures.append("%s: %s\n%s" % (source, "; ".join(problems), err))
        else:
            print("ok (rejected)", source, "->", text)
    if failures:
        print("\n".join(failures))
        sys.exit("FAILED: %d case(s)" % len(failures))


if __name__ == "__main__":
    main()
