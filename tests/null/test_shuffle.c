/* tests/null/test_shuffle.c: the null shuffles preserve each block's multiset of weights (and, for
   layer_nonzero, its sparsity pattern), drop exactly the true graph's degree-0 nodes, are reproducible
   from (seed, shuffle index) alone, and assemble to the same matrix at any rank count. Also the automatic
   group-size rule. */
#include <math.h>
#include "mc/graph.h"
#include "mc/null.h"
#include "mc/shuffle.h"
#include "mc/sys.h"

static int cmp_real(const void *a, const void *b)
{
  PetscReal x = *(const PetscReal *)a, y = *(const PetscReal *)b;
  return (x > y) - (x < y);
}

/* A layered graph 7 - 6 - 5 - 4 with ~40% zeros, and node 3 of group 1 and node 4 of group 2 isolated. */
static PetscErrorCode make_graph(MPI_Comm comm, MCGraph **g)
{
  const PetscInt sizes[4] = {7, 6, 5, 4};
  PetscReal    **blocks;
  MCRng          r;

  PetscFunctionBeginUser;
  mc_rng_init(&r, 11, MC_STREAM_SYNTH, 0);
  PetscCall(PetscMalloc1(3, &blocks));
  for (PetscInt b = 0; b < 3; ++b) {
    PetscInt n0 = sizes[b], n1 = sizes[b + 1];
    PetscCall(PetscMalloc1(n0 * n1, &blocks[b]));
    for (PetscInt e = 0; e < n0 * n1; ++e) blocks[b][e] = mc_rng_uniform(&r) < 0.4 ? 0 : 0.1 + mc_rng_uniform(&r);
  }
  /* Isolate unit 3 of group 1: its column in block 0 and its row in block 1. */
  for (PetscInt a = 0; a < 7; ++a) blocks[0][a * 6 + 3] = 0;
  for (PetscInt c = 0; c < 5; ++c) blocks[1][3 * 5 + c] = 0;
  /* Isolate unit 4 of group 2. */
  for (PetscInt a = 0; a < 6; ++a) blocks[1][a * 5 + 4] = 0;
  for (PetscInt c = 0; c < 4; ++c) blocks[2][4 * 4 + c] = 0;
  /* Make sure every other unit has an edge. */
  blocks[0][0 * 6 + 0] = 1.5;
  for (PetscInt a = 0; a < 7; ++a) blocks[0][a * 6 + (a % 3)] = 1.0 + a;
  for (PetscInt a = 0; a < 6; ++a)
    if (a != 3) blocks[1][a * 5 + (a % 4)] = 2.0 + a;
  for (PetscInt c = 0; c < 5; ++c)
    if (c != 4) blocks[1][0 * 5 + c] = 0.7;
  for (PetscInt a = 0; a < 5; ++a)
    if (a != 4) blocks[2][a * 4 + (a % 4)] = 3.0 + a;
  PetscCall(mc_graph_from_blocks(comm, 4, sizes, NULL, blocks, g));
  PetscFunctionReturn(0);
}

static PetscErrorCode check_kind(MPI_Comm comm, const MCShuffleBase *base, MCShuffleKind kind)
{
  PetscBool moved = PETSC_FALSE;

  PetscFunctionBeginUser;
  for (PetscInt s = 0; s < 20; ++s) {
    PetscReal **sh, **again;
    PetscCall(mc_shuffle_blocks(base, kind, 42, s, &sh));
    PetscCall(mc_shuffle_blocks(base, kind, 42, s, &again));
    for (PetscInt b = 0; b < base->n_blocks; ++b) {
      PetscInt   n = base->group_size[b] * base->group_size[b + 1];
      PetscReal *x, *y;
      PetscCall(PetscMalloc2(n, &x, n, &y));
      PetscCall(PetscArraycpy(x, base->block[b], n));
      PetscCall(PetscArraycpy(y, sh[b], n));
      for (PetscInt e = 0; e < n; ++e) {
        PetscCheck(sh[b][e] == again[b][e], comm, PETSC_ERR_PLIB, "shuffle %" PetscInt_FMT " block %" PetscInt_FMT " is not reproducible", s, b);
        if (kind == MC_SHUFFLE_LAYER_NONZERO)
          PetscCheck((sh[b][e] != 0) == (base->block[b][e] != 0), comm, PETSC_ERR_PLIB, "layer_nonzero changed the sparsity pattern (shuffle %" PetscInt_FMT ", block %" PetscInt_FMT ", entry %" PetscInt_FMT ")", s, b, e);
        if (sh[b][e] != base->block[b][e]) moved = PETSC_TRUE;
      }
      qsort(x, (size_t)n, sizeof(PetscReal), cmp_real);
      qsort(y, (size_t)n, sizeof(PetscReal), cmp_real);
      for (PetscInt e = 0; e < n; ++e) PetscCheck(x[e] == y[e], comm, PETSC_ERR_PLIB, "shuffle %" PetscInt_FMT " block %" PetscInt_FMT ": multiset of weights changed", s, b);
      PetscCall(PetscFree2(x, y));
      PetscCall(PetscFree(sh[b]));
      PetscCall(PetscFree(again[b]));
    }
    PetscCall(PetscFree(sh));
    PetscCall(PetscFree(again));
  }
  PetscCheck(moved, comm, PETSC_ERR_PLIB, "the shuffles never moved a weight");
  PetscFunctionReturn(0);
}

/* The `layer` shuffle moves zeros too: some shuffle must change the sparsity pattern. And the first
   positions of a permuted block are uniform: over many shuffles each value lands at entry 0 about equally
   often (a coarse check of the Fisher-Yates draws). */
static PetscErrorCode check_layer_moves_zeros(MPI_Comm comm, const MCShuffleBase *base)
{
  PetscBool changed = PETSC_FALSE;
  PetscInt  n = 10, hits[10] = {0}, T = 20000;
  PetscReal v[10];

  PetscFunctionBeginUser;
  for (PetscInt s = 0; s < 5 && !changed; ++s) {
    PetscReal **sh;
    PetscCall(mc_shuffle_blocks(base, MC_SHUFFLE_LAYER, 42, s, &sh));
    for (PetscInt b = 0; b < base->n_blocks; ++b) {
      for (PetscInt e = 0; e < base->group_size[b] * base->group_size[b + 1]; ++e)
        if ((sh[b][e] != 0) != (base->block[b][e] != 0)) changed = PETSC_TRUE;
      PetscCall(PetscFree(sh[b]));
    }
    PetscCall(PetscFree(sh));
  }
  PetscCheck(changed, comm, PETSC_ERR_PLIB, "the layer shuffle never moved a zero");
  for (PetscInt t = 0; t < T; ++t) {
    MCRng r;
    for (PetscInt i = 0; i < n; ++i) v[i] = (PetscReal)(i + 1);
    mc_rng_init(&r, 5, MC_STREAM_SHUFFLE, (uint64_t)t);
    PetscCall(mc_shuffle_block(MC_SHUFFLE_LAYER, n, v, &r));
    hits[(PetscInt)v[0] - 1]++;
  }
  for (PetscInt i = 0; i < n; ++i)
    PetscCheck(PetscAbsReal((PetscReal)hits[i] - (PetscReal)T / n) < 5 * PetscSqrtReal((PetscReal)T / n), comm, PETSC_ERR_PLIB,
               "value %" PetscInt_FMT " lands first %" PetscInt_FMT " times in %" PetscInt_FMT " shuffles (expected about %" PetscInt_FMT ")", i + 1, hits[i], T, T / n);
  PetscFunctionReturn(0);
}

static PetscErrorCode run(void)
{
  MPI_Comm       comm = PETSC_COMM_WORLD;
  MCGraph       *g = NULL, *sg = NULL;
  MCShuffleBase *base = NULL;
  PetscReal    **sh;
  PetscReal      total = 0, norm;
  Vec            ones, rs;

  PetscFunctionBeginUser;
  PetscCall(make_graph(comm, &g));
  PetscCall(mc_shuffle_base_create(comm, g, &base));
  /* Exactly nodes 7 + 3 and 7 + 6 + 4 are gone; groups shrink to 7, 5, 4, 4. */
  PetscCheck(base->n_kept == 20, comm, PETSC_ERR_PLIB, "kept %" PetscInt_FMT " nodes, expected 20", base->n_kept);
  PetscCheck(base->group_size[0] == 7 && base->group_size[1] == 5 && base->group_size[2] == 4 && base->group_size[3] == 4, comm, PETSC_ERR_PLIB,
             "reduced group sizes %" PetscInt_FMT " %" PetscInt_FMT " %" PetscInt_FMT " %" PetscInt_FMT, base->group_size[0], base->group_size[1],
             base->group_size[2], base->group_size[3]);
  for (PetscInt i = 0, j = 0; i < g->n_nodes; ++i) {
    if (i == 10 || i == 17) continue;
    PetscCheck(base->kept[j++] == i, comm, PETSC_ERR_PLIB, "kept node list is wrong at %" PetscInt_FMT, i);
  }
  PetscCall(check_kind(comm, base, MC_SHUFFLE_LAYER));
  PetscCall(check_kind(comm, base, MC_SHUFFLE_LAYER_NONZERO));
  PetscCall(check_layer_moves_zeros(comm, base));

  /* The assembled shuffled graph: symmetric, with the shuffled blocks' total weight, and its row sums at any
     rank count equal the serial sums of the shuffled blocks. */
  PetscCall(mc_shuffle_graph(comm, base, MC_SHUFFLE_LAYER, 42, 3, &sg));
  PetscCall(mc_shuffle_blocks(base, MC_SHUFFLE_LAYER, 42, 3, &sh));
  PetscCheck(sg->n_nodes == 20, comm, PETSC_ERR_PLIB, "shuffled graph has %" PetscInt_FMT " nodes", sg->n_nodes);
  PetscCall(MatCreateVecs(sg->adj, &ones, &rs));
  PetscCall(VecSet(ones, 1.0));
  PetscCall(MatMult(sg->adj, ones, rs));
  PetscCall(VecSum(rs, &norm));
  for (PetscInt b = 0; b < base->n_blocks; ++b) {
    for (PetscInt e = 0; e < base->group_size[b] * base->group_size[b + 1]; ++e) total += 2 * sh[b][e];
    PetscCall(PetscFree(sh[b]));
  }
  PetscCall(PetscFree(sh));
  PetscCheck(PetscAbsReal(norm - total) < 1e-12 * total, comm, PETSC_ERR_PLIB, "shuffled graph weight %g, blocks %g", (double)norm, (double)total);
  {
    PetscBool sym;
    PetscCall(MatIsSymmetric(sg->adj, 0.0, &sym));
    PetscCheck(sym, comm, PETSC_ERR_PLIB, "shuffled graph is not symmetric");
  }
  PetscCall(VecDestroy(&ones));
  PetscCall(VecDestroy(&rs));

  /* Automatic group size. */
  PetscCheck(mc_null_group_size_auto(400000, 8, 50) == 1, comm, PETSC_ERR_PLIB, "small graph: one rank per shuffle");
  PetscCheck(mc_null_group_size_auto(400000, 64, 8) == 8, comm, PETSC_ERR_PLIB, "few shuffles: ranks spread over them");
  PetscCheck(mc_null_group_size_auto(34000000, 64, 50) == 9, comm, PETSC_ERR_PLIB, "large graph: 4M non-zeros per rank");
  PetscCheck(mc_null_group_size_auto(34000000, 4, 50) == 4, comm, PETSC_ERR_PLIB, "clamped to the rank count");

  PetscCall(mc_graph_destroy(&sg));
  PetscCall(mc_shuffle_base_destroy(&base));
  PetscCall(mc_graph_destroy(&g));
  PetscCall(PetscPrintf(comm, "shuffle tests: OK\n"));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(mc_sys_initialize());
  PetscCall(run());
  PetscCall(mc_sys_finalize());
  PetscCall(PetscFinalize());
  return 0;
}
