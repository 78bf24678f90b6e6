#!/usr/bin/python3
"""Faults: a full disk (a small tmpfs), an output path that is a file, a read-only output location, two runs
into the same output directory at once, one rank killed as each stage starts (a lost node).
- Output faults must end every rank with one clear message, no crash (a signal), and leave the previous
  output as it was: no half-written or staging directory, no lock file.
- A second run into a directory that a running job writes to is refused at once, naming the directory; the
  first run's results are the only ones written. Two runs into two directories at once both succeed alike.
- A rank killed (-mc_fault_kill STAGE: the last rank kills itself with SIGKILL as STAGE starts) ends the
  whole job within 10 s with no output directory; the same command then succeeds and leaves no lock or
  checkpoint file behind.

The full-disk and read-only cases mount a tmpfs and need root (as another user the read-only case uses
permission bits and the full-disk case is skipped)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import mcrun

work = os.path.abspath("faults")
disk = os.path.join(work, "disk")
subprocess.run(["umount", disk], capture_output=True)
shutil.rmtree(work, ignore_errors=True)
os.makedirs(disk)
os.chdir(work)
NP = 2

mcrun.synth(os.path.join(work, "model.h5"), [24, 16, 12, 8], 2)
mcrun.write_config("run.ini", "[model]\npath = model.h5\n[cluster]\nk = 4\n[clusterability]\nn_shuffles = 4\n")
failures = []


def expect_clean_failure(name, out, fragments, args=()):
    """Run into output dir `out`; it must fail with one error line holding every fragment and no signal."""
    code, stdout, stderr = mcrun.run(NP, ["run.ini", "output.dir=" + out, "output.overwrite=true", *args], timeout=120)
    msgs = [l for l in stderr.splitlines() if l.startswith("modclust-mpi: error")]
    problems = []
    if code == 0:
        problems.append("exit status 0")
    if "signal" in stderr or "Segmentation" in stderr:
        problems.append("a rank died of a signal")
    if len(msgs) != 1:
        problems.append(f"{len(msgs)} error lines instead of one")
    problems += [f"message lacks {f!r}" for f in fragments if f not in " ".join(msgs)]
    parent = os.path.dirname(os.path.abspath(out))
    base = os.path.basename(out)
    left = [e for e in os.listdir(parent) if e.startswith(base + ".partial") or e.startswith(base + ".old") or e.endswith(".lock")]
    if left:
        problems.append(f"left behind: {left}")
    print(f"{name:28s} {'ok' if not problems else 'FAIL: ' + '; '.join(problems)}\n    {msgs[0] if msgs else stderr[-400:]}")
    if problems:
        failures.append(f"{name}: {'; '.join(problems)}\n--- stderr\n{stderr}")
    return stderr


def snapshot(d):
    return {f: open(os.path.join(d, f), "rb").read() for f in sorted(os.listdir(d))}


# An output path that is a regular file.
with open("afile", "w") as f:
    f.write("not a directory\n")
expect_clean_failure("output path is a file", "afile", ["afile"])

# A read-only output location: a read-only tmpfs as root (root ignores permission bits), else mode 555.
os.makedirs("ro")
if os.geteuid() == 0:
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", "ro"], capture_output=True, text=True)
    if r.returncode != 0:
        print("read-only tmpfs mount failed, read-only case skipped:", r.stderr.strip())
    else:
        try:
            expect_clean_failure("read-only location", "ro/out", ["ro/out", "not writable"])
        finally:
            subprocess.run(["umount", "ro"], capture_output=True)
else:
    os.chmod("ro", 0o555)
    expect_clean_failure("read-only location", "ro/out", ["ro/out", "not writable"])
    os.chmod("ro", 0o755)

# Two runs into one output directory at once: the second is refused while the first holds the directory
# (the first's ranks are frozen with SIGSTOP meanwhile, so it cannot finish first on a fast machine).
mcrun.write_config("long.ini", "[model]\npath = model.h5\n[cluster]\nk = 4\nseed = 11\n[clusterability]\nn_shuffles = 400\n")
out = os.path.join(work, "shared")
first = mcrun.start(NP, ["long.ini", "output.dir=" + out])
t0 = time.time()
while not os.path.exists(out + ".lock") and first.poll() is None and time.time() - t0 < 60:
    time.sleep(0.02)
ranks = [int(k) for k in subprocess.run(["pgrep", "-P", str(first.pid)], capture_output=True, text=True).stdout.split()]
for k in ranks:
    os.kill(k, signal.SIGSTOP)
try:
    before = sorted(os.listdir(work))
    code, so, se = mcrun.run(NP, ["run.ini", "output.dir=" + out, "output.overwrite=true"], timeout=60)
    still_running = first.poll() is None
    after = sorted(os.listdir(work))
finally:
    for k in ranks:
        os.kill(k, signal.SIGCONT)
first.communicate(timeout=240)
msgs = [l for l in se.splitlines() if l.startswith("modclust-mpi: error")]
if not still_running:
    failures.append("two runs: the first run ended before the second started; make it longer")
elif code == 0 or len(msgs) != 1 or "output directory " + out not in msgs[0] or "in use by another run" not in msgs[0]:
    failures.append(f"two runs: the second was not refused with one message naming the directory (exit {code}):\n{se}")
if [e for e in after if e not in before]:
    failures.append(f"two runs: the refused run created {[e for e in after if e not in before]}")
if first.returncode != 0:
    failures.append(f"two runs: the first run failed (exit {first.returncode})")
elif json.load(open(os.path.join(out, "summary.json")))["clusterability"]["n_shuffles"] != 400:
    failures.append("two runs: the output is not the first run's")
print(f"{'two runs, one output dir':28s} {'ok' if not [f for f in failures if f.startswith('two runs')] else 'FAIL'}\n    {msgs[0] if msgs else ''}")

# Two runs of the same configuration at once into two output directories: both succeed with the same
# results (each has its own lock and checkpoint files).
outs = [os.path.join(work, "twin_a"), os.path.join(work, "twin_b")]
procs = [mcrun.start(NP, ["run.ini", "output.dir=" + o]) for o in outs]
codes = [p.communicate(timeout=240) and p.returncode for p in procs]
if codes != [0, 0]:
    failures.append(f"two runs into two directories: exit statuses {codes}")
else:
    a, b = (json.load(open(os.path.join(o, "summary.json"))) for o in outs)
    if a["clusterability"]["ncut_shuffled"] != b["clusterability"]["ncut_shuffled"] or a["clustering"] != b["clustering"]:
        failures.append("two runs into two directories: their results differ")
print(f"{'two runs, two output dirs':28s} {'ok' if codes == [0, 0] else 'FAIL'}")

# One rank killed as each stage starts (the graph of activations, the eigensolve, the null, importance).
DATA = "/usr/share/datasets/fashion-mnist"
if os.path.exists(os.path.join(DATA, "t10k-images-idx3-ubyte.gz")):
    fashion = os.path.join(mcrun.SRC, "inputs", "fashion_mlp.h5")
    mcrun.write_config("kill.ini", f"[model]\npath = {fashion}\n[graph]\npartitionings = weights_global, activations_global\n"
                       f"[cluster]\nk = 8\n[clusterability]\nn_shuffles = 8\n[data]\nsource = {DATA}\n"
                       "[importance]\nenabled = true\nn_random = 4\n")
    for stage in ("graph", "spectral", "null", "lesion"):
        out = os.path.join(work, "killed_" + stage)
        t0 = time.time()
        code, so, se = mcrun.run(NP, ["kill.ini", "output.dir=" + out, "-mc_fault_kill", stage], timeout=120)
        took = time.time() - t0
        problems = []
        if code == 0:
            problems.append("exit status 0")
        if took > 10 + (4 if stage == "lesion" else 0):  # importance starts about 4 s into the run
            problems.append(f"the job took {took:.1f} s to end")
        if os.path.exists(out):
            problems.append("an output directory was written")
        mcrun.run_ok(NP, ["kill.ini", "output.dir=" + out], timeout=200)
        left = [e for e in os.listdir(work) if e.startswith(os.path.basename(out) + ".")]
        if left:
            problems.append(f"the rerun left {left}")
        print(f"{'rank killed: ' + stage:28s} {'ok' if not problems else 'FAIL: ' + '; '.join(problems)} (job ended after {took:.1f} s, exit {code})")
        if problems:
            failures.append(f"rank killed at {stage}: {'; '.join(problems)}\n--- stderr\n{se}")
else:
    print("no Fashion-MNIST: the rank-kill cases are skipped")

# A full disk: a good run first, then the same run with overwrite on a disk filled to the brim.
if os.geteuid() == 0:
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", disk], capture_output=True, text=True)
    if r.returncode != 0:
        print("tmpfs mount failed, full-disk case skipped:", r.stderr.strip())
    else:
        try:
            out = os.path.join(disk, "out")
            mcrun.run_ok(NP, ["run.ini", "output.dir=" + out])
            before = snapshot(out)

            def fill(keep):
                st = os.statvfs(disk)
                with open(os.path.join(disk, "filler"), "wb") as f:
                    f.write(b"\0" * max(0, st.f_bavail * st.f_frsize - keep))

            # Full before the null: its checkpoint cannot be written (a warning; the run goes on), then
            # the results cannot be either.
            fill(0)
            err = expect_clean_failure("full disk from the start", out, [disk, "No space left on device"])
            if "warning: cannot write the checkpoint file" not in err:
                failures.append("full disk from the start: no warning that the checkpoint could not be written")
            os.remove(os.path.join(disk, "filler"))
            # A few kB left and no checkpoint: the failure comes inside results.h5.
            fill(12 * 1024)
            expect_clean_failure("full disk at results.h5", out, [disk, "No space left on device"],
                                 ["clusterability.checkpoint=false"])
            os.remove(os.path.join(disk, "filler"))
            if snapshot(out) != before:
                failures.append("full disk: the previous output changed")
            # With room again the same command succeeds (nothing left in the way).
            mcrun.run_ok(NP, ["run.ini", "output.dir=" + out, "output.overwrite=true"])
        finally:
            subprocess.run(["umount", disk], capture_output=True)
else:
    print("not root: full-disk case skipped")

if failures:
    sys.exit("FAILED:\n" + "\n".join(failures))
print("faults handled cleanly")
