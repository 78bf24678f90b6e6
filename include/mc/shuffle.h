/* include/mc/shuffle.h: the weight shuffles of the clusterability null (docs/method.md section 7). A shuffle
   permutes each inter-layer block of the graph independently, after the true graph's degree-0 nodes are
   removed; every draw comes from the stream (seed, MC_STREAM_SHUFFLE, shuffle * 4096 + block), so any rank
   (and any group of ranks) regenerates the same shuffled graph. */
#pragma once
#include <petscsys.h>
#include "mc/graph.h"
#include "mc/sys.h"

typedef enum {
  MC_SHUFFLE_LAYER = 0,        /* permute every entry of each block, zeros included (the default) */
  MC_SHUFFLE_LAYER_NONZERO = 1 /* permute the non-zero entries among the non-zero positions */
} MCShuffleKind;

/* Largest number of blocks a graph may have for the stream numbering shuffle * 4096 + block. */
#define MC_SHUFFLE_MAX_BLOCKS 4096

/* The true graph's blocks restricted to its nodes of non-zero degree: what every shuffle permutes. */
typedef struct {
  PetscInt    n_groups;    /* node groups (layers), as in the graph */
  PetscInt   *group_size;  /* n_groups: kept units per group (at least 1; see mc_shuffle_base_create) */
  PetscInt   *group_layer; /* n_groups: unit layer of each group */
  PetscInt    n_blocks;    /* as in the graph */
  PetscInt   *block_pair;  /* 2 * n_blocks: the row and column group of each block, as in the graph; owned */
  PetscReal **block;       /* n_blocks row-major group_size[row] x group_size[col] arrays; owned */
  PetscInt    n_kept;      /* kept nodes of the true graph */
  PetscInt   *kept;        /* n_kept ascending global node ids of the true graph; owned */
} MCShuffleBase;

/* mc_shuffle_kind_name - "layer" or "layer_nonzero" (the [clusterability] shuffle values, in that order);
   "unknown" out of range. Not collective. */
const char *mc_shuffle_kind_name(MCShuffleKind kind);

/* mc_shuffle_base_create - The blocks of `g` without its degree-0 nodes (degree from the replicated
   blocks, so every rank gets the same answer without communication). A group left with no node keeps one
   zero node, so every block keeps its pair of groups; the clustering removes it again.
   Errors: PETSC_ERR_USER_INPUT if g has no blocks (a graph that does not come from layer weights) or
   more than MC_SHUFFLE_MAX_BLOCKS of them. Not collective (comm for errors).
   Caller owns *out; release with mc_shuffle_base_destroy(). */
PetscErrorCode mc_shuffle_base_create(MPI_Comm comm, const MCGraph *g, MCShuffleBase **out);

/* mc_shuffle_base_destroy - Free *b; sets it to NULL; does nothing on NULL. Not collective. */
PetscErrorCode mc_shuffle_base_destroy(MCShuffleBase **b);

/* mc_shuffle_block - Permute the n values v[] in place with the stream r: MC_SHUFFLE_LAYER permutes all
   of them (Fisher-Yates from the end), MC_SHUFFLE_LAYER_NONZERO permutes only the non-zero values among
   the positions that hold them. The multiset of values is preserved exactly. Not collective. */
PetscErrorCode mc_shuffle_block(MCShuffleKind kind, PetscInt n, PetscReal v[], MCRng *r);

/* mc_shuffle_blocks - Shuffled copies of base's blocks for shuffle number `index`: block b is drawn from
   the stream (seed, MC_STREAM_SHUFFLE, index * 4096 + b). Not collective; deterministic.
   Caller owns *blocks (base->n_blocks arrays and the array of pointers, PetscFree each). */
PetscErrorCode mc_shuffle_blocks(const MCShuffleBase *base, MCShuffleKind kind, uint64_t seed, PetscInt index, PetscReal ***blocks);

/* mc_shuffle_graph - The shuffled graph number `index` as an MCGraph on comm: every rank of comm
   regenerates the shuffled blocks and inserts only its own rows (mc_graph_from_pairs).
   Collective on comm. Caller owns *out; release with mc_graph_destroy(). */
PetscErrorCode mc_shuffle_graph(MPI_Comm comm, const MCShuffleBase *base, MCShuffleKind kind, uint64_t seed, PetscInt index, MCGraph **out);

/* mc_shuffle_block_size - Entries of block b of base (rows times columns). Not collective. */
PetscInt mc_shuffle_block_size(const MCShuffleBase *base, PetscInt b);
