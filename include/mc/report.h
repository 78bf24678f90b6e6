/* include/mc/report.h: the run's outputs: results.h5, summary.json, report.md and clusters.csv in
   [output] dir, written by rank 0 into a staging directory that is renamed into place at the end, so a
   reader never sees half-written output and a failed run leaves nothing behind. */
#pragma once
#include <petscsys.h>
#include "mc/io.h"
#include "mc/model.h"
#include "mc/graph.h"
#include "mc/cluster.h"
#include "mc/null.h"

/* Where and what to write ([output] section). */
typedef struct {
  char          dir[PETSC_MAX_PATH_LEN]; /* the output directory */
  PetscBool     overwrite;               /* replace an existing directory */
  PetscBool     save_graph;              /* store the adjacency (CSR) in results.h5 */
} MCReportOpts;

/* One partitioning of a run: a graph kind and a scope ([graph] partitionings), with what was tested on it.
   The run that makes it owns the clusterings and the tests; the graph is shared by the partitionings of
   its kind. */
typedef struct {
  MCGraphKind   kind;
  MCScope       scope;
  MCGraph      *graph;          /* borrowed */
  MCClustering *clustering;     /* the partitioning */
  MCClustering *global;         /* the global partitioning a local one came from; NULL for scope = global */
  MCNull       *clusterability; /* weight partitionings with [clusterability] n_shuffles > 0, else NULL */
  struct MCImportance_s *importance; /* NULL when [importance] is off */
} MCPartitioning;

#define MC_MAX_PARTITIONINGS 4

/* Everything a report is made of. Borrowed pointers; NULL for stages that did not run. The single-valued
   fields (graph, clustering, ...) are those of the first partitioning, the run's primary one. */
typedef struct {
  MCReportOpts        opts;
  const char         *config_text; /* the effective configuration (INI), stored in results.h5 */
  PetscInt64          seed;        /* [cluster] seed */
  MCGraphKind         graph_kind;
  PetscReal           eig_tol;     /* the eigensolver tolerance used */
  const MCModel      *model;
  const MCGraph      *graph;
  const MCClustering *clustering;        /* the partitioning tested */
  const MCClustering *clustering_global; /* the global partitioning a local one came from, or NULL */
  const MCNull       *clusterability; /* clusterability test (include/mc/null.h); NULL when n_shuffles = 0 */
  const struct MCImportance_s *importance; /* importance (lesion) test, include/mc/lesion.h; NULL if off */
  PetscMPIInt         n_ranks;
  PetscLogDouble      t_start;    /* PetscTime at start of the run */
  PetscInt64          n_edges;    /* undirected edges of the graph; filled by mc_report_write */
  PetscInt              n_parts;  /* partitionings, >= 1; part[0] is the primary one */
  const MCPartitioning *part;
} MCReport;

/* mc_report_check_output - Fail early (before heavy work) if opts->dir exists and opts->overwrite is
   false, or if its parent directory is not writable. Collective on comm. */
PetscErrorCode mc_report_check_output(MPI_Comm comm, const MCReportOpts *opts);

/* mc_report_claim_output - mc_report_check_output, then hold the lock <dir>.lock (mc_sys_lock_acquire)
   until *lock is released, so that a second run into the same directory is refused at once
   (PETSC_ERR_FILE_OPEN, "the output directory ... is in use by another run") instead of replacing or
   mixing files; checked again once locked. Collective on comm. Caller owns *lock (mc_sys_lock_release). */
PetscErrorCode mc_report_claim_output(MPI_Comm comm, const MCReportOpts *opts, MCLock **lock);

/* mc_report_write - Write every output of `run` to run->opts.dir (see the header comment); fills
   run->n_edges. Collective on comm (rank 0 writes; the outcome is shared). */
PetscErrorCode mc_report_write(MPI_Comm comm, MCReport *run);

/* mc_report_print_summary - A short human summary on stdout (rank 0). Collective. */
PetscErrorCode mc_report_print_summary(MPI_Comm comm, const MCReport *run);
