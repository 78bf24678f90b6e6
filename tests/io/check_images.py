#!/usr/bin/python3
"""Image directories as datasets: JPEG and PNG files (colour, grey, RGBA, odd sizes) written here with PIL, a
labels list, read by mc_io_dataset_read at 1 and 2 ranks and compared with a reference built from PIL's decoding
(the same libjpeg-turbo and libpng) and PyTorch's bilinear interpolation (align_corners = False) followed by the
centre crop and each preprocessing (none, caffe, torch, tf), for colour and greyscale models. Broken inputs: a
truncated JPEG, a file that is no image, a missing file, a bad label line, a missing list: one message naming the
file (and the line), every rank exits non-zero.

Usage: check_images.py TEST_IO_DATASET"""
import os, re, shlex, subprocess, sys, tempfile
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

MPIEXEC = os.environ.get("MC_MPIEXEC", "mpiexec")
MPI_FLAGS = shlex.split(os.environ.get("MC_MPI_FLAGS", "--oversubscribe"))
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1")


def run(cmd, np_=1):
    return subprocess.run([MPIEXEC, "-n", str(np_), *MPI_FLAGS, *cmd], capture_output=True, text=True, env=ENV, timeout=120)


def reference(path, shape, preprocess, crop):
    H, W, C = shape
    im = Image.open(path)
    im = im.convert("RGB") if im.mode in ("RGB", "RGBA", "P", "CMYK") else im.convert("L")
    if im.mode == "RGBA":
        im = im.convert("RGB")
    a = np.asarray(im, np.float64)
    if a.ndim == 2:
        a = a[:, :, None]
    h, w, c = a.shape
    side = round(min(H, W) / crop)
    s = side / min(h, w)
    sh, sw = max(H, round(h * s)), max(W, round(w * s))
    t = torch.from_numpy(a).permute(2, 0, 1)[None]
    r = F.interpolate(t, size=(sh, sw), mode="bilinear", align_corners=False)[0].permute(1, 2, 0).numpy()
    top, left = (sh - H) // 2, (sw - W) // 2
    r = r[top:top + H, left:left + W]
    if C == 3 and c == 1:
        r = np.repeat(r, 3, axis=2)
    if C == 1 and c == 3:
        r = (0.299 * r[:, :, 0] + 0.587 * r[:, :, 1] + 0.114 * r[:, :, 2])[:, :, None]
    if preprocess == "none":
        r = r / 255.0
    elif preprocess == "tf":
        r = r / 127.5 - 1.0
    elif preprocess == "torch":
        r = (r / 255.0 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    elif preprocess == "caffe":
        r = r[:, :, ::-1] - np.array([103.939, 116.779, 123.68])
    return r.astype(np.float32)


def main():
    exe = sys.argv[1]
    rng = np.random.default_rng(5)
    fails = []
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "cls a"))
        files = []
        for i, (h, w, mode, ext) in enumerate([(40, 52, "RGB", "jpg"), (33, 29, "L", "png"), (64, 48, "RGB", "png"), (25, 70, "RGBA", "png"),
                                                  (50, 50, "L", "jpg"), (17, 23, "RGB", "jpeg")]):
            # Smooth images with some texture, so resampling errors would show.
            yy, xx = np.mgrid[0:h, 0:w]
            base = 127 + 80 * np.sin(xx / 5.0 + i) * np.cos(yy / 7.0) + rng.normal(0, 12, (h, w))
            chans = {"RGB": 3, "L": 1, "RGBA": 4}[mode]
            a = np.stack([np.clip(base + 30 * k, 0, 255) for k in range(chans)], -1).astype(np.uint8)
            if mode == "RGBA":
                a[:, :, 3] = 255
            img = Image.fromarray(a[:, :, 0] if mode == "L" else a, mode)
            name = os.path.join("cls a" if i % 2 else "", f"im {i}.{ext}")
            img.save(os.path.join(d, name), quality=90) if ext != "png" else img.save(os.path.join(d, name))
            files.append((name, i % 3))
        with open(os.path.join(d, "test.txt"), "w") as f:
            f.write("# path label\n\n" + "".join(f"{n} {y}\n" for n, y in files))
        with open(os.path.join(d, "labels.txt"), "w") as f:
            f.write("".join(f"{n}\t{y}\n" for n, y in files[:2]))
        out = os.path.join(d, "dump.bin")
        for shape, preprocess, crop, np_ in [((16, 16, 3), "none", 0.875, 1), ((16, 16, 3), "torch", 0.875, 2), ((20, 12, 3), "caffe", 1.0, 1),
                                             ((16, 16, 1), "none", 0.875, 1), ((24, 24, 1), "tf", 0.5, 2)]:
            tag = f"{shape} {preprocess} crop {crop} np{np_}"
            r = run([exe, "-source", d, "-split", "test", "-image_shape", ",".join(map(str, shape)), "-preprocess", preprocess, "-crop", str(crop),
                     "-dump", out], np_)
            if r.returncode:
                fails.append(f"{tag}: exit {r.returncode}: {r.stderr[-800:]}")
                print("FAIL", fails[-1])
                continue
            n, per = len(files), int(np.prod(shape))
            raw = open(out, "rb").read()
            x = np.frombuffer(raw, np.float32, n * per).reshape(n, *shape)
            y = np.frombuffer(raw, np.int64, n, n * per * 4)
            ref = np.stack([reference(os.path.join(d, f), shape, preprocess, crop) for f, _ in files])
            scale = {"none": 1 / 255, "torch": 1 / 255 / 0.224, "caffe": 1.0, "tf": 1 / 127.5}[preprocess]
            err = float(np.abs(x - ref).max()) / scale  # in grey levels
            ok = err < 1e-3 and list(y) == [v for _, v in files]
            print(f"{'ok  ' if ok else 'FAIL'} {tag}: max difference {err:.2e} grey levels, labels {list(y)}")
            if not ok:
                fails.append(f"{tag}: max diff {err:.2e} grey levels, labels {list(y)}")
        # The train split falls back to labels.txt.
        r = run([exe, "-source", d, "-split", "train", "-image_shape", "8,8,3"])
        ok = r.returncode == 0 and "n=2 " in r.stdout
        print(f"{'ok  ' if ok else 'FAIL'} train split read from labels.txt: {r.stdout.strip()[:80]}")
        if not ok:
            fails.append(f"labels.txt fallback: {r.stdout} {r.stderr[-500:]}")

        # Broken inputs: one message naming the file, every rank non-zero.
        good = open(os.path.join(d, files[0][0]), "rb").read()
        open(os.path.join(d, "trunc.jpg"), "wb").write(good[: len(good) // 3])
        open(os.path.join(d, "cut.jpg"), "wb").write(good[: 2 * len(good) // 3])
        open(os.path.join(d, "text.png"), "w").write("not an image\n")
        # A PNG header claiming 70000 x 70000 pixels (refused before any allocation).
        import struct, zlib
        ihdr = struct.pack(">IIBBBBB", 70000, 70000, 8, 2, 0, 0, 0)
        chunk = lambda t, b: struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b) & 0xffffffff)
        open(os.path.join(d, "huge.png"), "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
        cases = [("huge.png 0\n", "more than the"), ("trunc.jpg 1\n", "trunc.jpg"), ("cut.jpg 1\n", "cut.jpg"), ("text.png 1\n", "text.png"), ("missing.png 0\n", "missing.png"),
                 (f"{files[0][0]} cat\n", "test.txt:1"), (f"{files[0][0]}\n", "test.txt:1")]
        for body, key in cases:
            open(os.path.join(d, "test.txt"), "w").write(body)
            r = run([exe, "-source", d, "-split", "test", "-image_shape", "8,8,3"], 2)
            msgs = [l for l in r.stderr.splitlines() if re.search(r"error", l, re.I) and key in l]
            ok = r.returncode != 0 and len(msgs) >= 1
            print(f"{'ok  ' if ok else 'FAIL'} broken {key}: {(msgs or [r.stderr[-300:]])[0].strip()[:160]}")
            if not ok:
                fails.append(f"broken {key}: exit {r.returncode}: {r.stderr[-800:]}")
        os.remove(os.path.join(d, "test.txt"))
        os.remove(os.path.join(d, "labels.txt"))
        r = run([exe, "-source", d, "-split", "test", "-image_shape", "8,8,3"], 2)
        ok = r.returncode != 0 and d in r.stderr
        print(f"{'ok  ' if ok else 'FAIL'} a directory with no list and no IDX files is refused")
        if not ok:
            fails.append(f"no list: {r.stderr[-500:]}")
    if fails:
        print("\n".join(fails))
        sys.exit(1)


if __name__ == "__main__":
    main()
