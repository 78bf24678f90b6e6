"""Time two builds of modclust-mpi against each other on the same jobs, alternating A and B, and print the
median of each and B/A: the check that a refactoring leaves the benchmarks of docs/performance.md where they
were (timings drift 20-30% minute to minute, so only runs interleaved in one session are compared).

Usage: /usr/bin/python3 bench/ab_builds.py BUILD_A BUILD_B [--np 2] [--repeat 5] [--jobs default,null,planted-9k]

Jobs (whole processes, timed from outside):
  default     the README's default job (inputs/default.ini: 50 shuffles, importance on 10k images)
  null        the clusterability null alone: 50 shuffles of the Fashion MLP, k = 12 (bench_null.py's job)
  planted-9k  clustering the planted 784-2048x4-10 MLP (8986 nodes), k = 16 (bench_vs_sklearn.py's job)
The results.h5 of A and B are also compared (labels and n-cuts must be equal)."""
import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time

import h5py
import numpy as np

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--np", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--jobs", default="default,null,planted-9k")
    a = ap.parse_args()
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", OMPI_MCA_pml="ob1")
    flags = ["--oversubscribe"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
    tmp = tempfile.mkdtemp(prefix="ab-builds-")
    try:
        planted = os.path.join(tmp, "planted.h5")
        subprocess.run([os.path.join(a.a, "modclust-synth"), "-widths", "784,2048,2048,2048,2048,10", "-modules", "16", "-weak", "0.05", "-seed", "1",
                        "-o", planted], check=True, env=env, capture_output=True)
        default_ini = os.path.join(SRC, "inputs", "default.ini")
        jobs = {
            "default": [default_ini],
            "null": [default_ini, "cluster.k=12", "importance.enabled=false"],
            "planted-9k": [default_ini, f"model.path={planted}", "cluster.k=16", "clusterability.n_shuffles=0", "importance.enabled=false"],
        }
        print(f"A = {a.a}\nB = {a.b}\n{a.np} ranks, median of {a.repeat} interleaved runs\n")
        print(f"{'job':<12} {'A s':>8} {'B s':>8} {'B/A':>6}  results")
        for name in a.jobs.split(","):
            times = {"a": [], "b": []}
            for r in range(a.repeat):
                for side in ("a", "b") if r % 2 == 0 else ("b", "a"):
                    out = os.path.join(tmp, f"{name}-{side}")
                    cmd = ["mpiexec", "-n", str(a.np), *flags, os.path.join(getattr(a, side), "modclust-mpi"), *jobs[name], f"output.dir={out}",
                           "output.overwrite=true", "clusterability.checkpoint=false"]
                    t0 = time.perf_counter()
                    subprocess.run(cmd, check=True, env=env, capture_output=True)
                    times[side].append(time.perf_counter() - t0)
            same = compare(os.path.join(tmp, f"{name}-a", "results.h5"), os.path.join(tmp, f"{name}-b", "results.h5"))
            ma, mb = statistics.median(times["a"]), statistics.median(times["b"])
            print(f"{name:<12} {ma:8.2f} {mb:8.2f} {mb / ma:6.2f}  {same}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def compare(pa, pb):
    with h5py.File(pa, "r") as fa, h5py.File(pb, "r") as fb:
        if not np.array_equal(fa["clusters/labels"][...], fb["clusters/labels"][...]):
            return "LABELS DIFFER"
        if fa["clusters"].attrs["ncut"] != fb["clusters"].attrs["ncut"]:
            return "N-CUT DIFFERS"
        if "clusterability" in fa and not np.array_equal(fa["clusterability/ncut_shuffled"][...], fb["clusterability/ncut_shuffled"][...]):
            return "NULL DIFFERS"
        if "importance" in fa and not np.array_equal(fa["importance/p_mean"][...], fb["importance/p_mean"][...]):
            return "IMPORTANCE DIFFERS"
    return "equal"


if __name__ == "__main__":
    main()
