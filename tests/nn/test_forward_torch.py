#!/usr/bin/python3
"""Forward and backward pass of the engine against PyTorch on the same weights and inputs.

For each spec, numpy draws Keras-layout weights and inputs; nn_forward_dump runs the engine and writes every
layer's output, the Dense/Conv2D pre-activations, the weight gradients and the input gradient of
L = sum(dtop * output). PyTorch (torch.nn.functional, float32, autograd) computes the same quantities
independently: explicit Keras 'same' padding, NCHW convolution, channels-last flatten.
Pass: max abs logit difference < 1e-4, identical argmax, every layer and gradient within tolerance."""
import os, subprocess, sys, tempfile
import numpy as np
import torch
import torch.nn.functional as F

SPECS = {
    "mlp_acts": """input 1 1 20
dense 16 relu
dense 12 tanh
dropout 0.5
dense 10 sigmoid
activation gelu
dense 8 elu
dense 8 selu
dense 6 softplus
dense 6 leaky_relu
dense 5 softmax""",
    "cnn_mixed": """input 9 8 3
conv2d 3 3 1 1 same 4 relu
batchnorm 0.001
maxpool2d 2 2 2 2 valid
conv2d 3 2 2 2 same 5 tanh
avgpool2d 2 2 1 1 same
conv2d 2 2 1 1 valid 3 linear
activation relu
maxpool2d 3 3 2 2 same
flatten
dense 7 relu
dense 4 linear
softmax""",
    "cnn_paper": """input 28 28 1
conv2d 3 3 1 1 same 8 relu
conv2d 3 3 1 1 same 8 relu
maxpool2d 2 2 2 2 valid
conv2d 3 3 1 1 same 8 relu
maxpool2d 2 2 2 2 valid
flatten
dense 16 relu
dense 10 softmax""",
    "cnn_strided_valid": """input 11 10 2
conv2d 3 3 2 2 valid 4 sigmoid
conv2d 2 3 1 2 same 3 leaky_relu
flatten
dense 3 linear""",
}


def same_pad(n, k, s):
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def act(name, z):
    return {
        "linear": lambda v: v, "relu": F.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
        "gelu": F.gelu, "elu": F.elu, "selu": F.selu, "softplus": F.softplus,
        "leaky_relu": lambda v: F.leaky_relu(v, 0.1), "softmax": lambda v: torch.softmax(v, dim=-1),
    }[name](z)


def build(spec, rng):
    """Parse a spec into layer records with numpy weights (Keras layouts), in the engine's draw order."""
    lines = [l.split() for l in spec.strip().splitlines()]
    h, w, c = map(int, lines[0][1:])
    shape = (h, w, c)
    layers, flat = [], []
    for t in lines[1:]:
        L = {"type": t[0]}
        if t[0] == "dense":
            n_in = shape[0] * shape[1] * shape[2]
            L.update(n=int(t[1]), act=t[2])
            lim = np.sqrt(6.0 / (n_in + L["n"]))
            L["W"] = rng.uniform(-lim, lim, (n_in, L["n"])).astype(np.float32)
            L["b"] = rng.uniform(-0.1, 0.1, L["n"]).astype(np.float32)
            flat += [L["W"], L["b"]]
            shape = (1, 1, L["n"])
        elif t[0] in ("conv2d", "maxpool2d", "avgpool2d"):
            kh, kw, sh, sw = map(int, t[1:5])
            L.update(kh=kh, kw=kw, sh=sh, sw=sw, pad=t[5])
            if t[0] == "conv2d":
                L.update(n=int(t[6]), act=t[7])
                lim = np.sqrt(6.0 / (kh * kw * (shape[2] + L["n"])))
                L["W"] = rng.uniform(-lim, lim, (kh, kw, shape[2], L["n"])).astype(np.float32)
                L["b"] = rng.uniform(-0.1, 0.1, L["n"]).astype(np.float32)
                flat += [L["W"], L["b"]]
            if L["pad"] == "same":
                oh, ow = -(-shape[0] // sh), -(-shape[1] // sw)
            else:
                oh, ow = (shape[0] - kh) // sh + 1, (shape[1] - kw) // sw + 1
            L["in_hw"] = shape[:2]
            shape = (oh, ow, L.get("n", shape[2]))
        elif t[0] == "batchnorm":
            L["eps"] = float(t[1])
            ch = shape[2]
            L["gamma"] = rng.uniform(0.5, 1.5, ch).astype(np.float32)
            L["beta"] = rng.uniform(-0.5, 0.5, ch).astype(np.float32)
            L["mean"] = rng.uniform(-0.5, 0.5, ch).astype(np.float32)
            L["var"] = rng.uniform(0.5, 1.5, ch).astype(np.float32)
            flat += [L["gamma"], L["beta"], L["mean"], L["var"]]
        elif t[0] == "activation":
            L["act"] = t[1]
        elif t[0] == "flatten":
            shape = (1, 1, shape[0] * shape[1] * shape[2])
        L["out_shape"] = shape
        layers.append(L)
    return (h, w, c), layers, flat


def torch_forward(layers, params, x):
    """x: N,H,W,C tensor. Returns outputs (NHWC) and pre-activations of weight layers."""
    outs, pres = [], []
    v = x
    for L, P in zip(layers, params):
        t = L["type"]
        if t == "dense":
            z = v.reshape(v.shape[0], -1) @ P[0] + P[1]
            pres.append(z)
            v = act(L["act"], z).reshape(v.shape[0], 1, 1, -1)
        elif t in ("conv2d", "maxpool2d", "avgpool2d"):
            u = v.permute(0, 3, 1, 2)
            H, W = u.shape[2], u.shape[3]
            if L["pad"] == "same":
                pt, pb = same_pad(H, L["kh"], L["sh"])
                pl, pr = same_pad(W, L["kw"], L["sw"])
            else:
                pt = pb = pl = pr = 0
            if t == "conv2d":
                u = F.pad(u, (pl, pr, pt, pb))
                z = F.conv2d(u, P[0].permute(3, 2, 0, 1), P[1], stride=(L["sh"], L["sw"]))
                z = z.permute(0, 2, 3, 1)
                pres.append(z)
                v = act(L["act"], z)
            elif t == "maxpool2d":
                u = F.pad(u, (pl, pr, pt, pb), value=-float("inf"))
                v = F.max_pool2d(u, (L["kh"], L["kw"]), (L["sh"], L["sw"])).permute(0, 2, 3, 1)
            else:
                s = F.avg_pool2d(F.pad(u, (pl, pr, pt, pb)), (L["kh"], L["kw"]), (L["sh"], L["sw"]))
                ones = F.pad(torch.ones_like(u[:1, :1]), (pl, pr, pt, pb))
                cnt = F.avg_pool2d(ones, (L["kh"], L["kw"]), (L["sh"], L["sw"]))
                v = (s / cnt).permute(0, 2, 3, 1)
        elif t == "batchnorm":
            v = (v - P[2]) / torch.sqrt(P[3] + L["eps"]) * P[0] + P[1]
        elif t == "activation":
            v = act(L["act"], v)
        elif t == "softmax":
            v = torch.softmax(v, dim=-1)
        elif t == "flatten":
            v = v.reshape(v.shape[0], 1, 1, -1)
        outs.append(v)
    return outs, pres


def main():
    exe = sys.argv[1]
    rng = np.random.default_rng(1234)
    torch.manual_seed(0)
    failures = 0
    for name, spec in SPECS.items():
        in_shape, layers, flat = build(spec, rng)
        n = 7
        x = rng.uniform(0, 1, (n,) + in_shape).astype(np.float32)
        last = layers[-1]["out_shape"]
        dtop = rng.normal(0, 1, (n,) + last).astype(np.float32)
        with tempfile.TemporaryDirectory() as d:
            paths = {k: os.path.join(d, k) for k in ("spec", "w", "x", "dtop", "out")}
            open(paths["spec"], "w").write(spec + "\n")
            np.concatenate([a.ravel() for a in flat]).astype(np.float32).tofile(paths["w"])
            x.tofile(paths["x"])
            dtop.tofile(paths["dtop"])
            subprocess.run([exe, paths["spec"], paths["w"], paths["x"], str(n), paths["dtop"], paths["out"]], check=True)
            got = np.fromfile(paths["out"], dtype=np.float32)
        # Torch oracle with autograd.
        params, it = [], iter(flat)
        tensors = [torch.tensor(a, requires_grad=True) for a in flat]
        # BatchNorm moving statistics are constants to the engine (it writes zeros for them).
        frozen = set()
        k = 0
        for L in layers:
            k += {"dense": 2, "conv2d": 2}.get(L["type"], 0)
            if L["type"] == "batchnorm":
                frozen.update((k + 2, k + 3))
                k += 4
        ti = iter(tensors)
        for L in layers:
            k = {"dense": 2, "conv2d": 2, "batchnorm": 4}.get(L["type"], 0)
            params.append([next(ti) for _ in range(k)])
        xt = torch.tensor(x, requires_grad=True)
        outs, pres = torch_forward(layers, params, xt)
        loss = (outs[-1] * torch.tensor(dtop)).sum()
        loss.backward()
        pos = 0

        def take(count):
            nonlocal pos
            seg = got[pos:pos + count]
            pos += count
            return seg

        for i, o in enumerate(outs):
            ref = o.detach().numpy().ravel()
            mine = take(ref.size)
            err = np.max(np.abs(mine - ref)) if ref.size else 0.0
            scale = max(1.0, np.max(np.abs(ref)))
            if not err <= 1e-4 * scale:
                print(f"FAIL {name}: layer {i} ({layers[i]['type']}) output max abs diff {err:.3g}")
                failures += 1
        for j, z in enumerate(pres):
            ref = z.detach().numpy().ravel()
            err = np.max(np.abs(take(ref.size) - ref))
            if not err <= 1e-4 * max(1.0, np.max(np.abs(ref))):
                print(f"FAIL {name}: pre-activation {j} max abs diff {err:.3g}")
                failures += 1
        logit_err = np.max(np.abs(got[pos - sum(p.numel() for p in pres) - outs[-1].numel(): pos - sum(p.numel() for p in pres)] - outs[-1].detach().numpy().ravel()))
        mine_last = got[pos - sum(p.numel() for p in pres) - outs[-1].numel(): pos - sum(p.numel() for p in pres)].reshape(n, -1)
        ref_last = outs[-1].detach().numpy().reshape(n, -1)
        same_argmax = np.array_equal(mine_last.argmax(1), ref_last.argmax(1))
        if not (logit_err < 1e-4 and same_argmax):
            print(f"FAIL {name}: logits max abs diff {logit_err:.3g}, same argmax {same_argmax}")
            failures += 1
        gmax = 0.0
        for k, t in enumerate(tensors):
            ref = t.grad.numpy().ravel()
            mine = take(ref.size)
            if k in frozen:
                continue
            err = np.max(np.abs(mine - ref))
            tol = 1e-4 * max(1.0, np.max(np.abs(ref)))
            gmax = max(gmax, err / max(1.0, np.max(np.abs(ref))))
            if not err <= tol:
                print(f"FAIL {name}: gradient of tensor {k} (shape {tuple(t.shape)}) max abs diff {err:.3g}")
                failures += 1
        ref = xt.grad.numpy().ravel()
        err = np.max(np.abs(take(ref.size) - ref))
        if not err <= 1e-4 * max(1.0, np.max(np.abs(ref))):
            print(f"FAIL {name}: input gradient max abs diff {err:.3g}")
            failures += 1
        if pos != got.size:
            print(f"FAIL {name}: dump has {got.size} floats, expected {pos}")
            failures += 1
        print(f"{name}: logits max abs diff {logit_err:.2e}, argmax equal {same_argmax}, worst scaled gradient diff {gmax:.2e}")
    if failures:
        print(f"{failures} failures")
        sys.exit(1)
    print("all forward/backward checks passed")


if __name__ == "__main__":
    main()
