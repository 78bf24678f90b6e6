#!/usr/bin/python3
"""Distributed k-means: bitwise identical output at 1, 2, 3 and 4 ranks, labels = nearest centres (first on
ties), inertia recomputed, and not worse than scikit-learn's KMeans(n_init=10) by more than 0.1 %; and the
same bytes from a build of k-means without its AVX2 clones. Embeddings: Gaussian blobs, a lattice of
repeated rows, and 24 clusters in 12 dimensions."""
import os, shlex, subprocess, sys
import numpy as np
from sklearn.cluster import KMeans

BIN = os.environ.get("MC_BIN", ".")
MPIEXEC = os.environ.get("MC_MPIEXEC", "mpiexec")
FLAGS = shlex.split(os.environ.get("MC_MPI_FLAGS", ""))
EXE = os.path.join(BIN, "tests", "cluster", "test_kmeans")
PLAIN = os.path.join(BIN, "tests", "cluster", "test_kmeans_plain")  # k-means without its AVX2 clones

failures = []


def run(tag, np_, extra, exe=EXE):
    out = f"kmeans_{tag}_np{np_}_{os.path.basename(exe)}_{'_'.join(extra).replace('-', '')}.bin"
    r = subprocess.run([MPIEXEC, "-n", str(np_)] + FLAGS + [exe, "-out", out, "-n", "3000", "-k", "6", "-n_init", "10"] + extra,
                       capture_output=True, text=True, timeout=120)
    print(tag, np_, os.path.basename(exe), " ".join(extra), r.stdout.strip())
    if r.returncode != 0:
        failures.append(f"{tag} np {np_} {extra}: exit {r.returncode}: {r.stderr}")
        return None
    return open(out, "rb").read()


def check(tag, raw, compare_sklearn):
    n, dim, k, best = np.frombuffer(raw[:32], dtype=np.int64)
    pos = 32
    X = np.frombuffer(raw[pos:pos + 8 * n * dim], dtype=np.float64).reshape(n, dim); pos += 8 * n * dim
    lab = np.frombuffer(raw[pos:pos + 8 * n], dtype=np.int64); pos += 8 * n
    C = np.frombuffer(raw[pos:pos + 8 * k * dim], dtype=np.float64).reshape(k, dim); pos += 8 * k * dim
    inertia = np.frombuffer(raw[pos:pos + 8], dtype=np.float64)[0]
    D = ((X[:, None, :] - C[None, :, :]) ** 2).sum(2)
    if not np.array_equal(D.argmin(1), lab):
        failures.append(f"{tag}: labels are not the nearest centres (first on ties)")
    Ds = np.sort(D, axis=1)
    ties = int(np.sum(Ds[:, 0] == Ds[:, 1]))
    print(f"{tag}: {ties} rows have two equally near final centres")
    ref = D.min(1).sum()
    if abs(ref - inertia) > 1e-9 * ref:
        failures.append(f"{tag}: inertia {inertia} != recomputed {ref}")
    if compare_sklearn:
        sk = KMeans(n_clusters=int(k), n_init=10, random_state=0).fit(X)
        print(f"{tag}: inertia {inertia:.6f} sklearn {sk.inertia_:.6f} best restart {best}")
        if inertia > sk.inertia_ * 1.001:
            failures.append(f"{tag}: inertia {inertia} worse than sklearn {sk.inertia_}")


# The lattice is {-1,0,1}^3: 27 distinct rows, each repeated about 110 times, so many rows share every
# distance (exact ties while the centres move; the final centres, being means, rarely tie).
# The last case (k = 24 in 12 dimensions, like a spectral embedding) also runs without the AVX2 clones.
CASES = (("blobs", ["-dim", "5"]), ("lattice", ["-dim", "3", "-lattice"]), ("wide", ["-dim", "12", "-k", "24"]))
for tag, extra in CASES:
    ref = None
    runs = [(np_, EXE) for np_ in (1, 2, 3, 4)] + ([(1, PLAIN), (2, PLAIN)] if tag in ("wide", "blobs") else [])
    for np_, exe in runs:
        raw = run(tag, np_, extra, exe)
        if raw is None:
            continue
        if ref is None:
            ref = raw
            check(tag, raw, tag == "blobs")
        elif raw != ref:
            failures.append(f"{tag}: output of {os.path.basename(exe)} at {np_} ranks differs bitwise from test_kmeans at 1 rank")
for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
