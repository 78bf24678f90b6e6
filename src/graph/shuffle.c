/* src/graph/shuffle.c: the null shuffles of the layer blocks (docs/method.md section 7), regenerated from
   counter-based streams on every rank that needs them, so nothing is communicated. */
#include <string.h>
#include "mc/shuffle.h"

const char *mc_shuffle_kind_name(MCShuffleKind kind)
{
  switch (kind) {
  case MC_SHUFFLE_LAYER:
    return "layer";
  case MC_SHUFFLE_LAYER_NONZERO:
    return "layer_nonzero";
  }
  return "unknown";
}

PetscErrorCode mc_shuffle_base_create(MPI_Comm comm, const MCGraph *g, MCShuffleBase **out)
{
  MCShuffleBase *b;
  PetscInt       N = g->n_nodes, nk = 0;
  PetscBool     *alive;
  PetscInt     **keep; /* per group: kept unit indices */

  PetscFunctionBeginUser;
  PetscCheck(g->block && g->n_blocks > 0, comm, PETSC_ERR_USER_INPUT,
             "The clusterability null shuffles layer weight blocks, but this graph has none (it does not come from a network's layers)");
  PetscCheck(g->n_blocks <= MC_SHUFFLE_MAX_BLOCKS, comm, PETSC_ERR_USER_INPUT,
             "The clusterability null supports at most %d weight blocks, the graph has %" PetscInt_FMT, MC_SHUFFLE_MAX_BLOCKS, g->n_blocks);
  PetscCall(PetscCalloc1(N, &alive));
  /* Degree from the blocks: a unit is kept when its row or column in some block holds a non-zero (weights
     are non-negative, so that is a non-zero degree). */
  for (PetscInt bi = 0; bi < g->n_blocks; ++bi) {
    PetscInt         o0 = g->group_offset[g->block_pair[2 * bi]], o1 = g->group_offset[g->block_pair[2 * bi + 1]], n0, n1;
    const PetscReal *B = g->block[bi];
    mc_graph_block_dims(g, bi, &n0, &n1);
    for (PetscInt a = 0; a < n0; ++a)
      for (PetscInt c = 0; c < n1; ++c)
        if (B[a * n1 + c] != 0) {
          alive[o0 + a] = PETSC_TRUE;
          alive[o1 + c] = PETSC_TRUE;
        }
  }
  PetscCall(PetscNew(&b));
  b->n_groups = g->n_groups;
  b->n_blocks = g->n_blocks;
  PetscCall(PetscMalloc2(g->n_groups, &b->group_size, g->n_groups, &b->group_layer));
  PetscCall(PetscMalloc1(g->n_groups, &keep));
  for (PetscInt i = 0; i < N; ++i)
    if (alive[i]) nk++;
  b->n_kept = nk;
  PetscCall(PetscMalloc1(nk, &b->kept));
  nk = 0;
  for (PetscInt i = 0; i < N; ++i)
    if (alive[i]) b->kept[nk++] = i;
  for (PetscInt gi = 0; gi < g->n_groups; ++gi) {
    PetscInt o = g->group_offset[gi], n = g->group_offset[gi + 1] - o, m = 0;
    PetscCall(PetscMalloc1(PetscMax(n, 1), &keep[gi]));
    for (PetscInt u = 0; u < n; ++u)
      if (alive[o + u]) keep[gi][m++] = u;
    /* A wholly dead layer keeps one (zero) unit so its blocks keep their pair of groups. */
    if (m == 0) keep[gi][m++] = 0;
    b->group_size[gi]  = m;
    b->group_layer[gi] = g->group_layer[gi];
  }
  PetscCall(PetscMalloc1(b->n_blocks, &b->block));
  PetscCall(PetscMalloc1(2 * b->n_blocks, &b->block_pair));
  for (PetscInt bi = 0; bi < b->n_blocks; ++bi) {
    PetscInt         r = g->block_pair[2 * bi], q = g->block_pair[2 * bi + 1], n0, n1, m0 = b->group_size[r], m1 = b->group_size[q];
    const PetscReal *B = g->block[bi];
    PetscReal       *R;
    mc_graph_block_dims(g, bi, &n0, &n1);
    PetscCall(PetscMalloc1(m0 * m1, &R));
    for (PetscInt a = 0; a < m0; ++a)
      for (PetscInt c = 0; c < m1; ++c) R[a * m1 + c] = B[keep[r][a] * n1 + keep[q][c]];
    b->block[bi]              = R;
    b->block_pair[2 * bi]     = r;
    b->block_pair[2 * bi + 1] = q;
  }
  for (PetscInt gi = 0; gi < g->n_groups; ++gi) PetscCall(PetscFree(keep[gi]));
  PetscCall(PetscFree(keep));
  PetscCall(PetscFree(alive));
  *out = b;
  PetscFunctionReturn(0);
}

PetscInt mc_shuffle_block_size(const MCShuffleBase *base, PetscInt b)
{
  return base->group_size[base->block_pair[2 * b]] * base->group_size[base->block_pair[2 * b + 1]];
}

PetscErrorCode mc_shuffle_base_destroy(MCShuffleBase **b)
{
  PetscFunctionBeginUser;
  if (!b || !*b) PetscFunctionReturn(0);
  for (PetscInt bi = 0; bi < (*b)->n_blocks; ++bi) PetscCall(PetscFree((*b)->block[bi]));
  PetscCall(PetscFree((*b)->block));
  PetscCall(PetscFree((*b)->block_pair));
  PetscCall(PetscFree2((*b)->group_size, (*b)->group_layer));
  PetscCall(PetscFree((*b)->kept));
  PetscCall(PetscFree(*b));
  PetscFunctionReturn(0);
}

/* Fisher-Yates from the end, on values: the same draws as mc_rng_permute. A block is larger than the
   cache and each swap reads a random place in it, so the draws run 8 swaps ahead and the places they
   name are prefetched (the draws do not depend on the values, so the order of swaps is unchanged). */
#define MC_SHUFFLE_AHEAD 8
static void permute_values(MCRng *r, PetscInt n, PetscReal v[])
{
  PetscInt ahead[MC_SHUFFLE_AHEAD], drawn = n - 1;

  /* ahead[i % AHEAD] holds the draw for step i (steps run i = n-1 down to 1). */
  for (PetscInt i = n - 1; i > 0; --i) {
    PetscReal t;
    PetscInt  j;
    while (drawn > 0 && drawn >= i - (MC_SHUFFLE_AHEAD - 1)) {
      ahead[drawn % MC_SHUFFLE_AHEAD] = (PetscInt)mc_rng_below(r, (uint64_t)drawn + 1);
      __builtin_prefetch(v + ahead[drawn % MC_SHUFFLE_AHEAD], 1);
      drawn--;
    }
    j    = ahead[i % MC_SHUFFLE_AHEAD];
    t    = v[i];
    v[i] = v[j];
    v[j] = t;
  }
}

PetscErrorCode mc_shuffle_block(MCShuffleKind kind, PetscInt n, PetscReal v[], MCRng *r)
{
  PetscFunctionBeginUser;
  if (kind == MC_SHUFFLE_LAYER) {
    permute_values(r, n, v);
  } else {
    PetscInt  *pos, nz = 0;
    PetscReal *val;
    for (PetscInt e = 0; e < n; ++e)
      if (v[e] != 0) nz++;
    PetscCall(PetscMalloc2(nz, &pos, nz, &val));
    nz = 0;
    for (PetscInt e = 0; e < n; ++e)
      if (v[e] != 0) {
        pos[nz]   = e;
        val[nz++] = v[e];
      }
    permute_values(r, nz, val);
    for (PetscInt q = 0; q < nz; ++q) v[pos[q]] = val[q];
    PetscCall(PetscFree2(pos, val));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode mc_shuffle_blocks(const MCShuffleBase *base, MCShuffleKind kind, uint64_t seed, PetscInt index, PetscReal ***blocks)
{
  PetscReal **out;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(base->n_blocks, &out));
  for (PetscInt bi = 0; bi < base->n_blocks; ++bi) {
    PetscInt n = mc_shuffle_block_size(base, bi);
    MCRng    r;
    PetscCall(PetscMalloc1(n, &out[bi]));
    PetscCall(PetscArraycpy(out[bi], base->block[bi], n));
    mc_rng_init(&r, seed, MC_STREAM_SHUFFLE, (uint64_t)index * MC_SHUFFLE_MAX_BLOCKS + (uint64_t)bi);
    PetscCall(mc_shuffle_block(kind, n, out[bi], &r));
  }
  *blocks = out;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_shuffle_graph(MPI_Comm comm, const MCShuffleBase *base, MCShuffleKind kind, uint64_t seed, PetscInt index, MCGraph **out)
{
  PetscReal **blocks;

  PetscFunctionBeginUser;
  PetscCall(mc_shuffle_blocks(base, kind, seed, index, &blocks));
  /* mc_graph_from_pairs takes the blocks (and the pointer array) over. */
  PetscCall(mc_graph_from_pairs(comm, base->n_groups, base->group_size, base->group_layer, base->n_blocks, base->block_pair, blocks, out));
  PetscFunctionReturn(0);
}
