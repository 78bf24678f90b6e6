#!/usr/bin/python3
"""End to end against independent oracles, on real networks:
- the trained Fashion-MNIST MLP (inputs/fashion_mlp.h5): the adjacency in results.h5 equals |W| computed by
  NumPy from the model file; the eigenvalues equal SciPy's (dense eigh of the normalised Laplacian) to 1e-8;
  our n-cut is no worse than scikit-learn's SpectralClustering (n_init = 25) by more than 0.5 %, and the
  n-cut we report equals the one NumPy computes from our labels;
- a Keras CNN with BatchNorm (tools/make_fixtures.py, laid out as Keras writes it): the channel graph equals
  the l1 norms of the BN-folded kernel slices computed by NumPy, for conv_norm = l1 and fro."""
import os
import shutil
import subprocess

import h5py
import numpy as np
import scipy.linalg
import scipy.sparse as sp
from sklearn.cluster import SpectralClustering

import mcrun
from mcrun import check

work = os.path.abspath("e2e_oracle")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)


def run_graph(model, k, extra=(), np_=2):
    out = os.path.join(work, "out_%d" % len(os.listdir(work)))
    mcrun.run_ok(np_, [os.path.join(mcrun.SRC, "inputs", "default.ini"), f"model.path={model}", f"cluster.k={k}",
                       "output.save_graph=true", f"output.dir={out}", "clusterability.n_shuffles=0",
                       "importance.enabled=false", *extra], timeout=300)
    f = h5py.File(os.path.join(out, "results.h5"), "r")
    n = f["graph"].attrs["n_nodes"]
    a = f["graph/adjacency"]
    A = sp.csr_matrix((a["data"][...], a["indices"][...], a["indptr"][...]), shape=(n, n))
    return f, A


def ncut(A, labels):
    d = np.asarray(A.sum(axis=1)).ravel()
    total = 0.0
    for c in set(labels.tolist()) - {-1}:
        m = labels == c
        vol = d[m].sum()
        inside = A[m][:, m].sum()
        total += (vol - inside) / (vol + 1e-8)
    return total


# --- The trained MLP -------------------------------------------------------------------------------
model = os.path.join(mcrun.SRC, "inputs", "fashion_mlp.h5")
k = 12
f, A = run_graph(model, k)
with h5py.File(model, "r") as m:
    Ws = [np.abs(m["layers"][g]["weight"][...].astype(np.float64)) for g in sorted(m["layers"]) if "weight" in m["layers"][g]]
sizes = [Ws[0].shape[0]] + [W.shape[1] for W in Ws]
off = np.cumsum([0] + sizes)
B = np.zeros((off[-1], off[-1]))
for l, W in enumerate(Ws):
    B[off[l]:off[l + 1], off[l + 1]:off[l + 2]] = W
B = B + B.T
Ad = A.toarray()
check(np.array_equal(Ad != 0, B != 0), "adjacency pattern equals |W| from NumPy")
check(np.allclose(Ad, B, rtol=1e-12, atol=0), "adjacency values equal |W| from NumPy")

labels = f["clusters/labels"][...]
keep = labels >= 0
d = B[keep][:, keep].sum(axis=1)
Dm = 1 / np.sqrt(d)
L = np.eye(keep.sum()) - Dm[:, None] * B[keep][:, keep] * Dm[None, :]
ev = scipy.linalg.eigh(L, eigvals_only=True, subset_by_index=[0, k - 1])
ours = f["spectral/eigenvalues"][...]
check(np.max(np.abs(ev - ours)) < 1e-8, f"eigenvalues match SciPy to 1e-8 (max diff {np.max(np.abs(ev - ours)):.2e})")

nc_ours = f["clusters"].attrs["ncut"]
check(abs(ncut(A, labels) - nc_ours) < 1e-9 * max(1, nc_ours), "reported n-cut equals NumPy's n-cut of our labels")
sk = SpectralClustering(n_clusters=k, affinity="precomputed", n_init=25, random_state=0,
                        assign_labels="kmeans").fit(B[keep][:, keep])
nc_sk = ncut(sp.csr_matrix(B[keep][:, keep]), sk.labels_)
print(f"MLP k={k}: n-cut ours {nc_ours:.6f}, scikit-learn {nc_sk:.6f}")
check(nc_ours <= nc_sk * 1.005, f"our n-cut {nc_ours} is within 0.5% of scikit-learn's {nc_sk}")
f.close()

# --- A Keras CNN with BatchNorm ----------------------------------------------------------------------
fx = os.path.join(work, "fixtures")
subprocess.run(["/usr/bin/python3", os.path.join(mcrun.SRC, "tools", "make_fixtures.py"), fx], check=True,
               capture_output=True)
cnn = os.path.join(fx, "keras_cnn.h5")
with h5py.File(cnn, "r") as m:
    import json
    cfg = json.loads(m.attrs["model_config"])
    layers = cfg["config"]["layers"]
    kernels, bns = [], {}
    last_conv = None
    for L in layers:
        name, cls = L["config"]["name"], L["class_name"]
        g = m["model_weights"][name] if name in m["model_weights"] else None
        if cls == "Conv2D":
            names = [n.decode() if isinstance(n, bytes) else n for n in g.attrs["weight_names"]]
            kernels.append(g[[n for n in names if "kernel" in n][0]][...].astype(np.float64))
            last_conv = len(kernels) - 1
        elif cls == "BatchNormalization" and last_conv is not None and last_conv not in bns:
            names = [n.decode() if isinstance(n, bytes) else n for n in g.attrs["weight_names"]]
            get = lambda s: g[[n for n in names if s in n][0]][...].astype(np.float64)
            gamma = get("gamma") if L["config"].get("scale", True) else 1.0
            bns[last_conv] = gamma / np.sqrt(get("moving_variance") + L["config"].get("epsilon", 1e-3))
        elif cls == "Dense":
            break
check(len(kernels) >= 2 and bns, "the CNN fixture has several convolutions and a BatchNorm")
for norm in ("l1", "fro"):
    f, A = run_graph(cnn, 2, [f"graph.conv_norm={norm}"])
    sizes = [K.shape[3] for K in kernels]
    off = np.cumsum([0] + sizes)
    B = np.zeros((off[-1], off[-1]))
    for l in range(1, len(kernels)):
        K = kernels[l].copy()
        if l in bns:  # the BN after conv l folds into conv l: output channel j's slices scale by s_j
            K = K * bns[l][None, None, None, :]
        blk = np.abs(K).sum(axis=(0, 1)) if norm == "l1" else np.sqrt((K ** 2).sum(axis=(0, 1)))
        B[off[l - 1]:off[l], off[l]:off[l + 1]] = blk
    B = B + B.T
    err = np.max(np.abs(A.toarray() - B)) / np.max(B)
    check(err < 1e-6, f"CNN {norm} graph equals NumPy's BN-folded kernel norms (rel err {err:.1e})")
    f.close()
print("e2e oracle: OK")
