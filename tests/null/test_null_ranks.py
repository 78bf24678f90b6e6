#!/usr/bin/python3
"""The clusterability null is the same, bitwise, at 1, 2 and 4 ranks and for several group sizes (each
shuffle regenerated from its own random stream, exact n-cut sums, rank-independent k-means), on a
structureless i.i.d. network (the hard case: no structure pins the k-means decisions) and on the trained
Fashion-MNIST MLP (k = 12)."""
import os
import shutil
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "regress"))
import mcrun  # noqa: E402
from mcrun import check  # noqa: E402

work = os.path.abspath("null_ranks")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)

iid = os.path.join(work, "iid.h5")
mcrun.synth(iid, [64, 48, 48, 32, 10], 1, weak=1.0, seed=8)
fashion = os.path.join(mcrun.SRC, "inputs", "fashion_mlp.h5")

# (ranks, group size) pairs: 1 rank; 2 ranks as two groups of 1 and one group of 2; 4 ranks as 4 x 1, 2 x 2, 1 x 4.
layouts = [(1, 1), (2, 1), (2, 2), (4, 1), (4, 2), (4, 4)]
for name, model, k, n, shuffle in [("iid", iid, 4, 16, "layer"), ("iid_nz", iid, 4, 8, "layer_nonzero"), ("fashion", fashion, 12, 6, "layer")]:
    ref = None
    for np_, gs in layouts:
        if name != "iid" and (np_, gs) in ((4, 4), (2, 1)):
            continue  # keep the test short: the other layouts cover these networks
        out = os.path.join(work, f"{name}_np{np_}_gs{gs}")
        cfg = os.path.join(work, f"{name}.ini")
        mcrun.write_config(cfg, f"[model]\npath = {model}\n[cluster]\nk = {k}\nseed = 5\n"
                                f"[clusterability]\nn_shuffles = {n}\nshuffle = {shuffle}\ngroup_size = {gs}\n")
        mcrun.run_ok(np_, [cfg, f"output.dir={out}"], timeout=300)
        with h5py.File(os.path.join(out, "results.h5"), "r") as f:
            g = f["clusterability"]
            shuf, true, used = g["ncut_shuffled"][...], g["ncut_true"][()], g.attrs["group_size"]
        check(used == min(gs, np_), f"{name}: group size {gs} used at {np_} ranks (got {used})")
        if ref is None:
            ref = (shuf, true)
            print(f"{name}: true {true:.6f}, shuffled {np.round(shuf, 5)}")
            continue
        check(np.array_equal(shuf, ref[0]),
              f"{name}: shuffled n-cuts at {np_} ranks, group size {gs} equal 1 rank's bitwise (max diff {np.max(np.abs(shuf - ref[0])):.3g})")
        check(true == ref[1], f"{name}: true n-cut at {np_} ranks equals 1 rank's")
print("null ranks: OK")
