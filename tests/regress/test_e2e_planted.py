#!/usr/bin/python3
"""End to end: a planted-module MLP is recovered exactly (ARI = 1) and every output agrees at 1-4 ranks."""
import csv
import json
import os
import shutil

import h5py
import numpy as np
from sklearn.metrics import adjusted_rand_score

import mcrun
from mcrun import check

work = os.path.abspath("e2e_planted")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
model = os.path.join(work, "planted.h5")
planted = np.array(mcrun.synth(model, [64, 48, 48, 32, 10], 5, weak=0.02, seed=7,
                               labels=os.path.join(work, "planted.txt")))
cfg = os.path.join(work, "planted.ini")
mcrun.write_config(cfg, f"[model]\npath = planted.h5\n[cluster]\nk = 5\nseed = 3\n[output]\nsave_graph = true\n")

results = {}
for n in (1, 2, 3, 4):
    out = os.path.join(work, f"out{n}")
    stdout = mcrun.run_ok(n, [cfg, f"output.dir={out}"])
    check("n-cut" in stdout, "the human summary is printed")
    with h5py.File(os.path.join(out, "results.h5"), "r") as f:
        results[n] = dict(labels=f["clusters/labels"][...], eig=f["spectral/eigenvalues"][...],
                          ncut=f["clusters"].attrs["ncut"], layer=f["graph/node_layer"][...],
                          unit=f["graph/node_unit"][...], indptr=f["graph/adjacency/indptr"][...],
                          indices=f["graph/adjacency/indices"][...], data=f["graph/adjacency/data"][...],
                          ranks=f["provenance"].attrs["n_ranks"])
    r = results[n]
    check(r["ranks"] == n, f"provenance records {n} ranks")
    ari = adjusted_rand_score(planted, r["labels"])
    check(ari == 1.0, f"planted modules recovered exactly at {n} ranks (ARI {ari})")
    check(sorted(set(r["labels"].tolist())) == list(range(5)), "labels are 0..k-1")
    # Clusters are numbered by their first unit.
    firsts = [int(np.argmax(r["labels"] == c)) for c in range(5)]
    check(firsts == sorted(firsts), "clusters numbered by smallest member")
    summary = json.load(open(os.path.join(out, "summary.json")))
    check(summary["clustering"]["k"] == 5 and abs(summary["clustering"]["ncut"] - r["ncut"]) < 1e-12,
          "summary.json agrees with results.h5")
    rows = list(csv.DictReader(open(os.path.join(out, "clusters.csv"))))
    check(len(rows) == len(planted) and all(int(row["label"]) == l for row, l in zip(rows, r["labels"])),
          "clusters.csv agrees with results.h5")
    check(os.path.getsize(os.path.join(out, "report.md")) > 200, "report.md written")
    check(not any(e.startswith("out%d.partial" % n) for e in os.listdir(work)), "no staging directory left")

base = results[1]
for n in (2, 3, 4):
    check(np.array_equal(results[n]["labels"], base["labels"]), f"identical labels at 1 and {n} ranks")
    check(np.allclose(results[n]["eig"], base["eig"], atol=1e-8), f"eigenvalues agree at 1 and {n} ranks")
    check(abs(results[n]["ncut"] - base["ncut"]) < 1e-9, f"n-cut agrees at 1 and {n} ranks")

# Node bookkeeping: input units first, then each layer's units.
widths = [64, 48, 48, 32, 10]
check(np.array_equal(base["layer"], np.repeat(np.arange(5), widths)), "node_layer")
check(np.array_equal(base["unit"], np.concatenate([np.arange(w) for w in widths])), "node_unit")

# The stored adjacency is symmetric, non-negative, with a zero diagonal, and has the layered structure.
import scipy.sparse as sp
N = len(planted)
A = sp.csr_matrix((base["data"], base["indices"], base["indptr"]), shape=(N, N)).toarray()
check(np.allclose(A, A.T) and (A >= 0).all() and not A.diagonal().any(), "adjacency symmetric, >= 0, zero diagonal")
off = np.cumsum([0] + widths)
for a in range(5):
    for b in range(5):
        blk = A[off[a]:off[a + 1], off[b]:off[b + 1]]
        check((abs(a - b) == 1) or not blk.any(), f"only consecutive layers are linked ({a},{b})")
print("e2e planted: OK")
