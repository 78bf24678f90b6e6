"""Shared helpers of the end-to-end tests: run the executables the way a user does, under mpiexec."""
import os
import shlex
import subprocess
import sys

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


def write_config(path, text):
    with open(path, "w") as f:
        f.write(text)


def check(cond, msg):
    if not cond:
        sys.exit("FAILED: " + msg)
