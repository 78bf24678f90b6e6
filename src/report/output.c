/* src/report/output.c: the output directory: checked early, staged, renamed into place at the end. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "mc/report.h"
#include "mc/sys.h"
#include "report_impl.h"

PetscErrorCode mc_report_check_output(MPI_Comm comm, const MCReportOpts *opts)
{
  PetscMPIInt rank;
  int         problem = 0; /* 1 exists, 2 parent not writable, 3 exists and is not a directory */
  struct stat st;
  char        parent[PETSC_MAX_PATH_LEN];

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    PetscCall(PetscStrncpy(parent, opts->dir, sizeof(parent)));
    int exists = stat(opts->dir, &st) == 0;

    if (exists && !S_ISDIR(st.st_mode)) problem = 3;
    else if (exists && !opts->overwrite) problem = 1;
    else if (access(dirname(parent), W_OK) != 0) problem = 2; /* also to replace an existing directory */
  }
  PetscCallMPI(MPI_Bcast(&problem, 1, MPI_INT, 0, comm));
  PetscCheck(problem != 1, comm, PETSC_ERR_USER_INPUT, "output directory %s exists; remove it, choose another ([output] dir) or set output.overwrite=true",
             opts->dir);
  PetscCheck(problem != 3, comm, PETSC_ERR_USER_INPUT, "output directory %s exists and is not a directory (output.overwrite replaces only a directory of results)",
             opts->dir);
  PetscCheck(problem != 2, comm, PETSC_ERR_FILE_OPEN, "cannot create output directory %s: its parent directory is missing or not writable", opts->dir);
  PetscFunctionReturn(0);
}

PetscErrorCode mc_report_claim_output(MPI_Comm comm, const MCReportOpts *opts, MCLock **lock)
{
  char           path[PETSC_MAX_PATH_LEN + 8], what[PETSC_MAX_PATH_LEN + 32];
  size_t         n;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  *lock = NULL;
  PetscCall(mc_report_check_output(comm, opts));
  PetscCall(PetscStrncpy(path, opts->dir, sizeof(path)));
  n = strlen(path);
  while (n > 1 && path[n - 1] == '/') path[--n] = 0;
  PetscCall(PetscSNPrintf(what, sizeof(what), "the output directory %s", path));
  PetscCall(PetscStrlcat(path, ".lock", sizeof(path)));
  PetscCall(mc_sys_lock_acquire(comm, path, what, lock));
  /* Another run may have finished into the directory between the check and the lock. */
  ierr = mc_report_check_output(comm, opts);
  if (ierr) PetscCall(mc_sys_lock_release(lock));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

PetscErrorCode mc__report_fopen(const char *path, FILE **fp)
{
  PetscFunctionBeginUser;
  *fp = fopen(path, "w");
  PetscCheck(*fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s: %s", path, strerror(errno));
  PetscFunctionReturn(0);
}

PetscErrorCode mc__report_fclose(const char *path, FILE *fp)
{
  int failed = ferror(fp), err = errno;

  PetscFunctionBeginUser;
  if (fclose(fp) != 0 && !failed) {
    failed = 1;
    err    = errno;
  }
  PetscCheck(!failed, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write %s: %s", path, strerror(err));
  PetscFunctionReturn(0);
}

/* Gather the distributed adjacency to rank 0 as CSR (global column ids). Collective. */
static PetscErrorCode gather_csr(MPI_Comm comm, Mat A, PetscInt **indptr, PetscInt **indices, PetscReal **data)
{
  PetscMPIInt        rank;
  PetscInt           rstart, rend, N, nz = 0, nz_total = 0, ncols;
  PetscInt          *my_len, *my_idx;
  PetscReal         *my_val;
  const PetscInt    *cols;
  const PetscScalar *vals;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
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
  PetscCallMPI(MPI_Reduce(&nz, &nz_total, 1, MPIU_INT, MPI_SUM, 0, comm));
  *indptr = NULL;
  *indices = NULL;
  *data    = NULL;
  if (rank == 0) {
    PetscCall(PetscMalloc1(N + 1, indptr));
    PetscCall(PetscMalloc1(nz_total, indices));
    PetscCall(PetscMalloc1(nz_total, data));
  }
  /* Row lengths land in indptr[1..N] (rows are owned in order), then a prefix sum turns them into offsets. */
  PetscCall(mc_sys_gatherv(comm, 0, my_len, rend - rstart, MPIU_INT, rank == 0 ? *indptr + 1 : NULL));
  PetscCall(mc_sys_gatherv(comm, 0, my_idx, nz, MPIU_INT, *indices));
  PetscCall(mc_sys_gatherv(comm, 0, my_val, nz, MPIU_REAL, *data));
  if (rank == 0) {
    (*indptr)[0] = 0;
    for (PetscInt i = 0; i < N; ++i) (*indptr)[i + 1] += (*indptr)[i];
  }
  PetscCall(PetscFree3(my_len, my_idx, my_val));
  PetscFunctionReturn(0);
}

/* Edges of the symmetric adjacency: stored non-zeros off the diagonal, halved (a dense matrix stores its
   zeros too, so they are counted). Collective. */
static PetscErrorCode count_edges(MPI_Comm comm, Mat A, PetscInt64 *n_edges)
{
  PetscInt  rstart, rend, ncols;
  PetscInt64 nz = 0;
  const PetscInt    *cols;
  const PetscScalar *vals;

  PetscFunctionBeginUser;
  PetscCall(MatGetOwnershipRange(A, &rstart, &rend));
  for (PetscInt r = rstart; r < rend; ++r) {
    PetscCall(MatGetRow(A, r, &ncols, &cols, &vals));
    for (PetscInt j = 0; j < ncols; ++j) nz += cols[j] != r && vals[j] != 0;
    PetscCall(MatRestoreRow(A, r, &ncols, &cols, &vals));
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &nz, 1, MPIU_INT64, MPI_SUM, comm));
  *n_edges = nz / 2;
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
static PetscErrorCode write_all(const MCReport *run, const char *stage, const MCSavedGraph *saved)
{
  const char *dir = run->opts.dir;
  char        p[PETSC_MAX_PATH_LEN], old[PETSC_MAX_PATH_LEN];
  struct stat st;

  PetscFunctionBeginUser;
  PetscCheck(mkdir(stage, 0755) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot create directory %s: %s", stage, strerror(errno));
  PetscCall(PetscSNPrintf(p, sizeof(p), "%s/results.h5", stage));
  PetscCall(mc__report_write_results(run, p, saved));
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

PetscErrorCode mc_report_write(MPI_Comm comm, MCReport *run)
{
  const MCGraph *g = run->graph;
  PetscMPIInt    rank;
  MCSavedGraph   saved = {0};
  PetscErrorCode ierr  = 0;
  char           stage[PETSC_MAX_PATH_LEN];

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(count_edges(comm, g->adj, &run->n_edges));
  if (run->opts.save_graph) {
    PetscCall(gather_csr(comm, g->adj, &saved.indptr, &saved.indices, &saved.data));
    if (g->activation) {
      if (rank == 0) PetscCall(PetscMalloc1((size_t)g->n_samples * g->n_nodes, &saved.activation));
      PetscCall(mc_sys_gatherv(comm, 0, g->activation, g->sample_count * g->n_nodes, MPIU_REAL, saved.activation));
    }
  }
  if (rank == 0) {
    PetscCall(PetscSNPrintf(stage, sizeof(stage), "%s.partial-%d", run->opts.dir, (int)getpid()));
    ierr = write_all(run, stage, run->opts.save_graph ? &saved : NULL);
    if (ierr) remove_tree(stage); /* never leave half-written output behind */
  }
  PetscCall(mc_sys_rank0_status(comm, ierr));
  PetscCall(PetscFree(saved.indptr));
  PetscCall(PetscFree(saved.indices));
  PetscCall(PetscFree(saved.data));
  PetscCall(PetscFree(saved.activation));
  PetscFunctionReturn(0);
}
