/* include/mc/run.h: the stage runner: the configuration turned into each module's options, and the
   pipeline's stages, each inside its log stage. The only module that reads MCConfig besides the
   executables. */
#pragma once
#include "mc/config.h"
#include "mc/io.h"
#include "mc/graph.h"
#include "mc/cluster.h"
#include "mc/null.h"
#include "mc/lesion.h"
#include "mc/report.h"

/* ---- Options of each stage, from the configuration. Not collective; nothing to free. ---- */

/* mc_run_model_read_opts - [model] and [layer.N], for the model file `path` (cfg->model_path, or a
   replicate's); o->layer_specs borrows cfg's. */
PetscErrorCode mc_run_model_read_opts(const MCConfig *cfg, const char *path, MCModelReadOpts *o);

/* mc_run_graph_opts - [graph]. */
PetscErrorCode mc_run_graph_opts(const MCConfig *cfg, MCGraphOpts *o);

/* mc_run_cluster_opts - [cluster]. */
PetscErrorCode mc_run_cluster_opts(const MCConfig *cfg, MCClusterOpts *o);

/* mc_run_null_opts - [clusterability], with the [graph] and [cluster] options and the hash of every key the
   shuffles' n-cuts depend on ([model], [graph], [cluster], [layer.N], clusterability.shuffle). */
PetscErrorCode mc_run_null_opts(const MCConfig *cfg, MCNullOpts *o);

/* mc_run_dataset_opts - [data] for feeding `model` (image directories: its input shape). */
PetscErrorCode mc_run_dataset_opts(const MCConfig *cfg, const MCModel *model, MCDatasetOpts *o);

/* mc_run_lesion_opts - [importance] for network `replicate` (0 = the [model] network). */
PetscErrorCode mc_run_lesion_opts(const MCConfig *cfg, PetscInt replicate, MCLesionOpts *o);

/* mc_run_report_opts - [output]. */
PetscErrorCode mc_run_report_opts(const MCConfig *cfg, MCReportOpts *o);

/* mc_run_partitionings - [graph] partitionings: *n (1 to MC_MAX_PARTITIONINGS) graph kinds and scopes in the
   order given; empty means the one of [graph] kind and scope. Errors (PETSC_ERR_USER_INPUT) name an unknown
   or repeated value. Collective on comm (for the error only). */
PetscErrorCode mc_run_partitionings(MPI_Comm comm, const MCConfig *cfg, PetscInt *n, MCGraphKind kind[], MCScope scope[]);

/* ---- The pipeline ---- */

/* A run: its configuration and what every stage produced (NULL until the stage ran, or when it is off). */
typedef struct {
  MPI_Comm       comm;
  MCConfig      *cfg;
  MCModel       *model;
  MCGraph       *graphs[2];                 /* by MCGraphKind; NULL when no partitioning needs that kind */
  PetscInt       n_parts;                   /* [graph] partitionings (set by mc_run_check) */
  MCPartitioning part[MC_MAX_PARTITIONINGS]; /* part[0] is the primary one; the run owns their results */
  PetscLogDouble t_start; /* PetscTime at mc_run_create */
  MCSigterm     *sigterm; /* SIGTERM asks the run to stop cleanly (between stages and tasks) while it lives */
  MCLock        *output_lock; /* <output dir>.lock, held from mc_run_check to the end of the run */
} MCRun;

/* mc_run_create - An empty run on comm. Collective. Caller owns *out; release with mc_run_destroy(). */
PetscErrorCode mc_run_create(MPI_Comm comm, MCRun **out);

/* mc_run_destroy - Free the run and everything its stages made; sets *run = NULL; NULL is ignored.
   Collective. */
PetscErrorCode mc_run_destroy(MCRun **run);

/* mc_run_release - Drop what a run holds outside its memory (the output directory's lock, and its file)
   after a stage failed, so that no lock file is left behind; mc_run_destroy does it too. Not collective. */
PetscErrorCode mc_run_release(MCRun *run);

/* The stages, in pipeline order. Each is collective on run->comm, runs inside its log stage, and fails on
   every rank with one message naming the file, key or value at fault.
   mc_run_load_config  (Load)     configuration file and overrides
   mc_run_check        (Load)     refuses stages not implemented yet, an existing output directory and
                                  impossible combinations, before any heavy work; sets the partitionings
   mc_run_load_model   (Load)     the [model] network, read by rank 0 and broadcast
   mc_run_graph        (Graph)    the graph of each kind the partitionings need, rows spread over the ranks
   mc_run_cluster      (Spectral) every partitioning: eigenvectors, embedding, k-means, n-cut (local ones
                                  from the global partitioning of their graph)
   mc_run_clusterability (Null)   the shuffle null of every weight partitioning ([clusterability] n_shuffles > 0)
   mc_run_importance   (Lesion)   lesion tests of every partitioning of the network, its replicates and the
                                  control ([importance] enabled)
   mc_run_report       (Report)   results.h5, summary.json, report.md, clusters.csv; then the
                                  checkpoint is cleared and a short summary printed */
PetscErrorCode mc_run_load_config(MCRun *run, const char *path, int n_overrides, const char *const overrides[]);
PetscErrorCode mc_run_check(MCRun *run);
PetscErrorCode mc_run_load_model(MCRun *run);
PetscErrorCode mc_run_graph(MCRun *run);
PetscErrorCode mc_run_cluster(MCRun *run);
PetscErrorCode mc_run_clusterability(MCRun *run);
PetscErrorCode mc_run_importance(MCRun *run);
PetscErrorCode mc_run_report(MCRun *run);
