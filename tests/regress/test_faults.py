#!/usr/bin/python3
"""Faults while writing the output: a full disk (a small tmpfs), an output path that is a file, a
read-only output directory. Each must end every rank with one clear message, no crash (a signal), and
leave the previous output as it was: no half-written or staging directory, no lock file.

The full-disk case mounts a tmpfs and needs root; as another user it is skipped (the rest still runs)."""
import os
import shutil
import subprocess
import sys

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

# A read-only output location (root ignores permission bits, so only as another user).
if os.geteuid() != 0:
    os.makedirs("ro")
    os.chmod("ro", 0o555)
    expect_clean_failure("read-only location", "ro/out", ["ro/out"])
    os.chmod("ro", 0o755)

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
