#!/usr/bin/python3
"""The full importance test of inputs/fashion_mlp.h5 (k = 16, n_random = 19, all 10,000 test images): modclust-mpi
on NP ranks against a straightforward PyTorch implementation of the same test with torch.set_num_threads(NP),
in the same run, alternating for ROUNDS rounds (the machine is shared; each figure is the best round's).

Usage: bench/bench_importance.py BUILD_DIR [NP=2] [ROUNDS=3]
Writes bench/importance_results.txt (key=value) and prints a summary. Needs dataset-fashion-mnist.

PyTorch side, per (sub-cluster, draw): copy the consuming layer's kernel, zero the lesioned units' rows, run the
whole test set through the network (one batch of 10,000), per-class accuracy with bincount; the random sets come
from a NumPy permutation of each hidden layer's labels per draw, as docs/importance.md says. The same partition (our
clustering, read from results.h5) and the same number of lesions are evaluated on both sides.
GFLOP/s: useful forward FLOPs (2 per multiply-add) of the lesion tasks / farm seconds, against NP x the
single-core SGEMM peak (1024^3, measured here with NumPy's BLAS, and bench/nn/results.txt's figure)."""
import gzip
import os
import tempfile
import shutil
import subprocess
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import h5py  # noqa: E402
import numpy as np  # noqa: E402

import kernels  # noqa: E402  (bench/kernels.py)

BUILD = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else sys.exit(__doc__)
NP = int(sys.argv[2]) if len(sys.argv) > 2 else 2
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
DATA = "/usr/share/datasets/fashion-mnist"
MODEL = os.path.join(SRC, "inputs", "fashion_mlp.h5")
R = 19
work = tempfile.mkdtemp(prefix="mc-bench-importance-")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)


def run_ours(rnd):
    out = os.path.join(work, f"out{rnd}")
    cmd = ["mpiexec", "-n", str(NP), "--oversubscribe"] + (["--allow-run-as-root"] if os.getuid() == 0 else []) + [
        os.path.join(BUILD, "modclust-mpi"), os.path.join(SRC, "inputs", "default.ini"), f"model.path={MODEL}", f"data.source={DATA}",
        "cluster.k=16", "importance.enabled=true", f"importance.n_random={R}", "clusterability.n_shuffles=0", f"output.dir={out}"]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, capture_output=True)
    wall = time.perf_counter() - t0
    with h5py.File(os.path.join(out, "results.h5"), "r") as f:
        g = f["importance"]
        return dict(wall=wall, farm=float(g.attrs["seconds"]), gflop=float(g.attrs["gflop"]), n_sub=len(g["layer"]),
                    p_mean=float(g.attrs["fisher_p_mean"]), p_range=float(g.attrs["fisher_p_range"]),
                    labels=f["clusters/labels"][...], node_layer=f["graph/node_layer"][...], node_unit=f["graph/node_unit"][...])


def load_torch_side():
    import torch
    with gzip.open(os.path.join(DATA, "t10k-images-idx3-ubyte.gz")) as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784).astype(np.float32) / np.float32(255)
    with gzip.open(os.path.join(DATA, "t10k-labels-idx1-ubyte.gz")) as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    with h5py.File(MODEL, "r") as m:
        layers = [(torch.tensor(m["layers"][g]["weight"][...]), torch.tensor(m["layers"][g]["bias"][...])) for g in sorted(m["layers"])
                  if "weight" in m["layers"][g]]
    return torch, torch.tensor(x), y, layers


def run_torch(torch, X, y, layers, labels, node_layer, node_unit, seed=0):
    """The importance test in plain PyTorch; returns (seconds, lesions evaluated)."""
    torch.set_num_threads(NP)
    Y = torch.tensor(y)
    n_classes = 10
    totals = torch.bincount(Y, minlength=n_classes).double()
    n_hidden = len(layers) - 1

    def class_acc(lesion_layer=None, units=None):
        h = X
        with torch.no_grad():
            for l, (W, b) in enumerate(layers):
                if lesion_layer == l:
                    W = W.clone()
                    W[units, :] = 0
                h = torch.addmm(b, h, W)
                h = torch.relu(h) if l < len(layers) - 1 else torch.softmax(h, dim=1)
        pred = h.argmax(dim=1)
        return (torch.bincount(Y[pred == Y], minlength=n_classes).double() / totals).numpy()

    t0 = time.perf_counter()
    base = class_acc()
    rng = np.random.default_rng(seed)
    lab = {l: labels[node_layer == l] for l in range(1, n_hidden + 1)}
    subs = [(l, c) for l in range(1, n_hidden + 1) for c in sorted(set(lab[l].tolist()) - {-1})
            if 2 <= (lab[l] == c).sum() <= 0.99 * (lab[l] >= 0).sum()]
    perms = []
    for d in range(R):
        p = {}
        for l in lab:
            valid = np.flatnonzero(lab[l] >= 0)
            new = lab[l].copy()
            new[valid] = lab[l][rng.permutation(valid)]
            p[l] = new
        perms.append(p)
    n = 0
    stats = []
    for (l, c) in subs:
        sets = [np.flatnonzero(lab[l] == c)] + [np.flatnonzero(perms[d][l] == c) for d in range(R)]
        vals = []
        for units in sets:
            a = class_acc(l, torch.tensor(units))
            dlt = a - base
            vals.append((a.mean(), (dlt.max() - dlt.min()) / abs(dlt.mean()) if dlt.mean() != 0 else np.nan))
            n += 1
        m = np.array([v[0] for v in vals])
        stats.append((np.sum(m[1:] <= m[0]) + 1) / (R + 1))
    return time.perf_counter() - t0, n


def sgemm_peak():
    a = np.random.default_rng(0).standard_normal((1024, 1024)).astype(np.float32)
    best = 1e9
    for _ in range(5):
        t0 = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - t0)
    return 2 * 1024 ** 3 / best / 1e9


torch, X, y, layers = load_torch_side()
ours, theirs = [], []
for rnd in range(ROUNDS):
    o = run_ours(rnd)
    ours.append(o)
    t, n_lesions = run_torch(torch, X, y, layers, o["labels"], o["node_layer"], o["node_unit"])
    theirs.append(t)
    print(f"round {rnd}: modclust {o['wall']:.2f} s (farm {o['farm']:.2f} s), torch {t:.2f} s ({n_lesions} lesions)", flush=True)
best = min(ours, key=lambda o: o["wall"])
farm = min(o["farm"] for o in ours)
tt = min(theirs)
peak1 = sgemm_peak()
stored = None
try:
    for line in open(os.path.join(HERE, "nn", "results.txt")):
        if line.startswith("sgemm_1024_gflops="):
            stored = float(line.split("=")[1])
except OSError:
    pass
res = {
    "ranks": NP, "n_subclusters": best["n_sub"], "n_random": R, "lesions": best["n_sub"] * (R + 1),
    "modclust_wall_seconds": round(best["wall"], 3), "modclust_farm_seconds": round(farm, 3), "torch_seconds": round(tt, 3),
    "speedup_wall": round(tt / best["wall"], 2), "speedup_farm": round(tt / farm, 2),
    "useful_gflop": round(best["gflop"], 1), "gflops_farm": round(best["gflop"] / farm, 1),
    "sgemm_1024_gflops_per_core": round(peak1, 1), "sgemm_1024_gflops_per_core_bench_nn": stored,
    "fraction_of_peak": round(best["gflop"] / farm / (NP * (stored or peak1)), 3),
    "fisher_p_mean": best["p_mean"], "fisher_p_range": best["p_range"],
    "kernels": kernels.line(BUILD),
}
with open(os.path.join(HERE, "importance_results.txt"), "w") as f:
    f.write(f"# {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {os.cpu_count()} cores, best of {ROUNDS} alternating rounds\n")
    for k, v in res.items():
        f.write(f"{k}={v}\n")
for k, v in res.items():
    print(f"{k:36s} {v}")
