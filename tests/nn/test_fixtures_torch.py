#!/usr/bin/python3
"""Keras .h5 and safetensors fixtures (tools/make_fixtures.py) through the project's readers and the nn engine,
against PyTorch built directly from the original files: Keras files from model_config and the weight tree
(h5py; NHWC semantics, HWIO kernels, channels-last flatten), safetensors from the raw torch-layout tensors and
the [layer.N] sections (NCHW, OIHW kernels, CHW flatten - PyTorch's own semantics). Pass: max abs output
difference < 1e-4 and identical argmax for every fixture.
Usage: test_fixtures_torch.py NN_MODEL_FORWARD SRC_DIR"""
import configparser, json, os, struct, subprocess, sys, tempfile
import h5py
import numpy as np
import torch
import torch.nn.functional as F

ACT = {"linear": lambda v: v, "relu": F.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "softmax": lambda v: torch.softmax(v, -1),
       "elu": F.elu, "selu": F.selu, "softplus": F.softplus, "gelu": F.gelu}


def same_pad(n, k, s):
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def window(v, kind, k, s, pad, nchw):
    """Conv-free window ops on NCHW tensors with Keras padding rules."""
    H, W = v.shape[2], v.shape[3]
    pt, pb = same_pad(H, k[0], s[0]) if pad == "same" else (0, 0)
    pl, pr = same_pad(W, k[1], s[1]) if pad == "same" else (0, 0)
    if kind == "max":
        return F.max_pool2d(F.pad(v, (pl, pr, pt, pb), value=-float("inf")), k, s)
    tot = F.avg_pool2d(F.pad(v, (pl, pr, pt, pb)), k, s)
    cnt = F.avg_pool2d(F.pad(torch.ones_like(v[:1, :1]), (pl, pr, pt, pb)), k, s)
    return tot / cnt


def conv(v, w_oihw, b, k, s, pad):
    H, W = v.shape[2], v.shape[3]
    pt, pb = same_pad(H, k[0], s[0]) if pad == "same" else (0, 0)
    pl, pr = same_pad(W, k[1], s[1]) if pad == "same" else (0, 0)
    return F.conv2d(F.pad(v, (pl, pr, pt, pb)), w_oihw, b, stride=s)


# ---- Keras .h5 ----

def attr_list(g, name):
    v = g.attrs[name]
    return [x.decode() if isinstance(x, bytes) else str(x) for x in v]


def keras_forward(path, x_nhwc):
    f = h5py.File(path, "r")
    cfg = f.attrs["model_config"]
    cfg = json.loads(cfg.decode() if isinstance(cfg, bytes) else cfg)
    root = f["model_weights"] if "model_weights" in f else f
    layers = cfg["config"]["layers"]
    v = torch.tensor(x_nhwc)  # NHWC throughout
    for L in layers:
        cls, c = L["class_name"], L["config"]
        if cls == "PruneLowMagnitude":
            inner = c["layer"]
            cls, c = inner["class_name"], dict(inner["config"], name=c["name"])
        if cls == "InputLayer":
            continue
        ws = {}
        if c["name"] in root:
            g = root[c["name"]]
            for wn in attr_list(g, "weight_names"):
                ws[wn.split("/")[-1].replace(":0", "")] = torch.tensor(np.asarray(g[wn]), dtype=torch.float32)
        if cls == "Flatten":
            v = v.reshape(v.shape[0], -1)
        elif cls == "Dense":
            v = v.reshape(v.shape[0], -1) @ ws["kernel"] + (ws["bias"] if c.get("use_bias", True) else 0)
            v = ACT[c.get("activation", "linear")](v)
        elif cls == "Conv2D":
            u = conv(v.permute(0, 3, 1, 2), ws["kernel"].permute(3, 2, 0, 1), ws.get("bias"), tuple(c["kernel_size"]), tuple(c["strides"]), c["padding"])
            v = ACT[c.get("activation", "linear")](u.permute(0, 2, 3, 1))
        elif cls in ("MaxPooling2D", "AveragePooling2D"):
            k = tuple(c["pool_size"])
            s = tuple(c["strides"]) if c.get("strides") else k
            v = window(v.permute(0, 3, 1, 2), "max" if cls == "MaxPooling2D" else "avg", k, s, c.get("padding", "valid"), True).permute(0, 2, 3, 1)
        elif cls == "BatchNormalization":
            gam = ws.get("gamma", 1.0)
            bet = ws.get("beta", 0.0)
            v = (v - ws["moving_mean"]) / torch.sqrt(ws["moving_variance"] + c["epsilon"]) * gam + bet
        elif cls == "ReLU":
            v = F.relu(v)
        elif cls == "Activation":
            v = ACT[c["activation"]](v)
        elif cls == "Softmax":
            v = torch.softmax(v, -1)
        elif cls == "Dropout":
            pass
        else:
            raise ValueError(f"oracle does not know Keras layer {cls}")
    return v.reshape(v.shape[0], -1).numpy()


# ---- safetensors ----

def read_safetensors(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    hdr = json.loads(data[8:8 + n])
    base = 8 + n
    out, order = {}, []
    for k, e in hdr.items():
        if k == "__metadata__":
            continue
        b, en = e["data_offsets"]
        raw = data[base + b: base + en]
        dt = e["dtype"]
        if dt == "BF16":
            a = (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            a = np.frombuffer(raw, {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64}[dt]).astype(np.float32)
        out[k] = torch.tensor(a.reshape(e["shape"]).copy())
        order.append((b, k))
    return out, [k for _, k in sorted(order)]


def ints(s, n=2):
    v = [int(t) for t in s.split(",")]
    return tuple(v * n if len(v) == 1 else v)


def st_forward(ini_path, x_model_layout):
    cp = configparser.ConfigParser(inline_comment_prefixes=(";", "#"))
    cp.read(ini_path)
    m = cp["model"]
    d = os.path.dirname(ini_path)
    path = os.path.join(d, m.get("path", os.path.basename(ini_path).replace(".ini", ".safetensors")))
    T, order = read_safetensors(path)
    torch_layout = m.get("layout", "torch") != "keras"
    v = torch.tensor(x_model_layout)
    if m.get("infer", "none") == "mlp":
        ws = [k for k in order if T[k].dim() == 2]
        v = v.reshape(v.shape[0], -1)
        for i, k in enumerate(ws):
            b = T.get(k[:-len("weight")] + "bias") if k.endswith("weight") else None
            v = v @ (T[k].t() if torch_layout else T[k]) + (b if b is not None else 0)
            if i < len(ws) - 1:
                v = F.relu(v)
        return v.numpy()
    specs = sorted([s for s in cp.sections() if s.startswith("layer.")], key=lambda s: int(s.split(".")[1]))
    # torch layout: v is NCHW; keras layout: v is NHWC (converted to NCHW for window ops).
    for s in specs:
        L = cp[s]
        t = L["type"]
        act = L.get("activation", "linear")
        if t == "conv2d":
            w = T[L["weight"]]
            w = w if torch_layout else w.permute(3, 2, 0, 1)
            u = v if torch_layout else v.permute(0, 3, 1, 2)
            u = conv(u, w, T[L["bias"]] if L.get("bias") else None, (w.shape[2], w.shape[3]), ints(L.get("stride", "1")), L.get("padding", "valid"))
            v = ACT[act](u if torch_layout else u.permute(0, 2, 3, 1))
        elif t in ("maxpool2d", "avgpool2d"):
            k = ints(L.get("pool", "2,2"))
            st = ints(L["stride"]) if L.get("stride") else k
            u = v if torch_layout else v.permute(0, 3, 1, 2)
            u = window(u, "max" if t == "maxpool2d" else "avg", k, st, L.get("padding", "valid"), True)
            v = u if torch_layout else u.permute(0, 2, 3, 1)
        elif t == "batchnorm":
            eps = float(L.get("eps", "0")) or (1e-5 if torch_layout else 1e-3)
            shp = (1, -1, 1, 1) if torch_layout and v.dim() == 4 else (1, -1)
            g = T[L["gamma"]].reshape(shp) if L.get("gamma") else 1.0
            b = T[L["beta"]].reshape(shp) if L.get("beta") else 0.0
            v = (v - T[L["mean"]].reshape(shp)) / torch.sqrt(T[L["var"]].reshape(shp) + eps) * g + b
        elif t == "activation":
            v = ACT[act](v)
        elif t == "flatten":
            v = v.reshape(v.shape[0], -1)  # torch: C,H,W order; keras: H,W,C order
        elif t == "dense":
            w = T[L["weight"]]
            v = v.reshape(v.shape[0], -1) @ (w.t() if torch_layout else w) + (T[L["bias"]] if L.get("bias") else 0)
            v = ACT[act](v)
        elif t == "softmax":
            v = torch.softmax(v, -1)
        elif t == "dropout":
            pass
        else:
            raise ValueError(f"oracle does not know layer type {t}")
    return v.reshape(v.shape[0], -1).numpy()


def main():
    exe, src = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(5)
    fails = 0
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["/usr/bin/python3", os.path.join(src, "tools", "make_fixtures.py"), d], check=True, stdout=subprocess.DEVNULL)
        cases = [("keras_mlp.h5", (28, 28, 1)), ("keras_mlp_weights.h5", (28, 28, 1)), ("keras_cnn.h5", (12, 12, 1)),
                 ("keras_cnn_functional.h5", (12, 12, 1)), ("keras_pruned.h5", (1, 1, 20)),
                 ("torch_mlp.ini", (1, 28, 28)), ("torch_cnn.ini", (2, 10, 10)), ("keras_layout_cnn.ini", (10, 10, 2))]
        for name, shape in cases:
            p = os.path.join(d, name)
            if not os.path.exists(p):
                print(f"FAIL {name}: fixture missing")
                fails += 1
                continue
            n = 9
            x = rng.uniform(0, 1, (n,) + shape).astype(np.float32)
            if name.endswith(".h5"):
                ini = os.path.join(d, name + ".ini")
                open(ini, "w").write(f"[model]\npath = {name}\n")
                xs = x[..., None] if len(shape) == 2 else x
                ref = keras_forward(p, x)
                x_engine = x
            else:
                ini = p
                torch_layout = "layout = keras" not in open(p).read()
                ref = st_forward(p, x)
                # The engine takes channels-last; a torch-layout input is C,H,W.
                x_engine = x.transpose(0, 2, 3, 1) if torch_layout else x
            xin = os.path.join(d, "x.bin")
            out = os.path.join(d, "y.bin")
            np.ascontiguousarray(x_engine).tofile(xin)
            r = subprocess.run([exe, ini, xin, str(n), out], capture_output=True, text=True)
            if r.returncode:
                print(f"FAIL {name}: engine exited {r.returncode}: {r.stdout} {r.stderr}")
                fails += 1
                continue
            got = np.fromfile(out, np.float32).reshape(n, -1)
            err = np.max(np.abs(got - ref))
            same = np.array_equal(got.argmax(1), ref.argmax(1))
            ok = err < 1e-4 and same
            fails += 0 if ok else 1
            print(f"{'ok  ' if ok else 'FAIL'} {name}: {got.shape[1]} outputs, max abs diff {err:.2e}, same argmax {same}")
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
