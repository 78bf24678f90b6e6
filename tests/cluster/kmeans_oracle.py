#!/usr/bin/python3
"""Distributed k-means: bitwise identical output at 1, 2, 3 and 4 ranks, labels = nearest centres, inertia
recomputed, and not worse than scikit-learn's KMeans(n_init=10) by more than 0.1 %."""
import os, shlex, subprocess, sys
import numpy as np
from sklearn.cluster import KMeans

BIN = os.environ.get("MC_BIN", ".")
MPIEXEC = os.environ.get("MC_MPIEXEC", "mpiexec")
FLAGS = shlex.split(os.environ.get("MC_MPI_FLAGS", ""))
EXE = os.path.join(BIN, "tests", "cluster", "test_kmeans")

failures = []
blobs = {}
for np_ in (1, 2, 3, 4):
    out = f"kmeans_np{np_}.bin"
    r = subprocess.run([MPIEXEC, "-n", str(np_)] + FLAGS + [EXE, "-out", out, "-n", "3000", "-dim", "5", "-k", "6", "-n_init", "10"],
                       capture_output=True, text=True, timeout=120)
    print(r.stdout.strip())
    if r.returncode != 0:
        failures.append(f"np {np_}: exit {r.returncode}: {r.stderr}")
        continue
    blobs[np_] = open(out, "rb").read()
for np_, b in blobs.items():
    if b != blobs.get(1):
        failures.append(f"output at {np_} ranks differs bitwise from 1 rank")
if 1 in blobs:
    raw = blobs[1]
    n, dim, k, best = np.frombuffer(raw[:32], dtype=np.int64)
    pos = 32
    X = np.frombuffer(raw[pos:pos + 8 * n * dim], dtype=np.float64).reshape(n, dim); pos += 8 * n * dim
    lab = np.frombuffer(raw[pos:pos + 8 * n], dtype=np.int64); pos += 8 * n
    C = np.frombuffer(raw[pos:pos + 8 * k * dim], dtype=np.float64).reshape(k, dim); pos += 8 * k * dim
    inertia = np.frombuffer(raw[pos:pos + 8], dtype=np.float64)[0]
    D = ((X[:, None, :] - C[None, :, :]) ** 2).sum(2)
    if not np.array_equal(D.argmin(1), lab):
        failures.append("labels are not the nearest centres")
    ref = D.min(1).sum()
    if abs(ref - inertia) > 1e-9 * ref:
        failures.append(f"inertia {inertia} != recomputed {ref}")
    sk = KMeans(n_clusters=int(k), n_init=10, random_state=0).fit(X)
    print(f"inertia {inertia:.6f} sklearn {sk.inertia_:.6f} best restart {best}")
    if inertia > sk.inertia_ * 1.001:
        failures.append(f"inertia {inertia} worse than sklearn {sk.inertia_}")
for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
