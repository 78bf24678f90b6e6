#!/usr/bin/python3
"""The paper's four partitionings in one run ([graph] partitionings) against single runs and scikit-learn:
- each partitioning's labels in /partitionings/<name> equal those of a run that asks for it alone;
- the ARI and NMI matrices equal scikit-learn's adjusted_rand_score and normalized_mutual_info_score over
  the units both graphs have (same layer and unit, both kept);
- clusterability ran for the weight partitionings only, and its true n-cut is the partitioning's;
- the primary (first) partitioning is also reported in the single-run layout (/clusters);
- bad values of the key are refused with one clear message.
Usage: partitionings_oracle.py (environment from CTest)."""
import os, sys, tempfile
import h5py
import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "regress"))
from mcrun import SRC, check, run, run_ok  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"
MLP = os.path.join(SRC, "inputs", "fashion_mlp.h5")
FOUR = ["weights_global", "weights_local", "activations_global", "activations_local"]


def config(tmp, name, extra):
    cfg = os.path.join(tmp, name + ".ini")
    with open(cfg, "w") as f:
        f.write(f"[model]\npath = {MLP}\n[data]\nsource = {DATA}\n[graph]\nact_samples = 1000\n{extra}\n[cluster]\nk = 8\n"
                f"[output]\ndir = {os.path.join(tmp, name)}\n")
    return cfg


with tempfile.TemporaryDirectory() as tmp:
    # The four in one run, in a non-default order, with a short clusterability null.
    order = [FOUR[2], FOUR[0], FOUR[3], FOUR[1]]
    run_ok(2, [config(tmp, "all", "partitionings = " + ", ".join(order)), "clusterability.n_shuffles=5"], timeout=400)
    with h5py.File(os.path.join(tmp, "all", "results.h5"), "r") as f:
        g = f["partitionings"]
        check(g.attrs["names"] in (",".join(order), ",".join(order).encode()), f"names attribute {g.attrs['names']!r}")
        parts = {n: dict(labels=g[n]["labels"][()], layer=g[n]["node_layer"][()], unit=g[n]["node_unit"][()], ncut=g[n].attrs["ncut"],
                         clus="clusterability" in g[n], ncut_true=g[n]["clusterability/ncut_true"][()] if "clusterability" in g[n] else None)
                 for n in order}
        ari, nmi = g["ari"][()], g["nmi"][()]
        primary = f["clusters/labels"][()]
    check(np.array_equal(primary, parts[order[0]]["labels"]), "/clusters does not hold the first partitioning")
    for n, p in parts.items():
        want = n.startswith("weights")
        check(p["clus"] == want, f"{n}: clusterability {'missing' if want else 'ran on an activation partitioning'}")
        if want:
            check(abs(p["ncut_true"] - p["ncut"]) < 1e-12, f"{n}: clusterability's true n-cut differs from the partitioning's")
    # Each against a run that asks for it alone.
    for n in FOUR:
        kind, scope = n.split("_")
        run_ok(2, [config(tmp, n, f"kind = {kind}\nscope = {scope}")], timeout=300)
        with h5py.File(os.path.join(tmp, n, "results.h5"), "r") as f:
            alone = f["clusters/labels"][()]
        same = np.array_equal(alone, parts[n]["labels"])
        print(f"{n}: k = {len(np.unique(alone[alone >= 0]))}, labels {'identical to' if same else 'DIFFER from'} the single run")
        check(same, f"{n}: labels differ from a single run's")
    # Agreement over the common units.
    worst = 0.0
    for a, na in enumerate(order):
        for b, nb in enumerate(order):
            pa, pb = parts[na], parts[nb]
            ka = {(l, u): i for i, (l, u) in enumerate(zip(pa["layer"], pa["unit"]))}
            pairs = [(pa["labels"][ka[(l, u)]], pb["labels"][j]) for j, (l, u) in enumerate(zip(pb["layer"], pb["unit"])) if (l, u) in ka]
            pairs = np.array([(x, y) for x, y in pairs if x >= 0 and y >= 0])
            worst = max(worst, abs(adjusted_rand_score(pairs[:, 0], pairs[:, 1]) - ari[a, b]),
                        abs(normalized_mutual_info_score(pairs[:, 0], pairs[:, 1]) - nmi[a, b]))
    print(f"ARI and NMI matrices vs scikit-learn: max difference {worst:.1e}")
    check(worst < 1e-12, "agreement matrices differ from scikit-learn's")
    # Bad values.
    for bad, frag in (("weights_global, weights_globl", "weights_globl"), ("activations_local,activations_local", "twice")):
        code, out, err = run(1, [config(tmp, "bad", "partitionings = " + bad)], timeout=60)
        msgs = [l for l in err.splitlines() if l.startswith("modclust-mpi: error")]
        check(code != 0 and len(msgs) == 1 and frag in msgs[0], f"partitionings = {bad}: {err[-400:]}")
        print(f"refused: {msgs[0]}")
print("partitionings oracle: all checks passed")
