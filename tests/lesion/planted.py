"""Fixtures of the lesion tests: a task whose ten classes split into two halves, and an MLP made of two
independent sub-networks (block-diagonal weights, no biases), each trained on its own half.

An example of class c < 5 has its first 8 features near prototype A[c] and its last 8 features exactly 0;
an example of class c >= 5 the other way round. Without biases, a zero half gives exactly zero activity in
its sub-network, so silencing module A cannot change any prediction on B's examples, and A's examples then
see all-zero logits (predicted as class 0, the first maximum)."""
import h5py
import numpy as np
import torch

D, HID = 8, 24  # features per half, hidden units per module and layer


def make_data(n, rng, protos):
    y = rng.integers(0, 10, size=n)
    x = np.zeros((n, 2 * D), dtype=np.float32)
    for i, c in enumerate(y):
        half = 0 if c < 5 else 1
        v = protos[half][c % 5] + rng.normal(0, 0.08, size=D)
        x[i, half * D:(half + 1) * D] = np.clip(v, 0, 1)
    return x, y


def write_dataset(path, seed=0, n_train=4000, n_test=2000):
    rng = np.random.default_rng(seed)
    protos = [rng.uniform(0.1, 1.0, size=(5, D)), rng.uniform(0.1, 1.0, size=(5, D))]
    xtr, ytr = make_data(n_train, rng, protos)
    xte, yte = make_data(n_test, rng, protos)
    with h5py.File(path, "w") as f:
        f["train/images"] = xtr.reshape(n_train, 1, 2 * D)
        f["train/labels"] = ytr.astype(np.int64)
        f["test/images"] = xte.reshape(n_test, 1, 2 * D)
        f["test/labels"] = yte.astype(np.int64)
    return xtr, ytr, xte, yte


def train_modular(xtr, ytr, seed):
    """Train 16-48-48-10 with block-diagonal masks; returns the masked kernels in Keras order [in, out]."""
    torch.manual_seed(seed)
    sizes = [2 * D, 2 * HID, 2 * HID, 10]
    outs = [(HID, HID), (HID, HID), (5, 5)]
    ins = [(D, D), (HID, HID), (HID, HID)]
    masks, Ws = [], []
    for l in range(3):
        m = torch.zeros(sizes[l + 1], sizes[l])
        m[:outs[l][0], :ins[l][0]] = 1
        m[outs[l][0]:, ins[l][0]:] = 1
        masks.append(m)
        Ws.append(torch.nn.Parameter(torch.randn(sizes[l + 1], sizes[l]) * (2.0 / sizes[l]) ** 0.5))
    opt = torch.optim.Adam(Ws, lr=1e-2)
    X = torch.tensor(xtr)
    Y = torch.tensor(ytr)
    for step in range(600):
        h = X
        for l in range(3):
            h = h @ (Ws[l] * masks[l]).T
            if l < 2:
                h = torch.nn.functional.dropout(torch.relu(h), 0.5)  # redundancy: random half-lesions hurt less
        loss = torch.nn.functional.cross_entropy(h, Y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return [(W * m).detach().numpy().T.astype(np.float32).copy() for W, m in zip(Ws, masks)]


def write_native(path, kernels):
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "modclust-model"
        f.attrs["version"] = np.int64(1)
        f.attrs["input_shape"] = np.array([1, 2 * D, 1], dtype=np.int64)
        layers = [dict(type="flatten", name="flatten")]
        for l, K in enumerate(kernels):
            layers.append(dict(type="dense", name="dense_%d" % l, act="relu" if l < len(kernels) - 1 else "linear", weight=K))
        f.attrs["n_layers"] = np.int64(len(layers))
        f.attrs["source_format"] = "test"
        for i, l in enumerate(layers):
            g = f.create_group("layers/%03d" % i)
            g.attrs["type"] = l["type"]
            g.attrs["name"] = l["name"]
            g.attrs["activation"] = l.get("act", "linear")
            g.attrs["alpha"] = 0.0
            if "weight" in l:
                g["weight"] = l["weight"]


def forward_counts(kernels, x, y, lesion=None, mode="outgoing", n_classes=10):
    """Per-class correct counts of a bias-free ReLU MLP in PyTorch (float32), with units of hidden layer
    `lesion[0]` (1-based unit layer) in `lesion[1]` silenced."""
    h = torch.tensor(x)
    for l, K in enumerate(kernels):
        W = torch.tensor(K).clone()
        if lesion and mode == "outgoing" and lesion[0] == l:
            W[list(lesion[1]), :] = 0
        if lesion and mode == "incoming" and lesion[0] == l + 1:
            W[:, list(lesion[1])] = 0
        h = h @ W
        if l < len(kernels) - 1:
            h = torch.relu(h)
    pred = h.argmax(dim=1).numpy()
    return np.bincount(y[pred == y], minlength=n_classes), np.bincount(y, minlength=n_classes)
