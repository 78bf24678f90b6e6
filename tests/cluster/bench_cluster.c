/* tests/cluster/bench_cluster.c: timing of mc_cluster_graph on a large sparse planted graph (not a CTest).
   -n nodes (default 1,000,000), -k clusters (16), -n_init restarts (4). Nodes are in module i % k; every
   node links to i +- o for a fixed set of offsets (a symmetric circulant pattern, 2 * n_off non-zeros per
   row): offsets that are multiples of k stay inside a module (weight ~1), the others cross (weight ~0.05).
   Weights depend only on the unordered pair, so each rank builds its rows alone. Run with -log_view. */
#include <petsctime.h>
#include "mc/cluster.h"
#include "mc/graph.h"
#include "mc/stats.h"

static PetscReal pair_weight(PetscInt a, PetscInt b, PetscBool same)
{
  uint64_t h = (uint64_t)PetscMin(a, b) * 0x9E3779B97F4A7C15ull ^ (uint64_t)PetscMax(a, b) * 0xC2B2AE3D27D4EB4Full;
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 32;
  return (same ? 0.5 : 0.02) + (same ? 0.5 : 0.03) * (PetscReal)(h >> 11) * 0x1.0p-53;
}

int main(int argc, char **argv)
{
  PetscInt      N = 1000000, k = 16, n_init = 4, rstart, rend, n_off = 17, off[17], *cols;
  PetscReal    *vals;
  Mat           A;
  MCClusterOpts o = {0};
  MCClustering *c;
  PetscLogDouble t0, t1, t2;
  PetscInt     *planted;
  PetscReal     ari;

  mc_sys_blas_prepare(argv); /* the CPU's own BLAS kernels */
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(mc_sys_initialize());
  PetscCall(PetscMemorySetGetMaximumUsage());
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-n", &N, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-k", &k, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-n_init", &n_init, NULL));
  {
    const PetscInt within[12] = {1, 37, 1013, 7919, 30011, 50021, 611, 2999, 104729 % 65536, 13, 401, 22307};
    const PetscInt cross[5]   = {1, 5, 4099, 65537, 123457};
    for (int t = 0; t < 12; ++t) off[t] = (within[t] * k) % N;
    for (int t = 0; t < 5; ++t) off[12 + t] = (cross[t] * k + 1 + t) % N;
  }
  PetscCall(PetscTime(&t0));
  {
    /* -mlp: a dense layered graph (784-2000x4-10, |N(0,1)| weights, 13.6M edges), as an MLP weight graph. */
    PetscBool mlp = PETSC_FALSE;
    PetscCall(PetscOptionsGetBool(NULL, NULL, "-mlp", &mlp, NULL));
    if (mlp) {
      const PetscInt sizes[6] = {784, 2000, 2000, 2000, 2000, 10};
      PetscReal    **blocks;
      MCGraph       *g;
      MCRng          r;
      PetscCall(PetscMalloc1(5, &blocks));
      for (PetscInt b = 0; b < 5; ++b) {
        mc_rng_init(&r, 1, MC_STREAM_SYNTH, (uint64_t)b);
        PetscCall(PetscMalloc1(sizes[b] * sizes[b + 1], &blocks[b]));
        for (PetscInt e = 0; e < sizes[b] * sizes[b + 1]; ++e) blocks[b][e] = PetscAbsReal(mc_rng_uniform(&r) - 0.5);
      }
      PetscCall(mc_graph_from_blocks(PETSC_COMM_WORLD, 6, sizes, NULL, blocks, &g));
      PetscCall(PetscTime(&t1));
      o.k = k; o.n_init = n_init; o.max_iter = 300; o.tol = 1e-4; o.eig_tol = 1e-8; o.seed = 42;
      {
        MCGroups gr = mc_graph_groups(g);

        PetscCall(mc_cluster_graph(g->adj, &gr, &o, &c));
      }
      PetscCall(PetscTime(&t2));
      PetscCall(PetscPrintf(PETSC_COMM_WORLD, "MLP graph N %" PetscInt_FMT " build %.2f s cluster %.2f s ncut %.6f restart %" PetscInt_FMT " residual %.2e\n", g->n_nodes, t1 - t0,
                            t2 - t1, (double)c->ncut, c->best_restart, (double)c->max_residual));
      PetscCall(mc_cluster_destroy(&c));
      PetscCall(mc_graph_destroy(&g));
      PetscCall(PetscPopErrorHandler());
      PetscCall(PetscFinalize());
      return 0;
    }
  }
  {
    PetscInt nloc = PETSC_DECIDE, *dnnz, *onnz;
    PetscCall(PetscSplitOwnership(PETSC_COMM_WORLD, &nloc, &N));
    rstart = 0;
    PetscCallMPI(MPI_Exscan(&nloc, &rstart, 1, MPIU_INT, MPI_SUM, PETSC_COMM_WORLD));
    if (nloc == N) rstart = 0;
    {
      PetscMPIInt rank;
      PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
      if (!rank) rstart = 0;
    }
    rend = rstart + nloc;
    PetscCall(PetscCalloc2(nloc, &dnnz, nloc, &onnz));
    for (PetscInt i = rstart; i < rend; ++i)
      for (PetscInt t = 0; t < n_off; ++t) {
        PetscInt jp = (i + off[t]) % N, jm = (i - off[t] + N) % N;
        if (jp >= rstart && jp < rend) dnnz[i - rstart]++;
        else onnz[i - rstart]++;
        if (jm >= rstart && jm < rend) dnnz[i - rstart]++;
        else onnz[i - rstart]++;
      }
    PetscCall(MatCreateAIJ(PETSC_COMM_WORLD, nloc, nloc, N, N, 0, dnnz, 0, onnz, &A));
    PetscCall(PetscFree2(dnnz, onnz));
  }
  PetscCall(PetscMalloc2(2 * n_off, &cols, 2 * n_off, &vals));
  for (PetscInt i = rstart; i < rend; ++i) {
    for (PetscInt t = 0; t < n_off; ++t) {
      PetscInt jp = (i + off[t]) % N, jm = (i - off[t] + N) % N;
      cols[2 * t]     = jp;
      vals[2 * t]     = pair_weight(i, jp, jp % k == i % k);
      cols[2 * t + 1] = jm;
      vals[2 * t + 1] = pair_weight(i, jm, jm % k == i % k);
    }
    PetscCall(MatSetValues(A, 1, &i, 2 * n_off, cols, vals, ADD_VALUES));
  }
  PetscCall(MatAssemblyBegin(A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(A, MAT_FINAL_ASSEMBLY));
  PetscCall(PetscTime(&t1));
  {
    PetscLogDouble mem;
    PetscCall(PetscMemoryGetCurrentUsage(&mem));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "rank 0 resident after assembly: %.0f MB\n", mem / 1048576));
  }
  o.k        = k;
  o.n_init   = n_init;
  o.max_iter = 300;
  o.tol      = 1e-4;
  o.eig_tol  = 1e-8;
  o.seed     = 42;
  PetscCall(mc_cluster_graph(A, NULL, &o, &c));
  PetscCall(PetscTime(&t2));
  PetscCall(PetscMalloc1(N, &planted));
  for (PetscInt i = 0; i < N; ++i) planted[i] = i % k;
  PetscCall(mc_stats_ari(N, planted, c->labels, &ari));
  {
    MatInfo info;
    PetscCall(MatGetInfo(A, MAT_GLOBAL_SUM, &info));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "N %" PetscInt_FMT " nnz %.0f build %.2f s cluster %.2f s ncut %.6f ARI %.6f restart %" PetscInt_FMT " residual %.2e\n", N,
                          info.nz_used, t1 - t0, t2 - t1, (double)c->ncut, (double)ari, c->best_restart, (double)c->max_residual));
  }
  PetscCall(PetscFree(planted));
  {
    PetscLogDouble mem;
    PetscCall(PetscMemoryGetMaximumUsage(&mem));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "rank 0 peak resident: %.0f MB\n", mem / 1048576));
  }
  PetscCall(PetscFree2(cols, vals));
  PetscCall(mc_cluster_destroy(&c));
  PetscCall(MatDestroy(&A));
  PetscCall(PetscPopErrorHandler());
  PetscCall(PetscFinalize());
  return 0;
}
