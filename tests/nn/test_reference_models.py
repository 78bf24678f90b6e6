#!/usr/bin/python3
"""The committed reference networks (inputs/*.h5, written by modclust-train) through the project's native reader
and the engine on the 10,000 Fashion-MNIST test images: test accuracy at least the stated figure, the pruned
net at 90% kernel sparsity, and logits equal to PyTorch's on the same weights (read with h5py) within 1e-4.
Usage: test_reference_models.py NN_MODEL_FORWARD SRC_DIR"""
import gzip, os, subprocess, sys, tempfile
import h5py
import numpy as np
import torch

DATA = "/usr/share/datasets/fashion-mnist"
CASES = [("fashion_mlp.h5", "plain", 0.88, None), ("fashion_mlp_pruned.h5", "plain", 0.88, 0.89), ("halves_mlp.h5", "halves", None, None),
         ("fashion_cnn.h5", "plain", 0.88, None)]


def idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    nd = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * nd).reshape(dims)


def s_(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def same_pad(n, k, st):
    out = -(-n // st)
    total = max((out - 1) * st + k - n, 0)
    return total // 2, total - total // 2


def torch_logits(path, x):
    """PyTorch on the native file's tensors (canonical layout: HWIO kernels, [in, out] Dense, HWC flatten)."""
    f = h5py.File(path, "r")
    v = torch.tensor(x[..., None] if x.ndim == 3 else x)  # N, H, W, C
    kernels = []
    act = {"relu": torch.relu, "softmax": lambda t: torch.softmax(t, -1), "linear": lambda t: t}
    for k in sorted(f["layers"]):
        g = f["layers"][k]
        t = s_(g.attrs["type"])
        a = s_(g.attrs.get("activation", "linear"))
        if t == "dense":
            w = np.asarray(g["weight"])
            kernels.append(w)
            v = act[a](v.reshape(v.shape[0], -1) @ torch.tensor(w) + torch.tensor(np.asarray(g["bias"])))
        elif t == "conv2d":
            w = np.asarray(g["weight"])
            kernels.append(w)
            kh, kw = [int(q) for q in g.attrs["kernel"]]
            sh, sw = [int(q) for q in g.attrs["strides"]]
            u = v.permute(0, 3, 1, 2)
            pt, pb = same_pad(u.shape[2], kh, sh) if s_(g.attrs["padding"]) == "same" else (0, 0)
            pl, pr = same_pad(u.shape[3], kw, sw) if s_(g.attrs["padding"]) == "same" else (0, 0)
            u = torch.nn.functional.conv2d(torch.nn.functional.pad(u, (pl, pr, pt, pb)), torch.tensor(w).permute(3, 2, 0, 1), torch.tensor(np.asarray(g["bias"])), stride=(sh, sw))
            v = act[a](u.permute(0, 2, 3, 1))
        elif t == "maxpool2d":
            kh, kw = [int(q) for q in g.attrs["kernel"]]
            sh, sw = [int(q) for q in g.attrs["strides"]]
            v = torch.nn.functional.max_pool2d(v.permute(0, 3, 1, 2), (kh, kw), (sh, sw)).permute(0, 2, 3, 1)
        elif t == "flatten":
            v = v.reshape(v.shape[0], -1)
        elif t != "dropout":
            raise ValueError(f"oracle does not know layer type {t}")
    return v.reshape(v.shape[0], -1).numpy(), kernels


def main():
    exe, src = sys.argv[1], sys.argv[2]
    if not os.path.exists(f"{DATA}/t10k-images-idx3-ubyte.gz"):
        print("no Fashion-MNIST (apt-get install dataset-fashion-mnist); skipping")
        return
    x = (idx(f"{DATA}/t10k-images-idx3-ubyte.gz").astype(np.float32) / 255.0)
    y = idx(f"{DATA}/t10k-labels-idx1-ubyte.gz").astype(np.int64)
    fails = 0
    with tempfile.TemporaryDirectory() as d:
        xin = os.path.join(d, "x.bin")
        x.tofile(xin)
        for name, variant, min_acc, min_sparsity in CASES:
            path = os.path.join(src, "inputs", name)
            if not os.path.exists(path):
                print(f"FAIL {name}: missing")
                fails += 1
                continue
            ini = os.path.join(d, name + ".ini")
            open(ini, "w").write(f"[model]\npath = {path}\n")
            out = os.path.join(d, "y.bin")
            subprocess.run([exe, ini, xin, str(len(x)), out], check=True)
            got = np.fromfile(out, np.float32).reshape(len(x), -1)
            parts = [torch_logits(path, x[b:b + 500]) for b in range(0, len(x), 500)]
            ref, kernels = np.concatenate([p[0] for p in parts]), parts[0][1]
            err = float(np.max(np.abs(got - ref)))
            same = float(np.mean(got.argmax(1) == ref.argmax(1)))
            acc = float(np.mean(got.argmax(1) == y))
            sp = float(sum((k == 0).sum() for k in kernels) / sum(k.size for k in kernels))
            ok = err < 1e-4 and same == 1.0
            if min_acc is not None:
                ok = ok and acc >= min_acc
            if min_sparsity is not None:
                ok = ok and sp >= min_sparsity
            fails += 0 if ok else 1
            note = "(plain test images; the net was trained on halves)" if variant != "plain" else ""
            print(f"{'ok  ' if ok else 'FAIL'} {name}: test accuracy {acc:.4f} {note} kernel sparsity {sp:.3f}, max |logit - torch| {err:.2e}, argmax agreement {same:.4f}")
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
