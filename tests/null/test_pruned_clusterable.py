#!/usr/bin/python3
"""The shipped pruned Fashion MLP (inputs/fashion_mlp_pruned.h5, made the reference's way: pruned from the
trained inputs/fashion_mlp.h5) is clusterable, as the paper's pruned MLPs are: with k = 12 and 50 `layer`
shuffles, its n-cut is below every shuffle's (p = 1/51) and z < -3; and its test accuracy, computed here by
an independent NumPy forward pass over the 10,000 Fashion-MNIST test images, is within 1 point of the
unpruned net's."""
import gzip
import os
import shutil
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "regress"))
import mcrun  # noqa: E402
from mcrun import SRC, check  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"


def idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def accuracy(path, x, y):
    """Dense-ReLU layers and a softmax output, from the native file's kernels (W[in][out]) and biases."""
    with h5py.File(path, "r") as f:
        layers = [(f["layers"][n]["weight"][...].astype(np.float64), f["layers"][n]["bias"][...].astype(np.float64))
                  for n in sorted(f["layers"]) if "weight" in f["layers"][n]]
    a = x
    for i, (w, b) in enumerate(layers):
        a = a @ w + b
        if i + 1 < len(layers):
            a = np.maximum(a, 0)
    return float(np.mean(np.argmax(a, axis=1) == y))


def main():
    if not os.path.exists(os.path.join(DATA, "t10k-images-idx3-ubyte.gz")):
        print("no Fashion-MNIST (apt-get install dataset-fashion-mnist); skipping")
        return
    pruned, unpruned = os.path.join(SRC, "inputs", "fashion_mlp_pruned.h5"), os.path.join(SRC, "inputs", "fashion_mlp.h5")
    x = idx(os.path.join(DATA, "t10k-images-idx3-ubyte.gz")).reshape(10000, -1).astype(np.float64) / 255.0
    y = idx(os.path.join(DATA, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    acc_p, acc_u = accuracy(pruned, x, y), accuracy(unpruned, x, y)
    with h5py.File(pruned, "r") as f:
        w = np.concatenate([f["layers"][n]["weight"][...].ravel() for n in sorted(f["layers"]) if "weight" in f["layers"][n]])
    sparsity = float(np.mean(w == 0))
    print(f"test accuracy: pruned {acc_p:.4f} (kernel sparsity {sparsity:.3f}), unpruned {acc_u:.4f}")
    check(abs(acc_p - acc_u) <= 0.01, f"pruned accuracy {acc_p:.4f} is not within 1 point of the unpruned {acc_u:.4f}")
    check(abs(sparsity - 0.9) < 0.01, f"kernel sparsity {sparsity:.3f}, expected 0.90")

    work = os.path.abspath("pruned_clusterable")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    cfg = os.path.join(work, "pruned.ini")
    mcrun.write_config(cfg, f"[model]\npath = {pruned}\n[cluster]\nk = 12\nseed = 42\n[clusterability]\nn_shuffles = 50\n")
    mcrun.run_ok(2, [cfg, f"output.dir={os.path.join(work, 'out')}"], timeout=240)
    with h5py.File(os.path.join(work, "out", "results.h5"), "r") as f:
        g = f["clusterability"]
        true, shuf, p, z = g["ncut_true"][()], g["ncut_shuffled"][...], g["p_value"][()], g["z_score"][()]
    print(f"pruned Fashion MLP, k = 12: n-cut {true:.4f} against {shuf.mean():.4f} +- {shuf.std():.4f} (50 shuffles), p = {p:.4f}, z = {z:.2f}")
    check(p == 1.0 / 51, f"p = {p}, expected its minimum 1/51: a shuffle was as clusterable")
    check(z < -3, f"z = {z:.2f}, expected below -3")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
