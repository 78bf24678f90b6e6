#!/usr/bin/python3
"""Trained networks from inputs/ (native HDF5 model files, layers/NNN/weight as W[in, out]): the weight graph
of mc_graph_build clustered with k = 12 (the clusterability setting) at 1, 2, 3 and 4 ranks must give
identical labels; eigenvalues match scipy.linalg.eigh to 1e-8; the n-cut matches NumPy's and is not worse
than scikit-learn SpectralClustering(affinity='precomputed', n_init=25, random_state=0) by more than 0.5 %;
removed nodes are exactly the degree-0 nodes. Usage: real_mlp_oracle.py SOURCE_DIR."""
import os, shlex, subprocess, sys
import h5py
import numpy as np
import scipy.linalg
from sklearn.cluster import SpectralClustering

BIN = os.environ.get("MC_BIN", ".")
MPIEXEC = os.environ.get("MC_MPIEXEC", "mpiexec")
FLAGS = shlex.split(os.environ.get("MC_MPI_FLAGS", ""))
EXE = os.path.join(BIN, "tests", "cluster", "test_oracle")
SRC = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("MC_SRC", ".")
K = 12


def adjacency(path):
    with h5py.File(path, "r") as f:
        Ws = [np.abs(f["layers"][name]["weight"][()].astype(np.float64)) for name in sorted(f["layers"]) if "weight" in f["layers"][name]]
    sizes = [Ws[0].shape[0]] + [W.shape[1] for W in Ws]
    off = np.concatenate([[0], np.cumsum(sizes)])
    A = np.zeros((off[-1], off[-1]))
    for g, W in enumerate(Ws):
        A[off[g]:off[g + 1], off[g + 1]:off[g + 2]] = W
    return A + A.T


def ncut(A, labels):
    d = A.sum(1)
    return sum(A[labels == c][:, labels != c].sum() / (d[labels == c].sum() + 1e-8) for c in np.unique(labels[labels >= 0]))


def read_result(path):
    raw = open(path, "rb").read()
    N, k, nrem = np.frombuffer(raw[:24], dtype=np.int64)
    fl = np.frombuffer(raw[24:24 + 8 * (k + 3)], dtype=np.float64)
    return dict(eig=fl[:k], ncut=fl[k], labels=np.frombuffer(raw[24 + 8 * (k + 3):], dtype=np.int64))


failures = []
for name in ("fashion_mlp.h5", "fashion_mlp_pruned.h5"):
    path = os.path.join(SRC, "inputs", name)
    A = adjacency(path)
    kept = A.sum(1) > 0
    res = {}
    for np_ in (1, 2, 3, 4):
        out = f"real_{name}_np{np_}.bin"
        r = subprocess.run([MPIEXEC, "-n", str(np_)] + FLAGS + [EXE, "-model", path, "-out", out, "-k", str(K), "-n_init", "25", "-eig_tol", "1e-8"],
                           capture_output=True, text=True, timeout=200)
        if r.returncode != 0:
            failures.append(f"{name} np {np_}: exit {r.returncode}: {r.stdout} {r.stderr}")
            continue
        res[np_] = read_result(out)
    if 1 not in res:
        continue
    Ak = A[np.ix_(kept, kept)]
    dk = Ak.sum(1)
    ref = scipy.linalg.eigh(np.eye(len(dk)) - Ak / np.sqrt(np.outer(dk, dk)), eigvals_only=True, subset_by_index=[0, K - 1])
    sk = SpectralClustering(n_clusters=K, affinity="precomputed", n_init=25, random_state=0).fit(Ak)
    skl = np.full(A.shape[0], -1)
    skl[kept] = sk.labels_
    sk_ncut = ncut(A, skl)
    mine = res[1]
    err = np.max(np.abs(mine["eig"] - ref))
    print(f"{name}: N {A.shape[0]} removed {int((~kept).sum())} ncut {mine['ncut']:.6f} sklearn {sk_ncut:.6f} eig err {err:.1e}")
    if err > 1e-8:
        failures.append(f"{name}: eigenvalues off by {err:.2e}")
    if not np.array_equal(mine["labels"] < 0, ~kept):
        failures.append(f"{name}: removed nodes differ from the degree-0 nodes")
    if abs(ncut(A, mine["labels"]) - mine["ncut"]) > 1e-9 * mine["ncut"]:
        failures.append(f"{name}: reported n-cut differs from NumPy's")
    if mine["ncut"] > 1.005 * sk_ncut:
        failures.append(f"{name}: n-cut {mine['ncut']} worse than sklearn {sk_ncut} by more than 0.5%")
    for np_, r in res.items():
        if not np.array_equal(r["labels"], mine["labels"]):
            failures.append(f"{name}: labels at {np_} ranks differ from 1 rank")
for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
