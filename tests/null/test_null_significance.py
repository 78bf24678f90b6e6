#!/usr/bin/python3
"""Clusterability null, end to end: a planted-module MLP is more clusterable than every one of its shuffles
(p = 1/(N+1)), for both shuffle methods; an i.i.d. random-weight MLP is not (p not small); the shuffled
n-cut distribution agrees with an independent NumPy + scikit-learn null; the random-initialization
baseline runs; results.h5, summary.json, report.md and the SVG agree; no checkpoint is left behind."""
import json
import os
import shutil
import sys
import xml.etree.ElementTree as ET

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "regress"))
import mcrun  # noqa: E402
from mcrun import check  # noqa: E402

work = os.path.abspath("null_significance")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
N = 20
K = 4


def run(model, extra=(), np_=2, name=None):
    out = os.path.join(work, name or "out_%d" % len(os.listdir(work)))
    cfg = os.path.join(work, os.path.basename(out) + ".ini")
    mcrun.write_config(cfg, f"[model]\npath = {model}\n[cluster]\nk = {K}\nseed = 3\n[clusterability]\nn_shuffles = {N}\n")
    stdout = mcrun.run_ok(np_, [cfg, f"output.dir={out}", *extra])
    check("null" in stdout and "shuffles" in stdout, "the summary line of the null is printed")
    with h5py.File(os.path.join(out, "results.h5"), "r") as f:
        g = f["clusterability"]
        r = dict(true=g["ncut_true"][()], shuf=g["ncut_shuffled"][...], p=g["p_value"][()], z=g["z_score"][()],
                 attrs=dict(g.attrs), ncut=f["clusters"].attrs["ncut"],
                 rinit=g["ncut_random_init"][...] if "ncut_random_init" in g else None)
    r["out"] = out
    left = [e for e in os.listdir(work) if ".ckpt-" in e]
    check(not left, f"checkpoint files removed after success ({left})")
    return r


def check_outputs(r, ties="inclusive"):
    shuf, t = r["shuf"], r["true"]
    check(len(shuf) == N and np.all(np.isfinite(shuf)) and np.all((shuf >= 0) & (shuf <= K)), "N shuffled n-cuts in [0, k]")
    check(t == r["ncut"], "ncut_true is the clustering's n-cut")
    cnt = np.sum(shuf <= t) if ties == "inclusive" else np.sum(shuf < t)
    check(r["p"] == (cnt + 1) / (N + 1), f"p = (#{{shuf <= true}} + 1)/(N + 1): {r['p']} vs {(cnt + 1) / (N + 1)}")
    z = (t - shuf.mean()) / shuf.std()
    check(abs(r["z"] - z) < 1e-9 * max(1, abs(z)), f"z-score with the population std ({r['z']} vs {z})")
    check(r["attrs"]["n_shuffles"] == N and r["attrs"]["group_size"] >= 1, "attributes n_shuffles, group_size")
    s = json.load(open(os.path.join(r["out"], "summary.json")))["clusterability"]
    check(s["p_value"] == r["p"] and s["n_shuffles"] == N and s["shuffle"] == r["attrs"]["shuffle"], "summary.json agrees")
    check(np.allclose(s["ncut_shuffled"], shuf, rtol=1e-12, atol=0) and abs(s["ncut_true"] - t) < 1e-12, "summary.json n-cuts")
    md = open(os.path.join(r["out"], "report.md")).read()
    check("## Clusterability" in md and "(null_ncut.svg)" in md, "report.md has the section and links the histogram")
    svg = ET.parse(os.path.join(r["out"], "null_ncut.svg")).getroot()
    rects = [e for e in svg.iter() if e.tag.endswith("rect") and e.get("fill") == "#7a9cc6"]
    counts = sum(int(e.find("{http://www.w3.org/2000/svg}title").text.split()[0]) for e in rects)
    check(counts == N, f"the histogram counts all {N} shuffles ({counts})")
    check(any(e.tag.endswith("line") and e.get("stroke") == "#c0392b" for e in svg.iter()), "the true value is marked")


def graph_blocks(model):
    with h5py.File(model, "r") as m:
        return [np.abs(m["layers"][g]["weight"][...].astype(np.float64)) for g in sorted(m["layers"]) if "weight" in m["layers"][g]]


def sklearn_null(blocks, n, seed, nonzero=False):
    """The null computed independently: NumPy permutations of each block, scikit-learn SpectralClustering."""
    from sklearn.cluster import SpectralClustering
    rng = np.random.default_rng(seed)
    sizes = [blocks[0].shape[0]] + [b.shape[1] for b in blocks]
    off = np.cumsum([0] + sizes)
    out = []
    for _ in range(n):
        A = np.zeros((off[-1], off[-1]))
        for l, W in enumerate(blocks):
            w = W.ravel().copy()
            if nonzero:
                nz = np.flatnonzero(w)
                w[nz] = rng.permutation(w[nz])
            else:
                w = rng.permutation(w)
            A[off[l]:off[l + 1], off[l + 1]:off[l + 2]] = w.reshape(W.shape)
        A = A + A.T
        keep = A.sum(1) > 0
        A = A[keep][:, keep]
        lab = SpectralClustering(K, affinity="precomputed", n_init=25, random_state=int(rng.integers(1 << 30))).fit_predict(A)
        d = A.sum(1)
        out.append(sum((d[lab == c].sum() - A[lab == c][:, lab == c].sum()) / (d[lab == c].sum() + 1e-8) for c in set(lab)))
    return np.array(out)


# --- Planted modules: far more clusterable than any shuffle, with both shuffle methods. ---
planted = os.path.join(work, "planted.h5")
mcrun.synth(planted, [64, 48, 48, 32, 10], K, weak=0.05, seed=7)
r = run(planted, name="planted")
check_outputs(r)
check(r["p"] == 1 / (N + 1), f"planted: p = 1/(N+1) (got {r['p']})")
check(r["shuf"].min() > r["true"] and r["z"] < -10, f"planted: every shuffle is less clusterable (z = {r['z']:.1f})")
check(r["attrs"]["shuffle"] == "layer", "shuffle method attribute")
# Independent null: the shuffled n-cut distribution of NumPy permutations clustered by scikit-learn.
sk = sklearn_null(graph_blocks(planted), N, 1)
se = np.sqrt(sk.var() / N + r["shuf"].var() / N)
check(abs(sk.mean() - r["shuf"].mean()) < 4 * se + 0.01, f"null mean agrees with scikit-learn's ({r['shuf'].mean():.4f} vs {sk.mean():.4f}, se {se:.4f})")
print(f"planted: true {r['true']:.4f}, shuffled {r['shuf'].mean():.4f} +- {r['shuf'].std():.4f} (sklearn {sk.mean():.4f}), p {r['p']:.4f}")

# layer_nonzero on a sparse planted network (cross-module weights mostly pruned).
sparse = os.path.join(work, "sparse.h5")
mcrun.synth(sparse, [64, 48, 48, 32, 10], K, weak=0.3, seed=9, extra=["-p_cross", "0.3"])
r = run(sparse, extra=["clusterability.shuffle=layer_nonzero"], name="sparse_nonzero")
check_outputs(r)
check(r["attrs"]["shuffle"] == "layer_nonzero", "layer_nonzero recorded")
check(r["p"] == 1 / (N + 1), f"sparse planted, layer_nonzero: p = 1/(N+1) (got {r['p']})")
sk = sklearn_null(graph_blocks(sparse), N, 2, nonzero=True)
se = np.sqrt(sk.var() / N + r["shuf"].var() / N)
check(abs(sk.mean() - r["shuf"].mean()) < 4 * se + 0.01, f"layer_nonzero null mean agrees with scikit-learn's ({r['shuf'].mean():.4f} vs {sk.mean():.4f})")

# --- I.i.d. random weights: not more clusterable than its shuffles. ---
iid = os.path.join(work, "iid.h5")
mcrun.synth(iid, [64, 48, 48, 32, 10], 1, weak=1.0, seed=8)
r = run(iid, name="iid")
check_outputs(r)
check(r["p"] > 0.1 and abs(r["z"]) < 3, f"i.i.d. weights: p not small ({r['p']:.3f}, z {r['z']:.2f})")
print(f"iid: true {r['true']:.4f}, shuffled {r['shuf'].mean():.4f} +- {r['shuf'].std():.4f}, p {r['p']:.4f}, z {r['z']:.2f}")
r2 = run(iid, extra=["clusterability.p_ties=strict"], name="iid_strict")
check_outputs(r2, ties="strict")
check(np.array_equal(r2["shuf"], r["shuf"]), "p_ties does not change the null")

# --- Random-initialization baseline: Glorot networks of the same architecture have no modules. ---
r = run(planted, extra=["clusterability.random_init_trials=4"], name="rinit")
check(r["rinit"] is not None and len(r["rinit"]) == 4, "4 random-init n-cuts stored")
check(np.all(r["rinit"] > r["true"] + 1.0) and np.all(r["rinit"] <= K), f"random-init networks are far less clusterable ({r['rinit']})")
s = json.load(open(os.path.join(r["out"], "summary.json")))["clusterability"]
check(s["random_init_trials"] == 4 and abs(s["ncut_random_init_mean"] - r["rinit"].mean()) < 1e-12, "summary.json random-init")
print("null significance: OK")
