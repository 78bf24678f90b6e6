#!/usr/bin/python3
"""The activation graph against SciPy, NumPy, PyTorch and scikit-learn, on the trained networks of inputs/ and
Fashion-MNIST (Debian's dataset-fashion-mnist):
- the stored activations (/graph/activations, save_graph = true) equal a NumPy (MLP) or PyTorch (CNN, each
  channel's map reduced by the l1 norm) forward pass of the stored samples to float precision;
- the adjacency equals scipy.stats.spearmanr(activations)[0]**2 (NumPy's corrcoef for act_corr = pearson,
  scipy.stats.kendalltau on random pairs for kendall), diagonal 0, NaN to 0, to 1e-10;
- samples, activations and labels are identical at 1, 2, 3 and 4 ranks and on 1x4, 2x2 and 4x1 BLACS grids;
- the n-cut is no worse than scikit-learn SpectralClustering's on the same graph by more than 0.5 %;
- act_knn keeps exactly NumPy's k strongest edges per unit united with their transposes, at 1 and 3 ranks;
- with act_include_io the dead units (constant pixels) are exactly NumPy's zero-variance columns, labelled -1.
Usage: activation_oracle.py (environment from CTest: MC_BIN, MC_SRC, MC_MPIEXEC, MC_MPI_FLAGS)."""
import gzip, os, sys, tempfile
import h5py
import numpy as np
import scipy.stats
import torch
from sklearn.cluster import SpectralClustering

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "regress"))
from mcrun import SRC, check, run_ok  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"
S = 1200
K = 8


def idx_images(split):
    name = "train-images-idx3-ubyte" if split == "train" else "t10k-images-idx3-ubyte"
    for p in (os.path.join(DATA, name + ".gz"), os.path.join(DATA, name)):
        if os.path.exists(p):
            raw = (gzip.open if p.endswith(".gz") else open)(p, "rb").read()
            n, h, w = np.frombuffer(raw[4:16], dtype=">u4")
            return np.frombuffer(raw[16:], dtype=np.uint8).reshape(n, h, w, 1).astype(np.float32) / 255.0
    sys.exit("FAILED: Fashion-MNIST not found in " + DATA)


def layers(path):
    with h5py.File(path, "r") as f:
        return [(dict(f["layers"][n].attrs), {k: f["layers"][n][k][()] for k in f["layers"][n]}) for n in sorted(f["layers"])]


def preacts_mlp(model, x):
    """Pre-activations of every Dense layer (float64), the input flattened in H, W, C order."""
    h, out = x.reshape(len(x), -1).astype(np.float64), []
    for attrs, t in model:
        if attrs["type"] != "dense":
            continue
        z = h @ t["weight"].astype(np.float64) + t["bias"]
        out.append(z)
        h = np.maximum(z, 0) if attrs["activation"] == "relu" else z
    return out


def preacts_cnn(model, x):
    """Each conv channel's map reduced by sum |x|, in PyTorch (NCHW inside)."""
    h, out = torch.from_numpy(x).double().permute(0, 3, 1, 2), []
    for attrs, t in model:
        if attrs["type"] == "conv2d":
            w = torch.from_numpy(t["weight"]).double().permute(3, 2, 0, 1)
            z = torch.nn.functional.conv2d(h, w, torch.from_numpy(t["bias"]).double(), padding="same")
            out.append(z.abs().sum(dim=(2, 3)).numpy())
            h = torch.relu(z)
        elif attrs["type"] == "maxpool2d":
            h = torch.nn.functional.max_pool2d(h, 2, 2)
        else:
            break
    return out


def run(tmp, name, np_, model, extra=(), opts=()):
    out = os.path.join(tmp, name)
    cfg = os.path.join(tmp, name + ".ini")
    with open(cfg, "w") as f:
        f.write(f"[model]\npath = {model}\n[data]\nsource = {DATA}\n[graph]\nkind = activations\nact_samples = {S}\n"
                f"[cluster]\nk = {K}\n[output]\ndir = {out}\nsave_graph = true\n")
    run_ok(np_, [cfg, *extra, *opts], timeout=300)
    with h5py.File(os.path.join(out, "results.h5"), "r") as f:
        g = f["graph"]
        a = g["adjacency"]
        N = g.attrs["n_nodes"]
        A = np.zeros((N, N))
        ip, ix, d = a["indptr"][()], a["indices"][()], a["data"][()]
        for i in range(N):
            A[i, ix[ip[i]:ip[i + 1]]] = d[ip[i]:ip[i + 1]]
        return dict(A=A, act=g["activations"][()], samples=g["samples"][()], n_dead=g.attrs["n_dead"],
                    labels=f["clusters/labels"][()], ncut=f["clusters"].attrs["ncut"])


def squared_corr(act, corr):
    with np.errstate(invalid="ignore", divide="ignore"):
        if corr == "spearman":
            r = scipy.stats.spearmanr(act)[0]
        else:
            r = np.corrcoef(act, rowvar=False)
    r = np.nan_to_num(np.atleast_2d(r) ** 2, nan=0.0)
    np.fill_diagonal(r, 0)
    return np.clip(r, 0, 1)


def ncut(A, labels):
    d = A.sum(1)
    return sum(A[labels == c][:, labels != c].sum() / (d[labels == c].sum() + 1e-8) for c in np.unique(labels[labels >= 0]))


train = idx_images("train")
mlp = os.path.join(SRC, "inputs", "fashion_mlp.h5")
cnn = os.path.join(SRC, "inputs", "fashion_cnn.h5")
with tempfile.TemporaryDirectory() as tmp:
    # MLP, Spearman, several rank counts and grids.
    base = run(tmp, "mlp1", 1, mlp)
    s = base["samples"]
    check(len(np.unique(s)) == S and s.min() >= 0 and s.max() < len(train), "samples are not distinct training indices")
    ref = np.concatenate(preacts_mlp(layers(mlp), train[s])[:-1], axis=1)
    err = np.abs(base["act"] - ref).max() / np.abs(ref).max()
    print(f"MLP: {base['act'].shape[1]} units, activations vs NumPy: max relative difference {err:.2e}")
    check(base["act"].shape == (S, 1024) and err < 1e-5, "MLP activations differ from NumPy's forward pass")
    want = squared_corr(base["act"], "spearman")
    d = np.abs(base["A"] - want).max()
    print(f"MLP spearman: adjacency vs scipy.stats.spearmanr^2: max difference {d:.2e}")
    check(d < 1e-10, "adjacency differs from SciPy's squared Spearman correlation")
    check(np.array_equal(base["A"], base["A"].T), "adjacency is not exactly symmetric")
    for name, np_, opts in (("mlp2", 2, ()), ("mlp3", 3, ()), ("mlp4", 4, ()), ("mlp4g22", 4, ("-mc_dense_grid_rows", "2")),
                            ("mlp4g41", 4, ("-mc_dense_grid_rows", "4", "-mc_dense_block", "16"))):
        r = run(tmp, name, np_, mlp, opts=opts)
        check(np.array_equal(r["samples"], s), f"{name}: samples differ from 1 rank")
        da = np.abs(r["act"] - base["act"]).max()
        dA = np.abs(r["A"] - base["A"]).max()
        print(f"{name}: activations differ by {da:.1e}, adjacency by {dA:.1e}, labels {'identical' if np.array_equal(r['labels'], base['labels']) else 'DIFFER'}")
        check(da <= 1e-5 * np.abs(base["act"]).max() and dA < 1e-10, f"{name}: graph differs from 1 rank")
        check(np.array_equal(r["labels"], base["labels"]), f"{name}: labels differ from 1 rank")
    ours = ncut(base["A"], base["labels"])
    check(abs(ours - base["ncut"]) < 1e-8 * max(1, ours), f"stored n-cut {base['ncut']} differs from NumPy's {ours}")
    sk = SpectralClustering(n_clusters=K, affinity="precomputed", n_init=25, random_state=0).fit(base["A"]).labels_
    theirs = ncut(base["A"], sk)
    print(f"MLP n-cut: ours {ours:.5f}, scikit-learn {theirs:.5f}")
    check(ours <= theirs * 1.005, "n-cut worse than scikit-learn's by more than 0.5 %")

    # Pearson.
    r = run(tmp, "mlp_pearson", 2, mlp, extra=("graph.act_corr=pearson",))
    d = np.abs(r["A"] - squared_corr(r["act"], "pearson")).max()
    print(f"MLP pearson: adjacency vs NumPy corrcoef^2: max difference {d:.2e}")
    check(d < 1e-10, "adjacency differs from the squared Pearson correlation")

    # act_knn: each unit's 10 strongest edges (ties to the smaller unit), united with their transposes.
    want_full = squared_corr(base["act"], "spearman")
    keep = np.zeros(want_full.shape, bool)
    for i in range(want_full.shape[0]):
        order = np.lexsort((np.arange(want_full.shape[0]), -want_full[i]))
        keep[i, [j for j in order if want_full[i, j] > 0][:10]] = True
    keep |= keep.T
    for np_ in (1, 3):
        r = run(tmp, f"mlp_knn{np_}", np_, mlp, extra=("graph.act_knn=10",))
        d = np.abs(r["A"] - np.where(keep, want_full, 0)).max()
        print(f"MLP act_knn = 10 at {np_} rank(s): {(r['A'] > 0).sum()} stored entries, pattern {'equal to' if np.array_equal(r['A'] > 0, keep) else 'DIFFERS from'} NumPy's, values to {d:.1e}")
        check(np.array_equal(r["A"] > 0, keep) and d < 1e-10 and np.array_equal(r["A"], r["A"].T), "act_knn graph differs from NumPy's k strongest edges")
        if np_ == 1:
            knn_labels = r["labels"]
        check(np.array_equal(r["labels"], knn_labels), "act_knn labels differ across rank counts")

    # Kendall's tau-b, pair by pair (on fewer samples: it is O(N^2 S log S)), against scipy.stats.kendalltau on
    # 3000 random pairs, with the input pixels' many ties.
    r = run(tmp, "mlp_kendall", 2, mlp, extra=("graph.act_corr=kendall", "graph.act_samples=300", "graph.act_include_io=true"))
    rng, worst = np.random.default_rng(0), 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        for i, j in rng.integers(0, r["act"].shape[1], (3000, 2)):
            if i != j:
                t = scipy.stats.kendalltau(r["act"][:, i], r["act"][:, j])[0]
                worst = max(worst, abs(r["A"][i, j] - (0.0 if np.isnan(t) else t * t)))
    print(f"MLP kendall (with input pixels): adjacency vs scipy.stats.kendalltau^2 on 3000 pairs: max difference {worst:.2e}")
    check(worst < 1e-10 and np.array_equal(r["A"], r["A"].T), "adjacency differs from SciPy's squared Kendall tau-b")

    # Input and logits included: constant pixels are dead, labelled -1.
    r = run(tmp, "mlp_io", 2, mlp, extra=("graph.act_include_io=true",))
    dead = np.flatnonzero(r["act"].std(axis=0) == 0)
    print(f"MLP with input and logits: {r['act'].shape[1]} units, {len(dead)} dead (NumPy), {r['n_dead']} dead (ours)")
    check(r["act"].shape[1] == 784 + 1024 + 10 and r["n_dead"] == len(dead) and len(dead) > 0, "dead units differ from NumPy's zero-variance columns")
    check(np.all(r["labels"][dead] == -1), "dead units are not labelled -1")
    live = np.setdiff1d(np.arange(r["act"].shape[1]), dead)
    check(not r["A"][dead].any() and not r["A"][:, dead].any(), "dead units have edges")
    d = np.abs(r["A"][np.ix_(live, live)] - squared_corr(r["act"][:, live], "spearman")).max()
    print(f"MLP with input and logits: adjacency of the live units vs SciPy: max difference {d:.2e}")
    check(d < 1e-10, "adjacency with dead units differs from SciPy")

    # CNN: conv channels reduced by l1 (192 units, the dense head excluded as in the weight graph).
    r = run(tmp, "cnn", 2, cnn)
    ref = np.concatenate(preacts_cnn(layers(cnn), train[r["samples"]]), axis=1)
    err = np.abs(r["act"] - ref).max() / np.abs(ref).max()
    d = np.abs(r["A"] - squared_corr(r["act"], "spearman")).max()
    print(f"CNN: {r['act'].shape[1]} units, activations vs PyTorch: max relative difference {err:.2e}; adjacency vs SciPy {d:.2e}")
    check(r["act"].shape == (S, 192) and err < 1e-5 and d < 1e-10, "CNN activation graph differs from PyTorch + SciPy")
print("activation graph oracle: all checks passed")
