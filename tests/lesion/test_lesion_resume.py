#!/usr/bin/python3
"""Checkpoint and resume of the importance (lesion) test, on the trained Fashion-MNIST MLP and its test set:
- a run stopped after some tasks (the test-only option -lesion_stop_after) exits 75, writes no output and
  keeps the finished tasks; a rerun with more random draws finds the same tasks (a task is keyed by
  sub-cluster and draw); the rerun at another rank count resumes them and ends with /importance bitwise
  equal to an uninterrupted run, and removes the checkpoint;
- SIGKILL of one rank midway ends the whole job within 10 s with no output; the rerun resumes;
- SIGTERM to the ranks stops the run cleanly (exit 75) at the next task; the rerun resumes;
- another partition (another seed) does not pick the checkpoint up;
- a rank file left ending in half a line is appended to without losing the next record."""
import os
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "regress"))
import mcrun  # noqa: E402
from mcrun import check  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"
work = os.path.abspath("lesion_resume")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
fashion = os.path.join(mcrun.SRC, "inputs", "fashion_mlp.h5")


def config(name, n_random, seed=42):
    path = os.path.join(work, name)
    mcrun.write_config(path, f"""[model]
path = {fashion}
[cluster]
k = 12
seed = {seed}
[data]
source = {DATA}
[importance]
enabled = true
n_random = {n_random}
control = random_partition
""")
    return path


def records(out):
    """Checkpoint files beside output dir `out` but the lock, and the (file hash, key) pairs of their records."""
    files, keys = mcrun.checkpoint_records(out)
    return [f for f in files if not f.endswith(".lock")], keys


def importance(out):
    res = {}
    with h5py.File(os.path.join(out, "results.h5"), "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                res[name] = obj[...]
        f["importance"].visititems(visit)
    return res


def same(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k], equal_nan=a[k].dtype.kind == "f") for k in a)


cfg = config("fashion.ini", 9)
ref_out = os.path.join(work, "ref")
mcrun.run_ok(2, [cfg, f"output.dir={ref_out}"], timeout=200)
ref = importance(ref_out)
check(len(ref) > 10, f"the reference has its /importance datasets ({sorted(ref)})")

# --- Stop after 20 tasks per rank, twice (the second time with more draws), then resume at 1 rank. ---
out = os.path.join(work, "stopped")
code, so, se = mcrun.run(2, [cfg, f"output.dir={out}", "-lesion_stop_after", "20"], timeout=200)
check(code == 75, f"a stopped importance test exits with 75, not {code}:\n{se}")
check("importance test stopped early" in se and "rerun the same command to resume" in se, f"the message says what stopped and how to resume:\n{se}")
check(not os.path.exists(out), "no output directory for a stopped run")
files, keys = records(out)
check(len(keys) == 40 and len({h for h, _ in keys}) == 1, f"2 ranks x 20 tasks of the network's test checkpointed ({len(keys)} keys in {files})")

more = config("more.ini", 19)
code, so, se = mcrun.run(2, [more, f"output.dir={out}", "-lesion_stop_after", "1"], timeout=200)
check(code == 75 and "40 of 260 tasks already done" in so, f"19 draws find the 40 tasks of the 9-draw run (keys are sub-cluster and draw):\n{so}")
files, keys = records(out)
check(len(keys) == 42, f"the 19-draw run added its 2 tasks to the same checkpoint ({len(keys)})")
n_small = sum(1 for _, k in keys if (k & 0xFFFFFFFF) <= 9)

so = mcrun.run_ok(1, [cfg, f"output.dir={out}"], timeout=200)
check(f"{n_small} of 130 tasks already done" in so, f"the rerun at 1 rank resumes the {n_small} tasks with draws it uses:\n{so}")
check(same(importance(out), ref), "stopped and resumed /importance equals the uninterrupted run bitwise")
check(not records(out)[0], f"checkpoint removed after success ({records(out)[0]})")

# --- Another partition (seed) must not resume from a checkpoint of this one. ---
out = os.path.join(work, "other")
code, so, se = mcrun.run(2, [cfg, f"output.dir={out}", "-lesion_stop_after", "3"], timeout=200)
check(code == 75, "stopped")
code, so, se = mcrun.run(2, [config("seed.ini", 9, seed=7), f"output.dir={out}", "-lesion_stop_after", "1"], timeout=200)
check(code == 75 and "resuming" not in so, f"another seed computes its own tasks:\n{so}")
check(len({h for h, _ in records(out)[1]}) == 2, "each partition keeps its own checkpoint")


# --- A rank file that ends in the middle of a line (its writer was killed there) and holds no complete record:
# the next run appends to it, and its records must not be glued to that half line. ---
out = os.path.join(work, "halfline")
code, so, se = mcrun.run(1, [cfg, f"output.dir={out}", "-lesion_stop_after", "1"], timeout=200)
files, keys = records(out)
check(code == 75 and len(files) == 1 and len(keys) == 1, f"one task in one rank file ({files}, {keys})")
with open(os.path.join(work, files[0]), "r+") as f:
    header = f.readline()
    f.seek(0)
    f.truncate()
    f.write(header + "5 0x1.8p+3 0x1")
code, so, se = mcrun.run(1, [cfg, f"output.dir={out}", "-lesion_stop_after", "2"], timeout=200)
check(code == 75 and "resuming" not in so and len(records(out)[1]) == 2, f"both new tasks are readable after the half line ({records(out)[1]})")
so = mcrun.run_ok(2, [cfg, f"output.dir={out}"], timeout=200)
check("2 of 130 tasks already done" in so, f"the rerun resumes the 2 tasks:\n{so}")
check(same(importance(out), ref), "resumed after a half line: /importance equals the uninterrupted run bitwise")


def start_and_signal(out, n_keys, sig, which):
    """Start the run on 2 ranks into `out`; once n_keys tasks are checkpointed, send sig to the ranks listed in
    `which` (indices into the rank pids). Return (Popen, rank pids, time of the signal)."""
    p = mcrun.start(2, [cfg, f"output.dir={out}"], start_new_session=True)
    t0 = time.time()
    while time.time() - t0 < 150 and p.poll() is None:
        if len(records(out)[1]) >= n_keys:
            ranks = sorted(int(k) for k in subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True).stdout.split())
            for i in which:
                os.kill(ranks[i], sig)
            return p, ranks, time.time()
        time.sleep(0.02)
    return p, [], time.time()


# --- SIGKILL of one rank (a lost node): the job ends within 10 s; the rerun resumes. ---
out = os.path.join(work, "killed")
p, ranks, t_kill = start_and_signal(out, 10, signal.SIGKILL, [1])
try:
    p.communicate(timeout=60)
except subprocess.TimeoutExpired:
    os.killpg(p.pid, signal.SIGKILL)
    p.communicate()
ended = time.time() - t_kill
check(len(ranks) == 2, f"one of the 2 ranks was killed ({ranks})")
check(p.returncode != 0 and ended < 10, f"the job ends within 10 s of losing a rank (exit {p.returncode} after {ended:.1f} s)")
check(not os.path.exists(out), "a killed run leaves no output directory")
n_kept = len(records(out)[1])
so = mcrun.run_ok(2, [cfg, f"output.dir={out}"], timeout=200)
check(f"{n_kept} of 130 tasks already done" in so, f"the rerun resumes the {n_kept} checkpointed tasks:\n{so}")
check(same(importance(out), ref), "killed and resumed /importance equals the uninterrupted run bitwise")

# --- SIGTERM to both ranks (Slurm's --signal): a clean stop at the next task, then resume. ---
out = os.path.join(work, "term")
p, ranks, t_term = start_and_signal(out, 10, signal.SIGTERM, [0, 1])
so, se = p.communicate(timeout=120)
check(p.returncode == 75 and "importance test stopped early" in se, f"SIGTERM: exit 75 (not {p.returncode}) naming what stopped:\n{se}")
check(time.time() - t_term < 10, "SIGTERM stops the run within 10 s")
n_kept = len(records(out)[1])
so = mcrun.run_ok(2, [cfg, f"output.dir={out}"], timeout=200)
check(f"{n_kept} of 130 tasks already done" in so, f"the rerun resumes the {n_kept} tasks done before SIGTERM:\n{so}")
check(same(importance(out), ref), "SIGTERM-stopped and resumed /importance equals the uninterrupted run bitwise")
print(f"lesion resume: OK ({n_small} tasks resumed after a stop, {n_kept} after SIGTERM)")
