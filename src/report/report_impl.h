/* src/report/report_impl.h: internals shared by the report files. All run on the writing rank. */
#pragma once
#include "mc/report.h"

/* Write summary.json / report.md / clusters.csv for `run` at `path`. Not collective. */
PetscErrorCode mc__report_write_json(const MCRun *run, const char *path);
PetscErrorCode mc__report_write_markdown(const MCRun *run, const char *path);
PetscErrorCode mc__report_write_csv(const MCRun *run, const char *path);

/* Per-cluster statistics derived from the labels: sizes per cluster and per (cluster, graph group).
   Caller frees *size and *by_group with PetscFree. by_group is k x n_groups, row-major. */
PetscErrorCode mc__report_cluster_sizes(const MCRun *run, PetscInt **size, PetscInt **by_group);

/* The clusterability histogram (src/report/svg.c): shuffled n-cuts with the true n-cut marked, as SVG at
   `path`. Not collective. */
#define MC_REPORT_NULL_SVG "null_ncut.svg"
PetscErrorCode mc__report_write_null_svg(const MCNull *nul, const char *path);
