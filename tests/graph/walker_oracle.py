#!/usr/bin/python3
"""The channel walker (the weight graph of branched networks, docs/method.md section 2) against a NumPy walker
written here over the ONNX graph, on networks exported with torch.onnx.export:

- torchvision resnet18 (skip links through Add, 1x1 downsample projections), mobilenet_v2 (depthwise
  convolutions multiplied in, ReLU6 as Clip, residual Add), the tf2onnx-style net of tests/nn (N,H,W,C input,
  depthwise with multiplier 2, grouped and dilated convolutions, per-channel Mul by constants, a
  squeeze-excite gate, Concat, a Flatten into Gemm, two outputs), and a pre-activation net with BatchNorm after
  Add and after Concat (negative scales), so BatchNorm folding, bn_negative = keep | clip and fold_batchnorm =
  false are all exercised; l1 and fro norms; with and without the dense head.
- Every group (its layer, whether it is an output, its size) and every block equal the NumPy walker's to 1e-9
  relative; the graph at 2 ranks equals the graph at 1 rank bitwise.
- Node counts of the paper: VGG16 4224 nodes, ResNet-50 24,576 nodes in 53 groups (torchvision architectures).

Usage: walker_oracle.py GRAPH_WALK_DUMP NN_TEST_DIR"""
import os, re, shlex, struct, subprocess, sys, tempfile, warnings
import numpy as np
import onnx
from onnx import numpy_helper, shape_inference
import torch
import torch.nn as nn
import torchvision

warnings.filterwarnings("ignore")
MPIEXEC = os.environ.get("MC_MPIEXEC", "mpiexec")
MPI_FLAGS = shlex.split(os.environ.get("MC_MPI_FLAGS", "--oversubscribe"))
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")


def run(cmd, np_=1):
    return subprocess.run([MPIEXEC, "-n", str(np_), *MPI_FLAGS, *cmd], capture_output=True, text=True, env=ENV, timeout=600)


# ------------------------------------------------------------------ the NumPy walker over ONNX

def slice_norm(S, norm):
    """S: kh x kw."""
    return np.abs(S).sum() if norm == "l1" else np.sqrt((S.astype(np.float64) ** 2).sum())


def onnx_walk(path, norm="l1", fold=True, bn_negative="keep", head=False):
    """Groups {(node name, is_output): size} and blocks {(src group, dst group): array} of the weight graph."""
    model = shape_inference.infer_shapes(onnx.load(path))
    g = model.graph
    init = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in g.initializer}
    for n in g.node:
        if n.op_type == "Constant":
            init[n.output[0]] = numpy_helper.to_array(n.attribute[0].t).astype(np.float64)
    shape = {}
    for vi in list(g.value_info) + list(g.input) + list(g.output):
        shape[vi.name] = [d.dim_value for d in vi.type.tensor_type.shape.dim]
    nodes = [n for n in g.node if n.op_type != "Constant"]
    attr = lambda n, k, d=None: next((onnx.helper.get_attribute_value(a) for a in n.attribute if a.name == k), d)
    is_const = lambda t: t in init
    # Tensors computed from shapes (Shape and what reads only shapes and constants) carry no channels.
    shape_t = set()
    for n in g.node:
        dyn = [t for t in n.input if t and t not in init]
        if n.op_type == "Shape" or all(t in shape_t for t in dyn) and n.op_type != "Constant":
            shape_t.update(n.output)
    data_inputs = lambda n: [t for t in n.input if t and not is_const(t) and t not in shape_t]

    def is_depthwise(n):
        w = init[n.input[1]]
        return n.op_type == "Conv" and attr(n, "group", 1) > 1 and w.shape[1] == 1 and attr(n, "group", 1) == shape_c(n.input[0])

    # Channels as the walk counts them: dim 1 of an N,C,... tensor; a flattened tensor keeps its source's.
    ch = {}

    def shape_c(t):
        return ch[t]

    x_in = [i.name for i in g.input if i.name not in init][0]
    xs = shape[x_in]
    ch[x_in] = xs[1] if len(xs) == 4 and xs[1] <= 4 else xs[-1]  # N,C,H,W, or N,H,W,C (tf2onnx style)
    fed = {x_in: True}
    convs_after = set()
    for n in nodes:
        ins = data_inputs(n)
        out = n.output[0]
        if out in shape_t:
            continue
        if n.op_type == "Conv":
            ch[out] = init[n.input[1]].shape[0]
        elif n.op_type in ("Gemm", "MatMul"):
            ch[out] = init[n.input[1]].shape[0 if attr(n, "transB", 0) else 1]
        elif n.op_type == "Concat":
            ch[out] = sum(ch[t] for t in ins)
        elif n.op_type == "Transpose" and n.input[0] == x_in:
            ch[out] = shape[out][1]
        elif ins:
            ch[out] = max(ch[t] for t in ins)
        fed[out] = all(fed.get(t, False) for t in ins) and n.op_type not in ("Conv", "Gemm", "MatMul")
    has_conv = any(n.op_type == "Conv" for n in nodes)
    # Gemm layers in the graph: no conv at all, head requested, or a conv after them.
    producers = {o: n for n in nodes for o in n.output}
    for n in reversed(nodes):
        if n.op_type == "Conv" or any(o in convs_after for o in n.output):
            for t in data_inputs(n):
                convs_after.add(t)

    def is_weight(n):
        return n.op_type == "Conv" or n.op_type == "Gemm"

    def in_graph(n):
        if n.op_type == "Conv":
            return not is_depthwise(n)
        return n.op_type == "Gemm" and (not has_conv or head or n.output[0] in convs_after)

    def kernel(n, rows):
        w = init[n.input[1]]
        if n.op_type == "Conv":
            G = attr(n, "group", 1)
            cout, cin_g = w.shape[0], w.shape[1]
            K = np.zeros((rows, cout))
            for j in range(cout):
                gi = j // (cout // G)
                for ig in range(cin_g):
                    K[gi * cin_g + ig, j] = slice_norm(w[j, ig], norm)
            return K
        W = w.T if attr(n, "transB", 0) else w  # in x out
        P = W.shape[0] // rows
        Wr = W.reshape(rows, P, W.shape[1])  # torch flattens C, H, W: channel-major rows
        return np.abs(Wr).sum(1) if norm == "l1" else np.sqrt((Wr ** 2).sum(1))

    # Graph outputs, seen through the layout nodes our reader resolves at load time.
    out_site = {}
    for o in g.output:
        t = o.name
        while producers[t].op_type in ("Transpose", "Identity"):
            t = producers[t].input[0]
        out_site[t] = producers[t].name

    groups, blocks = {}, {}
    for x in nodes:
        if not in_graph(x) or x.output[0] in shape_t:
            continue
        src_in = data_inputs(x)[0]
        if fed[src_in] and has_conv:
            continue  # the image is not a node
        if x.op_type == "Conv":
            rows = init[x.input[1]].shape[1] * attr(x, "group", 1)
        elif fed[src_in]:  # an MLP's input features
            rows = init[x.input[1]].shape[1 if attr(x, "transB", 0) else 0]
        else:
            rows = ch[src_in]
        groups[(x.name, False)] = rows
        K = kernel(x, rows)
        M = {x.output[0]: np.eye(ch[x.output[0]])}

        def target(key, size, Mt):
            groups[key] = size
            B = blocks.setdefault(((x.name, False), key), np.zeros((rows, size)))
            B += K @ Mt

        if x.output[0] in out_site:
            target((out_site[x.output[0]], True), ch[x.output[0]], M[x.output[0]])
        for n in nodes[nodes.index(x) + 1:]:
            ins = [t for t in data_inputs(n) if t in M]
            if not ins or n.output[0] in shape_t:
                continue
            out = n.output[0]
            if is_weight(n) and (in_graph(n) or n.op_type == "Gemm"):
                target((n.name, False), ch[ins[0]], M[ins[0]])
                continue
            if n.op_type == "Concat":
                Mo = np.hstack([M[t] if t in M else np.zeros((M[ins[0]].shape[0], ch[t])) for t in data_inputs(n)])
            else:
                Mo = sum(M[t] for t in ins)
            if n.op_type == "Conv":  # depthwise
                w = init[n.input[1]]
                q = w.shape[0] // ch[ins[0]]
                D = np.zeros((ch[ins[0]], w.shape[0]))
                for o in range(w.shape[0]):
                    D[o // q, o] = slice_norm(w[o, 0], norm)
                Mo = Mo @ D
            elif n.op_type == "BatchNormalization" and fold:
                gam, var, eps = init[n.input[1]], init[n.input[4]], attr(n, "epsilon", 1e-5)
                s = gam / np.sqrt(var + eps)
                Mo = Mo * (np.maximum(s, 0) if bn_negative == "clip" else np.abs(s))[None, :]
            elif n.op_type in ("Mul", "Div") and any(is_const(t) for t in n.input) and fold:
                c = init[[t for t in n.input if is_const(t)][0]].reshape(-1)
                c = np.broadcast_to(c, (ch[out],)) if c.size == 1 else c
                c = 1.0 / c if n.op_type == "Div" else c
                Mo = Mo * (np.maximum(c, 0) if bn_negative == "clip" else np.abs(c))[None, :]
            M[out] = Mo
            if out in out_site:
                target((out_site[out], True), ch[out], Mo)
    return groups, blocks


# ------------------------------------------------------------------ our graph

def read_dump(path):
    b = open(path, "rb").read()
    off = 0

    def i64():
        nonlocal off
        v = struct.unpack_from("<q", b, off)[0]
        off += 8
        return v

    ng, nb = i64(), i64()
    gl = []
    for _ in range(ng):
        size, out, ln = i64(), i64(), i64()
        name = b[off:off + ln].decode()
        off += ln
        gl.append(((name, bool(out)), size))
    blocks = {}
    for _ in range(nb):
        r, c = i64(), i64()
        n = gl[r][1] * gl[c][1]
        blocks[(gl[r][0], gl[c][0])] = np.frombuffer(b, np.float64, n, off).reshape(gl[r][1], gl[c][1])
        off += 8 * n
    return dict(gl), blocks, [k for k, _ in gl]


def ours(dump, d, path, keys, np_=1):
    ini, out = os.path.join(d, "g.ini"), os.path.join(d, "g.bin")
    open(ini, "w").write(f"[model]\npath = {path}\n[graph]\n" + "".join(f"{k} = {v}\n" for k, v in keys.items()))
    r = run([dump, ini, out], np_)
    if r.returncode:
        return None, r.stdout + r.stderr
    return read_dump(out), r.stdout


def compare(tag, mine, ref):
    (g1, b1, order), (g0, b0) = mine, ref
    fails = []
    if g1 != g0:
        fails.append(f"{tag}: groups differ: ours {sorted(g1.items())[:8]}... ref {sorted(g0.items())[:8]}...; only ours "
                     f"{sorted(set(g1) - set(g0))[:5]}, only ref {sorted(set(g0) - set(g1))[:5]}")
    keys0 = {k for k, v in b0.items() if np.any(v)}
    if set(b1) != keys0:
        fails.append(f"{tag}: blocks differ: only ours {sorted(set(b1) - keys0)[:4]}, only ref {sorted(keys0 - set(b1))[:4]}")
    err = 0.0
    for k in set(b1) & keys0:
        scale = max(np.abs(b0[k]).max(), 1e-300)
        err = max(err, float(np.abs(b1[k] - b0[k]).max() / scale))
    if err > 1e-9:
        fails.append(f"{tag}: largest relative block difference {err:.2e}")
    print(f"{'FAIL' if fails else 'ok  '} {tag}: {len(g1)} groups, {sum(g1.values())} nodes, {len(b1)} blocks, max rel diff {err:.1e}")
    return fails


class PreAct(nn.Module):
    """BatchNorm after Add and after Concat (not fused into a Conv by the exporter), negative scales."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 6, 3, padding=1)
        self.c2 = nn.Conv2d(6, 6, 3, padding=1)
        self.bn_add = nn.BatchNorm2d(6)
        self.b1, self.b2 = nn.Conv2d(6, 4, 1), nn.Conv2d(6, 5, 3, padding=1)
        self.bn_cat = nn.BatchNorm2d(9)
        self.c3 = nn.Conv2d(9, 7, 3, stride=2)
        self.fc1 = nn.Linear(7 * 7 * 7, 12)
        self.fc2 = nn.Linear(12, 4)

    def forward(self, x):
        a = torch.relu(self.c1(x))
        a = torch.relu(self.bn_add(self.c2(a) + a))
        z = torch.relu(self.bn_cat(torch.cat([self.b1(a), self.b2(a)], 1)))
        z = torch.relu(self.c3(z))
        return self.fc2(torch.relu(self.fc1(z.flatten(1))))


def perturb(m, gen):
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_var.copy_(torch.rand(mod.num_features, generator=gen) + 0.5)
                mod.weight.copy_(torch.rand(mod.num_features, generator=gen) * 2 - 0.7)  # some negative




def main():
    dump, nn_dir = sys.argv[1], sys.argv[2]
    sys.path.insert(0, nn_dir)
    import test_onnx_torch as ot  # TfLike, perturb_bn, export
    gen = torch.Generator().manual_seed(7)
    torch.manual_seed(7)
    fails = []
    with tempfile.TemporaryDirectory() as d:
        nets = [("resnet18", torchvision.models.resnet18(weights=None), torch.rand(1, 3, 64, 64)),
                ("mobilenet_v2", torchvision.models.mobilenet_v2(weights=None), torch.rand(1, 3, 64, 64)),
                ("tf_like", ot.TfLike(), torch.rand(1, 16, 16, 3)),
                ("preact", PreAct(), torch.rand(1, 3, 16, 16))]
        for name, m, x1 in nets:
            perturb(m, gen)
            p = os.path.join(d, name + ".onnx")
            ot.export(m.eval(), x1, p, 13)
            variants = [dict()]
            if name in ("tf_like", "preact"):
                variants += [dict(include_dense_head="true", conv_norm="fro"), dict(bn_negative="clip"), dict(fold_batchnorm="false")]
            for keys in variants:
                tag = f"{name} {keys or 'defaults'}"
                mine, log = ours(dump, d, p, keys)
                if mine is None:
                    fails.append(f"{tag}: {log[-1500:]}")
                    print("FAIL", fails[-1])
                    continue
                ref = onnx_walk(p, norm=keys.get("conv_norm", "l1"), fold=keys.get("fold_batchnorm") != "false",
                                bn_negative=keys.get("bn_negative", "keep"), head=keys.get("include_dense_head") == "true")
                fails += compare(tag, mine, ref)
                one = one if keys else mine
            if name in ("mobilenet_v2", "tf_like"):
                two, log = ours(dump, d, p, {}, np_=2)
                same = two is not None and two[0] == one[0] and set(two[1]) == set(one[1]) and all(np.array_equal(two[1][k], one[1][k]) for k in one[1])
                print(f"{'ok  ' if same else 'FAIL'} {name}: 2 ranks give the 1-rank graph bitwise")
                if not same:
                    fails.append(f"{name}: 2 ranks differ from 1: {log[-800:]}")

        # The paper's node counts (torchvision architectures; VGG16's classifier shrunk, it is not in the graph).
        vgg = torchvision.models.vgg16(weights=None)
        vgg.avgpool, vgg.classifier = nn.Identity(), nn.Linear(512 * 7 * 7, 10)
        for name, m, want in (("vgg16", vgg, (4224, 13)), ("resnet50", torchvision.models.resnet50(weights=None), (24576, 53))):
            p = os.path.join(d, name + ".onnx")
            ot.export(m.eval(), torch.rand(1, 3, 224, 224), p, 13)
            ini = os.path.join(d, "n.ini")
            open(ini, "w").write(f"[model]\npath = {p}\n")
            r = run([dump, ini, os.path.join(d, "n.bin")], 2)
            got = re.search(r"(\d+) nodes in (\d+) groups", r.stdout)
            got = tuple(int(v) for v in got.groups()) if got else None
            print(f"{'ok  ' if got == want else 'FAIL'} {name}: {got} nodes and groups, the paper's {want}")
            if got != want:
                fails.append(f"{name}: {got} != {want}: {r.stderr[-800:]}")
            os.remove(p)
    if fails:
        print("\n".join(fails))
        sys.exit(1)


if __name__ == "__main__":
    main()
