#!/usr/bin/env python3
"""jobs/study_collect.py DIR: one CSV (DIR/results.csv, also printed) of a study made by jobs/study.sh:
a row per (model, ranks) with its graph size, n-cut, clusterability and importance p-values and times,
read from each run's summary.json. Runs without one are listed with their state (missing or stopped).
Python's standard library only, so it runs on any login or compute node."""
import csv
import json
import os
import sys

COLUMNS = ["model", "ranks", "state", "n_nodes", "n_edges", "k", "ncut", "null_n_shuffles", "null_p", "null_z",
           "importance_p_mean", "importance_p_range", "seconds_total", "seconds_null", "seconds_importance", "output"]


def get(d, *path):
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return ""
        d = d[key]
    return d


def row(model, ranks, out):
    r = {"model": os.path.basename(model), "ranks": ranks, "output": out}
    summary = os.path.join(out, "summary.json")
    if not os.path.exists(summary):
        # A stopped run leaves its clusterability checkpoint beside the output directory.
        parent, base = os.path.split(out)
        stopped = os.path.isdir(parent) and any(f.startswith(base + ".ckpt-") for f in os.listdir(parent))
        r["state"] = "stopped (resubmit to resume)" if stopped else "missing"
        return r
    with open(summary) as f:
        s = json.load(f)
    r.update(state="done", n_nodes=get(s, "graph", "n_nodes"), n_edges=get(s, "graph", "n_edges"),
             k=get(s, "clustering", "k"), ncut=get(s, "clustering", "ncut"),
             null_n_shuffles=get(s, "clusterability", "n_shuffles"), null_p=get(s, "clusterability", "p_value"),
             null_z=get(s, "clusterability", "z_score"), importance_p_mean=get(s, "importance", "combined", "p_mean"),
             importance_p_range=get(s, "importance", "combined", "p_range"), seconds_total=get(s, "seconds", "total"),
             seconds_null=get(s, "clusterability", "seconds"), seconds_importance=get(s, "importance", "seconds"))
    return r


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: python3 jobs/study_collect.py STUDY_DIR")
    d = sys.argv[1]
    try:
        with open(os.path.join(d, "models.txt")) as f:
            models = f.read().split("\n")[:-1]
        with open(os.path.join(d, "ranks.txt")) as f:
            ranks = [int(x) for x in f.read().split()]
    except OSError as e:
        sys.exit(f"study_collect: {d} is not a study made by jobs/study.sh: {e}")
    rows = []
    for m in models:
        for n in ranks:
            stem = os.path.splitext(os.path.basename(m))[0]
            rows.append(row(m, n, os.path.join(d, "runs", f"{stem}-n{n}")))
    path = os.path.join(d, "results.csv")
    with open(path + ".tmp", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    os.replace(path + ".tmp", path)
    with open(path) as f:
        sys.stdout.write(f.read())
    done = sum(r["state"] == "done" for r in rows)
    print(f"study_collect: {done} of {len(rows)} runs done; {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
