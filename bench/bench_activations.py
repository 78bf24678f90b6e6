#!/usr/bin/python3
"""Activation graphs, whole runs: modclust-mpi (2 ranks, [graph] kind = activations, global partitioning)
against SciPy spearmanr + scikit-learn SpectralClustering(affinity='precomputed') on the same kind of
activations (the peer gets them ready-made: its forward pass is not timed), measured alternately in one
run, medians reported. Networks: the Fashion MLP of inputs/ (1024 hidden units), and seeded random MLPs
on Fashion-MNIST with 4 hidden layers of 1056 (4224 units, the CIFAR VGG's count) and of 7500 (30,000
units; the peer only when asked, --peer-30k, as it needs hours). Prints the correlation product's GFLOP/s
(from -info) and peak memory per rank (PETSc's -memory_view).

Usage: bench/bench_activations.py BUILD_DIR [--reps 3] [--sizes 1024,4224,30000] [--peer-30k]"""
import argparse, gzip, os, re, statistics, subprocess, sys, tempfile, time
import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import kernels  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"
SRC = os.path.join(os.path.dirname(__file__), "..")
S = 4992
K = 16


def images():
    raw = gzip.open(os.path.join(DATA, "train-images-idx3-ubyte.gz"), "rb").read()
    return np.frombuffer(raw[16:], dtype=np.uint8).reshape(-1, 784).astype(np.float32) / 255.0


def write_mlp(path, widths, seed):
    """A He-initialised ReLU MLP 784-widths-10 in the native model format."""
    rng = np.random.default_rng(seed)
    sizes = [784, *widths, 10]
    with h5py.File(path, "w") as f:
        f.attrs.update({"format": "modclust-model", "version": 1, "n_layers": len(sizes), "input_shape": np.array([28, 28, 1])})
        g = f.create_group("layers/000")
        g.attrs.update({"type": "flatten", "name": "flatten", "activation": "linear", "alpha": 0.0})
        for i in range(1, len(sizes)):
            g = f.create_group(f"layers/{i:03d}")
            last = i == len(sizes) - 1
            g.attrs.update({"type": "dense", "name": f"dense_{i}", "activation": "softmax" if last else "relu", "alpha": 0.0})
            g["weight"] = (rng.normal(size=(sizes[i - 1], sizes[i])) * np.sqrt(2.0 / sizes[i - 1])).astype(np.float32)
            g["bias"] = (rng.normal(size=sizes[i]) * 0.1).astype(np.float32)


def preacts(path, x):
    with h5py.File(path, "r") as f:
        layers = [f["layers"][n] for n in sorted(f["layers"]) if "weight" in f["layers"][n]]
        h, out = x, []
        for L in layers[:-1]:
            z = h @ L["weight"][()] + L["bias"][()]
            out.append(z)
            h = np.maximum(z, 0)
    return np.concatenate(out, axis=1).astype(np.float64)


def ours(build, model, tmp, tag):
    cfg = os.path.join(tmp, "act.ini")
    with open(cfg, "w") as f:
        f.write(f"[model]\npath = {model}\n[data]\nsource = {DATA}\n[graph]\nkind = activations\nact_samples = {S}\n[cluster]\nk = {K}\n"
                f"[output]\ndir = {os.path.join(tmp, 'out-' + tag)}\noverwrite = true\n")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMPI_MCA_pml="ob1", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    cmd = ["mpiexec", "-n", "2", "--oversubscribe", os.path.join(build, "modclust-mpi"), cfg, "-info", "-memory_view"]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    dt = time.perf_counter() - t0
    if p.returncode:
        sys.exit(p.stdout[-2000:] + p.stderr[-2000:])
    gf = re.findall(r"Gram on a .*?: ([0-9.]+) s, ([0-9.]+) GFLOP/s", p.stdout + p.stderr)
    mem = re.findall(r"Maximum \(over computational time\) process memory:\s+total ([0-9.e+]+) max ([0-9.e+]+)", p.stdout + p.stderr)
    ncut = re.findall(r"n-cut = ([0-9.]+)", p.stdout)
    return dt, gf, mem, float(ncut[0]) if ncut else float("nan")


def peer(act):
    import scipy.stats
    from sklearn.cluster import SpectralClustering
    t0 = time.perf_counter()
    r = scipy.stats.spearmanr(act)[0]
    A = np.nan_to_num(r * r)
    np.fill_diagonal(A, 0)
    lab = SpectralClustering(n_clusters=K, affinity="precomputed", n_init=100 if A.shape[0] > 2000 else 25, random_state=0).fit(A).labels_
    dt = time.perf_counter() - t0
    d = A.sum(1)
    nc = sum(A[lab == c][:, lab != c].sum() / (d[lab == c].sum() + 1e-8) for c in np.unique(lab))
    return dt, nc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--sizes", default="1024,4224,30000")
    ap.add_argument("--peer-30k", action="store_true")
    a = ap.parse_args()
    print(kernels.line(a.build))
    x = images()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        for n in map(int, a.sizes.split(",")):
            if n == 1024:
                model = os.path.join(SRC, "inputs", "fashion_mlp.h5")
            else:
                model = os.path.join(tmp, f"mlp{n}.h5")
                write_mlp(model, [n // 4] * 4, seed=n)
            run_peer = n <= 4224 or a.peer_30k
            act = preacts(model, x[rng.choice(len(x), S, replace=False)]) if run_peer else None
            t_ours, t_peer = [], []
            for r in range(a.reps):
                dt, gf, mem, nc = ours(a.build, model, tmp, str(n))
                t_ours.append(dt)
                if run_peer:
                    dp, ncp = peer(act)
                    t_peer.append(dp)
                print(f"  N={n} rep {r}: ours {dt:.2f} s (n-cut {nc:.4f}; Gram {gf[0] if gf else '?'} s/GFLOP/s per rank; memory {mem[0] if mem else '?'})"
                      + (f", SciPy+sklearn {dp:.2f} s (n-cut {ncp:.4f})" if run_peer else ""), flush=True)
            mo = statistics.median(t_ours)
            line = f"N={n}: ours median {mo:.2f} s"
            if t_peer:
                mp = statistics.median(t_peer)
                line += f", SciPy spearmanr + scikit-learn median {mp:.2f} s, ratio {mp / mo:.1f}x"
            print(line, flush=True)


if __name__ == "__main__":
    main()
