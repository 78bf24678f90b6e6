"""Shared helpers of the end-to-end tests: run the executables the way a user does, under mpiexec."""
import json
import os
import shlex
import struct
import subprocess
import sys

import numpy as np

BIN = os.environ.get("MC_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
SRC = os.environ.get("MC_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
MPIEXEC = os.environ.get("MC_MPIEXEC", "mpiexec")
MPI_FLAGS = shlex.split(os.environ.get("MC_MPI_FLAGS", "--oversubscribe"))


def start(np, args, exe="modclust-mpi", cwd=None, **popen_kw):
    """Start BIN/exe under mpiexec on np ranks in the background, output piped; return the Popen."""
    cmd = [MPIEXEC, "-n", str(np), *MPI_FLAGS, os.path.join(BIN, exe), *args]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd, **popen_kw)


def run(np, args, timeout=120, exe="modclust-mpi", cwd=None):
    """Run BIN/exe under mpiexec on np ranks; return (exit code, stdout, stderr)."""
    p = start(np, args, exe=exe, cwd=cwd)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise
    return p.returncode, out, err


def run_ok(np, args, **kw):
    code, out, err = run(np, args, **kw)
    if code != 0:
        sys.exit(f"FAILED (exit {code}): {' '.join(map(str, args))}\n--- stdout\n{out}\n--- stderr\n{err}")
    return out


def synth(path, widths, modules, weak=0.05, seed=1, labels=None, extra=()):
    """Write a planted-module MLP with modclust-synth; return the planted labels if asked."""
    args = ["-widths", ",".join(map(str, widths)), "-modules", str(modules), "-weak", str(weak),
            "-seed", str(seed), "-o", path, *extra]
    if labels:
        args += ["-labels", labels]
    run_ok(1, args, exe="modclust-synth")
    if labels:
        with open(labels) as f:
            return [int(x) for x in f.read().split()]
    return None


def checkpoint_records(out):
    """The checkpoint files beside output directory `out` (DIR.ckpt-HASH.*, lock included) and the (HASH, key)
    pairs of the complete records in them (lines of a key and N values after the header 'modclust-checkpoint
    2 N'; the last piece of a file is empty or a line still being written)."""
    parent, base = os.path.dirname(os.path.abspath(out)), os.path.basename(out) + ".ckpt-"
    files = [e for e in os.listdir(parent) if e.startswith(base) and not e.endswith(".tmp")]
    records = set()
    for e in files:
        try:
            lines = open(os.path.join(parent, e)).read().split("\n")
        except FileNotFoundError:
            continue  # renamed away between listdir and open
        if lines[0].startswith("modclust-checkpoint 2 "):
            n = int(lines[0].split()[2])  # values per record: a line with another count is not a record
            records |= {(e[len(base):].split(".")[0], int(line.split()[0])) for line in lines[1:-1] if len(line.split()) == n + 1}
    return files, records


def safetensors_bytes(tensors, pad=b""):
    """A safetensors file of float32 tensors {name: array}, written by hand (Debian has no safetensors
    package); `pad` is put after the header's JSON."""
    header, blobs, off = {}, [], 0
    for name, arr in tensors.items():
        b = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode() + pad
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def write_config(path, text):
    with open(path, "w") as f:
        f.write(text)


def check(cond, msg):
    if not cond:
        sys.exit("FAILED: " + msg)
