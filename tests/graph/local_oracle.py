#!/usr/bin/python3
"""Local partitionings (docs/method.md section 5) against NumPy and scikit-learn:
- k_l recomputed in NumPy from the stored global labels (fixed, and the reference code's shifted count);
- no label spans two layers, every layer holds at most its k_l labels;
- activation-local: each layer's clustering has an n-cut on that layer's graph no worse than scikit-learn
  SpectralClustering's with the same k_l by more than 0.5 %;
- weight-local and activation-local labels identical at 1, 2 and 4 ranks;
- a planted network whose two modules are driven by disjoint halves of the input: the activation partitionings,
  global and local, recover the modules (ARI 1).
Usage: local_oracle.py (environment from CTest)."""
import os, sys, tempfile
import h5py
import numpy as np
from sklearn.cluster import SpectralClustering
from sklearn.metrics import adjusted_rand_score

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "regress"))
from mcrun import SRC, check, run_ok  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"
MLP = os.path.join(SRC, "inputs", "fashion_mlp.h5")


def run(tmp, name, np_, model, kind, k, extra=(), scope="local"):
    out = os.path.join(tmp, name)
    cfg = os.path.join(tmp, name + ".ini")
    with open(cfg, "w") as f:
        f.write(f"[model]\npath = {model}\n[data]\nsource = {DATA}\n[graph]\nkind = {kind}\nscope = {scope}\nact_samples = 1000\n"
                f"[cluster]\nk = {k}\n[output]\ndir = {out}\nsave_graph = true\n")
    run_ok(np_, [cfg, *extra], timeout=300)
    with h5py.File(os.path.join(out, "results.h5"), "r") as f:
        g = f["graph"]
        N = g.attrs["n_nodes"]
        a = g["adjacency"]
        A = np.zeros((N, N))
        ip, ix, d = a["indptr"][()], a["indices"][()], a["data"][()]
        for i in range(N):
            A[i, ix[ip[i]:ip[i + 1]]] = d[ip[i]:ip[i + 1]]
        local = scope == "local"
        return dict(A=A, layer=g["node_layer"][()], labels=f["clusters/labels"][()], local_k=f["clusters/local_k"][()] if local else None,
                    scope=f["clusters"].attrs["scope"], ncut=f["clusters"].attrs["ncut"], glob=f["clusters_global/labels"][()] if local else None)


def groups(layer):
    return [np.flatnonzero(layer == u) for u in np.unique(layer)]


def k_of(glob, idx, valid_idx):
    lab = glob[idx]
    return max(1, min(len(np.unique(lab[lab >= 0])), int((glob[valid_idx] >= 0).sum())))


def ncut(A, labels):
    d = A.sum(1)
    return sum(A[labels == c][:, labels != c].sum() / (d[labels == c].sum() + 1e-8) for c in np.unique(labels[labels >= 0]))


def structure(r, name):
    gs = groups(r["layer"])
    check(r["scope"] in (b"local", "local"), f"{name}: scope attribute is {r['scope']!r}")
    seen = {}
    for gi, idx in enumerate(gs):
        lab = r["labels"][idx]
        for q in np.unique(lab[lab >= 0]):
            check(q not in seen, f"{name}: label {q} spans layers {seen.get(q)} and {gi}")
            seen[q] = gi
        check(len(np.unique(lab[lab >= 0])) <= r["local_k"][gi], f"{name}: layer {gi} has more labels than its k")
    return gs


with tempfile.TemporaryDirectory() as tmp:
    # Weight-local on the Fashion MLP (input, 4 hidden layers, logits): windows (l-1, l, l+1).
    w = run(tmp, "w1", 1, MLP, "weights", 16)
    gs = structure(w, "weights")
    G = len(gs)
    want = [k_of(w["glob"], gs[l], gs[l]) for l in range(G)]
    want_win = [want[1]] + want[1:G - 1] + [want[G - 2]]
    print(f"weight-local: k per layer {list(w['local_k'])} (NumPy {want_win}), {len(np.unique(w['labels'][w['labels'] >= 0]))} clusters, n-cut {w['ncut']:.4f}")
    check(list(w["local_k"]) == want_win, "weight-local k_l differ from NumPy's")
    for np_ in (2, 4):
        r = run(tmp, f"w{np_}", np_, MLP, "weights", 16)
        check(np.array_equal(r["labels"], w["labels"]), f"weight-local labels differ at {np_} ranks")
    # The reference code's k_l: counted at positions shifted by the input width (a hidden layer's width from 0).
    r = run(tmp, "wref", 2, MLP, "weights", 16, extra=("graph.local_k=reference",))
    off = np.concatenate([[0], np.cumsum([len(i) for i in gs])])
    ref = [k_of(w["glob"], np.arange(off[l] - off[1], off[l + 1] - off[1]), gs[l]) for l in range(G)]
    ref_win = [ref[1]] + ref[1:G - 1] + [ref[G - 2]]
    print(f"weight-local, local_k = reference: k per layer {list(r['local_k'])} (NumPy {ref_win})")
    check(list(r["local_k"]) == ref_win, "reference k_l differ from NumPy's")

    # Activation-local: each hidden layer alone.
    a = run(tmp, "a2", 2, MLP, "activations", 16)
    gs = structure(a, "activations")
    want = [k_of(a["glob"], idx, idx) for idx in gs]
    check(list(a["local_k"]) == want, f"activation-local k_l {list(a['local_k'])} differ from NumPy's {want}")
    for gi, idx in enumerate(gs):
        sub = a["A"][np.ix_(idx, idx)]
        ours = ncut(sub, a["labels"][idx])
        sk = SpectralClustering(n_clusters=want[gi], affinity="precomputed", n_init=25, random_state=0).fit(sub).labels_ if want[gi] > 1 else np.zeros(len(idx), int)
        theirs = ncut(sub, sk)
        print(f"activation-local layer {gi}: k = {want[gi]}, n-cut ours {ours:.5f}, scikit-learn {theirs:.5f}")
        check(ours <= theirs * 1.005 + 1e-12, f"layer {gi}: n-cut worse than scikit-learn's by more than 0.5 %")
    for np_ in (1, 4):
        r = run(tmp, f"a{np_}", np_, MLP, "activations", 16)
        check(np.array_equal(r["labels"], a["labels"]), f"activation-local labels differ at {np_} ranks")

    # Planted: hidden units 0..15 of each layer read the top half of the image, 16..31 the bottom half.
    rng = np.random.default_rng(3)
    path = os.path.join(tmp, "planted.h5")
    W1 = np.zeros((784, 32)); W1[:392, :16] = rng.uniform(0.5, 1, (392, 16)) / 30; W1[392:, 16:] = rng.uniform(0.5, 1, (392, 16)) / 30
    W2 = np.zeros((32, 32)); W2[:16, :16] = rng.uniform(0.5, 1, (16, 16)); W2[16:, 16:] = rng.uniform(0.5, 1, (16, 16))
    W3 = rng.normal(size=(32, 10))
    with h5py.File(path, "w") as f:
        f.attrs.update({"format": "modclust-model", "version": 1, "n_layers": 4, "input_shape": np.array([28, 28, 1])})
        for i, (t, W, act) in enumerate([("flatten", None, "linear"), ("dense", W1, "relu"), ("dense", W2, "relu"), ("dense", W3, "softmax")]):
            g = f.create_group(f"layers/{i:03d}")
            g.attrs.update({"type": t, "name": f"l{i}", "activation": act, "alpha": 0.0})
            if W is not None:
                g["weight"] = W.astype(np.float32)
                g["bias"] = np.zeros(W.shape[1], np.float32)
    truth = np.repeat([0, 1], 16)
    for scope in ("global", "local"):
        r = run(tmp, "planted_" + scope, 2, path, "activations", 2, scope=scope)
        per_layer = [adjusted_rand_score(truth, r["labels"][i * 32:(i + 1) * 32]) for i in range(2)]
        print(f"planted, activations {scope}: ARI per layer {per_layer}")
        check(min(per_layer) == 1.0, f"planted modules not recovered by the {scope} activation partitioning")
print("local partitionings oracle: all checks passed")
