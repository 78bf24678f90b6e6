#!/usr/bin/python3
"""Lesions of branched networks: a group of the channel walker's graph is silenced in its consumer only (the
paper's ImageNet lesion, docs/importance.md).

- The engine's consumer input-slice lesion (mc_forward_lesion_set_input) against PyTorch with the same
  channels zeroed by hand in the consuming module's input (a forward pre-hook): torchvision resnet18 (a
  downsample projection that shares its input with the block's first conv, which must stay untouched), the
  tf2onnx-style net of test_onnx_torch.py (a grouped convolution after a depthwise one; the Gemm after a
  Flatten, every position of a channel zeroed): logits within 1e-4 on 8 images.
- modclust-mpi end to end on a small residual network with a squeeze-excite gate and a Concat, exported to
  ONNX, on Fashion-MNIST: global weight partitioning, clusterability and importance; the sub-clusters lie
  only in groups of role "input of a weight layer in the graph", and results.h5 is the same at 1 and 2 ranks
  (labels, n-cuts, every lesion accuracy and p-value).

Usage: test_dag_lesion.py NN_MODEL_FORWARD MODCLUST_MPI"""
import os, shlex, subprocess, sys, tempfile, warnings
import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

warnings.filterwarnings("ignore")
MPIEXEC = os.environ.get("MC_MPIEXEC", "mpiexec")
MPI_FLAGS = shlex.split(os.environ.get("MC_MPI_FLAGS", "--oversubscribe"))
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_onnx_torch as ot  # noqa: E402 (TfLike, perturb_bn, export)


def run(cmd, np_=1):
    return subprocess.run([MPIEXEC, "-n", str(np_), *MPI_FLAGS, *cmd], capture_output=True, text=True, env=ENV, timeout=600)




def torch_lesioned(m, x, module, units, positions=1):
    """Outputs of m with input channels `units` of `module` zeroed (a Linear after a C,H,W flatten: every
    position of those channels)."""

    def hook(_, inp):
        v = inp[0].clone()
        if v.dim() == 4:
            v[:, units] = 0
        else:
            for c in units:
                v[:, c * positions:(c + 1) * positions] = 0
        return (v,)

    flat = lambda y: [t.numpy().reshape(x.shape[0], -1) for t in (y if isinstance(y, tuple) else (y,))]
    with torch.no_grad():
        clean = flat(m(x))
    h = module.register_forward_pre_hook(hook)
    with torch.no_grad():
        lesioned = flat(m(x))
    h.remove()
    # The lesion must change the first output, or the comparison would prove nothing.
    assert np.abs(lesioned[0] - clean[0]).max() > 1e-3, "the hand lesion changes nothing"
    return lesioned


def lesion_case(fwd, d, tag, onnx_path, x_engine, site, width, units, refs):
    ini, xin, out = os.path.join(d, "c.ini"), os.path.join(d, "x.bin"), os.path.join(d, "y.bin")
    open(ini, "w").write(f"[model]\npath = {onnx_path}\n")
    np.ascontiguousarray(x_engine, np.float32).tofile(xin)
    r = run([fwd, ini, xin, str(x_engine.shape[0]), out, "-lesion_site", site, "-lesion_width", str(width),
             "-lesion_units", ",".join(map(str, units))])
    if r.returncode:
        return [f"{tag}: exit {r.returncode}: {r.stderr[-1200:]}"]
    got, off, fails = np.fromfile(out, np.float32), 0, []
    for o, ref in enumerate(refs):
        g = got[off:off + ref.size].reshape(ref.shape)
        off += ref.size
        err = float(np.abs(g - ref).max())
        ok = err < 1e-4
        print(f"{'ok  ' if ok else 'FAIL'} {tag} output {o}: max abs diff {err:.2e}")
        if not ok:
            fails.append(f"{tag} output {o}: {err:.2e}")
    return fails


class SmallRes(nn.Module):
    """28 x 28 x 1 input: a residual block, a squeeze-excite gate, a Concat of two branches."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 3, padding=1)
        self.bn0 = nn.BatchNorm2d(8)
        self.a1, self.a2 = nn.Conv2d(8, 8, 3, padding=1), nn.Conv2d(8, 8, 3, padding=1)
        self.se1, self.se2 = nn.Conv2d(8, 4, 1), nn.Conv2d(4, 8, 1)
        self.b1, self.b2 = nn.Conv2d(8, 6, 1), nn.Conv2d(8, 6, 3, padding=1)
        self.c = nn.Conv2d(12, 16, 3, stride=2)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = F.max_pool2d(torch.relu(self.bn0(self.stem(x))), 2)
        y = torch.relu(self.a2(torch.relu(self.a1(x))))
        y = y * torch.sigmoid(self.se2(torch.relu(self.se1(F.adaptive_avg_pool2d(y, 1)))))
        x = torch.relu(x + y)
        z = torch.cat([torch.relu(self.b1(x)), torch.relu(self.b2(x))], 1)
        z = torch.relu(self.c(z))
        return self.fc(F.adaptive_avg_pool2d(z, 1).flatten(1))


def e2e(mc, d):
    torch.manual_seed(3)
    p = os.path.join(d, "small_res.onnx")
    ot.export(SmallRes().eval(), torch.rand(1, 1, 28, 28), p, 13)
    fails, res = [], {}
    for np_ in (1, 2):
        out = os.path.join(d, f"out{np_}")
        ini = os.path.join(d, f"e2e{np_}.ini")
        open(ini, "w").write(f"[model]\npath = {p}\n[data]\nsource = /usr/share/datasets/fashion-mnist\n[cluster]\nk = 4\nseed = 5\n"
                             f"[clusterability]\nn_shuffles = 4\n[importance]\nenabled = true\nn_random = 3\n[output]\ndir = {out}\n")
        r = run([mc, ini], np_)
        if r.returncode:
            fails.append(f"e2e np{np_}: exit {r.returncode}: {r.stderr[-1500:]}")
            print("FAIL", fails[-1])
            continue
        with h5py.File(os.path.join(out, "results.h5")) as f:
            role, goff = f["graph/group_role"][:], f["graph/group_offset"][:]
            res[np_] = {k: f[k][()] for k in ("clusters/labels", "clusterability/ncut_shuffled", "importance/group", "importance/size",
                                              "importance/mean_acc", "importance/mean_acc_random", "importance/p_mean")}
        groups = res[np_]["importance/group"]
        bad = [int(gp) for gp in groups if role[gp] != 0]
        ok = len(groups) > 0 and not bad
        print(f"{'ok  ' if ok else 'FAIL'} e2e np{np_}: {len(groups)} sub-clusters in groups {sorted(set(groups.tolist()))} "
              f"(roles {role.tolist()}), none in stop/output groups")
        if not ok:
            fails.append(f"e2e np{np_}: sub-clusters {groups.tolist()}, roles {role.tolist()}")
    # The same network on a directory of PNG images (the image reader end to end, with tf preprocessing).
    from PIL import Image
    img_dir = os.path.join(d, "images")
    os.makedirs(img_dir)
    rng = np.random.default_rng(2)
    with open(os.path.join(img_dir, "labels.txt"), "w") as f:
        for i in range(60):
            Image.fromarray(rng.integers(0, 256, (30, 34), dtype=np.uint8), "L").save(os.path.join(img_dir, f"{i}.png"))
            f.write(f"{i}.png {i % 10}\n")
    ini = os.path.join(d, "img.ini")
    open(ini, "w").write(f"[model]\npath = {p}\n[data]\nsource = {img_dir}\npreprocess = tf\ncrop_fraction = 1\n[cluster]\nk = 4\nseed = 5\n"
                         f"[importance]\nenabled = true\nn_random = 2\n[output]\ndir = {os.path.join(d, 'out_img')}\n")
    r = run([mc, ini], 2)
    n_test = None
    if r.returncode == 0:
        with h5py.File(os.path.join(d, "out_img", "results.h5")) as f:
            n_test = int(f["importance"].attrs["n_test"])
    ok = r.returncode == 0 and n_test == 60
    print(f"{'ok  ' if ok else 'FAIL'} e2e on an image directory (60 PNG files, preprocess tf): exit {r.returncode}, {n_test} test images")
    if not ok:
        fails.append(f"e2e images: {r.stderr[-1500:]}")
    if len(res) == 2:
        diff = [k for k in res[1] if not np.array_equal(res[1][k], res[2][k], equal_nan=True)]
        print(f"{'FAIL' if diff else 'ok  '} e2e: 1 and 2 ranks give the same results.h5 ({', '.join(diff) or 'all equal'})")
        if diff:
            fails.append(f"e2e: 1 and 2 ranks differ in {diff}")
    return fails


def main():
    fwd, mc = sys.argv[1], sys.argv[2]
    gen = torch.Generator().manual_seed(11)
    torch.manual_seed(11)
    fails = []
    with tempfile.TemporaryDirectory() as d:
        r18 = torchvision.models.resnet18(weights=None).eval()
        ot.perturb_bn(r18, gen)
        x = torch.rand(8, 3, 64, 64, generator=gen)
        p = os.path.join(d, "r18.onnx")
        ot.export(r18, x[:1], p, 13)
        ds = r18.layer2[0].downsample[0]
        units = [0, 5, 17, 63]
        fails += lesion_case(fwd, d, "resnet18 downsample input", p, x.permute(0, 2, 3, 1).numpy(), "/layer2/layer2.0/downsample/downsample.0/Conv", 64,
                             units, torch_lesioned(r18, x, ds, units))
        fails += lesion_case(fwd, d, "resnet18 fc input", p, x.permute(0, 2, 3, 1).numpy(), "/fc/Gemm", 512, [1, 100, 511],
                             torch_lesioned(r18, x, r18.fc, [1, 100, 511]))

        tf = ot.TfLike().eval()
        ot.perturb_bn(tf, gen)
        xt = torch.rand(8, 16, 16, 3, generator=gen)
        p = os.path.join(d, "tf.onnx")
        ot.export(tf, xt[:1], p, 13)
        fails += lesion_case(fwd, d, "tf_like grouped conv input", p, xt.numpy(), "/g/Conv", 16, [0, 3, 9, 15], torch_lesioned(tf, xt, tf.g, [0, 3, 9, 15]))
        fails += lesion_case(fwd, d, "tf_like Gemm input (all positions)", p, xt.numpy(), "/fc/Gemm", 14, [2, 13],
                             torch_lesioned(tf, xt, tf.fc, [2, 13], positions=16))
        fails += e2e(mc, d)
    if fails:
        print("\n".join(fails))
        sys.exit(1)


if __name__ == "__main__":
    main()
