/* src/report/output.c: the output directory: checked early, staged, renamed into place at the end. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "mc/report.h"
#include "mc/results.h"
#include "mc/sys.h"
#include "report_impl.h"

PetscErrorCode mc_report_check_output(MPI_Comm comm, const MCConfig *cfg)
{
  PetscMPIInt rank;
  int         problem = 0; /* 1 exists, 2 parent not writable */
  struct stat st;
  char        parent[PETSC_MAX_PATH_LEN];

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    PetscCall(PetscStrncpy(parent, cfg->output_dir, sizeof(parent)));
    if (stat(cfg->output_dir, &st) == 0 && !cfg->output_overwrite) problem = 1;
    else if (access(dirname(parent), W_OK) != 0) problem = 2;
  }
  PetscCallMPI(MPI_Bcast(&problem, 1, MPI_INT, 0, comm));
  PetscCheck(problem != 1, comm, PETSC_ERR_USER_INPUT, "output directory %s exists; remove it, choose another ([output] dir) or set output.overwrite=true",
             cfg->output_dir);
  PetscCheck(problem != 2, comm, PETSC_ERR_FILE_OPEN, "cannot create output directory %s: its parent directory is missing or not writable", cfg->output_dir);
  PetscFunctionReturn(0);
}

/* Gather the distributed adjacency to rank 0 as CSR (global column ids). Collective. */
static PetscErrorCode gather_csr(MPI_Comm comm, Mat A, PetscInt **indptr, PetscInt **indices, PetscReal **data)
{
  PetscMPIInt rank, size, n_local_nz, n_local_rows;
  PetscInt    rstart, rend, N, nz = 0, ncols;
  PetscInt   *my_len, *my_idx;
  PetscReal  *my_val;
  PetscMPIInt *counts = NULL, *displs = NULL, *rcounts = NULL, *rdispls = NULL;
  const PetscInt    *cols;
  const PetscScalar *vals;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(MatGetSize(A, &N, NULL));
  PetscCall(MatGetOwnershipRange(A, &rstart, &rend));
  for (PetscInt r = rstart; r < rend; ++r) {
    PetscCall(MatGetRow(A, r, &ncols, NULL, NULL));
    nz += ncols;
    PetscCall(MatRestoreRow(A, r, &ncols, NULL, NULL));
  }
  PetscCall(PetscMalloc3(rend - rstart, &my_len, nz, &my_idx, nz, &my_val));
  nz = 0;
  for (PetscInt r = rstart; r < rend; ++r) {
    PetscCall(MatGetRow(A, r, &ncols, &cols, &vals));
    my_len[r - rstart] = ncols;
    for (PetscInt j = 0; j < ncols; ++j) {
      my_idx[nz + j] = cols[j];
      my_val[nz + j] = PetscRealPart(vals[j]);
    }
    nz += ncols;
    PetscCall(MatRestoreRow(A, r, &ncols, &cols, &vals));
  }
  PetscCall(PetscMPIIntCast(nz, &n_local_nz));
  PetscCall(PetscMPIIntCast(rend - rstart, &n_local_rows));
  if (rank == 0) PetscCall(PetscMalloc4(size, &counts, size, &displs, size, &rcounts, size, &rdispls));
  PetscCallMPI(MPI_Gather(&n_local_nz, 1, MPI_INT, counts, 1, MPI_INT, 0, comm));
  PetscCallMPI(MPI_Gather(&n_local_rows, 1, MPI_INT, rcounts, 1, MPI_INT, 0, comm));
  *indptr = NULL; *indices = NULL; *data = NULL;
  if (rank == 0) {
    PetscInt total = 0;
    for (PetscMPIInt p = 0; p < size; ++p) {
      displs[p]  = (PetscMPIInt)total;
      total     += counts[p];
    }
    rdispls[0] = 0;
    for (PetscMPIInt p = 1; p < size; ++p) rdispls[p] = rdispls[p - 1] + rcounts[p - 1];
    PetscCall(PetscMalloc1(N + 1, indptr));
    PetscCall(PetscMalloc1(total, indices));
    PetscCall(PetscMalloc1(total, data));
  }
  /* Row lengths land in indptr[1..N], then a prefix sum turns them into offsets. */
  PetscCallMPI(MPI_Gatherv(my_len, n_local_rows, MPIU_INT, rank == 0 ? *indptr + 1 : NULL, rcounts, rdispls, MPIU_INT, 0, comm));
  PetscCallMPI(MPI_Gatherv(my_idx, n_local_nz, MPIU_INT, *indices, counts, displs, MPIU_INT, 0, comm));
  PetscCallMPI(MPI_Gatherv(my_val, n_local_nz, MPIU_REAL, *data, counts, displs, MPIU_REAL, 0, comm));
  if (rank == 0) {
    (*indptr)[0] = 0;
    for (PetscInt i = 0; i < N; ++i) (*indptr)[i + 1] += (*indptr)[i];
    PetscCall(PetscFree4(counts, displs, rcounts, rdispls));
  }
  PetscCall(PetscFree3(my_len, my_idx, my_val));
  PetscFunctionReturn(0);
}

/* Remove a directory tree we created (only regular files one level deep). */
static void remove_tree(const char *dir)
{
  const char *names[] = {"results.h5", "summary.json", "report.md", "clusters.csv", MC_REPORT_NULL_SVG, "importance.svg"};
  char        p[PETSC_MAX_PATH_LEN];

  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); ++i) {
    snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
    (void)unlink(p);
  }
  (void)rmdir(dir);
}

/* Rank 0: write every file into `stage`, then swap it into place. */
static PetscErrorCode write_all(const MCRun *run, const char *stage, const PetscInt *indptr, const PetscInt *indices, const PetscReal *data)
{
  const char *dir = run->cfg->output_dir;
  char        p[PETSC_MAX_PATH_LEN], old[PETSC_MAX_PATH_LEN];
  struct stat st;

  PetscFunctionBeginUser;
  PetscCheck(mkdir(stage, 0755) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot create directory %s: %s", stage, strerror(errno));
  PetscCall(PetscSNPrintf(p, sizeof(p), "%s/results.h5", stage));
  PetscCall(mc_results_write_h5(run, p, indptr, indices, data));
  PetscCall(PetscSNPrintf(p, sizeof(p), "%s/summary.json", stage));
  PetscCall(mc__report_write_json(run, p));
  PetscCall(PetscSNPrintf(p, sizeof(p), "%s/report.md", stage));
  PetscCall(mc__report_write_markdown(run, p));
  PetscCall(PetscSNPrintf(p, sizeof(p), "%s/clusters.csv", stage));
  PetscCall(mc__report_write_csv(run, p));
  if (run->clusterability) {
    PetscCall(PetscSNPrintf(p, sizeof(p), "%s/%s", stage, MC_REPORT_NULL_SVG));
    PetscCall(mc__report_write_null_svg(run->clusterability, p));
  }
  if (run->importance) {
    PetscCall(PetscSNPrintf(p, sizeof(p), "%s/importance.svg", stage));
    PetscCall(mc__report_importance_svg(run, p));
  }
  if (stat(dir, &st) == 0) {
    /* output.overwrite = true (checked at start): move the old results aside, then drop them. */
    PetscCall(PetscSNPrintf(old, sizeof(old), "%s.old-%d", dir, (int)getpid()));
    PetscCheck(rename(dir, old) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot replace %s: %s", dir, strerror(errno));
    remove_tree(old);
  }
  PetscCheck(rename(stage, dir) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot rename %s to %s: %s", stage, dir, strerror(errno));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_report_write(MPI_Comm comm, MCRun *run)
{
  MatInfo        info;
  PetscMPIInt    rank;
  PetscInt      *indptr = NULL, *indices = NULL;
  PetscReal     *data   = NULL;
  PetscErrorCode ierr   = 0;
  char           stage[PETSC_MAX_PATH_LEN];

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(MatGetInfo(run->graph->adj, MAT_GLOBAL_SUM, &info));
  run->n_edges = (PetscInt64)(info.nz_used / 2);
  if (run->cfg->output_save_graph) PetscCall(gather_csr(comm, run->graph->adj, &indptr, &indices, &data));
  if (rank == 0) {
    PetscCall(PetscSNPrintf(stage, sizeof(stage), "%s.partial-%d", run->cfg->output_dir, (int)getpid()));
    ierr = write_all(run, stage, indptr, indices, data);
    if (ierr) remove_tree(stage); /* never leave half-written output behind */
  }
  PetscCall(mc_sys_rank0_status(comm, ierr));
  PetscCall(PetscFree(indptr));
  PetscCall(PetscFree(indices));
  PetscCall(PetscFree(data));
  PetscFunctionReturn(0);
}
