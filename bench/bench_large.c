/* bench/bench_large.c: cluster a large synthetic sparse graph with planted modules and report time,
   memory and accuracy. Not a test: a benchmark for docs/performance.md.
   mpiexec -n 2 build/bench/bench_large -n 1000000 -degree 34 -modules 16 -k 16 -n_init 4 */
#include <sys/resource.h>
#include <slepcsys.h>
#include "mc/cluster.h"
#include "mc/stats.h"
#include "mc/synth.h"
#include "mc/sys.h"

static const char help[] = "Cluster a large synthetic graph with planted modules.\n";

/* Peak resident memory of this process in bytes. */
static double peak_rss(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return 1024.0 * (double)ru.ru_maxrss;
}

static PetscErrorCode run(MPI_Comm comm)
{
  MCSynthSparseOpts so = {1000000, 16, 34, 0.9, 1};
  MCClusterOpts     co = {0};
  PetscInt          seed = 1;
  Mat               A;
  MCClustering     *c = NULL;
  PetscLogDouble    t0, t1, t2;
  MatInfo           info;
  double            rss_gen, rss_end, rss[2], mat_bytes;
  PetscInt          N, *planted;
  PetscReal         ari;
  PetscMPIInt       size;

  PetscFunctionBeginUser;
  co.k = 16; co.n_init = 4; co.max_iter = 300; co.tol = 1e-4; co.eig_tol = 1e-8;
  PetscOptionsBegin(comm, NULL, "bench_large options", NULL);
  PetscCall(PetscOptionsInt("-n", "nodes", NULL, so.n_nodes, &so.n_nodes, NULL));
  PetscCall(PetscOptionsInt("-degree", "neighbours per node", NULL, so.degree, &so.degree, NULL));
  PetscCall(PetscOptionsInt("-modules", "planted modules", NULL, so.n_modules, &so.n_modules, NULL));
  PetscCall(PetscOptionsReal("-p_in", "fraction of in-module neighbours", NULL, so.p_in, &so.p_in, NULL));
  PetscCall(PetscOptionsInt("-k", "clusters", NULL, co.k, &co.k, NULL));
  PetscCall(PetscOptionsInt("-n_init", "k-means restarts", NULL, co.n_init, &co.n_init, NULL));
  PetscCall(PetscOptionsInt("-seed", "seed", NULL, seed, &seed, NULL));
  PetscOptionsEnd();
  so.seed = co.seed = (uint64_t)seed;
  PetscCallMPI(MPI_Comm_size(comm, &size));

  PetscCall(PetscTime(&t0));
  PetscCall(mc_synth_planted_sparse(comm, &so, &A));
  PetscCall(PetscTime(&t1));
  rss_gen = peak_rss();
  PetscCall(mc_cluster_graph(A, NULL, &co, &c));
  PetscCall(PetscTime(&t2));
  rss_end = peak_rss();

  PetscCall(MatGetSize(A, &N, NULL));
  PetscCall(MatGetInfo(A, MAT_GLOBAL_SUM, &info));
  /* AIJ storage: a value and a column index per nonzero, row offsets per row (diagonal and off-diagonal
     parts), as PETSc allocates them. */
  mat_bytes = info.nz_allocated * (sizeof(PetscScalar) + sizeof(PetscInt)) + 2.0 * (double)N * sizeof(PetscInt);
  rss[0] = rss_gen;
  rss[1] = rss_end;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, rss, 2, MPI_DOUBLE, MPI_SUM, comm));
  PetscCall(PetscMalloc1(N, &planted));
  for (PetscInt i = 0; i < N; ++i) planted[i] = i % so.n_modules;
  PetscCall(mc_stats_ari(N, planted, c->labels, &ari));
  PetscCall(PetscPrintf(comm, "bench_large: %d ranks, N = %" PetscInt_FMT ", nnz = %.0f, k = %" PetscInt_FMT ", n_init = %" PetscInt_FMT "\n", (int)size, N, info.nz_used, co.k, co.n_init));
  PetscCall(PetscPrintf(comm, "  generate   %.2f s\n  cluster    %.2f s (eigensolver + k-means + n-cut)\n", t1 - t0, t2 - t1));
  PetscCall(PetscPrintf(comm, "  n-cut      %.6f, ARI vs planted %.6f, converged %" PetscInt_FMT ", max residual %.1e\n", (double)c->ncut, (double)ari, c->n_converged, (double)c->max_residual));
  PetscCall(PetscPrintf(comm, "  memory     matrix %.0f MB; peak RSS (all ranks) %.0f MB after generation, %.0f MB at the end\n", mat_bytes / 1e6, rss[0] / 1e6, rss[1] / 1e6));
  PetscCall(PetscPrintf(comm, "  growth     clustering added %.0f MB = %.2fx the matrix\n", (rss[1] - rss[0]) / 1e6, (rss[1] - rss[0]) / mat_bytes));
  PetscCall(PetscFree(planted));
  PetscCall(mc_cluster_destroy(&c));
  PetscCall(MatDestroy(&A));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscErrorCode ierr;

  mc_sys_blas_prepare(argv); /* the CPU's own BLAS kernels */
  PetscCall(SlepcInitialize(&argc, &argv, NULL, help));
  ierr = mc_sys_initialize();
  if (!ierr) ierr = run(PETSC_COMM_WORLD);
  if (SlepcFinalize()) return 1;
  return ierr ? 1 : 0;
}
