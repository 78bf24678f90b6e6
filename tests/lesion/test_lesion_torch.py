#!/usr/bin/python3
"""The lesion statistics of the trained Fashion-MNIST MLP (inputs/fashion_mlp.h5, k = 16, the 10,000 test
images) agree with PyTorch: for every sub-cluster the run reports, silencing the same units (outgoing: zero
their rows in the consuming kernel) in PyTorch gives the same per-class accuracies, mean and range to 1e-6,
and the same baseline."""
import gzip
import os
import shutil
import sys

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "regress"))
import mcrun  # noqa: E402
from mcrun import check  # noqa: E402

torch.set_num_threads(1)
work = os.path.abspath("lesion_torch")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
src = "/usr/share/datasets/fashion-mnist"
with gzip.open(os.path.join(src, "t10k-images-idx3-ubyte.gz")) as f:
    x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784).astype(np.float32) / np.float32(255)
with gzip.open(os.path.join(src, "t10k-labels-idx1-ubyte.gz")) as f:
    y = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
model = os.path.join(mcrun.SRC, "inputs", "fashion_mlp.h5")
with h5py.File(model, "r") as m:
    layers = [(m["layers"][g]["weight"][...], m["layers"][g]["bias"][...]) for g in sorted(m["layers"]) if "weight" in m["layers"][g]]

out = os.path.join(work, "out")
mcrun.run_ok(2, [os.path.join(mcrun.SRC, "inputs", "default.ini"), f"model.path={model}", "importance.enabled=true", "importance.n_random=1", "clusterability.n_shuffles=0",
                 f"data.source={src}", f"output.dir={out}"], timeout=200)
with h5py.File(os.path.join(out, "results.h5"), "r") as f:
    imp = {k: f["importance"][k][...] for k in ("layer", "cluster", "size", "class_acc", "mean_acc", "range", "baseline_class_acc")}
    labels = f["clusters/labels"][...]
    node_layer = f["graph/node_layer"][...]
    node_unit = f["graph/node_unit"][...]
totals = np.bincount(y, minlength=10)


def class_acc(lesion=None):
    h = torch.tensor(x)
    with torch.no_grad():
        for l, (W, b) in enumerate(layers):
            W = torch.tensor(W).clone()
            if lesion is not None and lesion[0] == l:
                W[lesion[1], :] = 0
            h = h @ W + torch.tensor(b)
            h = torch.relu(h) if l < len(layers) - 1 else torch.softmax(h, dim=1)
    pred = h.argmax(dim=1).numpy()
    return np.bincount(y[pred == y], minlength=10) / totals


base = class_acc()
check(np.abs(imp["baseline_class_acc"] - base).max() <= 1e-6, f"baseline {imp['baseline_class_acc']} vs PyTorch {base}")
M = len(imp["layer"])
check(M >= 10, f"the trained MLP has sub-clusters to test ({M})")
worst = 0.0
for s in range(M):
    l, c = imp["layer"][s], imp["cluster"][s]
    units = np.sort(node_unit[(node_layer == l) & (labels == c)])
    check(len(units) == imp["size"][s], f"sub-cluster {s} size")
    acc = class_acc((l, units))
    d = acc - base
    m = acc.mean()
    rg = (d.max() - d.min()) / abs(d.mean()) if abs(d.mean()) > 1e-12 else np.nan
    worst = max(worst, np.abs(imp["class_acc"][s] - acc).max())
    check(np.abs(imp["class_acc"][s] - acc).max() <= 1e-6, f"sub-cluster {s} (layer {l}, cluster {c}): per-class accuracy {imp['class_acc'][s]} vs PyTorch {acc}")
    check(abs(imp["mean_acc"][s] - m) <= 1e-6, f"sub-cluster {s}: mean {imp['mean_acc'][s]} vs {m}")
    check((np.isnan(rg) and np.isnan(imp["range"][s])) or abs(imp["range"][s] - rg) <= 1e-6 * max(1.0, abs(rg)), f"sub-cluster {s}: range {imp['range'][s]} vs {rg}")
print(f"lesion vs PyTorch: {M} sub-clusters agree (largest per-class difference {worst:.1e})")
