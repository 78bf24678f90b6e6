/* src/graph/graph_impl.h: internals shared by the graph module's files. */
#pragma once
#include "mc/graph.h"

/* mc__graph_knn_adjacency - The act_knn activation graph from Y (N x S standardised values by rows, released
   as by mc_dense_gram_stream): each unit keeps its k strongest squared correlations (diagonal, NaN and
   zeros dropped; ties to the smaller column), the lists are united with their transposes, and *adj is the
   symmetric MPIAIJ result in the row blocks of mc_dense_split. Collective on comm. */
PetscErrorCode mc__graph_knn_adjacency(MPI_Comm comm, const MCDenseOpts *dense, PetscInt N, PetscInt S, PetscInt k, PetscReal **Y, Mat *adj, MCDenseStats *st);

/* mc__graph_kendall_rows - Kendall's tau-b of this rank's units (rows [r0, r0 + nr) of Y: dense integer ranks,
   stride lda) against every unit, into G (nr x N, leading dimension lda): every rank gathers all units'
   ranks and computes its rows pair by pair. Collective on comm. */
PetscErrorCode mc__graph_kendall_rows(MPI_Comm comm, PetscInt N, PetscInt S, PetscInt r0, PetscInt nr, const PetscReal Y[], PetscInt lda, PetscReal G[]);

/* The parts of a weight graph as the channel walker finds them: groups in site order (size, unit layer or
   -1, site layer, MCGroupRole) and blocks between pairs of groups. */
typedef struct {
  PetscInt    n_groups, *size, *layer, *site, *role;
  PetscInt    n_blocks, *pair;
  PetscReal **block;
} MCGraphParts;

/* mc__graph_walk - The node groups and edge blocks of the weight graph of `m` (docs/method.md section 2):
   nodes are the input channels of every weight layer whose inputs are not the image (in an MLP, the input
   features too), of every Dense layer a walk stops at, and the output channels of every network output a
   walk reaches; block (input group of layer x, target) is x's kernel norms times the channel maps of the
   layers between. Every rank gets the same blocks (kernel norms are computed on a share of the rows per
   rank and gathered). Errors (PETSC_ERR_USER_INPUT / PETSC_ERR_SUP): a weight layer without weights, a
   Reshape that changes the channel count on a walk, a graph without edges. Collective on comm. The caller
   owns out's arrays (mc_graph_from_pairs takes pair copies and the blocks; PetscFree4 the group arrays). */
PetscErrorCode mc__graph_walk(MPI_Comm comm, const MCGraphOpts *opts, const MCModel *m, MCGraphParts *out);

/* mc__graph_block_operator - For a graph with blocks that is not layered: a MATSHELL computing A x from the
   replicated blocks (src/graph/blockop.c), composed on g->adj as "mc_graph_mult" for the eigensolver
   (-mc_block_mult false: none). It borrows g, which owns g->adj. Collective on g->adj's communicator. */
PetscErrorCode mc__graph_block_operator(const MCGraph *g);
