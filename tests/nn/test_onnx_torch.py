#!/usr/bin/python3
"""ONNX files as torch.onnx.export writes them, read by the project's ONNX reader and run by the engine, against
PyTorch running the same module.

- torchvision's resnet18 and mobilenet_v2 (seeded random weights, BatchNorm statistics and affine parameters set
  to non-trivial values, so the folded Conv+BN weights are not the identity), exported at opsets 11 and 13:
  logits of 16 images within 1e-4 (max abs), same argmax.
- A network written the way tf2onnx-converted models look: an N,H,W,C input wrapped in Transpose, asymmetric Pad,
  Conv+BatchNorm, LeakyRelu, depthwise (group = channels, multiplier 2), grouped and dilated convolutions,
  HardSwish, per-channel Mul and Sub by constants, a squeeze-excite HardSigmoid gate (Mul), Concat, MaxPool with
  ceil_mode, nearest Resize, a Reshape whose shape is computed by a Shape/Gather/Unsqueeze/Concat subgraph,
  Gemm + Softmax, and a second output transposed back to N,H,W,C: exported at opsets 11, 13 and 17, with and
  without constant folding (so the shape arithmetic is folded by our reader), every output within 1e-4; at 1
  and 2 ranks.
- Broken files fail on every rank (2 ranks) with one message naming the file and the node or tensor: a
  truncated protobuf, an unsupported operator (GELU's Erf), a node reading a tensor nothing defines, nodes out
  of topological order, a dynamic image size.

Usage: test_onnx_torch.py NN_MODEL_FORWARD TEST_IO_MODEL"""
import os, re, shlex, subprocess, sys, tempfile, warnings
import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

warnings.filterwarnings("ignore")
MPIEXEC = os.environ.get("MC_MPIEXEC", "mpiexec")
MPI_FLAGS = shlex.split(os.environ.get("MC_MPI_FLAGS", "--oversubscribe"))
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")


def run(cmd, np_=1):
    return subprocess.run([MPIEXEC, "-n", str(np_), *MPI_FLAGS, *cmd], capture_output=True, text=True, env=ENV, timeout=300)


def perturb_bn(m, gen):
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.copy_(torch.rand(mod.num_features, generator=gen) * 0.4 - 0.2)
                mod.running_var.copy_(torch.rand(mod.num_features, generator=gen) + 0.5)
                mod.weight.copy_(torch.rand(mod.num_features, generator=gen) + 0.5)
                mod.bias.copy_(torch.rand(mod.num_features, generator=gen) * 0.4 - 0.2)


class TfLike(nn.Module):
    """Reads N,H,W,C like a tf2onnx export; second output N,H,W,C again."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, stride=2)
        self.bn = nn.BatchNorm2d(8)
        self.dw = nn.Conv2d(8, 16, 3, padding=1, groups=8)
        self.g = nn.Conv2d(16, 8, 3, padding=2, dilation=2, groups=2)
        self.se1, self.se2 = nn.Conv2d(8, 4, 1), nn.Conv2d(4, 8, 1)
        self.scale = nn.Parameter(torch.rand(1, 8, 1, 1) + 0.5)
        self.b2 = nn.Conv2d(16, 6, 1)
        self.fc = nn.Linear(14 * 4 * 4, 10)
        self.head = nn.Conv2d(14, 2, 1)

    def forward(self, x):
        x = x.permute(0, 3, 1, 2)
        x = F.pad(x, (0, 1, 0, 1))
        x = F.leaky_relu(self.bn(self.c1(x)), 0.1)
        y = F.hardswish(self.dw(x))
        a = self.g(y) * self.scale - 0.25
        a = a * F.hardsigmoid(self.se2(F.relu(self.se1(F.adaptive_avg_pool2d(a, 1)))))
        z = torch.cat([a, torch.sigmoid(self.b2(y))], 1)
        p = F.max_pool2d(z, 3, 2, ceil_mode=True)
        seg = self.head(F.interpolate(p, scale_factor=2, mode="nearest"))
        return torch.softmax(self.fc(p.reshape(p.shape[0], -1)), -1), seg.permute(0, 2, 3, 1)


def export(m, x1, path, opset, fold=True, dynamic_hw=False):
    n_out = 2 if isinstance(m, TfLike) else 1
    names = ["y", "seg"][:n_out]
    axes = {"x": {0: "n", 2: "h", 3: "w"} if dynamic_hw else {0: "n"}}
    torch.onnx.export(m, x1, path, opset_version=opset, input_names=["x"], output_names=names, dynamic_axes=axes,
                      do_constant_folding=fold)


def compare(tag, fwd, d, path, x_engine, refs, nps=(1,)):
    ini, xin, out = os.path.join(d, "c.ini"), os.path.join(d, "x.bin"), os.path.join(d, "y.bin")
    open(ini, "w").write(f"[model]\npath = {path}\n")
    np.ascontiguousarray(x_engine, np.float32).tofile(xin)
    fails = []
    for np_ in nps:
        r = run([fwd, ini, xin, str(x_engine.shape[0]), out], np_)
        if r.returncode:
            fails.append(f"{tag} np{np_}: exit {r.returncode}: {r.stderr[-1500:]}")
            print("FAIL", fails[-1])
            continue
        got, off = np.fromfile(out, np.float32), 0
        for o, ref in enumerate(refs):
            g = got[off:off + ref.size].reshape(ref.shape)
            off += ref.size
            err = float(np.max(np.abs(g - ref)))
            ok = err < 1e-4 and np.array_equal(g.argmax(1), ref.argmax(1)) and np.abs(ref).max() > 1e-3
            print(f"{'ok  ' if ok else 'FAIL'} {tag} np{np_} output {o}: {ref.shape[1]} values, max abs diff {err:.2e}")
            if not ok:
                fails.append(f"{tag} np{np_} output {o}: max abs diff {err:.2e}")
        if off != got.size:
            fails.append(f"{tag} np{np_}: {got.size} values written, {off} expected")
    return fails


def bad_case(io_exe, path, keys):
    r = run([io_exe, "-model", path], 2)
    msgs = [l for l in r.stderr.splitlines() if re.match(r"[\w.-]+: error", l)]
    text = "\n".join(msgs)
    problems = (["exit 0"] if r.returncode == 0 else []) + ([f"{len(msgs)} error lines"] if len(msgs) != 1 else [])
    problems += [f"lacks {k!r}" for k in [os.path.basename(path)] + keys if k not in text]
    print(("FAIL" if problems else "ok  ") + f" {os.path.basename(path)}: {text.strip() or r.stderr[-400:]}")
    return [f"{os.path.basename(path)}: {'; '.join(problems)}\n{r.stderr[-1500:]}"] if problems else []


def main():
    fwd, io_exe = sys.argv[1], sys.argv[2]
    gen = torch.Generator().manual_seed(1234)
    torch.manual_seed(1234)
    fails = []
    with tempfile.TemporaryDirectory() as d:
        x = torch.rand(16, 3, 64, 64, generator=gen)
        for name in ("resnet18", "mobilenet_v2"):
            m = getattr(torchvision.models, name)(weights=None).eval()
            perturb_bn(m, gen)
            with torch.no_grad():
                ref = m(x).numpy()
            for opset in (11, 13):
                p = os.path.join(d, f"{name}_{opset}.onnx")
                export(m, x[:1], p, opset)
                fails += compare(f"{name} opset {opset}", fwd, d, p, x.permute(0, 2, 3, 1).numpy(), [ref], nps=(1, 2) if opset == 11 else (1,))

        m = TfLike().eval()
        perturb_bn(m, gen)
        xt = torch.rand(5, 16, 16, 3, generator=gen)
        with torch.no_grad():
            refs = [t.numpy().reshape(5, -1) for t in m(xt)]
        for opset in (11, 13, 17):
            for fold in (True, False):
                p = os.path.join(d, f"tflike_{opset}_{int(fold)}.onnx")
                export(m, xt[:1], p, opset, fold)
                fails += compare(f"tf-like opset {opset} folding {fold}", fwd, d, p, xt.numpy(), refs, nps=(1, 2) if opset == 13 and not fold else (1,))

        # Broken files.
        good = os.path.join(d, "tflike_13_1.onnx")
        data = open(good, "rb").read()
        p = os.path.join(d, "bad_truncated.onnx")
        open(p, "wb").write(data[:len(data) // 2])
        fails += bad_case(io_exe, p, ["protobuf"])

        class Gelu(nn.Module):
            def forward(self, v):
                return F.gelu(v)
        p = os.path.join(d, "bad_gelu.onnx")
        export(Gelu(), torch.rand(1, 8), p, 13)
        fails += bad_case(io_exe, p, ["Erf", "not supported"])

        mp = onnx.load(good)
        victim = next(n for n in mp.graph.node if n.op_type == "Conv")
        victim.input[0] = "no_such_tensor"
        p = os.path.join(d, "bad_missing.onnx")
        onnx.save(mp, p)
        fails += bad_case(io_exe, p, ["no_such_tensor", victim.name])

        mp = onnx.load(good)
        convs = [i for i, n in enumerate(mp.graph.node) if n.op_type == "Conv"]
        nodes = list(mp.graph.node)
        nodes[convs[0]], nodes[convs[1]] = nodes[convs[1]], nodes[convs[0]]
        del mp.graph.node[:]
        mp.graph.node.extend(nodes)
        p = os.path.join(d, "bad_order.onnx")
        onnx.save(mp, p)
        fails += bad_case(io_exe, p, [nodes[convs[0]].name, "no earlier node"])

        # Cases the fuzzer found (each crashed or misbehaved before it was fixed), built with onnx.helper: a
        # node without op_type, integer shape arithmetic that overflows, a node without inputs; and a slice
        # with a huge step folded correctly (the graph loads).
        from onnx import TensorProto, helper

        def tiny(extra_nodes, extra_inits=()):
            nodes = list(extra_nodes) + [helper.make_node("Relu", ["x"], ["y"], name="relu")]
            g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4])], list(extra_inits))
            return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])

        big = helper.make_tensor("big", TensorProto.INT64, [1], [2 ** 62])
        vec = helper.make_tensor("vec", TensorProto.INT64, [3], [1, 2, 3])
        one = helper.make_tensor("one", TensorProto.INT64, [1], [1])
        zero = helper.make_tensor("zero", TensorProto.INT64, [1], [0])
        step = helper.make_tensor("step", TensorProto.INT64, [1], [2 ** 63 - 1])
        cases = [("bad_noop", tiny([helper.make_node("", ["x"], ["z"], name="nameless_op")]), ["nameless_op", "op_type"]),
                 ("bad_overflow", tiny([helper.make_node("Mul", ["big", "big"], ["z"], name="square")], [big]), ["square", "out of range"]),
                 ("bad_noinput", tiny([helper.make_node("Relu", [], ["z"], name="lonely")]), ["lonely", "no input"])]
        for tag, model, keys in cases:
            p = os.path.join(d, tag + ".onnx")
            onnx.save(model, p)
            fails += bad_case(io_exe, p, keys)
        p = os.path.join(d, "huge_step.onnx")
        onnx.save(tiny([helper.make_node("Slice", ["vec", "zero", "one", "zero", "step"], ["z"], name="slice")], [vec, one, zero, step]), p)
        r = run([io_exe, "-model", p], 2)
        print(("ok  " if r.returncode == 0 else "FAIL") + " huge_step.onnx loads")
        if r.returncode:
            fails.append(f"huge_step.onnx: {r.stderr[-800:]}")

        p = os.path.join(d, "bad_dynamic.onnx")
        export(torchvision.models.resnet18(weights=None).eval(), torch.rand(1, 3, 32, 32), p, 13, dynamic_hw=True)
        fails += bad_case(io_exe, p, ["dynamic", "'x'"])
    if fails:
        print("\n".join(fails))
        sys.exit(1)


if __name__ == "__main__":
    main()
