#!/usr/bin/python3
"""The clusterability null against scikit-learn: 50 shuffles of the trained Fashion-MNIST MLP, k = 12.

Usage: /usr/bin/python3 bench/bench_null.py [--build build] [--np 2] [--n 50] [--k 12] [--sk-threads 1] [--repeat 5]
                                           [--default-launch]

Ours: one whole modclust-mpi process on --np ranks (start-up, reading the model, the true clustering, the
n shuffles with re-clustering, writing results), timed from outside; the null alone is also read from
results.h5 (/clusterability attrs seconds). Ours runs --repeat times, half before and half after
scikit-learn, and the medians are compared (this machine's speed drifts by +-20% from minute to minute;
the long scikit-learn run averages that out, a 2 s run does not). scikit-learn: the same null as the paper computed it, in this
same run: each layer block permuted with NumPy (all entries, zeros included), degree-0 nodes removed,
SpectralClustering(affinity='precomputed', eigen_solver='arpack', n_init=25, assign_labels='kmeans') on the
sparse adjacency, n-cut by NumPy. The random streams differ, so the two null distributions agree in
distribution (means within a few standard errors), not value by value."""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np
import scipy.sparse as sp

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)


def ncut(A, labels):
    d = np.asarray(A.sum(axis=1)).ravel()
    total = 0.0
    for c in np.unique(labels):
        m = labels == c
        vol = d[m].sum()
        total += (vol - A[m][:, m].sum()) / (vol + 1e-8)
    return total


def blocks_of(model):
    with h5py.File(model, "r") as m:
        return [np.abs(m["layers"][g]["weight"][...].astype(np.float64)) for g in sorted(m["layers"]) if "weight" in m["layers"][g]]


def sklearn_null(blocks, n, k, seed=0):
    from sklearn.cluster import SpectralClustering
    rng = np.random.default_rng(seed)
    sizes = [blocks[0].shape[0]] + [b.shape[1] for b in blocks]
    off = np.cumsum([0] + sizes)
    N = off[-1]
    out = []
    for s in range(n):
        rows, cols, vals = [], [], []
        for l, W in enumerate(blocks):
            w = rng.permutation(W.ravel()).reshape(W.shape)
            r, c = np.nonzero(w)
            rows.append(r + off[l])
            cols.append(c + off[l + 1])
            vals.append(w[r, c])
        r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
        A = sp.csr_matrix((np.concatenate([v, v]), (np.concatenate([r, c]), np.concatenate([c, r]))), shape=(N, N))
        keep = np.asarray(A.sum(axis=1)).ravel() > 0
        A = A[keep][:, keep]
        lab = SpectralClustering(n_clusters=k, affinity="precomputed", eigen_solver="arpack", n_init=25, assign_labels="kmeans",
                                 random_state=s).fit(A).labels_
        out.append(ncut(A, lab))
    return np.array(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(SRC, "build"))
    ap.add_argument("--np", type=int, default=2)
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--k", type=int, default=12)
    ap.add_argument("--sk-threads", type=int, default=1, help="BLAS threads for the scikit-learn side")
    ap.add_argument("--repeat", type=int, default=5, help="runs of ours (median reported)")
    ap.add_argument("--default-launch", action="store_true", help="leave Open MPI's transport selection at its default")
    ap.add_argument("--model", default=os.path.join(SRC, "inputs", "fashion_mlp.h5"))
    a = ap.parse_args()

    runs = []

    def run_ours():
        tmp = tempfile.mkdtemp(prefix="bench_null_")
        try:
            out = os.path.join(tmp, "out")
            flags = ["--oversubscribe"] + (["--allow-run-as-root"] if os.getuid() == 0 else [])
            # One machine: Open MPI's shared-memory point-to-point layer, as tools/quickstart.sh and the tests
            # run it (the default probes network fabrics first, 0.2 s of start-up; --default-launch keeps it).
            env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
            if not a.default_launch:
                env.setdefault("OMPI_MCA_pml", "ob1")
            cmd = ["mpiexec", "-n", str(a.np), *flags, os.path.join(a.build, "modclust-mpi"), os.path.join(SRC, "inputs", "default.ini"),
                   f"model.path={a.model}", f"cluster.k={a.k}", f"clusterability.n_shuffles={a.n}", "importance.enabled=false", f"output.dir={out}"]
            t = time.perf_counter()
            subprocess.run(cmd, check=True, env=env, capture_output=True, text=True)
            t_whole = time.perf_counter() - t
            with h5py.File(os.path.join(out, "results.h5"), "r") as f:
                g = f["clusterability"]
                runs.append(dict(whole=t_whole, null=float(g.attrs["seconds"]), values=g["ncut_shuffled"][...], true=g["ncut_true"][()],
                                 gs=g.attrs["group_size"]))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    for _ in range((a.repeat + 1) // 2):
        run_ours()

    # scikit-learn in a child with its own BLAS thread count (set before NumPy loads).
    code = f"""
import sys, time, numpy as np
sys.path.insert(0, {HERE!r})
from bench_null import blocks_of, sklearn_null
b = blocks_of({a.model!r})
t = time.perf_counter()
v = sklearn_null(b, {a.n}, {a.k})
print(time.perf_counter() - t)
print(' '.join(repr(float(x)) for x in v))
"""
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(a.sk_threads), OMP_NUM_THREADS=str(a.sk_threads))
    p = subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True, text=True)
    lines = p.stdout.strip().splitlines()
    t_sk = float(lines[0])
    sk = np.array([float(x) for x in lines[1].split()])
    for _ in range(a.repeat // 2):
        run_ours()
    for r in runs[1:]:
        if not np.array_equal(r["values"], runs[0]["values"]):
            raise SystemExit("modclust-mpi gave different null values in two runs of the same config")
    ours, true, gs = runs[0]["values"], runs[0]["true"], runs[0]["gs"]
    t_ours = float(np.median([r["whole"] for r in runs]))
    t_null = float(np.median([r["null"] for r in runs]))
    spread = ", ".join(f"{r['whole']:.2f}" for r in runs)

    se = np.sqrt(ours.var() / len(ours) + sk.var() / len(sk))
    print(f"clusterability null: {a.n} 'layer' shuffles of {os.path.basename(a.model)}, k = {a.k}")
    print(f"  modclust-mpi  {a.np} ranks (group size {gs}), median of {len(runs)} runs: {t_ours:.2f} s whole run, {t_null:.2f} s null alone "
          f"(whole runs: {spread} s)")
    print(f"  scikit-learn  arpack, n_init = 25, {a.sk_threads} BLAS thread(s): {t_sk:.2f} s for the null")
    print(f"  speed-up      {t_sk / t_ours:.1f}x (whole run against scikit-learn's null), {t_sk / t_null:.1f}x (null against null)")
    print(f"  true n-cut    {true:.5f}")
    print(f"  null mean     ours {ours.mean():.5f} +- {ours.std():.5f}, scikit-learn {sk.mean():.5f} +- {sk.std():.5f} "
          f"(difference {ours.mean() - sk.mean():+.5f}, {abs(ours.mean() - sk.mean()) / se:.1f} standard errors)")
    print(f"  p             ours {(np.sum(ours <= true) + 1) / (a.n + 1):.4f}, scikit-learn {(np.sum(sk <= true) + 1) / (a.n + 1):.4f} "
          f"(same true n-cut)")


if __name__ == "__main__":
    main()
