"""jobs/laptop.sh and jobs/pbs.sh run as a user runs them (PBS itself is not in Debian: pbs.sh runs with the
environment a PBS job has, PBS_NODEFILE and PBS_O_WORKDIR, which is what its launch line reads).
- laptop.sh uses every core this process may run on, even with OMP_NUM_THREADS=1 already exported (nproc
  honours it), and gives the same answer as mpiexec;
- pbs.sh starts one rank per node-file line and passes CONFIG and ARGS on."""
import json
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "regress"))
import mcrun  # noqa: E402
from mcrun import check  # noqa: E402

SRC = os.path.abspath(mcrun.SRC)
EXE = os.path.join(os.path.abspath(mcrun.BIN), "modclust-mpi")
WORK = os.path.abspath("job_scripts_ctest")
ARGS = ["clusterability.n_shuffles=10", "importance.enabled=false"]


def summary(d):
    with open(os.path.join(d, "summary.json")) as f:
        return json.load(f)


def script(args, env, what):
    r = subprocess.run(["bash", *args], cwd=SRC, capture_output=True, text=True, timeout=300, env=dict(os.environ, MC_EXE=EXE, **env))
    check(r.returncode == 0, f"{what} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")


def main():
    subprocess.run(["rm", "-rf", WORK], check=True)
    os.makedirs(WORK)
    cores = len(os.sched_getaffinity(0))
    script(["jobs/laptop.sh", "inputs/default.ini", f"output.dir={WORK}/laptop", *ARGS], {"OMP_NUM_THREADS": "1"}, "jobs/laptop.sh")
    s = summary(f"{WORK}/laptop")
    check(s["n_ranks"] == cores, f"jobs/laptop.sh ran {s['n_ranks']} ranks on {cores} cores (with OMP_NUM_THREADS=1 set)")
    mcrun.run_ok(cores, ["inputs/default.ini", f"output.dir={WORK}/direct", *ARGS], cwd=SRC)
    ref = summary(f"{WORK}/direct")
    check(s["clusterability"]["p_value"] == ref["clusterability"]["p_value"] and s["clustering"]["ncut"] == ref["clustering"]["ncut"],
          "jobs/laptop.sh differs from mpiexec")

    nodefile = os.path.join(WORK, "nodefile")
    with open(nodefile, "w") as f:
        f.write(f"{socket.gethostname()}\n" * 2)
    script(["jobs/pbs.sh"], {"PBS_NODEFILE": nodefile, "PBS_O_WORKDIR": SRC, "PBS_JOBID": "1.test", "CONFIG": "inputs/default.ini",
                             "ARGS": " ".join([f"output.dir={WORK}/pbs", *ARGS])}, "jobs/pbs.sh")
    s = summary(f"{WORK}/pbs")
    check(s["n_ranks"] == 2, f"jobs/pbs.sh ran {s['n_ranks']} ranks for a 2-line node file")
    check(s["clusterability"]["n_shuffles"] == 10, "jobs/pbs.sh did not pass ARGS on")
    print(f"laptop.sh: {cores} ranks on {cores} cores; pbs.sh: 2 ranks from the node file")
    print("PASSED")


if __name__ == "__main__":
    main()
