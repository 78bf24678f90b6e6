#!/usr/bin/python3
"""mc_graph_build against NumPy: runs test_graph_build at 1 and 3 ranks (outputs must be identical), then
recomputes every adjacency it wrote (MLP with/without BatchNorm folding; CNN for each conv_norm, with and
without folding and dense head) from the weights in the same file."""
import os, shlex, subprocess, sys
import numpy as np

BIN = os.environ.get("MC_BIN", ".")
MPIEXEC = os.environ.get("MC_MPIEXEC", "mpiexec")
FLAGS = shlex.split(os.environ.get("MC_MPI_FLAGS", ""))
EXE = os.path.join(BIN, "tests", "cluster", "test_graph_build")
DENSE, CONV, BN = 0, 1, 6

failures = []
blobs = {}
for np_ in (1, 3):
    out = f"graph_build_np{np_}.bin"
    r = subprocess.run([MPIEXEC, "-n", str(np_)] + FLAGS + [EXE, "-out", out], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        print(r.stdout, r.stderr)
        sys.exit(1)
    blobs[np_] = open(out, "rb").read()
if blobs[1] != blobs[3]:
    failures.append("output at 3 ranks differs from 1 rank")
buf = blobs[1]
pos = 0


def take(dtype, n):
    global pos
    a = np.frombuffer(buf, dtype=dtype, count=n, offset=pos)
    pos += a.nbytes
    return a


def read_model():
    layers = []
    for _ in range(take(np.int64, 1)[0]):
        t, n_in, n_out, kh, kw, has_gamma = take(np.int64, 6)
        L = dict(type=t)
        if t in (DENSE, CONV):
            L["w"] = take(np.float32, kh * kw * n_in * n_out).astype(np.float64).reshape(kh, kw, n_in, n_out)
        if t == BN:
            gamma = take(np.float32, n_out).astype(np.float64) if has_gamma else np.ones(n_out)
            var = take(np.float32, n_out).astype(np.float64)
            eps = np.float64(take(np.float32, 1)[0])
            L["s"] = np.abs(gamma / np.sqrt(var + eps))
        layers.append(L)
    return layers


def scales(layers, fold):
    """Per weight layer, the product of |BN scales| before the next weight layer."""
    out = []
    for i, L in enumerate(layers):
        if L["type"] not in (DENSE, CONV):
            continue
        s = np.ones(L["w"].shape[3])
        for M in layers[i + 1:]:
            if M["type"] in (DENSE, CONV):
                break
            if M["type"] == BN and fold:
                s = s * M["s"]
        out.append((L, s))
    return out


def norm(S, kind):
    if kind == "l1":
        return np.abs(S).sum()
    if kind == "induced_l1":
        return np.abs(S).sum(axis=0).max()
    if kind == "l2":
        return np.linalg.norm(S, 2)
    return np.linalg.norm(S, "fro")


def assemble(blocks):
    sizes = [blocks[0].shape[0]] + [B.shape[1] for B in blocks]
    off = np.concatenate([[0], np.cumsum(sizes)])
    A = np.zeros((off[-1], off[-1]))
    for g, B in enumerate(blocks):
        A[off[g]:off[g + 1], off[g + 1]:off[g + 2]] = B
    return A + A.T, off


def expect_mlp(layers, fold):
    blocks = [np.abs(L["w"][0, 0]) * s[None, :] for L, s in scales(layers, fold)]
    return assemble(blocks)


def expect_cnn(layers, fold, head, kind):
    ws = scales(layers, fold)
    convs = [(L, s) for L, s in ws if L["type"] == CONV]
    dens = [(L, s) for L, s in ws if L["type"] == DENSE]
    blocks = []
    for L, s in convs[1:]:
        K = L["w"]
        B = np.array([[norm(K[:, :, i, j], kind) for j in range(K.shape[3])] for i in range(K.shape[2])])
        blocks.append(B * s[None, :])
    if head:
        C = convs[-1][0]["w"].shape[3]
        L, s = dens[0]
        W = L["w"][0, 0]
        P = W.shape[0] // C
        Wp = W.reshape(P, C, W.shape[1])  # row p*C + c
        B = np.sqrt((Wp ** 2).sum(0)) if kind in ("l2", "fro") else np.abs(Wp).sum(0)
        blocks.append(B * s[None, :])
        for L, s in dens[1:]:
            blocks.append(np.abs(L["w"][0, 0]) * s[None, :])
    return assemble(blocks)


mlp = read_model()
cnn = read_model()
n_graphs = 0
while pos < len(buf):
    tag = bytes(take(np.uint8, 32)).split(b"\0")[0].decode()
    N, ng = take(np.int64, 2)
    off = take(np.int64, ng + 1)
    glayer = take(np.int64, ng)
    A = take(np.float64, N * N).reshape(N, N)
    words = dict(w.split("=") for w in tag.split()[1:] if "=" in w)
    fold = words["fold"] == "1"
    if tag.startswith("mlp"):
        E, eoff = expect_mlp(mlp, fold)
        elayer = np.arange(ng)
    else:
        E, eoff = expect_cnn(cnn, fold, words["head"] == "1", tag.split()[-1])
        elayer = np.arange(1, ng + 1)
    n_graphs += 1
    if A.shape != E.shape or not np.array_equal(off, eoff) or not np.array_equal(glayer, elayer):
        failures.append(f"{tag}: layout {off} {glayer} vs expected {eoff} {elayer}")
        continue
    err = np.max(np.abs(A - E) / np.maximum(1.0, np.abs(E)))
    if err > 1e-12 or not np.array_equal(A == 0, E == 0):
        failures.append(f"{tag}: adjacency differs, max relative error {err:.3e}")
    print(f"{tag}: N {N} max rel err {err:.2e}")
if n_graphs != 18:
    failures.append(f"{n_graphs} graphs in the file, expected 18")
for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
