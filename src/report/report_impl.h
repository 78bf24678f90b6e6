/* src/report/report_impl.h: internals shared by the report files. All run on the writing rank. */
#pragma once
#include <stdio.h>
#include <cjson/cJSON.h>
#include "mc/report.h"

/* The graph gathered on the writing rank for [output] save_graph. */
typedef struct {
  PetscInt  *indptr, *indices; /* the adjacency as CSR (global column ids) */
  PetscReal *data;
  PetscReal *activation;       /* activation graphs: n_samples x n_nodes, row-major, or NULL */
} MCSavedGraph;

/* mc__report_write_results - Write results.h5 for `run` at `path`. `saved` is the gathered graph or NULL
   when it is not saved. Not collective (the writing rank); errors name the path and the object. */
/* mc__report_fopen, mc__report_fclose - A report file opened for writing, and closed checking every write
   made to it; errors name the file and the system's reason (a full disk). fclose always closes. */
PetscErrorCode mc__report_fopen(const char *path, FILE **fp);
PetscErrorCode mc__report_fclose(const char *path, FILE *fp);

PetscErrorCode mc__report_write_results(const MCReport *run, const char *path, const MCSavedGraph *saved);

/* mc__report_results_importance - The importance group of results.h5 in the current group (nothing when imp
   is NULL). mc__report_results_clusterability - the clusterability group (nul not NULL). */
PetscErrorCode mc__report_results_importance(MCH5Writer *w, const struct MCImportance_s *imp);
PetscErrorCode mc__report_results_clusterability(MCH5Writer *w, const MCNull *nul);

/* The partitionings of a run with several (src/report/partitionings.c): /partitionings in results.h5, the
   comparison section of report.md, "partitionings" in summary.json, a line each on stdout. */
PetscErrorCode mc__report_results_partitionings(MCH5Writer *w, const MCReport *run);
PetscErrorCode mc__report_markdown_partitionings(const MCReport *run, FILE *fp);
PetscErrorCode mc__report_json_partitionings(const MCReport *run, cJSON *root);
PetscErrorCode mc__report_print_partitionings(MPI_Comm comm, const MCReport *run);

/* mc__report_fmt_p - A p-value for reading: "n/a" for NaN, 2 significant digits below 1e-3, else 3 decimals. */
void mc__report_fmt_p(char *buf, size_t n, PetscReal p);

/* Write summary.json / report.md / clusters.csv for `run` at `path`. Not collective. */
PetscErrorCode mc__report_write_json(const MCReport *run, const char *path);
PetscErrorCode mc__report_write_markdown(const MCReport *run, const char *path);
PetscErrorCode mc__report_write_csv(const MCReport *run, const char *path);

/* Per-cluster statistics derived from the labels: sizes per cluster and per (cluster, graph group).
   Caller frees *size and *by_group with PetscFree. by_group is k x n_groups, row-major. */
PetscErrorCode mc__report_cluster_sizes(const MCReport *run, PetscInt **size, PetscInt **by_group);

/* The clusterability histogram (src/report/svg.c): shuffled n-cuts with the true n-cut marked, as SVG at
   `path`. Not collective. */
#define MC_REPORT_NULL_SVG "null_ncut.svg"
PetscErrorCode mc__report_write_null_svg(const MCNull *nul, const char *path);

/* mc__report_spectrum - The clustering that holds the spectrum: the global one a local partitioning came
   from, else the partitioning itself. */
const MCClustering *mc__report_spectrum(const MCReport *run);

/* mc__report_json_real - a JSON number, or null for NaN and infinities (JSON has neither). */
cJSON *mc__report_json_real(PetscReal v);

/* mc__report_json_add / _push - Add `item` (the result of a cJSON_Create* call, checked here) to the object
   `obj` under `name`, or to the array `arr`; PETSC_ERR_MEM when either fails. The one way summary.json is
   built. */
PetscErrorCode mc__report_json_add(cJSON *obj, const char *name, cJSON *item);
PetscErrorCode mc__report_json_push(cJSON *arr, cJSON *item);

/* ---- The importance (lesion) test: summary.json, report.md, importance.svg, stdout. ---- */

/* mc__report_importance_json - Add the "importance" object to `root` (nothing when run->importance is NULL). */
PetscErrorCode mc__report_importance_json(const MCReport *run, cJSON *root);

/* mc__report_importance_markdown - Append the "Importance" section to report.md (nothing when off). */
PetscErrorCode mc__report_importance_markdown(const MCReport *run, FILE *fp);

/* mc__report_importance_svg - Write importance.svg at `path`: per sub-cluster, the true accuracy drop against
   the band (min..max, mean) of its random same-size sets, grouped by layer. Nothing when off. */
PetscErrorCode mc__report_importance_svg(const MCReport *run, const char *path);

/* mc__report_importance_print - Lines for the stdout summary (rank 0 prints; collective on comm). */
PetscErrorCode mc__report_importance_print(MPI_Comm comm, const MCReport *run);
