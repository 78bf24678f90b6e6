"""jobs/ under a real Slurm: a private single-node cluster (slurm_local.py) started by this test.

1. The README's default job through jobs/slurm.sbatch on 2 tasks: completes with the README's outputs,
   the same numbers as the same job under mpiexec, launched through PMIx.
2. scancel during a long clusterability null, then the same sbatch command again: the second job resumes
   from the checkpoint and ends with the p-value (and every shuffled n-cut) of an uninterrupted run; the
   progress lines never claim more than was done.
3. A time limit shorter than the null: the job stops itself before the limit, requeues itself, resumes and
   completes with the uninterrupted run's p-value.
4. jobs/study.sh: one config over two models and two rank counts (job arrays), one CSV; the n-cuts and
   p-values do not depend on the rank count.
Needs root (slurmd starts jobs as their user); run by tools/quickstart.sh test, which installs Slurm."""
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "regress"))
import mcrun  # noqa: E402
from mcrun import check  # noqa: E402
from slurm_local import LocalSlurm  # noqa: E402

SRC = os.path.abspath(mcrun.SRC)
EXE = os.path.join(os.path.abspath(mcrun.BIN), "modclust-mpi")
WORK = os.path.abspath("slurm_ctest")
ENV = {"MC_EXE": EXE}
NULL_ARGS = ["clusterability.n_shuffles=400", "importance.enabled=false"]


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def summary(d):
    with open(os.path.join(d, "summary.json")) as f:
        return json.load(f)


def direct(out, extra):
    """The same job under mpiexec on 2 ranks, no Slurm: the oracle."""
    mcrun.run_ok(2, ["inputs/default.ini", f"output.dir={out}", *extra], cwd=SRC, timeout=300)
    return summary(out)


def wait_for_progress(log, at_least, timeout=120):
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        if os.path.exists(log):
            done = [int(x) for x in re.findall(r"\[null\] ~(\d+)/", read(log))]
            if done and done[-1] >= at_least:
                return
        time.sleep(0.3)
    sys.exit(f"FAILED: no null progress to {at_least} in {log} within {timeout} s:\n{read(log) if os.path.exists(log) else ''}")


def same_null(a, b, what):
    ca, cb = a["clusterability"], b["clusterability"]
    check(ca["ncut_shuffled"] == cb["ncut_shuffled"], f"{what}: shuffled n-cuts differ from the uninterrupted run")
    check(ca["p_value"] == cb["p_value"] and ca["z_score"] == cb["z_score"], f"{what}: p {ca['p_value']} z {ca['z_score']}, uninterrupted p {cb['p_value']} z {cb['z_score']}")


def default_job(slurm):
    log = os.path.join(WORK, "default.log")
    out = os.path.join(WORK, "default")
    job = slurm.sbatch(["--ntasks=2", f"--output={log}", "jobs/slurm.sbatch", "inputs/default.ini", f"output.dir={out}"], cwd=SRC, env=ENV)
    j = slurm.wait(job, {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"}, 300)
    text = read(log)
    check(j["JobState"] == "COMPLETED", f"default job ended {j['JobState']} ({j.get('ExitCode')}):\n{text}")
    for f in ("results.h5", "summary.json", "report.md", "clusters.csv"):
        check(os.path.exists(os.path.join(out, f)), f"default job: no {f} in {out}")
    check("srun --mpi=pmix" in text and "finished" in text, f"default job log lacks the launch or end line:\n{text}")
    s, ref = summary(out), direct(os.path.join(WORK, "default_direct"), [])
    check(s["n_ranks"] == 2, f"default job ran on {s['n_ranks']} ranks, not 2")
    check(s["clustering"]["ncut"] == ref["clustering"]["ncut"], "default job: n-cut differs from mpiexec's")
    same_null(s, ref, "default job")
    check(s["importance"]["combined"] == ref["importance"]["combined"], "default job: importance differs from mpiexec's")
    print(f"default job: COMPLETED on 2 tasks, n-cut {s['clustering']['ncut']:.4f}, p {s['clusterability']['p_value']:.4g}, as under mpiexec")


def cancel_and_resume(slurm, ref):
    log = os.path.join(WORK, "resume.log")
    out = os.path.join(WORK, "resume")
    args = ["--ntasks=2", f"--output={log}", "jobs/slurm.sbatch", "inputs/default.ini", f"output.dir={out}", *NULL_ARGS]
    job = slurm.sbatch(args, cwd=SRC, env=ENV)
    wait_for_progress(log, 60)
    slurm.scancel(job)
    j = slurm.wait(job, {"CANCELLED", "COMPLETED", "FAILED"}, 120)
    text = read(log)
    check(j["JobState"] == "CANCELLED", f"cancelled job ended {j['JobState']}:\n{text}")
    m = re.search(r"stopped early .* with (\d+) of 400 tasks done", text)
    check(m and "stopped early (cancelled) with its work saved" in text, f"cancelled job does not say it stopped cleanly:\n{text}")
    n_done = int(m.group(1))
    shown = [int(x) for x in re.findall(r"\[null\] ~(\d+)/", text)]
    # A progress line extrapolates rank 0's share of finished tasks ("~"): it may run ahead of the true count by
    # the imbalance between the ranks (a few tasks on a loaded machine), never by the tasks still running.
    check(max(shown) <= n_done + max(2, n_done // 10), f"progress claimed {max(shown)} tasks, but {n_done} were done")
    check(not os.path.exists(out), "a cancelled job left an output directory")
    check(any(f.startswith("resume.ckpt-") for f in os.listdir(WORK)), "a cancelled job left no checkpoint")

    job2 = slurm.sbatch(args, cwd=SRC, env=ENV)
    j = slurm.wait(job2, {"COMPLETED", "FAILED", "CANCELLED"}, 300)
    text = read(log)
    check(j["JobState"] == "COMPLETED", f"resubmitted job ended {j['JobState']}:\n{text}")
    m = re.search(r"resuming from checkpoint .*: (\d+) of 400 tasks already done", text)
    check(m and int(m.group(1)) == n_done, f"resubmitted job did not resume the {n_done} finished tasks:\n{text}")
    same_null(summary(out), ref, "cancelled and resubmitted null")
    print(f"scancel after {n_done}/400 shuffles, same sbatch again: resumed, p = {ref['clusterability']['p_value']:.4g} as uninterrupted")


def time_limit_requeue(slurm, ref):
    log = os.path.join(WORK, "requeue.log")
    out = os.path.join(WORK, "requeue")
    # A 1-minute limit with a 50 s margin: the job is asked to stop 10 s in, mid-null, and requeues itself.
    job = slurm.sbatch(["--ntasks=2", "--time=1", f"--output={log}", "jobs/slurm.sbatch", "inputs/default.ini", f"output.dir={out}", *NULL_ARGS],
                       cwd=SRC, env=dict(ENV, MC_STOP_MARGIN="50"))
    j = slurm.wait(job, {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"}, 400)
    text = read(log)
    check(j["JobState"] == "COMPLETED", f"time-limited job ended {j['JobState']} ({j.get('ExitCode')}):\n{text}")
    check(int(j["Restarts"]) >= 1 and "requeueing (restart 1" in text, f"time-limited job did not requeue itself:\n{text}")
    check(re.search(r"resuming from checkpoint .*: [1-9]\d* of 400 tasks already done", text), f"requeued job did not resume:\n{text}")
    same_null(summary(out), ref, "requeued null")
    print(f"--time=1: stopped before the limit, requeued {j['Restarts']}x, completed with the uninterrupted p")


def study(slurm, default_ncut):
    d = os.path.join(WORK, "study")
    r = subprocess.run(["bash", "jobs/study.sh", "inputs/default.ini", "1,2", "inputs/fashion_mlp.h5", "inputs/halves_mlp.h5", "--",
                        "clusterability.n_shuffles=10", "importance.enabled=false"],
                       cwd=SRC, capture_output=True, text=True, timeout=60, env=dict(slurm.env, STUDY_DIR=d, SBATCH_ARGS="--mem-per-cpu=1G", **ENV))
    check(r.returncode == 0, f"jobs/study.sh failed:\n{r.stdout}{r.stderr}")
    m = re.search(r"collected by job (\d+)", r.stdout)
    check(m, f"jobs/study.sh printed no collecting job:\n{r.stdout}")
    j = slurm.wait(m.group(1), {"COMPLETED", "FAILED", "CANCELLED"}, 300)
    check(j["JobState"] == "COMPLETED", f"study collection ended {j['JobState']}:\n{read(os.path.join(d, 'logs', 'collect.out'))}")
    with open(os.path.join(d, "results.csv")) as f:
        rows = list(csv.DictReader(f))
    check(len(rows) == 4 and all(x["state"] == "done" for x in rows), f"study CSV: {rows}")
    for model in ("fashion_mlp.h5", "halves_mlp.h5"):
        a, b = [x for x in rows if x["model"] == model]
        check({a["ranks"], b["ranks"]} == {"1", "2"}, f"study CSV ranks for {model}: {a['ranks']}, {b['ranks']}")
        check(a["ncut"] == b["ncut"] and a["null_p"] == b["null_p"], f"study: {model} differs between 1 and 2 ranks: {a} {b}")
    fashion = next(x for x in rows if x["model"] == "fashion_mlp.h5")
    check(float(fashion["ncut"]) == default_ncut, f"study: fashion_mlp n-cut {fashion['ncut']} is not the default job's {default_ncut}")
    print("study: 2 models x 1, 2 ranks as job arrays, one CSV, identical n-cuts and p-values across rank counts")


def main():
    if os.geteuid() != 0:
        print("SKIPPED: a private slurmd must run as root to start jobs")
        sys.exit(77)
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    with LocalSlurm(os.path.join(WORK, "cluster")) as slurm:
        default_job(slurm)
        ref = direct(os.path.join(WORK, "null_direct"), NULL_ARGS)
        cancel_and_resume(slurm, ref)
        time_limit_requeue(slurm, ref)
        study(slurm, summary(os.path.join(WORK, "default"))["clustering"]["ncut"])
    print("PASSED")


if __name__ == "__main__":
    main()
