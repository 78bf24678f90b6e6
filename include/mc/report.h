/* include/mc/report.h: the run's outputs: results.h5, summary.json, report.md and clusters.csv in
   [output] dir, written by rank 0 into a staging directory that is renamed into place at the end, so a
   reader never sees half-written output and a failed run leaves nothing behind. */
#pragma once
#include <petscsys.h>
#include "mc/config.h"
#include "mc/model.h"
#include "mc/graph.h"
#include "mc/cluster.h"
#include "mc/null.h"

/* Everything a report is made of. Borrowed pointers; NULL for stages that did not run. */
typedef struct {
  const MCConfig     *cfg;
  const MCModel      *model;
  const MCGraph      *graph;
  const MCClustering *clustering;
  const MCNull       *clusterability; /* clusterability test (include/mc/null.h); NULL when n_shuffles = 0 */
  const struct MCImportance_s *importance; /* importance (lesion) test, include/mc/lesion.h; NULL if off */
  PetscMPIInt         n_ranks;
  PetscLogDouble      t_start;    /* PetscTime at start of the run */
  PetscInt64          n_edges;    /* undirected edges of the graph; filled by mc_report_write */
} MCRun;

/* mc_report_check_output - Fail early (before heavy work) if cfg->output_dir exists and
   cfg->output_overwrite is false, or if its parent directory is not writable. Collective on comm. */
PetscErrorCode mc_report_check_output(MPI_Comm comm, const MCConfig *cfg);

/* mc_report_write - Write every output of `run` to cfg->output_dir (see the header comment); fills
   run->n_edges. Collective on comm (rank 0 writes; the outcome is shared). */
PetscErrorCode mc_report_write(MPI_Comm comm, MCRun *run);

/* mc_report_print_summary - A short human summary on stdout (rank 0). Collective. */
PetscErrorCode mc_report_print_summary(MPI_Comm comm, const MCRun *run);
