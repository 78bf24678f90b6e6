#!/usr/bin/python3
"""Keras 2 Functional models with branches and merges (the layouts Keras Applications writes: ResNet's
ZeroPadding2D + strided conv + BN + Add, MobileNetV2's ReLU6 + DepthwiseConv2D + inverted residuals, a
squeeze-excite gate, Inception's Concatenate, grouped and dilated convolutions, UpSampling2D, two output
heads), written with h5py from seeded random weights, read by the project's Keras reader and run by the
engine, against PyTorch computing the same graph from the same arrays with Keras semantics (NHWC, HWIO
kernels, 'same' padding with the smaller half before).

Pass: every output within 1e-4 (max abs) of PyTorch, same argmax, at 1 and 2 ranks (the model is read on
rank 0 and broadcast); the backward pass of sum(dtop * output 0) - the input gradient and every kernel,
bias, gamma and beta gradient, summed over the branches that read a tensor - within 1e-4 of autograd
relative to the largest entry; the native file round trip keeps the graph (test_io_model -roundtrip); broken
Functional configs (a cycle, an unknown input, an unsupported class, a shared layer, shapes that do not
merge) fail on every rank with one message naming the file and the layer.

Usage: test_dag_keras.py NN_MODEL_FORWARD TEST_IO_MODEL"""
import json, os, re, shlex, subprocess, sys, tempfile
import h5py
import numpy as np
import torch
import torch.nn.functional as F

MPIEXEC = os.environ.get("MC_MPIEXEC", "mpiexec")
MPI_FLAGS = shlex.split(os.environ.get("MC_MPI_FLAGS", "--oversubscribe"))
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")


def same_pad(n, k, s, d=1):
    k = (k - 1) * d + 1
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


class Net:
    """Builds a Keras 2 Functional model_config, its weight tree and a PyTorch evaluation of the same graph."""

    def __init__(self, name, shape, seed):
        self.rng = np.random.default_rng(seed)
        self.name = name
        self.shape = shape
        self.layers = [{"class_name": "InputLayer", "name": "input_1",
                        "config": {"batch_input_shape": [None] + list(shape), "dtype": "float32", "name": "input_1"},
                        "inbound_nodes": []}]
        self.weights = {}  # layer -> [(weight name, array)]
        self.fns = {}      # layer -> (input names, torch function of their values)
        self.outputs = []
        self.params = []  # (torch leaf, function taking its gradient to the engine's layout), in layer order

    def param(self, a, to_ours=lambda g: g):
        t = torch.from_numpy(a).requires_grad_()
        self.params.append((t, to_ours))
        return t

    def f32(self, *shape, scale=0.3):
        return (scale * self.rng.standard_normal(shape)).astype(np.float32)

    def add(self, cls, name, inputs, fn, weights=(), **cfg):
        c = {"name": name, "trainable": True, "dtype": "float32"}
        c.update(cfg)
        self.layers.append({"class_name": cls, "name": name, "config": c,
                            "inbound_nodes": [[[i, 0, 0, {}] for i in inputs]]})
        if weights:
            self.weights[name] = [(f"{name}/{w}:0", a) for w, a in weights]
        self.fns[name] = (list(inputs), fn)
        return name

    # ---- layers (torch tensors are NCHW; vectors are N x C x 1 x 1) ----
    def conv(self, x, name, filters, k, s=1, pad="valid", act="linear", bias=True, d=1, groups=1, c_in=None):
        kern = self.f32(k, k, c_in // groups, filters, scale=0.5 / np.sqrt(k * k * c_in / groups))
        b = self.f32(filters, scale=0.1) if bias else None
        w = self.param(kern.transpose(3, 2, 0, 1).copy(), lambda g: g.permute(2, 3, 1, 0))
        tb = self.param(b) if bias else None

        def fn(v):
            if pad == "same":
                pt, pb = same_pad(v.shape[2], k, s, d)
                pl, pr = same_pad(v.shape[3], k, s, d)
                v = F.pad(v, (pl, pr, pt, pb))
            y = F.conv2d(v, w, tb, stride=s, dilation=d, groups=groups)
            return ACT[act](y)
        ws = [("kernel", kern)] + ([("bias", b)] if bias else [])
        return self.add("Conv2D", name, [x], fn, ws, filters=filters, kernel_size=[k, k], strides=[s, s], padding=pad,
                        data_format="channels_last", dilation_rate=[d, d], groups=groups, activation=act, use_bias=bias)

    def depthwise(self, x, name, c, k, s=1, pad="valid", mult=1, bias=False):
        kern = self.f32(k, k, c, mult, scale=0.5 / k)
        b = self.f32(c * mult, scale=0.1) if bias else None
        w = self.param(kern.reshape(k, k, c * mult).transpose(2, 0, 1)[:, None].copy(), lambda g: g[:, 0].permute(1, 2, 0))
        tb = self.param(b) if bias else None

        def fn(v):
            if pad == "same":
                pt, pb = same_pad(v.shape[2], k, s)
                pl, pr = same_pad(v.shape[3], k, s)
                v = F.pad(v, (pl, pr, pt, pb))
            return F.conv2d(v, w, tb, stride=s, groups=c)
        ws = [("depthwise_kernel", kern)] + ([("bias", b)] if bias else [])
        return self.add("DepthwiseConv2D", name, [x], fn, ws, kernel_size=[k, k], strides=[s, s], padding=pad,
                        depth_multiplier=mult, data_format="channels_last", dilation_rate=[1, 1], activation="linear",
                        use_bias=bias)

    def bn(self, x, name, c, eps=1.001e-5):
        g, be = 1 + self.f32(c, scale=0.2), self.f32(c, scale=0.2)
        mu, var = self.f32(c, scale=0.3), (0.5 + self.rng.uniform(0, 1, c)).astype(np.float32)
        t = [torch.from_numpy(mu), torch.from_numpy(var), self.param(g), self.param(be)]
        return self.add("BatchNormalization", name, [x], lambda v: F.batch_norm(v, t[0], t[1], t[2], t[3], False, 0.0, eps),
                        [("gamma", g), ("beta", be), ("moving_mean", mu), ("moving_variance", var)],
                        axis=[3], momentum=0.99, epsilon=eps, center=True, scale=True)

    def act(self, x, name, a):
        return self.add("Activation", name, [x], ACT[a], activation=a)

    def relu6(self, x, name):
        return self.add("ReLU", name, [x], lambda v: v.clamp(0, 6), max_value=6.0, negative_slope=0.0, threshold=0.0)

    def zeropad(self, x, name, p):
        (t, b), (l, r) = p
        return self.add("ZeroPadding2D", name, [x], lambda v: F.pad(v, (l, r, t, b)), padding=[[t, b], [l, r]],
                        data_format="channels_last")

    def maxpool(self, x, name, k, s):
        return self.add("MaxPooling2D", name, [x], lambda v: F.max_pool2d(v, k, s), pool_size=[k, k], strides=[s, s],
                        padding="valid", data_format="channels_last")

    def gap(self, x, name):
        return self.add("GlobalAveragePooling2D", name, [x], lambda v: v.mean((2, 3), keepdim=True),
                        data_format="channels_last", keepdims=False)

    def reshape(self, x, name, target):
        return self.add("Reshape", name, [x], lambda v: v, target_shape=list(target))

    def merge(self, cls, name, xs):
        fn = {"Add": lambda *v: sum(v[1:], v[0]), "Multiply": lambda a, b: a * b,
              "Concatenate": lambda *v: torch.cat(v, 1)}[cls]
        extra = {"axis": -1} if cls == "Concatenate" else {}
        return self.add(cls, name, xs, fn, **extra)

    def upsample(self, x, name, f):
        return self.add("UpSampling2D", name, [x], lambda v: v.repeat_interleave(f, 2).repeat_interleave(f, 3),
                        size=[f, f], data_format="channels_last", interpolation="nearest")

    def dense(self, x, name, units, c_in, act="linear"):
        w, b = self.f32(c_in, units, scale=1 / np.sqrt(c_in)), self.f32(units, scale=0.1)
        tw, tb = self.param(w), self.param(b)
        return self.add("Dense", name, [x], lambda v: ACT[act](v.reshape(v.shape[0], -1) @ tw + tb)[:, :, None, None],
                        [("kernel", w), ("bias", b)], units=units, activation=act, use_bias=True)

    # ---- files and evaluation ----
    def write(self, path, break_with=None):
        layers = json.loads(json.dumps(self.layers))
        if break_with:
            break_with(layers)
        cfg = {"class_name": "Functional", "config": {"name": self.name, "layers": layers,
                                                       "input_layers": [["input_1", 0, 0]],
                                                       "output_layers": [[o, 0, 0] for o in self.outputs]}}
        with h5py.File(path, "w") as f:
            f.attrs["model_config"] = json.dumps(cfg).encode()
            f.attrs["keras_version"] = b"2.11.0"
            f.attrs["backend"] = b"tensorflow"
            mw = f.create_group("model_weights")
            names = [l["name"] for l in self.layers]
            mw.attrs["layer_names"] = np.array([n.encode() for n in names])
            for n in names:
                g = mw.create_group(n)
                ws = self.weights.get(n, [])
                g.attrs["weight_names"] = np.array([w.encode() for w, _ in ws], dtype="S64")
                for w, a in ws:
                    g.create_dataset(w, data=a)

    def forward(self, x_nhwc, dtop=None):
        """Each output as the engine writes it (channels-last, flat per example); with dtop, also the
        gradients of sum(dtop * output 0): the input's, then every parameter's, flat in the engine's layout."""
        x = torch.from_numpy(x_nhwc).requires_grad_()
        vals = {"input_1": x.permute(0, 3, 1, 2)}
        for l in self.layers[1:]:
            ins, fn = self.fns[l["name"]]
            vals[l["name"]] = fn(*[vals[i] for i in ins])
        outs = [vals[o].permute(0, 2, 3, 1).reshape(x_nhwc.shape[0], -1) for o in self.outputs]
        if dtop is None:
            return [o.detach().numpy() for o in outs]
        (outs[0] * torch.from_numpy(dtop)).sum().backward()
        # a head output 0 does not depend on gets no gradient (the engine leaves its zeros alone)
        grads = [x.grad.numpy().ravel()] + [to(t.grad if t.grad is not None else torch.zeros_like(t)).detach().numpy().ravel()
                                            for t, to in self.params]
        return [o.detach().numpy() for o in outs], np.concatenate(grads)


ACT = {"linear": lambda v: v, "relu": F.relu, "sigmoid": torch.sigmoid, "swish": lambda v: v * torch.sigmoid(v),
       "hard_sigmoid": lambda v: (0.2 * v + 0.5).clamp(0, 1), "softmax": lambda v: torch.softmax(v, 1)}


def resnet_like():
    """Keras Applications ResNet50 v1 layout at toy size: stem, a projection block, an identity block."""
    n = Net("resnet_like", (16, 16, 3), 1)
    x = n.zeropad("input_1", "conv1_pad", ((3, 3), (3, 3)))
    x = n.conv(x, "conv1_conv", 8, 7, s=2, c_in=3)
    x = n.act(n.bn(x, "conv1_bn", 8), "conv1_relu", "relu")
    x = n.zeropad(x, "pool1_pad", ((1, 1), (1, 1)))
    x = n.maxpool(x, "pool1_pool", 3, 2)
    c = 8
    for blk, (stride, proj) in enumerate([(1, True), (1, False), (2, True)]):
        p = f"conv2_block{blk + 1}"
        sc = x
        if proj:
            sc = n.bn(n.conv(x, p + "_0_conv", 16, 1, s=stride, c_in=c), p + "_0_bn", 16)
        y = n.act(n.bn(n.conv(x, p + "_1_conv", 4, 1, s=stride, c_in=c), p + "_1_bn", 4), p + "_1_relu", "relu")
        y = n.act(n.bn(n.conv(y, p + "_2_conv", 4, 3, pad="same", c_in=4), p + "_2_bn", 4), p + "_2_relu", "relu")
        y = n.bn(n.conv(y, p + "_3_conv", 16, 1, c_in=4), p + "_3_bn", 16)
        x = n.act(n.merge("Add", p + "_add", [sc, y]), p + "_out", "relu")
        c = 16
    x = n.gap(x, "avg_pool")
    n.outputs = [n.dense(x, "predictions", 10, 16)]
    return n


def mobilenet_like():
    """MobileNetV2 layout at toy size (ReLU6, strided depthwise after asymmetric padding, inverted residual)
    with a squeeze-excite gate, plus an Inception-style branch pair, grouped, dilated and multiplier-2
    depthwise convolutions, an upsampled second output head."""
    n = Net("mobilenet_like", (15, 15, 3), 2)
    x = n.relu6(n.bn(n.conv("input_1", "Conv1", 8, 3, s=2, pad="same", bias=False, c_in=3), "bn_Conv1", 8), "Conv1_relu")
    # inverted residual with a stride-2 depthwise (block_1 of MobileNetV2)
    y = n.relu6(n.bn(n.conv(x, "block_1_expand", 24, 1, bias=False, c_in=8), "block_1_expand_BN", 24), "block_1_expand_relu")
    y = n.zeropad(y, "block_1_pad", ((0, 1), (0, 1)))
    y = n.relu6(n.bn(n.depthwise(y, "block_1_depthwise", 24, 3, s=2), "block_1_depthwise_BN", 24), "block_1_depthwise_relu")
    x = n.bn(n.conv(y, "block_1_project", 12, 1, bias=False, c_in=24), "block_1_project_BN", 12)
    # inverted residual with the skip (block_2), depthwise 'same'
    y = n.relu6(n.bn(n.conv(x, "block_2_expand", 24, 1, bias=False, c_in=12), "block_2_expand_BN", 24), "block_2_expand_relu")
    y = n.relu6(n.bn(n.depthwise(y, "block_2_depthwise", 24, 3, pad="same"), "block_2_depthwise_BN", 24), "block_2_depthwise_relu")
    # squeeze-excite gate
    s = n.reshape(n.gap(y, "se_squeeze"), "se_reshape", (1, 1, 24))
    s = n.conv(s, "se_reduce", 6, 1, act="relu", c_in=24)
    s = n.conv(s, "se_expand", 24, 1, act="hard_sigmoid", c_in=6)
    y = n.merge("Multiply", "se_excite", [y, s])
    y = n.bn(n.conv(y, "block_2_project", 12, 1, bias=False, c_in=24), "block_2_project_BN", 12)
    x = n.merge("Add", "block_2_add", [x, y])
    # Inception-style branches joined by Concatenate: a grouped conv, a dilated conv, a multiplier-2 depthwise
    a = n.conv(x, "branch_grouped", 8, 3, pad="same", groups=4, act="swish", c_in=12)
    b = n.conv(x, "branch_dilated", 6, 3, pad="same", d=2, act="relu", c_in=12)
    c = n.depthwise(x, "branch_dw2", 12, 3, pad="same", mult=2, bias=True)
    x = n.merge("Concatenate", "mixed", [a, b, c])  # 8 + 6 + 24 = 38 channels, 4 x 4
    head2 = n.conv(n.upsample(x, "up", 2), "seg_head", 3, 1, c_in=38)
    g = n.gap(x, "global_pool")
    n.outputs = [n.dense(g, "logits", 10, 38), head2]
    return n


def run(cmd, np_=1):
    full = [MPIEXEC, "-n", str(np_), *MPI_FLAGS, *cmd]
    return subprocess.run(full, capture_output=True, text=True, env=ENV, timeout=120)


def main():
    fwd_exe, io_exe = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(7)
    fails = []
    with tempfile.TemporaryDirectory() as d:
        for net in (resnet_like(), mobilenet_like()):
            path = os.path.join(d, net.name + ".h5")
            net.write(path)
            ini = os.path.join(d, net.name + ".ini")
            open(ini, "w").write(f"[model]\npath = {path}\n")
            x = rng.uniform(0, 1, (16,) + net.shape).astype(np.float32)
            xin, out = os.path.join(d, "x.bin"), os.path.join(d, "y.bin")
            x.tofile(xin)
            dtop = rng.standard_normal((16, 10)).astype(np.float32)
            dfile, gout = os.path.join(d, "dtop.bin"), os.path.join(d, "g.bin")
            dtop.tofile(dfile)
            refs, gref = net.forward(x, dtop)
            for np_ in (1, 2):
                r = run([fwd_exe, ini, xin, "16", out, dfile, gout], np_)
                if r.returncode:
                    fails.append(f"{net.name} np{np_}: engine exited {r.returncode}: {r.stdout} {r.stderr}")
                    continue
                got = np.fromfile(out, np.float32)
                off = 0
                for o, ref in enumerate(refs):
                    g = got[off:off + ref.size].reshape(ref.shape)
                    off += ref.size
                    err = float(np.max(np.abs(g - ref)))
                    same = np.array_equal(g.argmax(1), ref.argmax(1))
                    ok = err < 1e-4 and same and np.abs(ref).max() > 1e-2
                    print(f"{'ok  ' if ok else 'FAIL'} {net.name} np{np_} output {o}: {ref.shape[1]} values, max abs diff {err:.2e}, same argmax {same}")
                    if not ok:
                        fails.append(f"{net.name} np{np_} output {o}: max abs diff {err:.2e}")
                if off != got.size:
                    fails.append(f"{net.name} np{np_}: engine wrote {got.size} values, expected {off}")
                # backward over the DAG: input and every parameter gradient, relative to the largest entry
                gg = np.fromfile(gout, np.float32)
                err = float(np.max(np.abs(gg - gref)) / np.max(np.abs(gref))) if gg.size == gref.size else np.inf
                ok = err < 1e-4
                print(f"{'ok  ' if ok else 'FAIL'} {net.name} np{np_} backward: {gref.size} gradient values, max rel diff {err:.2e}")
                if not ok:
                    fails.append(f"{net.name} np{np_} backward: {gg.size} vs {gref.size} values, max rel diff {err:.2e}")
            # native round trip: the graph (inputs, outputs, groups, dilation, pads) survives
            r = run([io_exe, "-model", path, "-roundtrip", os.path.join(d, net.name + ".native.h5")], 2)
            print(("ok  " if r.returncode == 0 else "FAIL") + f" {net.name}: native round trip")
            if r.returncode:
                fails.append(f"{net.name}: native round trip failed: {r.stdout} {r.stderr}")

        # Broken Functional configs: one message naming the file and the layer, non-zero exit, at 2 ranks.
        net = resnet_like()

        def layer(ls, name):
            return next(l for l in ls if l["name"] == name)

        def cycle(ls):
            layer(ls, "conv1_conv")["inbound_nodes"] = [[["conv1_relu", 0, 0, {}]]]

        def unknown(ls):
            layer(ls, "conv2_block1_add")["inbound_nodes"][0][1][0] = "no_such_layer"

        def lam(ls):
            layer(ls, "conv1_relu")["class_name"] = "Lambda"

        def shared(ls):
            l = layer(ls, "conv1_relu")
            l["inbound_nodes"] = l["inbound_nodes"] * 2

        def mismatch(ls):  # the stride-2 block's Add also fed the block before it: 4x4 vs 2x2
            layer(ls, "conv2_block3_add")["inbound_nodes"][0].append(["conv2_block2_out", 0, 0, {}])

        cases = [("cycle", cycle, ["cycle", "conv1_"]), ("unknown", unknown, ["conv2_block1_add", "no_such_layer"]),
                 ("lambda", lam, ["conv1_relu", "Lambda", "not supported"]), ("shared", shared, ["conv1_relu", "2 times"]),
                 ("mismatch", mismatch, ["conv2_block3_add", "add"])]
        for tag, brk, keys in cases:
            path = os.path.join(d, f"bad_{tag}.h5")
            net.write(path, brk)
            r = run([io_exe, "-model", path], 2)
            msgs = [l for l in r.stderr.splitlines() if re.match(r"[\w.-]+: error", l)]
            text = "\n".join(msgs)
            problems = []
            if r.returncode == 0:
                problems.append("exit 0")
            if len(msgs) != 1:
                problems.append(f"{len(msgs)} error lines")
            problems += [f"lacks {k!r}" for k in [os.path.basename(path)] + keys if k not in text]
            print(("FAIL" if problems else "ok  ") + f" bad_{tag}: {text.strip() or r.stderr[-300:]}")
            if problems:
                fails.append(f"bad_{tag}: {'; '.join(problems)}\n{r.stderr}")
    if fails:
        print("\n".join(fails))
        sys.exit(1)


if __name__ == "__main__":
    main()
