#!/usr/bin/python3
"""Spectral clustering against SciPy and scikit-learn.

Builds random layered graphs (|W| blocks of an MLP-like network with module structure of varying strength,
a few dead units), runs test_oracle at 1, 2, 3 and 4 ranks and checks:
- the eigenvalues equal the k smallest of I - D^-1/2 A D^-1/2 over the kept nodes (scipy.linalg.eigh) to 1e-8;
- removed nodes are exactly the degree-0 nodes, labelled -1;
- the reported n-cut equals a NumPy n-cut of the labels;
- labels are identical at every rank count;
- with k a large part of N (the dense solver's cases), the same;
- our n-cut is not worse than sklearn SpectralClustering(affinity='precomputed', n_init=25, random_state=0)
  by more than 0.5 %.
"""
import os, shlex, subprocess, sys
import numpy as np
import scipy.linalg
from sklearn.cluster import SpectralClustering

BIN = os.environ.get("MC_BIN", ".")
MPIEXEC = os.environ.get("MC_MPIEXEC", "mpiexec")
FLAGS = shlex.split(os.environ.get("MC_MPI_FLAGS", ""))
EXE = os.path.join(BIN, "tests", "cluster", "test_oracle")


def make_graph(rng, sizes, modules, strength, dead):
    blocks = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        W = np.abs(rng.standard_normal((a, b)))
        W[rng.random((a, b)) < 0.3] = 0.0
        same = (np.arange(a)[:, None] % modules) == (np.arange(b)[None, :] % modules)
        W *= np.where(same, strength, 1.0)
        blocks.append(W)
    off = np.concatenate([[0], np.cumsum(sizes)])
    for node in dead:  # global node ids that lose every edge
        g = np.searchsorted(off, node, side="right") - 1
        u = node - off[g]
        if g > 0:
            blocks[g - 1][:, u] = 0
        if g < len(sizes) - 1:
            blocks[g][u, :] = 0
    N = off[-1]
    A = np.zeros((N, N))
    for g, B in enumerate(blocks):
        A[off[g]:off[g + 1], off[g + 1]:off[g + 2]] = B
    A = A + A.T
    return blocks, A


def write_graph(path, sizes, blocks):
    with open(path, "wb") as f:
        np.array([len(sizes)], dtype=np.int64).tofile(f)
        np.array(sizes, dtype=np.int64).tofile(f)
        for B in blocks:
            np.ascontiguousarray(B, dtype=np.float64).tofile(f)


def read_result(path):
    raw = open(path, "rb").read()
    N, k, nrem = np.frombuffer(raw[:24], dtype=np.int64)
    fl = np.frombuffer(raw[24:24 + 8 * (k + 3)], dtype=np.float64)
    labels = np.frombuffer(raw[24 + 8 * (k + 3):], dtype=np.int64)
    assert labels.size == N
    return dict(N=N, k=k, removed=nrem, eig=fl[:k], ncut=fl[k], inertia=fl[k + 1], resid=fl[k + 2], labels=labels)


def ncut(A, labels):
    d = A.sum(1)
    total = 0.0
    for c in np.unique(labels[labels >= 0]):
        m = labels == c
        cut = A[m][:, ~m].sum()
        total += cut / (d[m].sum() + 1e-8)
    return total


def main():
    rng = np.random.default_rng(2024)
    cases = [
        # sizes, modules, strength, dead nodes, k
        ([40, 60, 60, 50, 10], 4, 2.0, [3, 45, 171], 4),
        ([30, 48, 48, 48, 12], 6, 1.6, [100], 6),
        ([50, 64, 64, 10], 5, 1.0, [7, 60], 8),   # no planted structure: a plain random layered graph
        # k a large part of the nodes: the dense eigensolver (ScaLAPACK) instead of Krylov-Schur
        ([20, 30, 30, 10], 3, 1.5, [5], 40),
        ([10, 12, 8], 2, 1.0, [], 30),             # k = N: every node its own cluster
    ]
    failures = []
    for ci, (sizes, modules, strength, dead, k) in enumerate(cases):
        blocks, A = make_graph(rng, sizes, modules, strength, dead)
        gpath = f"oracle_graph{ci}.bin"
        write_graph(gpath, sizes, blocks)
        deg = A.sum(1)
        kept = deg > 0
        Ak = A[np.ix_(kept, kept)]
        dk = Ak.sum(1)
        L = np.eye(Ak.shape[0]) - Ak / np.sqrt(np.outer(dk, dk))
        ref_eig = scipy.linalg.eigh(L, eigvals_only=True)[:k]
        sk = SpectralClustering(n_clusters=k, affinity="precomputed", n_init=25, random_state=0).fit(Ak)
        sk_labels = np.full(A.shape[0], -1)
        sk_labels[kept] = sk.labels_
        sk_ncut = ncut(A, sk_labels)
        results = {}
        for np_ in (1, 2, 3, 4):
            out = f"oracle_result{ci}_np{np_}.bin"
            cmd = [MPIEXEC, "-n", str(np_)] + FLAGS + [EXE, "-in", gpath, "-out", out, "-k", str(k), "-n_init", "25"]
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            if r.returncode != 0:
                failures.append(f"case {ci} np {np_}: exit {r.returncode}: {r.stdout} {r.stderr}")
                continue
            results[np_] = read_result(out)
        if 1 not in results:
            continue
        res = results[1]
        err = np.max(np.abs(res["eig"] - ref_eig))
        print(f"case {ci}: N {A.shape[0]} k {k} eig err {err:.2e} ncut {res['ncut']:.6f} sklearn {sk_ncut:.6f} removed {res['removed']}")
        if err > 1e-8:
            failures.append(f"case {ci}: eigenvalues differ by {err:.3e}: {res['eig']} vs {ref_eig}")
        if not np.array_equal(res["labels"] < 0, ~kept):
            failures.append(f"case {ci}: removed nodes {np.where(res['labels'] < 0)[0]} != degree-0 nodes {np.where(~kept)[0]}")
        my = ncut(A, res["labels"])
        if abs(my - res["ncut"]) > 1e-10 * max(1.0, my):
            failures.append(f"case {ci}: reported ncut {res['ncut']} != numpy ncut {my}")
        if res["ncut"] > sk_ncut * 1.005:
            failures.append(f"case {ci}: ncut {res['ncut']} worse than sklearn's {sk_ncut} by more than 0.5%")
        # labels numbered by first appearance
        seen = res["labels"][res["labels"] >= 0]
        _, first = np.unique(seen, return_index=True)
        if not np.array_equal(seen[np.sort(first)], np.arange(len(first))):
            failures.append(f"case {ci}: labels not numbered by first appearance")
        for np_, other in results.items():
            if not np.array_equal(other["labels"], res["labels"]):
                failures.append(f"case {ci}: labels at {np_} ranks differ from 1 rank")
            if np.max(np.abs(other["eig"] - ref_eig)) > 1e-8:
                failures.append(f"case {ci}: eigenvalues at {np_} ranks off")
    for f in failures:
        print("FAIL:", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
