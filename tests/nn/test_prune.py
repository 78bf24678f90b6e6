"""Pruning as the reference makes it (tfmot's prune_low_magnitude with PolynomialDecay), checked against a
NumPy re-implementation of the schedule and the mask rule:
- the sparsity of every mask update equals PolynomialDecay's in float32 (power 3, begin 0, end T, t from
  the first step of this run), updates fall on every prune_every-th step;
- every mask keeps the max(1, round(n (1 - s))) largest |w| and every weight tied with the last of them
  (the starting network is quantised so that ties occur, and the test requires that they did);
- starting from a model file (train.init), the first step sees the file's weights bitwise;
- the saved model is exactly zero where the last mask is, the pair mode (prune_epochs) gives the same
  bytes as the two-run form, and a file of another architecture is refused naming the file and layer."""
import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

BIN = os.environ.get("MC_BIN", "build")
SRC = os.environ.get("MC_SRC", ".")
DATA = "/usr/share/datasets/fashion-mnist"


def train(args, cwd, ok=True):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    r = subprocess.run([os.path.join(BIN, "modclust-train"), os.path.join(SRC, "tests", "nn", "train_small.ini"), *args], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=120)
    if ok and r.returncode != 0:
        sys.exit(f"FAILED: modclust-train {' '.join(args)} exited {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def check(cond, msg):
    if not cond:
        sys.exit("FAILED: " + msg)


def read_log(path):
    recs = []
    with open(path, "rb") as f:
        while True:
            hdr = f.read(32)
            if not hdr:
                break
            step, layer, n, kept = np.frombuffer(hdr, dtype=np.int64)
            s = np.frombuffer(f.read(4), dtype=np.float32)[0]
            w = np.frombuffer(f.read(4 * n), dtype=np.float32)
            keep = np.frombuffer(f.read(n), dtype=np.uint8).astype(bool)
            recs.append(dict(step=int(step), layer=int(layer), n=int(n), kept=int(kept), s=s, w=w, keep=keep))
    return recs


def schedule(t, T, s0, s1):
    """tfmot's PolynomialDecay in float32."""
    p = np.float32(min(1.0, max(0.0, np.float32(t) / np.float32(T))))
    return np.float32(np.float32(np.float32(s0) - np.float32(s1)) * np.power(np.float32(1) - p, np.float32(3)) + np.float32(s1))


def mask(w, s):
    """tfmot's _update_mask: keep every |w| >= the k-th largest, k = max(1, round(n (1 - s)))."""
    a = np.abs(w)
    k = int(max(np.round(np.float32(a.size) * (np.float32(1) - s)), 1))
    thr = np.sort(a)[::-1][k - 1]
    return a >= thr, k, thr


def main():
    if not os.path.exists(os.path.join(DATA, "train-images-idx3-ubyte.gz")):
        print("no Fashion-MNIST (apt-get install dataset-fashion-mnist); skipping")
        return
    tmp = tempfile.mkdtemp(prefix="prune-")
    try:
        train(["train.widths=32", "train.epochs=1", "train.output=u.h5"], tmp)
        # Quantise the trained weights to multiples of 0.02: many equal magnitudes, so masks meet ties.
        shutil.copy(os.path.join(tmp, "u.h5"), os.path.join(tmp, "q.h5"))
        with h5py.File(os.path.join(tmp, "q.h5"), "r+") as f:
            for name in f["layers"]:
                if "weight" in f["layers"][name]:
                    d = f["layers"][name]["weight"]
                    d[...] = (np.round(d[...] / np.float32(0.02)) * np.float32(0.02)).astype(np.float32)
            init_w = [f["layers"][n]["weight"][...].ravel() for n in sorted(f["layers"]) if "weight" in f["layers"][n]]
        every, s0, s1, epochs = 7, 0.5, 0.9, 2
        train(["train.widths=32", f"train.epochs={epochs}", "train.init=q.h5", "train.prune=true", f"train.prune_every={every}",
               f"train.prune_initial={s0}", f"train.prune_final={s1}", "train.output=p.h5", "-train_prune_log", "plog.bin"], tmp)
        recs = read_log(os.path.join(tmp, "plog.bin"))
        T = -(-3000 // 64) * epochs
        steps = sorted({r["step"] for r in recs})
        check(steps == list(range(0, T, every)), f"mask updates at {steps[:5]}..., expected every {every} steps of {T}")
        layers = sorted({r["layer"] for r in recs})
        check(len(layers) == 2, f"masks of {layers}, expected the 2 kernels")
        ties = 0
        for r in recs:
            want_s = schedule(r["step"], T, s0, s1)
            check(r["s"] == want_s, f"step {r['step']}: sparsity {r['s']!r}, NumPy {want_s!r}")
            m, k, thr = mask(r["w"], r["s"])
            check(np.array_equal(m, r["keep"]), f"step {r['step']} layer {r['layer']}: mask differs from NumPy's in {np.sum(m != r['keep'])} entries")
            check(r["kept"] == int(m.sum()) and r["kept"] >= k, f"step {r['step']}: kept {r['kept']}, k {k}")
            ties += int(r["kept"] > k)
        check(ties > 0, "no mask update met a tie at its threshold; the test did not exercise ties")
        first = [r for r in recs if r["step"] == 0]
        for r, w in zip(first, init_w):
            check(np.array_equal(r["w"], w), f"the first step's weights of layer {r['layer']} differ from train.init's file")
        last = {r["layer"]: r for r in recs if r["step"] == steps[-1]}
        with h5py.File(os.path.join(tmp, "p.h5"), "r") as f:
            saved = [f["layers"][n]["weight"][...].ravel() for n in sorted(f["layers"]) if "weight" in f["layers"][n]]
        for (layer, r), w in zip(sorted(last.items()), saved):
            check(np.all(w[~r["keep"]] == 0), f"layer {layer}: pruned weights not exactly zero in the saved file")
            check(np.count_nonzero(w) == int(r["keep"].sum()), f"layer {layer}: {np.count_nonzero(w)} non-zero weights, mask keeps {int(r['keep'].sum())}")
        sp = sum(int((w == 0).sum()) for w in saved) / sum(w.size for w in saved)
        check(abs(sp - s1) < 0.01, f"final sparsity {sp:.4f}, expected {s1}")
        print(f"{len(recs)} mask updates match NumPy's PolynomialDecay and mask rule ({ties} with ties); final sparsity {sp:.4f}")

        # The pair in one run equals the two-run form bitwise.
        train(["train.widths=32", "train.epochs=1", "train.output=a.h5", "train.prune_epochs=2", "train.pruned_output=a_pruned.h5"], tmp)
        train(["train.widths=32", "train.epochs=2", "train.init=a.h5", "train.prune=true", "train.output=b_pruned.h5"], tmp)
        r = subprocess.run(["h5diff", os.path.join(tmp, "a_pruned.h5"), os.path.join(tmp, "b_pruned.h5")], capture_output=True, text=True)
        check(r.returncode == 0, f"prune_epochs differs from init + prune:\n{r.stdout}")

        # Another architecture: a clear error naming the file and the layer.
        r = train(["train.widths=16", "train.init=u.h5", "train.output=x.h5"], tmp, ok=False)
        check(r.returncode != 0 and "u.h5 (train.init)" in r.stderr and "dense" in r.stderr and "32" in r.stderr, f"bad architecture message:\n{r.stderr}")
        r = train(["train.widths=32,32", "train.init=u.h5", "train.output=x.h5"], tmp, ok=False)
        check(r.returncode != 0 and "u.h5 (train.init): 2 Dense/Conv2D layers" in r.stderr, f"bad layer-count message:\n{r.stderr}")
        print("pair mode equals init + prune bitwise; other architectures are refused naming the file and layer")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
