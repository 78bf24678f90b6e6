/* include/mc/graph.h: the neuron graph, a symmetric adjacency distributed over the ranks in row blocks. */
#pragma once
#include <petscmat.h>
#include "mc/model.h"

/* Enum values are listed in the order of the key's choices in src/config/config.def. */
typedef enum { MC_GRAPH_WEIGHTS, MC_GRAPH_ACTIVATIONS } MCGraphKind;
typedef enum { MC_CONV_NORM_L1, MC_CONV_NORM_INDUCED_L1, MC_CONV_NORM_L2, MC_CONV_NORM_FRO } MCConvNorm;

/* How the graph is built ([graph] section). */
typedef struct {
  MCGraphKind kind;
  MCConvNorm  conv_norm;          /* norm of a kernel slice (CNN edges) */
  PetscBool   fold_batchnorm;     /* scale kernels by the BatchNorm that follows */
  PetscBool   include_dense_head; /* CNN: the Dense layers after the convolutions join the graph */
} MCGraphOpts;

/* mc_graph_kind_name, mc_graph_conv_norm_name - The names of the configuration ("weights", "l1", ...);
   "unknown" out of range. Not collective. */
const char *mc_graph_kind_name(MCGraphKind kind);
const char *mc_graph_conv_norm_name(MCConvNorm norm);

/* The node groups of a graph whose edges join consecutive groups only (a graph from layer blocks, as
   mc_graph_from_blocks builds): even and odd groups are the two sides of a bipartite graph, and the
   eigensolver then solves the half-size problem. */
typedef struct {
  PetscInt        n_groups;
  const PetscInt *offset; /* n_groups + 1 global node offsets: group g holds [offset[g], offset[g + 1]) */
} MCGroups;

typedef struct {
  Mat       adj;           /* N x N symmetric MPIAIJ adjacency, >= 0, zero diagonal; owned */
  PetscInt  n_nodes;       /* N, global */
  PetscInt  n_groups;      /* unit layers that are graph nodes, in forward order */
  PetscInt *group_offset;  /* n_groups + 1 global node offsets: group g holds [offset[g], offset[g+1]) */
  PetscInt *group_layer;   /* n_groups: unit-layer number of group g (0 = model input, i = i-th weight layer) */
  /* Dense blocks between consecutive groups, replicated on every rank (they come from replicated weights):
     block b couples group b and group b + 1 and is n_{b} x n_{b+1}, row-major; NULL for graphs that do
     not come from layer blocks (synthetic sparse graphs). Shuffles permute these. */
  PetscInt   n_blocks;
  PetscReal **block;       /* n_blocks arrays; owned */
} MCGraph;

/* mc_graph_build - The |weight| graph of `model` (docs/method.md section 2) for opts->kind = weights:
   MLP: nodes are input features, every Dense layer's units and the logits, edges |W|.
   CNN: nodes are the output channels of every Conv2D layer; edge (i, j) is the opts->conv_norm of
   kernel slice K[:, :, i, j], after BatchNorm folding when opts->fold_batchnorm; with
   opts->include_dense_head the Dense layers after the convolutions join (first Dense: edge (channel c,
   unit j) = sum over the H*W flattened positions p of |W[p*C + c, j]|, root-sum-square for l2/fro).
   Folding also scales Dense columns by the BatchNorm that follows a Dense layer (VGG's dense head).
   Pooling, activation, dropout, flatten and softmax layers pass through. Blocks are replicated on every
   rank (conv norms are computed on a share of the rows per rank and gathered); each rank inserts only the
   matrix rows it owns, with exact preallocation; exact zeros (pruned weights) give no edge.
   Errors: PETSC_ERR_USER_INPUT if the model has no weight layer; PETSC_ERR_SUP for kind = activations (not
   implemented yet). Collective on comm. Caller owns *out; release with mc_graph_destroy(). */
PetscErrorCode mc_graph_build(MPI_Comm comm, const MCGraphOpts *opts, const MCModel *model, MCGraph **out);

/* mc_graph_from_blocks - A graph from group sizes and dense inter-group blocks (as in MCGraph). Takes
   ownership of the arrays passed (block[], the arrays it points to, group sizes are copied).
   Collective on comm. Caller owns *out. */
PetscErrorCode mc_graph_from_blocks(MPI_Comm comm, PetscInt n_groups, const PetscInt group_size[], const PetscInt group_layer[],
                                    PetscReal **block, MCGraph **out);

/* mc_graph_groups - The node groups of g (borrowed from it), for the eigensolver. Not collective. */
MCGroups mc_graph_groups(const MCGraph *g);

/* mc_graph_node_info - For global node id i, its unit layer and unit index within that layer.
   Not collective. */
void mc_graph_node_info(const MCGraph *g, PetscInt i, PetscInt *layer, PetscInt *unit);

/* mc_graph_destroy - Free *g; sets it to NULL; does nothing on NULL. Collective. */
PetscErrorCode mc_graph_destroy(MCGraph **g);

/* mc_graph_conv_norm - The norm of one kh x kw kernel slice S (S[a * sstride] for row a = 0..kh-1, column
   b at offset b * cstride): l1 sum |S_ab|, induced_l1 max over columns b of sum_a |S_ab|, l2 largest
   singular value, fro sqrt(sum S_ab^2). `work` has room for max(kh, kw)^2 reals. Not collective.
   Returns -1 for a norm out of range. */
PetscReal mc_graph_conv_norm(MCConvNorm norm, PetscInt kh, PetscInt kw, const float *S, PetscInt row_stride,
                             PetscInt col_stride, PetscReal work[]);

/* mc_graph_find_isolated - The nodes of `adj` with non-zero degree (row sum; adj is non-negative), as a
   replicated ascending array of global node ids. *n_kept is global; *kept (n_kept entries) is replicated
   on every rank, owned by the caller (PetscFree). *degree, if not NULL, is a new vector with the row
   sums in adj's row layout (caller destroys it). Collective on the communicator of adj. */
PetscErrorCode mc_graph_find_isolated(Mat adj, PetscInt *n_kept, PetscInt **kept, Vec *degree);
