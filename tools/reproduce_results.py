#!/usr/bin/python3
"""docs/results.md, regenerated: the paper's protocol on the networks this machine can train.

Trains (deterministically, once; kept in WORKDIR) 5 replicate Fashion-MNIST MLPs 784-256x4-10 (seeds 42..46,
inputs/train/fashion_mlp.ini; seed 42 is inputs/fashion_mlp.h5) and their pruned versions (each pruned from
its trained weights, inputs/train/fashion_mlp_pruned.ini), then runs modclust-mpi on four families (the 5
MLPs, the 5 pruned MLPs, the halves MLP and the small CNN of inputs/) with the four partitionings, k = 12
(the clusterability and importance papers' k), 50 layer shuffles, 19 random sets per sub-cluster and the
random-partition control (the CNN: graphs and clusterability only), and prints the markdown tables of
docs/results.md. Finished analyses (WORKDIR/out-*/results.h5) are reused.

Usage: tools/reproduce_results.py BUILD_DIR WORKDIR [--ranks 2]   (about an hour on 2 cores)"""
import argparse, json, os, subprocess, sys
import h5py

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DATA = "/usr/share/datasets/fashion-mnist"
SEEDS = [42, 43, 44, 45, 46]
FOUR = ["weights_global", "weights_local", "activations_global", "activations_local"]
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMPI_MCA_pml="ob1", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")


def sh(cmd):
    print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True, env=ENV, stdout=subprocess.DEVNULL)


def train(build, work):
    mlps, pruned = [], []
    for s in SEEDS:
        m = os.path.join(SRC, "inputs", "fashion_mlp.h5") if s == 42 else os.path.join(work, f"fashion_mlp_s{s}.h5")
        if not os.path.exists(m):
            sh([os.path.join(build, "modclust-train"), os.path.join(SRC, "inputs/train/fashion_mlp.ini"), f"train.seed={s}", f"train.output={m}"])
        p = os.path.join(SRC, "inputs", "fashion_mlp_pruned.h5") if s == 42 else os.path.join(work, f"fashion_mlp_pruned_s{s}.h5")
        if not os.path.exists(p):
            sh([os.path.join(build, "modclust-train"), os.path.join(SRC, "inputs/train/fashion_mlp_pruned.ini"), f"train.seed={s}", f"train.init={m}",
                f"train.output={p}"])
        mlps.append(m)
        pruned.append(p)
    return mlps, pruned


def halves_dataset(work):
    """The HALVES inputs the halves MLP was trained on (docs/training.md), as an HDF5 dataset: two Fashion-MNIST
    images squeezed to half width side by side, label (y_i + y_j) mod 10; pairs drawn by NumPy (any pairs of
    the split are a valid sample of the task)."""
    import gzip
    import numpy as np
    path = os.path.join(work, "halves.h5")
    if os.path.exists(path):
        return path
    rng = np.random.default_rng(7)
    with h5py.File(path + ".tmp", "w") as f:
        for split, stem in (("train", "train"), ("test", "t10k")):
            x = np.frombuffer(gzip.open(os.path.join(DATA, f"{stem}-images-idx3-ubyte.gz")).read()[16:], np.uint8).reshape(-1, 28, 28) / 255.0
            y = np.frombuffer(gzip.open(os.path.join(DATA, f"{stem}-labels-idx1-ubyte.gz")).read()[8:], np.uint8)
            i, j = rng.permutation(len(x)), rng.permutation(len(x))
            half = lambda im: 0.5 * (im[:, :, 0::2] + im[:, :, 1::2])
            f[f"{split}/images"] = np.concatenate([half(x[i]), half(x[j])], axis=2).astype(np.float32)
            f[f"{split}/labels"] = ((y[i].astype(np.int64) + y[j]) % 10).astype(np.uint8)
    os.rename(path + ".tmp", path)
    return path


def analyse(build, work, name, nets, ranks, importance=True, data=DATA):
    out = os.path.join(work, "out-" + name)
    cfg = os.path.join(work, name + ".ini")
    with open(cfg, "w") as f:
        f.write(f"[model]\npath = {nets[0]}\n[data]\nsource = {data}\n[graph]\npartitionings = {', '.join(FOUR)}\n[cluster]\nk = 12\n"
                f"[clusterability]\nn_shuffles = 50\n[importance]\nenabled = {'true' if importance else 'false'}\nn_random = 19\n"
                f"control = random_partition\nreplicates = {', '.join(nets[1:])}\n[output]\ndir = {out}\noverwrite = true\n")
    if not os.path.exists(os.path.join(out, "results.h5")):
        sh(["mpiexec", "-n", str(ranks), "--oversubscribe", os.path.join(build, "modclust-mpi"), cfg])
    rows = []
    with h5py.File(os.path.join(out, "results.h5"), "r") as f:
        for p in FOUR:
            g = f["partitionings"][p]
            clus = g["clusterability"] if "clusterability" in g else None
            row = dict(part=p, k=int(g.attrs["k"]), ncut=float(g.attrs["ncut"]),
                       clus_p=float(clus["p_value"][()]) if clus else None, clus_z=float(clus["z_score"][()]) if clus else None,
                       shuf=float(clus.attrs["mean"]) if clus else None, p_mean=None, p_range=None, q_mean=None, q_range=None,
                       nets_p=[], ctrl_p=None, ctrl_r=None)
            if "importance" in g:
                imp = g["importance"]
                row.update(p_mean=float(imp.attrs["combined_p_mean"]), p_range=float(imp.attrs["combined_p_range"]),
                           q_mean=float(imp.attrs["bh_qval_mean"]), q_range=float(imp.attrs["bh_qval_range"]),
                           nets_p=[imp.attrs["fisher_p_mean"]] + [imp[f"replicate_{i}"].attrs["fisher_p_mean"] for i in range(1, len(nets))],
                           ctrl_p=float(imp["control"].attrs["fisher_p_mean"]), ctrl_r=float(imp["control"].attrs["fisher_p_range"]))
            rows.append(row)
    return rows


def fp(p):
    return "n/a" if p is None else (f"{p:.1e}" if p < 1e-3 else f"{p:.3f}")


REFERENCE = {
    "mlp": ("MLP Fashion: clusterable like MLP MNIST (10.02 vs 10.17, z -4.5, 5/5); importance p_mean 2e-7..9e-5 per network, p_range n.s.",),
    "mlp_pruned": ("pruned MLP: more clusterable (MNIST 8.88 vs 9.18, z -9.7, 5/5); importance (MNIST pruned) p_mean 3e-9..4e-7, p_range 0.51-0.98",),
    "halves": ("HALVES-MNIST: clusterable 5/5 (unpruned and pruned); here HALVES of Fashion-MNIST (71.4 % test accuracy, the paper's MNIST version 92.6 %), tested on its own halves inputs",),
    "cnn": ("small CNN: not clusterable unpruned (CNN MNIST 10.69 vs 10.67, p 0.75); importance CNN Fashion p_mean 2e-4..0.042, p_range n.s.",),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("work")
    ap.add_argument("--ranks", type=int, default=2)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    mlps, pruned = train(a.build, a.work)
    # The small CNN's lesion test (10,000 test images through three 64-channel convolutions, for every
    # sub-cluster and draw of four partitionings) takes hours on 2 cores: its rows have the graphs only.
    fams = [("mlp", mlps, True, DATA), ("mlp_pruned", pruned, True, DATA),
            ("halves", [os.path.join(SRC, "inputs", "halves_mlp.h5")], True, halves_dataset(a.work)),
            ("cnn", [os.path.join(SRC, "inputs", "fashion_cnn.h5")], False, DATA)]
    for name, nets, imp, data in fams:
        rows = analyse(a.build, a.work, name, nets, a.ranks, importance=imp, data=data)
        print(f"\n### {name} ({len(nets)} network{'s' if len(nets) > 1 else ''})\n\nReference finding (METHOD.md section 12): {REFERENCE[name][0]}\n")
        print("| partitioning | k | n-cut | shuffled mean | clusterability p (z) | importance p_mean (BH q) | p_range (BH q) | per-network Fisher p_mean | control p_mean / p_range |")
        print("|---|---:|---:|---:|---:|---:|---:|---|---:|")
        for r in rows:
            clus = f"{fp(r['clus_p'])} ({r['clus_z']:.1f})" if r["clus_p"] is not None else "n/a"
            shuf = f"{r['shuf']:.3f}" if r["shuf"] is not None else ""
            if r["p_mean"] is None:
                print(f"| {r['part']} | {r['k']} | {r['ncut']:.3f} | {shuf} | {clus} | not run | not run | | |", flush=True)
                continue
            print(f"| {r['part']} | {r['k']} | {r['ncut']:.3f} | {shuf} | {clus} | {fp(r['p_mean'])} ({fp(r['q_mean'])}) | {fp(r['p_range'])} ({fp(r['q_range'])}) | "
                  f"{', '.join(fp(x) for x in r['nets_p'])} | {fp(r['ctrl_p'])} / {fp(r['ctrl_r'])} |", flush=True)


if __name__ == "__main__":
    main()
