#!/usr/bin/python3
"""Checkpoint and resume of the clusterability null: a run stopped after some shuffles (the test-only
option -null_stop_after, twice in a row, then resumed at another rank count), a run killed with SIGKILL and one
sent SIGTERM midway all finish, on rerun, with results equal to an uninterrupted run; a changed configuration or
eigensolver option does not reuse the checkpoint (a reporting option does); a second run on the same checkpoint
while the first runs is refused; the checkpoint is removed after success."""
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

work = os.path.abspath("null_resume")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)


def ckpt_entries(prefix_dir, out):
    """The checkpoint files of output dir `out` and the shuffles recorded in them (shuffle s has key s)."""
    files, records = mcrun.checkpoint_records(os.path.join(prefix_dir, os.path.basename(out)))
    return files, {k for _, k in records if k < 2**62}


def alive(pid):
    """Whether process `pid` still runs (exists and is not a zombie)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def read(out):
    with h5py.File(os.path.join(out, "results.h5"), "r") as f:
        g = f["clusterability"]
        return g["ncut_shuffled"][...], g["p_value"][()], g["z_score"][()], g.attrs["n_resumed"]


# --- Stop and resume, on a small structureless network. ---
iid = os.path.join(work, "iid.h5")
mcrun.synth(iid, [64, 48, 48, 32, 10], 1, weak=1.0, seed=8)
cfg = os.path.join(work, "iid.ini")
mcrun.write_config(cfg, f"[model]\npath = {iid}\n[cluster]\nk = 4\nseed = 5\n[clusterability]\nn_shuffles = 12\n")
ref_out = os.path.join(work, "ref")
mcrun.run_ok(2, [cfg, f"output.dir={ref_out}"])
ref = read(ref_out)
check(ref[3] == 0, "an uninterrupted run resumes nothing")

out = os.path.join(work, "stopped")
code, so, se = mcrun.run(2, [cfg, f"output.dir={out}", "-null_stop_after", "2"])
check(code == 75, f"a stopped null exits with 75 (stopped, resumable), not {code}")
check("rerun the same command to resume" in se, f"the message says how to resume:\n{se}")
check(not os.path.exists(out), "no output directory for a stopped run")
files, idx = ckpt_entries(work, out)
check(len(idx) == 4 and files, f"2 groups x 2 shuffles checkpointed ({sorted(idx)}, {files})")

code, so, se = mcrun.run(2, [cfg, f"output.dir={out}", "-null_stop_after", "2"])
check(code != 0, "stopped again")
files, idx = ckpt_entries(work, out)
check(len(idx) == 8, f"8 shuffles checkpointed after the second stop ({sorted(idx)})")

# A different configuration (seed) must not pick the checkpoint up.
other = os.path.join(work, "other.ini")
mcrun.write_config(other, f"[model]\npath = {iid}\n[cluster]\nk = 4\nseed = 6\n[clusterability]\nn_shuffles = 12\n")
before = set(ckpt_entries(work, out)[0])
code, so, se = mcrun.run(1, [other, f"output.dir={out}", "-null_stop_after", "1"])
check(code != 0 and "resuming" not in so, "another seed does not resume from this checkpoint")
new = set(ckpt_entries(work, out)[0]) - before
check(len(new) == 1 and all(before_f.split(".ckpt-")[1][:16] != list(new)[0].split(".ckpt-")[1][:16] for before_f in before),
      f"another configuration writes its own checkpoint ({new})")
for e in new:
    os.unlink(os.path.join(work, e))
# Nor may the same configuration with another eigensolver option; a reporting option changes nothing.
for extra, same in ((["-eps_ncv", "30"], False), (["-log_view", ":/dev/null"], True)):
    before = set(ckpt_entries(work, out)[0])
    code, so, se = mcrun.run(1, [cfg, f"output.dir={out}", "-null_stop_after", "1"] + extra)
    check(code != 0 and (("resuming" in so) == same), f"{' '.join(extra)}: {'resumes' if same else 'does not resume'} from the checkpoint")
    new = set(ckpt_entries(work, out)[0]) - before
    check(len(new) == (0 if same else 1), f"{' '.join(extra)}: {'no new' if same else 'its own'} checkpoint file ({new})")
    for e in new:
        os.unlink(os.path.join(work, e))
n_ck = len(ckpt_entries(work, out)[1])
check(n_ck == 9, f"the first configuration's 8 entries are kept, and the resumed run added one ({n_ck})")
shutil.rmtree(out, ignore_errors=True)

# Resume at 1 rank: the checkpoint does not depend on the rank count or group size.
stdout = mcrun.run_ok(1, [cfg, f"output.dir={out}"])
check("resuming from checkpoint" in stdout, "the resume is announced")
res = read(out)
check(res[3] == n_ck, f"{n_ck} shuffles resumed (got {res[3]})")
check(np.array_equal(res[0], ref[0]) and res[1] == ref[1] and res[2] == ref[2], "resumed null equals the uninterrupted one bitwise")
files, _ = ckpt_entries(work, out)
check(not files, f"checkpoint removed after success ({files})")

# --- SIGKILL midway through a real null (trained Fashion-MNIST MLP, k = 12), then resume. The null is long
# enough (48 shuffles, about 2 s on 2 ranks) that the signals below land in it even on a loaded machine. ---
fashion = os.path.join(mcrun.SRC, "inputs", "fashion_mlp.h5")
cfg = os.path.join(work, "fashion.ini")
mcrun.write_config(cfg, f"[model]\npath = {fashion}\n[cluster]\nk = 12\nseed = 42\n[clusterability]\nn_shuffles = 48\n")
ref_out = os.path.join(work, "fashion_ref")
mcrun.run_ok(2, [cfg, f"output.dir={ref_out}"], timeout=200)
ref = read(ref_out)

def start_and_signal(out, n_entries, sig):
    """Start the Fashion null on 2 ranks into `out`; once `n_entries` shuffles are checkpointed, send `sig` to
    its ranks. Return (the mpiexec Popen, the rank pids, the entries seen)."""
    p = mcrun.start(2, [cfg, f"output.dir={out}"], start_new_session=True)
    t0 = time.time()
    while time.time() - t0 < 120 and p.poll() is None:
        seen = len(ckpt_entries(work, out)[1])
        if seen >= n_entries:
            ranks = [int(k) for k in subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True).stdout.split()]
            for k in ranks:
                os.kill(k, sig)
            return p, ranks, seen
        time.sleep(0.02)
    return p, [], 0


out = os.path.join(work, "fashion_killed")
# Each rank is in a process group of its own: killing mpiexec alone would leave them running as orphans.
# Kill the ranks (a lost node), then mpiexec, and wait until no rank is left.
p, ranks, killed_at = start_and_signal(out, 4, signal.SIGKILL)
try:
    os.killpg(p.pid, signal.SIGKILL)
except ProcessLookupError:
    pass  # mpiexec already ended on its ranks' deaths
p.communicate()
while any(alive(k) for k in ranks):
    time.sleep(0.02)
check(len(ranks) == 2, f"the run's 2 ranks were killed after {killed_at} >= 4 shuffles were checkpointed ({ranks})")
check(not os.path.exists(out), "a killed run leaves no output directory")
mcrun.run_ok(2, [cfg, f"output.dir={out}"], timeout=200)
res = read(out)
check(res[3] >= 4, f"at least the {killed_at} checkpointed shuffles were resumed (got {res[3]})")
check(np.array_equal(res[0], ref[0]) and res[1] == ref[1] and res[2] == ref[2], "killed-and-resumed null equals the uninterrupted one bitwise")
check(not ckpt_entries(work, out)[0], "checkpoint removed after success")

# --- A second run of the same configuration and output while the first still runs (here: its ranks are
# frozen with SIGSTOP, as orphaned ranks of a killed launcher would be running) fails at once on the
# checkpoint lock and touches nothing; the first then finishes undisturbed. ---
out = os.path.join(work, "fashion_busy")
p, ranks, _ = start_and_signal(out, 1, signal.SIGSTOP)
check(len(ranks) == 2, f"the first run's 2 ranks were stopped midway ({ranks})")
before = sorted(os.listdir(work))
try:
    code, so, se = mcrun.run(2, [cfg, f"output.dir={out}"], timeout=60)
    # Listed before the first run continues: once it does, it writes its own checkpoint files again.
    after = sorted(os.listdir(work))
finally:
    for k in ranks:
        os.kill(k, signal.SIGCONT)
check(code != 0 and "is in use by another run" in se and ".lock" in se, f"the second run is refused:\n{se}")
check(after == before, f"the refused run wrote nothing (before {before}, after {after})")
so, se = p.communicate(timeout=200)
check(p.returncode == 0, f"the first run finishes:\n{se}")
res = read(out)
check(np.array_equal(res[0], ref[0]) and res[1] == ref[1] and res[2] == ref[2], "the first run's null is unchanged")
check(not ckpt_entries(work, out)[0], "checkpoint and lock removed after success")

# --- SIGTERM to the ranks (what Slurm's --signal does): the current shuffles finish, the run stops with a
# message and a non-zero exit, and a rerun resumes. ---
out = os.path.join(work, "fashion_term")
p, ranks, _ = start_and_signal(out, 2, signal.SIGTERM)
so, se = p.communicate(timeout=120)
check(len(ranks) == 2, f"SIGTERM sent to the 2 ranks ({ranks})")
check(p.returncode == 75 and "stopped early" in se and "resume" in se, f"SIGTERM: the run stops (exit 75, not {p.returncode}) and says how to resume:\n{se}")
mcrun.run_ok(2, [cfg, f"output.dir={out}"], timeout=200)
res = read(out)
check(0 < res[3] < 48, f"the rerun resumed the shuffles done before SIGTERM ({res[3]})")
check(np.array_equal(res[0], ref[0]), "SIGTERM-stopped and resumed null equals the uninterrupted one bitwise")

# --- SIGTERM after the null, during importance: the run stops cleanly (exit 75) at its next task, writes
# nothing, keeps the whole null in the checkpoint, and the rerun resumes all of it. ---
out = os.path.join(work, "fashion_term_late")
with open(cfg, "a") as f:
    f.write("[data]\nsource = /usr/share/datasets/fashion-mnist\n[importance]\nenabled = true\nn_random = 19\n")
p, ranks, seen = start_and_signal(out, 48, signal.SIGTERM)
so, se = p.communicate(timeout=200)
check(len(ranks) == 2 and seen == 48, f"SIGTERM sent to the 2 ranks after the null ({ranks}, {seen} entries)")
check(p.returncode == 75 and ("importance test stopped early" in se or "Stopped early (SIGTERM) before" in se),
      f"SIGTERM after the null: a clean stop (exit 75, not {p.returncode}) naming what stopped:\n{se}")
check(not os.path.exists(out) and len(ckpt_entries(work, out)[1]) == 48, "nothing written, the whole null kept")
stdout = mcrun.run_ok(2, [cfg, f"output.dir={out}"], timeout=200)
check("48 of 48 tasks already done" in stdout, f"the rerun resumes the whole null:\n{stdout}")
print(f"null resume: OK (killed after {killed_at} shuffles, {res[3]} resumed)")
