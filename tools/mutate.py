#!/usr/bin/python3
"""Mutated inputs through the whole program (docs/reliability.md): for each reader family, N inputs made from
one valid input by seeded mutations (byte flips, zeroed runs, truncation, duplicated or deleted spans; for
INI files also replaced tokens and deleted lines), each run through modclust-mpi at each rank count with a
time limit, and classified:

  clean    the run failed with exactly one error line that names the input (the file, or for INI files the
           file, a section or a key), no signal
  ran      the mutation was harmless: the run succeeded
  crash    a rank died of a signal (or a sanitizer report)
  hang     the time limit passed
  unclear  a failure with no error line, several, or one that does not name the input

Usage: /usr/bin/python3 tools/mutate.py [--n 1000] [--ranks 1,2] [--families ini,native,safetensors,idx]
       [--timeout 30] [--seed 1] WORKDIR
One rank runs as an MPI singleton (the executable started without mpiexec), more under mpiexec.
Prints a Markdown table (family x ranks x outcome) and writes WORKDIR/cases.csv; the inputs of every case
that is not clean or ran are kept in WORKDIR/keep/ to replay. MC_BIN names the build directory."""
import argparse
import csv
import gzip
import os
import shutil
import struct
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "regress"))
import mcrun  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("workdir")
ap.add_argument("--n", type=int, default=1000)
ap.add_argument("--ranks", default="1,2")
ap.add_argument("--families", default="ini,native,safetensors,idx")
ap.add_argument("--timeout", type=float, default=30)
ap.add_argument("--seed", type=int, default=1)
args = ap.parse_args()
work = os.path.abspath(args.workdir)
shutil.rmtree(work, ignore_errors=True)
os.makedirs(os.path.join(work, "keep"))
os.chdir(work)
rng0 = np.random.default_rng(args.seed)


def idx_bytes(dims, payload):
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


# --- The valid inputs. ---
mcrun.synth(os.path.join(work, "base_native.h5"), [64, 32, 16, 10], 2, seed=3)
base = {"native": open("base_native.h5", "rb").read()}
mlp = {"0.weight": rng0.normal(size=(32, 64)), "0.bias": np.zeros(32), "2.weight": rng0.normal(size=(10, 32)), "2.bias": np.zeros(10)}
base["safetensors"] = mcrun.safetensors_bytes(mlp)
with open("model.safetensors", "wb") as f:
    f.write(base["safetensors"])
fashion = {"0.weight": rng0.normal(size=(16, 784)) * 0.05, "0.bias": np.zeros(16), "2.weight": rng0.normal(size=(12, 16)), "2.bias": np.zeros(12),
           "4.weight": rng0.normal(size=(10, 12)), "4.bias": np.zeros(10)}
with open("fashion.safetensors", "wb") as f:
    f.write(mcrun.safetensors_bytes(fashion))
images = rng0.integers(0, 256, size=(300, 28, 28), dtype=np.uint8)
labels = rng0.integers(0, 10, size=300).astype(np.uint8)
base["idx"] = idx_bytes([300, 28, 28], images.tobytes())
idx_labels = idx_bytes([300], labels.tobytes())
base["ini"] = ("[model]\npath = model.safetensors\ninfer = mlp\n[graph]\nkind = weights\n[cluster]\nk = 4\nseed = 5\n"
               "[output]\noverwrite = true\n").encode()


def mutate(data, rng, text=False):
    """One to three seeded mutations of bytes `data`."""
    b = bytearray(data)
    for _ in range(int(rng.integers(1, 4))):
        if not b:
            break
        kind = int(rng.integers(0, 7 if text else 5))
        i = int(rng.integers(0, len(b)))
        if kind == 0:  # flip bits of a few bytes
            for j in range(i, min(len(b), i + int(rng.integers(1, 9)))):
                b[j] ^= 1 << int(rng.integers(0, 8))
        elif kind == 1:  # random bytes over a run
            for j in range(i, min(len(b), i + int(rng.integers(1, 33)))):
                b[j] = int(rng.integers(0, 256))
        elif kind == 2:  # truncate
            del b[i:]
        elif kind == 3:  # duplicate a span
            n = int(rng.integers(1, 65))
            b[i:i] = b[i:i + n]
        elif kind == 4:  # delete a span
            del b[i:i + int(rng.integers(1, 65))]
        elif kind == 5:  # replace a token by another text's token
            words = [b"0", b"-1", b"1e308", b"nan", b"", b"[", b"]", b"=", b"k", b"99999999999999999999", b"true", b"weights", b"\xff\xfe", b"path", b"#"]
            j = min(len(b), i + int(rng.integers(1, 8)))
            b[i:j] = words[int(rng.integers(0, len(words)))]
        else:  # delete or duplicate a line
            lines = bytes(b).split(b"\n")
            k = int(rng.integers(0, len(lines)))
            if rng.integers(0, 2):
                del lines[k]
            else:
                lines.insert(k, lines[k])
            b = bytearray(b"\n".join(lines))
    return bytes(b)


SECTIONS = ("model", "graph", "cluster", "clusterability", "output", "layer", "data", "importance")


def case_files(family, data, case):
    """Write the mutated input of `family`; return (config, overrides, names the message may use)."""
    if family == "ini":
        with open("mut.ini", "wb") as f:
            f.write(data)
        return "mut.ini", [], ["mut.ini", *SECTIONS]
    if family == "native":
        with open("mut.h5", "wb") as f:
            f.write(data)
        mcrun.write_config("run.ini", "[model]\npath = mut.h5\n[cluster]\nk = 4\n[output]\noverwrite = true\n")
        return "run.ini", [], ["mut.h5"]
    if family == "safetensors":
        with open("mut.safetensors", "wb") as f:
            f.write(data)
        mcrun.write_config("run.ini", "[model]\npath = mut.safetensors\ninfer = mlp\n[cluster]\nk = 4\n[output]\noverwrite = true\n")
        return "run.ini", [], ["mut.safetensors"]
    # Even cases: a plain IDX file (the header parser); odd ones: the same mutations inside gzip's stream.
    shutil.rmtree("mutidx", ignore_errors=True)
    os.makedirs("mutidx")
    if case % 2 == 0:
        with open("mutidx/train-images-idx3-ubyte", "wb") as f:
            f.write(data)
    else:
        with open("mutidx/train-images-idx3-ubyte.gz", "wb") as f:
            f.write(gzip.compress(data, mtime=0))
    with open("mutidx/train-labels-idx1-ubyte", "wb") as f:
        f.write(idx_labels)
    mcrun.write_config("run.ini", "[model]\npath = fashion.safetensors\ninfer = mlp\n[graph]\nkind = activations\nact_samples = 200\n"
                       "[data]\nsource = mutidx\n[cluster]\nk = 4\n[output]\noverwrite = true\n")
    return "run.ini", [], ["mutidx/train-images-idx3-ubyte", "mutidx/train-labels-idx1-ubyte"]


def classify(code, stderr, names):
    if code is None:
        return "hang", ""
    msgs = [l for l in stderr.splitlines() if l.startswith("modclust-mpi: error")]
    first = msgs[0] if msgs else ""
    if code < 0 or code in (134, 137, 139) or "AddressSanitizer" in stderr or "runtime error:" in stderr or "Segmentation" in stderr or "crashed (signal" in stderr:
        return "crash", first
    if code == 0:
        return "ran", ""
    if len(msgs) == 1 and any(n in first for n in names):
        return "clean", first
    return "unclear", first or stderr.strip()[-300:]


ranks = [int(r) for r in args.ranks.split(",")]
families = args.families.split(",")
counts = {(f, r): {} for f in families for r in ranks}
t_start = time.time()
with open("cases.csv", "w", newline="") as fcsv:
    out = csv.writer(fcsv)
    out.writerow(["family", "ranks", "case", "outcome", "seconds", "message"])
    for family in families:
        for i in range(args.n):
            rng = np.random.default_rng([args.seed, families.index(family), i])
            data = mutate(base[family], rng, text=family == "ini")
            cfg, extra, names = case_files(family, data, i)
            for r in ranks:
                shutil.rmtree("out", ignore_errors=True)
                t0 = time.time()
                if r == 1:  # one rank runs as an MPI singleton, as a user may run it: mpiexec adds 2 s to every failure
                    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
                    p = subprocess.Popen([os.path.join(mcrun.BIN, "modclust-mpi"), cfg, "output.dir=out", *extra], stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True, errors="replace", env=env, start_new_session=True)
                else:
                    p = mcrun.start(r, [cfg, "output.dir=out", *extra], start_new_session=True, errors="replace")
                try:
                    _, se = p.communicate(timeout=args.timeout)
                    code = p.returncode
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, 9)
                    _, se = p.communicate()
                    code = None
                outcome, msg = classify(code, se, names)
                counts[(family, r)][outcome] = counts[(family, r)].get(outcome, 0) + 1
                out.writerow([family, r, i, outcome, f"{time.time() - t0:.2f}", msg])
                if outcome not in ("clean", "ran"):
                    keep = os.path.join("keep", f"{family}-{i}-np{r}")
                    os.makedirs(keep, exist_ok=True)
                    with open(os.path.join(keep, "input"), "wb") as f:
                        f.write(data)
                    with open(os.path.join(keep, "stderr"), "w") as f:
                        f.write(se or "")
            fcsv.flush()
shutil.rmtree("out", ignore_errors=True)
kinds = ["clean", "ran", "crash", "hang", "unclear"]
print(f"| family | ranks | cases | {' | '.join(kinds)} |")
print("|---|---:|---:|" + "---:|" * len(kinds))
for (f, r), c in counts.items():
    print(f"| {f} | {r} | {sum(c.values())} | " + " | ".join(str(c.get(k, 0)) for k in kinds) + " |")
print(f"({time.time() - t_start:.0f} s; cases in {work}/cases.csv, inputs of the bad ones in {work}/keep)")
bad = sum(c.get(k, 0) for c in counts.values() for k in ("crash", "hang", "unclear"))
sys.exit(1 if bad else 0)
