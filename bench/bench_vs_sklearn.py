#!/usr/bin/python3
"""Whole runs of modclust-mpi against scikit-learn's SpectralClustering on the same weight graphs.

Usage: /usr/bin/python3 bench/bench_vs_sklearn.py [--build build] [--np 2] [--only NAME ...] [--sk-timeout 600]

For every case: the graph is built once by modclust-mpi (save_graph) so both tools see the same adjacency;
then modclust-mpi is timed as a whole process (mpiexec start-up, reading the model, graph, eigensolver,
k-means, n-cut, writing results) and scikit-learn's fit is timed on the stored adjacency (arpack, the
same n_init: 25, or 100 when the graph has more than 2000 nodes). The n-cut of both labelings is computed
by the same NumPy code. Medians of --repeat runs of ours; scikit-learn once (it is the slow side)."""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np
import scipy.sparse as sp

import kernels  # bench/kernels.py

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
CASES = {
    # name: (model spec, k). A spec starting with "synth:" is passed to modclust-synth.
    "trained-mlp": (os.path.join(SRC, "inputs", "fashion_mlp.h5"), 16),
    "planted-9k": ("synth:-widths 784,2048,2048,2048,2048,10 -modules 16 -weak 0.05 -seed 1", 16),
    "resnet50-sized": ("synth:-widths " + ",".join(["512"] * 53) + " -modules 32 -weak 0.2 -seed 2", 32),
    # The paper's ImageNet setting: torchvision's ResNet-50 (seeded random weights), the channel walker's graph.
    "resnet50": ("torchvision:resnet50", 32),
}


def torchvision_onnx(arch, path):
    """Export torchvision's `arch` (seeded random weights) to ONNX for a 224 x 224 input."""
    code = f"""
import torch, torchvision
torch.manual_seed(0)
m = getattr(torchvision.models, {arch!r})(weights=None).eval()
torch.onnx.export(m, torch.rand(1, 3, 224, 224), {path!r}, opset_version=13, input_names=['x'], output_names=['y'], dynamic_axes={{'x': {{0: 'n'}}}})
"""
    subprocess.run(["/usr/bin/python3", "-c", code], check=True, capture_output=True)


def ncut(A, labels):
    d = np.asarray(A.sum(axis=1)).ravel()
    total = 0.0
    for c in np.unique(labels[labels >= 0]):
        m = labels == c
        vol = d[m].sum()
        total += (vol - A[m][:, m].sum()) / (vol + 1e-8)
    return total


def mpirun(args, np_):
    flags = ["--oversubscribe"] + (["--allow-run-as-root"] if os.getuid() == 0 else [])
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    t = time.perf_counter()
    subprocess.run(["mpiexec", "-n", str(np_), *flags, *args], check=True, env=env, capture_output=True, text=True)
    return time.perf_counter() - t


def sklearn_fit(npz, k, n_init, timeout):
    """Fit in a child process (so a time-out can stop it); returns (seconds, labels) or (None, None)."""
    code = f"""
import time, numpy as np, scipy.sparse as sp
from sklearn.cluster import SpectralClustering
A = sp.load_npz({npz!r})
t = time.perf_counter()
lab = SpectralClustering(n_clusters={k}, affinity='precomputed', eigen_solver='arpack', n_init={n_init},
                         assign_labels='kmeans', random_state=0).fit(A).labels_
np.save({npz!r} + '.labels.npy', lab)
print(time.perf_counter() - t)
"""
    try:
        p = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True, timeout=timeout,
                           env=dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1"), check=True)
    except subprocess.TimeoutExpired:
        return None, None
    return float(p.stdout.split()[-1]), np.load(npz + ".labels.npy")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(SRC, "build"))
    ap.add_argument("--np", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--sk-timeout", type=float, default=600)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="mc-bench-")
    exe = os.path.join(a.build, "modclust-mpi")
    print(kernels.line(a.build))
    print(f"{'case':16s} {'nodes':>7s} {'edges':>10s} {'ours s':>8s} {'sklearn s':>10s} {'ratio':>7s} "
          f"{'ncut ours':>10s} {'ncut sk':>10s} {'diff %':>7s}")
    for name, (spec, k) in CASES.items():
        if a.only and name not in a.only:
            continue
        model = spec
        if spec.startswith("torchvision:"):
            model = os.path.join(work, name + ".onnx")
            torchvision_onnx(spec.split(":", 1)[1], model)
        elif spec.startswith("synth:"):
            model = os.path.join(work, name + ".h5")
            subprocess.run([os.path.join(a.build, "modclust-synth"), *spec[6:].split(), "-o", model], check=True,
                           capture_output=True)
        cfg = os.path.join(work, name + ".ini")
        with open(cfg, "w") as f:
            f.write(f"[model]\npath = {model}\n[cluster]\nk = {k}\n[output]\noverwrite = true\n")
        out = os.path.join(work, name + "-graph")
        mpirun([exe, cfg, f"output.dir={out}", "output.save_graph=true"], a.np)
        with h5py.File(os.path.join(out, "results.h5"), "r") as f:
            n = int(f["graph"].attrs["n_nodes"])
            g = f["graph/adjacency"]
            A = sp.csr_matrix((g["data"][...], g["indices"][...], g["indptr"][...]), shape=(n, n))
        times = []
        for _ in range(a.repeat):
            times.append(mpirun([exe, cfg, f"output.dir={os.path.join(work, name + '-timed')}"], a.np))
        with h5py.File(os.path.join(work, name + "-timed", "results.h5"), "r") as f:
            labels = f["clusters/labels"][...]
        keep = np.asarray(A.sum(axis=1)).ravel() > 0
        Ak = A[keep][:, keep]
        nc_ours = ncut(Ak, labels[keep])
        npz = os.path.join(work, name + ".npz")
        sp.save_npz(npz, Ak)
        n_init = 100 if keep.sum() > 2000 else 25
        t_sk, lab_sk = sklearn_fit(npz, k, n_init, a.sk_timeout)
        ours = statistics.median(times)
        if t_sk is None:
            print(f"{name:16s} {n:7d} {A.nnz // 2:10d} {ours:8.2f} {'>' + str(int(a.sk_timeout)):>10s} "
                  f"{'>' + format(a.sk_timeout / ours, '.1f'):>7s} {nc_ours:10.4f} {'-':>10s} {'-':>7s}")
        else:
            nc_sk = ncut(Ak, lab_sk)
            print(f"{name:16s} {n:7d} {A.nnz // 2:10d} {ours:8.2f} {t_sk:10.2f} {t_sk / ours:7.1f} "
                  f"{nc_ours:10.4f} {nc_sk:10.4f} {100 * (nc_ours - nc_sk) / nc_sk:7.2f}")
        sys.stdout.flush()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
