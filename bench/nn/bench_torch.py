#!/usr/bin/python3
"""PyTorch side of the nn benchmark: the same MLP 784-256x4-10 and small CNN (64,64,64,128), the same
Fashion-MNIST test images and batch sizes, float32, one thread (torch.set_num_threads). Prints key=value
lines matching bench_nn. Usage: bench_torch.py [DATA_DIR] [CNN_IMAGES] [REPS] [BATCH]"""
import gzip, sys, time
import numpy as np
import torch
import torch.nn as nn


def idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[:4], "big")
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(magic & 0xFF)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
    cnn_images = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    torch.set_num_threads(1)
    torch.manual_seed(0)
    xte = torch.tensor(idx(f"{data}/t10k-images-idx3-ubyte.gz").astype(np.float32) / 255.0)
    xtr = torch.tensor(idx(f"{data}/train-images-idx3-ubyte.gz").astype(np.float32) / 255.0)
    ytr = torch.tensor(idx(f"{data}/train-labels-idx1-ubyte.gz").astype(np.int64))
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                        nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10), nn.Softmax(-1))
    cnn = nn.Sequential(nn.Conv2d(1, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(7 * 7 * 64, 128), nn.ReLU(), nn.Linear(128, 10), nn.Softmax(-1))
    mlp_flops = 2 * (784 * 256 + 3 * 256 * 256 + 256 * 10)
    cnn_flops = 2 * (28 * 28 * 9 * 64 + 28 * 28 * 9 * 64 * 64 + 14 * 14 * 9 * 64 * 64 + 7 * 7 * 64 * 128 + 1280)
    with torch.no_grad():
        for label, model, x, b, r, fl in (("mlp", mlp, xte, batch, reps, mlp_flops),
                                          ("cnn", cnn, xte[:cnn_images].unsqueeze(1), min(batch, 250), 1, cnn_flops)):
            best = 1e30
            for _ in range(r):
                t = time.perf_counter()
                for i in range(0, x.shape[0], b):
                    model(x[i:i + b])
                best = min(best, time.perf_counter() - t)
            n = x.shape[0]
            print(f"torch_{label}_images={n} torch_{label}_batch={b} torch_{label}_seconds={best:.4f} "
                  f"torch_{label}_images_per_s={n / best:.0f} torch_{label}_gflops={fl * n / best * 1e-9:.2f}")
    # One training epoch: Adam 1e-3 (eps 1e-7 as modclust-train), batch 128, cross-entropy on the logits.
    net = nn.Sequential(*list(mlp.children())[:-1])
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    lossf = nn.CrossEntropyLoss()
    perm = torch.randperm(xtr.shape[0])
    t = time.perf_counter()
    total = 0.0
    for i in range(0, xtr.shape[0], 128):
        idxs = perm[i:i + 128]
        opt.zero_grad()
        loss = lossf(net(xtr[idxs]), ytr[idxs])
        loss.backward()
        opt.step()
        total += loss.item() * len(idxs)
    sec = time.perf_counter() - t
    print(f"torch_mlp_train_epoch_seconds={sec:.3f} torch_mlp_train_epoch_gflops={3 * mlp_flops * xtr.shape[0] / sec * 1e-9:.2f} "
          f"torch_mlp_train_loss={total / xtr.shape[0]:.4f}")


if __name__ == "__main__":
    main()
