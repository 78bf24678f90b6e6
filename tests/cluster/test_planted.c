/* tests/cluster/test_planted.c: planted partitions must be recovered exactly (ARI = 1 against the planted
   labels, which after renumbering means identical label arrays at every rank count), degree-0 nodes get -1.
   Two graphs: a layered MLP-like graph built with mc_graph_from_blocks, and a plain stochastic block
   model assembled directly. The eigensolver comes from the command line (-eps_type krylovschur|arpack). */
#include "mc/cluster.h"
#include "mc/graph.h"
#include "mc/stats.h"

/* Renumber labels by first appearance (-1 kept), in place. */
static void renumber(PetscInt n, PetscInt l[], PetscInt kmax)
{
  PetscInt map[64], next = 0;
  for (PetscInt q = 0; q < kmax; ++q) map[q] = -1;
  for (PetscInt i = 0; i < n; ++i) {
    if (l[i] < 0) continue;
    if (map[l[i]] < 0) map[l[i]] = next++;
    l[i] = map[l[i]];
  }
}

static PetscErrorCode check(MPI_Comm comm, const char *name, Mat adj, const MCGroups *groups, PetscInt N, PetscInt k, PetscInt planted[])
{
  MCClusterOpts opts = {0};
  MCClustering *c;
  PetscReal     ari, ncut2;
  PetscInt      n_removed = 0;

  PetscFunctionBeginUser;
  opts.k        = k;
  opts.n_init   = 10;
  opts.max_iter = 300;
  opts.tol      = 1e-4;
  opts.eig_tol  = 1e-10;
  opts.seed     = 42;
  PetscCall(mc_cluster_graph(adj, groups, &opts, &c));
  renumber(N, planted, k);
  PetscCall(mc_stats_ari(N, planted, c->labels, &ari));
  for (PetscInt i = 0; i < N; ++i) {
    if (planted[i] < 0) n_removed++;
    PetscCheck(c->labels[i] == planted[i], comm, PETSC_ERR_PLIB, "%s: node %" PetscInt_FMT " label %" PetscInt_FMT " != planted %" PetscInt_FMT, name, i,
               c->labels[i], planted[i]);
  }
  PetscCheck(ari == 1.0, comm, PETSC_ERR_PLIB, "%s: ARI %g != 1", name, (double)ari);
  PetscCheck(c->n_removed == n_removed, comm, PETSC_ERR_PLIB, "%s: %" PetscInt_FMT " removed, expected %" PetscInt_FMT, name, c->n_removed, n_removed);
  PetscCheck(PetscAbsReal(c->eigenvalues[0]) < 1e-8, comm, PETSC_ERR_PLIB, "%s: smallest eigenvalue %g is not 0", name, (double)c->eigenvalues[0]);
  for (PetscInt q = 1; q < k; ++q)
    PetscCheck(c->eigenvalues[q] >= c->eigenvalues[q - 1], comm, PETSC_ERR_PLIB, "%s: eigenvalues not ascending", name);
  PetscCall(mc_cluster_ncut(adj, c->labels, &ncut2));
  PetscCheck(ncut2 == c->ncut, comm, PETSC_ERR_PLIB, "%s: ncut differs between calls", name);
  PetscCheck(c->ncut > 0 && c->ncut < 0.5, comm, PETSC_ERR_PLIB, "%s: ncut %g of a planted partition is not small", name, (double)c->ncut);
  PetscCall(PetscPrintf(comm, "%s: N %" PetscInt_FMT " removed %" PetscInt_FMT " ncut %.12g inertia %a restart %" PetscInt_FMT " eig1 %.6g\n", name, N,
                        c->n_removed, (double)c->ncut, (double)c->inertia, c->best_restart, (double)c->eigenvalues[1]));
  PetscCall(mc_cluster_destroy(&c));
  PetscFunctionReturn(0);
}

/* Layered graph: groups of units, unit u of every group in module u % m; strong edges inside a module
   between consecutive groups, weak ones across. Two units have no edge at all. */
static PetscErrorCode layered(MPI_Comm comm)
{
  const PetscInt n_groups = 5, size[5] = {30, 24, 27, 24, 12}, m = 3;
  PetscReal    **block;
  MCGraph       *g;
  PetscInt      *planted, N = 0;
  MCRng          r;

  PetscFunctionBeginUser;
  mc_rng_init(&r, 7, MC_STREAM_SYNTH, 0);
  PetscCall(PetscMalloc1(n_groups - 1, &block));
  for (PetscInt b = 0; b < n_groups - 1; ++b) {
    PetscCall(PetscMalloc1(size[b] * size[b + 1], &block[b]));
    for (PetscInt i = 0; i < size[b]; ++i)
      for (PetscInt j = 0; j < size[b + 1]; ++j) {
        PetscReal u = mc_rng_uniform(&r);
        block[b][i * size[b + 1] + j] = (i % m == j % m) ? 0.5 + 0.5 * u : 0.03 * u;
      }
  }
  /* Node 5 of group 0 and node 7 of group 2 lose every edge. */
  for (PetscInt j = 0; j < size[1]; ++j) block[0][5 * size[1] + j] = 0;
  for (PetscInt i = 0; i < size[1]; ++i) block[1][i * size[2] + 7] = 0;
  for (PetscInt j = 0; j < size[3]; ++j) block[2][7 * size[3] + j] = 0;
  PetscCall(mc_graph_from_blocks(comm, n_groups, size, NULL, block, &g));
  for (PetscInt q = 0; q < n_groups; ++q) N += size[q];
  PetscCheck(g->n_nodes == N, comm, PETSC_ERR_PLIB, "graph has %" PetscInt_FMT " nodes", g->n_nodes);
  PetscCall(PetscMalloc1(N, &planted));
  for (PetscInt q = 0; q < n_groups; ++q)
    for (PetscInt u = 0; u < size[q]; ++u) {
      PetscInt layer, unit;
      mc_graph_node_info(g, g->group_offset[q] + u, &layer, &unit);
      PetscCheck(layer == q && unit == u, comm, PETSC_ERR_PLIB, "node info wrong");
      planted[g->group_offset[q] + u] = u % m;
    }
  planted[5]                     = -1;
  planted[g->group_offset[2] + 7] = -1;
  {
    MCGroups gr = mc_graph_groups(g);

    PetscCall(check(comm, "layered", g->adj, &gr, N, m, planted));
  }
  PetscCall(PetscFree(planted));
  PetscCall(mc_graph_destroy(&g));
  PetscFunctionReturn(0);
}

/* Stochastic block model, assembled row by row by the owners; each edge's randomness is keyed by the
   node pair, so every rank count builds the same graph. Nodes 13 and 200 are isolated. */
static PetscInt sbm_block(PetscInt i)
{
  return (i * 3 + i / 50) % 4;
}

static PetscBool sbm_edge(PetscInt N, PetscInt i, PetscInt j, PetscReal *w)
{
  MCRng     r;
  PetscInt  a = PetscMin(i, j), b = PetscMax(i, j);
  PetscBool same = sbm_block(i) == sbm_block(j) ? PETSC_TRUE : PETSC_FALSE;
  PetscReal p, u;

  if (i == j || i == 13 || j == 13 || i == 200 || j == 200) return PETSC_FALSE;
  mc_rng_init(&r, 11, MC_STREAM_SYNTH, (uint64_t)(a * N + b));
  p = mc_rng_uniform(&r);
  u = mc_rng_uniform(&r);
  if (same && p < 0.3) {
    *w = 0.5 + 0.5 * u;
    return PETSC_TRUE;
  }
  if (!same && p < 0.03) {
    *w = 0.2 * u;
    return PETSC_TRUE;
  }
  return PETSC_FALSE;
}

static PetscErrorCode plain(MPI_Comm comm)
{
  const PetscInt N = 243;
  Mat            A;
  PetscInt       rstart, rend, *nnz, *cols, planted[243];
  PetscReal     *vals;

  PetscFunctionBeginUser;
  PetscCall(MatCreate(comm, &A));
  PetscCall(MatSetSizes(A, PETSC_DECIDE, PETSC_DECIDE, N, N));
  PetscCall(MatSetType(A, MATAIJ));
  PetscCall(MatSetUp(A));
  PetscCall(MatGetOwnershipRange(A, &rstart, &rend));
  PetscCall(MatDestroy(&A));
  PetscCall(PetscMalloc3(rend - rstart + 1, &nnz, N, &cols, N, &vals));
  for (PetscInt i = rstart; i < rend; ++i) {
    PetscReal w;
    nnz[i - rstart] = 0;
    for (PetscInt j = 0; j < N; ++j)
      if (sbm_edge(N, i, j, &w)) nnz[i - rstart]++;
  }
  PetscCall(MatCreateAIJ(comm, rend - rstart, rend - rstart, N, N, 0, nnz, 0, nnz, &A));
  for (PetscInt i = rstart; i < rend; ++i) {
    PetscInt nz = 0;
    for (PetscInt j = 0; j < N; ++j)
      if (sbm_edge(N, i, j, &vals[nz])) cols[nz++] = j;
    PetscCall(MatSetValues(A, 1, &i, nz, cols, vals, INSERT_VALUES));
  }
  PetscCall(MatAssemblyBegin(A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(A, MAT_FINAL_ASSEMBLY));
  for (PetscInt i = 0; i < N; ++i) planted[i] = (i == 13 || i == 200) ? -1 : sbm_block(i);
  PetscCall(check(comm, "plain", A, NULL, N, 4, planted));
  PetscCall(MatDestroy(&A));
  PetscCall(PetscFree3(nnz, cols, vals));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(mc_sys_initialize());
  PetscCall(layered(PETSC_COMM_WORLD));
  PetscCall(plain(PETSC_COMM_WORLD));
  PetscCall(PetscPopErrorHandler()); /* pushed by mc_sys_initialize; popped so -malloc_dump stays quiet */
  PetscCall(PetscFinalize());
  return 0;
}
