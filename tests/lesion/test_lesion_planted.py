#!/usr/bin/python3
"""The importance test on a network with planted modules (tests/lesion/planted.py): two independent
sub-networks, each solving its own half of a ten-class task, clustered with k = 2.
- Lesioning a module's sub-cluster destroys its half (every class but class 0, which the all-zero logits
  predict, drops to accuracy 0) and leaves the other half exactly at its baseline; p_mean is the smallest
  possible, 1/(n_random + 1).
- Per-class accuracies, mean and range of every sub-cluster agree with PyTorch to 1e-6 (outgoing and
  incoming lesions).
- /importance (rows, random draws, combination, Benjamini-Hochberg, replicate and control groups) is bitwise
  identical at 1, 2, 3 and 4 ranks.
- The combination glue: Fisher from the rows' p-values (SciPy), Bates over the two replicate networks
  (Irwin-Hall CDF for R = 2), BH decisions from the combined p-values."""
import json
import os
import shutil
import sys
import xml.etree.ElementTree as ET

import h5py
import numpy as np
import scipy.stats

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "regress"))
import mcrun  # noqa: E402
from mcrun import check  # noqa: E402

import planted  # noqa: E402

work = os.path.abspath("lesion_planted")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
xtr, ytr, xte, yte = planted.write_dataset(os.path.join(work, "data.h5"))
nets = {}
for name, seed in (("planted.h5", 1), ("planted_rep.h5", 2)):
    nets[name] = planted.train_modular(xtr, ytr, seed)
    planted.write_native(os.path.join(work, name), nets[name])
K = nets["planted.h5"]
R = 19
cfg = os.path.join(work, "planted.ini")
mcrun.write_config(cfg, f"""[model]
path = planted.h5
[data]
source = data.h5
[cluster]
k = 2
[importance]
enabled = true
n_random = {R}
control = random_partition
replicates = planted_rep.h5
""")


def load(out):
    res = {}
    with h5py.File(os.path.join(out, "results.h5"), "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                res[name] = obj[...]
            for a, v in obj.attrs.items():
                res[name + "@" + a] = v
        f["importance"].visititems(visit)
        for a, v in f["importance"].attrs.items():
            res["@" + a] = v
        res["labels"] = f["clusters/labels"][...]
        res["node_layer"] = f["graph/node_layer"][...]
        res["node_unit"] = f["graph/node_unit"][...]
    return res


runs = {}
for n in (1, 2, 3, 4):
    out = os.path.join(work, f"out{n}")
    stdout = mcrun.run_ok(n, [cfg, f"output.dir={out}"], timeout=120)
    check("importance" in stdout, "the summary names the importance test")
    runs[n] = load(out)
    svg = ET.parse(os.path.join(out, "importance.svg")).getroot()
    check(sum(1 for e in svg.iter() if e.tag.endswith("circle")) == len(runs[n]["layer"]), "importance.svg: one dot per sub-cluster")
    with open(os.path.join(out, "summary.json")) as f:
        js = json.load(f)["importance"]
    check(len(js["subclusters"]) == len(runs[n]["layer"]) and js["combined"]["method"] == "bates", "summary.json importance table")
    with open(os.path.join(out, "report.md")) as f:
        check("## Importance (lesion test)" in f.read(), "report.md importance section")

# Bitwise identical at every rank count (seconds excepted).
for n in (2, 3, 4):
    for key, v in runs[1].items():
        if key.endswith("@seconds"):
            continue
        w = runs[n][key]
        same = np.array_equal(np.asarray(v), np.asarray(w), equal_nan=True) if np.asarray(v).dtype.kind == "f" else np.array_equal(v, w)
        check(same, f"{key} differs between 1 and {n} ranks: {v} vs {w}")

# Full passes over batches (no cached activations) give the same results as the cached slices.
out = os.path.join(work, "out_stream")
mcrun.run_ok(2, [cfg, f"output.dir={out}", "importance.cache_mb=0", "importance.batch=300"], timeout=120)
rs = load(out)
for key, v in runs[1].items():
    if not (key.endswith("@seconds") or key.endswith("@gflop")):
        check(np.array_equal(np.asarray(v), np.asarray(rs[key]), equal_nan=np.asarray(v).dtype.kind == "f"), f"{key}: full passes differ from cached slices")

r = runs[1]
labels, layer, unit = r["labels"], r["node_layer"], r["node_unit"]
# The clustering must be the two modules (units < HID in module A in every hidden layer).
for l in (1, 2):
    m = layer == l
    check(len(set(labels[m & (unit < planted.HID)])) == 1 and len(set(labels[m & (unit >= planted.HID)])) == 1
          and labels[m & (unit < planted.HID)][0] != labels[m & (unit >= planted.HID)][0], f"layer {l} is split into the two modules")
M = len(r["layer"])
check(M == 4, f"4 sub-clusters (2 hidden layers x 2 modules), got {M}")
base_counts, totals = planted.forward_counts(K, xte, yte)
base = base_counts / totals
check(np.abs(r["baseline_class_acc"] - base).max() <= 1e-6, "baseline per-class accuracy agrees with PyTorch")
check(base.min() > 0.9, f"the planted network solves the task (per-class accuracy {base})")


def stats(acc):
    d = acc - base
    return acc.mean(), (d.max() - d.min()) / abs(d.mean()) if abs(d.mean()) > 1e-12 else np.nan


for s in range(M):
    l, c = r["layer"][s], r["cluster"][s]
    units = np.sort(unit[(layer == l) & (labels == c)])
    check(r["size"][s] == len(units) == planted.HID, f"sub-cluster {s} has the module's {planted.HID} units")
    cnt, _ = planted.forward_counts(K, xte, yte, lesion=(l, units))
    acc = cnt / totals
    check(np.abs(r["class_acc"][s] - acc).max() <= 1e-6, f"sub-cluster {s}: per-class accuracy vs PyTorch {r['class_acc'][s]} {acc}")
    m, rg = stats(acc)
    check(abs(r["mean_acc"][s] - m) <= 1e-6 and abs(r["range"][s] - rg) <= 1e-6 * max(1, abs(rg)), f"sub-cluster {s}: mean/range vs PyTorch")
    a_half = units[0] < planted.HID
    lesioned = range(1, 5) if a_half else range(5, 10)
    intact = range(5, 10) if a_half else range(1, 5)
    check(all(r["class_acc"][s][k] == 0 for k in lesioned), f"sub-cluster {s} destroys its half: {r['class_acc'][s]}")
    check(all(r["class_acc"][s][k] == r["baseline_class_acc"][k] for k in intact), f"sub-cluster {s} leaves the other half: {r['class_acc'][s]}")
    check(r["p_mean"][s] == 1.0 / (R + 1), f"sub-cluster {s}: smallest possible p_mean, got {r['p_mean'][s]}")
    check(np.all(r["mean_acc_random"][s] > r["mean_acc"][s]), f"sub-cluster {s}: every random set hurts less")

# Combination glue against SciPy and closed forms.
shift = 1.0 / (2 * (R + 1))
for stat in ("mean", "range"):
    p = r["p_" + stat]
    p = p[~np.isnan(p)]
    X = -2 * np.log(p - shift).sum()
    pf = scipy.stats.chi2.sf(X, 2 * len(p))
    check(abs(r["@fisher_p_" + stat] - pf) <= 1e-10 * max(pf, 1e-300) + 1e-300, f"Fisher p_{stat} {r['@fisher_p_' + stat]} vs SciPy {pf}")
    pr = r["replicate_1@fisher_p_" + stat]
    x = r["@fisher_p_" + stat] + pr  # R = 2: Irwin-Hall CDF of 2 * mean
    bates = x * x / 2 if x <= 1 else 1 - (2 - x) ** 2 / 2
    check(abs(r["@combined_p_" + stat] - bates) <= 1e-12, f"Bates p_{stat} {r['@combined_p_' + stat]} vs {bates}")
pc = np.array([r["@combined_p_mean"], r["@combined_p_range"]])
order = np.sort(pc)
istar = max([i + 1 for i in range(2) if order[i] <= (i + 1) * 0.05 / 2], default=0)
check(int(r["@bh_reject_mean"]) == int(istar > 0 and pc[0] <= order[istar - 1]), "BH decision for p_mean")
check(int(r["@bh_reject_range"]) == int(istar > 0 and pc[1] <= order[istar - 1]), "BH decision for p_range")
# The control partition keeps every cluster's size per layer.
check(sorted(r["control/size"].tolist()) == sorted(r["size"].tolist()), "control sub-clusters have the same sizes")

# Incoming lesions agree with PyTorch too.
out = os.path.join(work, "out_incoming")
mcrun.run_ok(2, [cfg, f"output.dir={out}", "importance.lesion=incoming", "importance.n_random=2", "importance.control=none",
                 "importance.replicates="], timeout=120)
ri = load(out)
for s in range(len(ri["layer"])):
    l, c = ri["layer"][s], ri["cluster"][s]
    units = np.sort(unit[(layer == l) & (labels == c)])
    cnt, _ = planted.forward_counts(K, xte, yte, lesion=(l, units), mode="incoming")
    check(np.abs(ri["class_acc"][s] - cnt / totals).max() <= 1e-6, f"incoming sub-cluster {s} vs PyTorch")
# A missing test set is refused before any heavy work, naming the key.
code, so, se = mcrun.run(1, [cfg, f"output.dir={os.path.join(work, 'out_nodata')}", "data.source="])
check(code != 0 and "[data] source" in so + se, f"importance without [data] source fails naming the key: {so}{se}")
print("lesion planted: OK")
