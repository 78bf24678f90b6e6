/* include/mc/graph.h: the neuron graph, a symmetric adjacency distributed over the ranks in row blocks. */
#pragma once
#include <petscmat.h>
#include "mc/model.h"
#include "mc/dense.h"

/* Enum values are listed in the order of the key's choices in src/config/config.def. */
typedef enum { MC_GRAPH_WEIGHTS, MC_GRAPH_ACTIVATIONS } MCGraphKind;
typedef enum { MC_CONV_NORM_L1, MC_CONV_NORM_INDUCED_L1, MC_CONV_NORM_L2, MC_CONV_NORM_FRO } MCConvNorm;
/* How a conv channel's H x W pre-activation map becomes one number per example: the first four as
   MCConvNorm (on the map instead of a kernel slice), MEAN the average over the map (signed). */
typedef enum { MC_SPATIAL_L1, MC_SPATIAL_INDUCED_L1, MC_SPATIAL_L2, MC_SPATIAL_FRO, MC_SPATIAL_MEAN } MCSpatialNorm;
/* A partitioning of the whole graph, or of each layer on its own ([graph] scope). */
typedef enum { MC_SCOPE_GLOBAL, MC_SCOPE_LOCAL } MCScope;
/* What a weight graph's node group is (MCGraph group_role). */
typedef enum { MC_GROUP_SOURCE, MC_GROUP_STOP, MC_GROUP_OUTPUT } MCGroupRole;
/* What BatchNorm folding does with a negative scale gamma / sqrt(var + eps): KEEP its magnitude, CLIP it to 0. */
typedef enum { MC_BN_NEGATIVE_KEEP, MC_BN_NEGATIVE_CLIP } MCBNNegative;
/* The correlation whose square weighs an activation edge. */
typedef enum { MC_CORR_SPEARMAN, MC_CORR_PEARSON, MC_CORR_KENDALL } MCCorr;

/* How the graph is built ([graph] section). */
typedef struct {
  MCGraphKind kind;
  MCConvNorm  conv_norm;          /* norm of a kernel slice (CNN edges) */
  PetscBool   fold_batchnorm;     /* scale kernels by the BatchNorm that follows */
  MCBNNegative bn_negative;       /* folding a negative BatchNorm scale */
  PetscBool   include_dense_head; /* CNN: the Dense layers after the convolutions join the graph */
  /* Activation graphs (kind = activations) */
  PetscInt      act_samples;      /* training examples drawn, stream (seed, MC_STREAM_ACTIVATIONS, 0) */
  MCSpatialNorm act_norm;         /* conv channel map -> one number */
  MCCorr        act_corr;
  PetscBool     act_include_io;   /* the input features and the logits join the hidden units */
  PetscInt      act_knn;          /* > 0: keep each unit's act_knn strongest edges (symmetrised, sparse) */
  PetscBool     keep_activations; /* keep this rank's activations and the sample indices in the graph */
  uint64_t      seed;
  MCDenseOpts   dense;            /* grid of the correlation products */
} MCGraphOpts;

/* mc_graph_kind_name, mc_graph_conv_norm_name, mc_graph_spatial_norm_name, mc_graph_corr_name,
   mc_graph_scope_name, mc_graph_bn_negative_name - The names of the configuration ("weights", "l1", "mean",
   "spearman", "local", "keep", ...);
   "unknown" out of range. Not collective. */
const char *mc_graph_kind_name(MCGraphKind kind);
const char *mc_graph_conv_norm_name(MCConvNorm norm);
const char *mc_graph_spatial_norm_name(MCSpatialNorm norm);
const char *mc_graph_corr_name(MCCorr corr);
const char *mc_graph_bn_negative_name(MCBNNegative mode);
const char *mc_graph_scope_name(MCScope scope);

/* mc_graph_partitioning_name - "weights_global", "weights_local", "activations_global" or
   "activations_local" (the [graph] partitionings values); mc_graph_partitioning_parse the reverse
   (PETSC_FALSE for an unknown name). Not collective. */
const char *mc_graph_partitioning_name(MCGraphKind kind, MCScope scope);
PetscBool   mc_graph_partitioning_parse(const char *name, MCGraphKind *kind, MCScope *scope);

/* The node groups of a graph whose edges join consecutive groups only (a graph from layer blocks, as
   mc_graph_from_blocks builds): even and odd groups are the two sides of a bipartite graph, and the
   eigensolver then solves the half-size problem. */
typedef struct {
  PetscInt        n_groups;
  const PetscInt *offset; /* n_groups + 1 global node offsets: group g holds [offset[g], offset[g + 1]) */
} MCGroups;

typedef struct {
  Mat       adj;           /* N x N symmetric adjacency, >= 0, zero diagonal, rows spread over the ranks; owned.
                              MPIAIJ for weight graphs, MPIDENSE for activation graphs */
  PetscInt  n_nodes;       /* N, global */
  PetscInt  n_groups;      /* unit layers that are graph nodes, in forward order */
  PetscInt *group_offset;  /* n_groups + 1 global node offsets: group g holds [offset[g], offset[g+1]) */
  PetscInt *group_layer;   /* n_groups: unit-layer number of group g (0 = model input, i = i-th weight layer) */
  /* Dense blocks between pairs of groups, replicated on every rank (they come from replicated weights):
     block b couples row group block_pair[2b] and column group block_pair[2b + 1] (the smaller first; no
     pair twice) and is n_row x n_col, row-major; NULL for graphs that do not come from layer blocks
     (synthetic sparse graphs, activation graphs). Shuffles permute these. */
  PetscInt    n_blocks;
  PetscInt   *block_pair;  /* 2 * n_blocks group numbers; owned */
  PetscReal **block;       /* n_blocks arrays; owned */
  PetscBool   layered;     /* every block joins consecutive groups (g, g + 1): a chain's graph */
  /* Weight graphs of any network (the channel walker, docs/method.md section 2): group g holds the input
     channels of model layer group_site[g] (role SOURCE: a weight layer the walks start from; STOP: a Dense
     layer outside the graph where walks end), or its output channels (OUTPUT: a network output). NULL for
     graphs that do not come from a model. */
  PetscInt  *group_site;
  PetscInt  *group_role;   /* MCGroupRole values */
  PetscBool  branched;     /* the model is not a chain: lesions are of a group's consumer input slice */

  /* Activation graphs: */
  PetscInt   n_dead;       /* units with zero variance over the samples: no edges, so labelled -1 */
  PetscInt   n_samples;    /* S training examples the correlations are over */
  PetscInt  *sample;       /* S indices into the training set, replicated; owned (NULL unless kept) */
  PetscInt   sample_start, sample_count; /* this rank's samples, [start, start + count) of sample[] */
  PetscReal *activation;   /* sample_count x n_nodes, row-major: this rank's samples' values of every node,
                              before ranking; owned (NULL unless opts->keep_activations) */
} MCGraph;

/* mc_graph_build - The |weight| graph of `model` (docs/method.md section 2) for opts->kind = weights, from
   the channel walker, for chains and DAGs alike. Nodes are the input channels of every weight layer (Dense,
   Conv2D; a depthwise convolution is not one) except those that read the image, plus the channels reaching
   a Dense layer outside the graph or a network output: in a chain CNN the output channels of every conv, in
   an MLP the input features, every Dense layer's units and the logits; ResNet-50 24,576 nodes in 53 groups.
   From each such layer the walk goes forward through BatchNorm (folded when opts->fold_batchnorm, negative
   scales per opts->bn_negative), activations, pooling, padding, Flatten, Reshape that keeps channels, Add
   and Multiply (both inputs pass), Concatenate (the branch's channels shifted to its place) and depthwise
   convolutions (channel c to its outputs, times their kernel slice norms) until the next weight layer or an
   output. Edge (input channel i of layer x, channel j of the target) = sum over the paths of the
   opts->conv_norm of x's kernel slice K[:, :, i, c] times the path's factors; a Dense after a Flatten
   counts channel c over its H*W positions (sum of |W[p*C + c, j]|, root-sum-square for l2/fro). Dense
   layers join in an MLP, with opts->include_dense_head, or when a convolution follows them. Blocks are
   replicated on every rank (norms computed on a share of the rows per rank and gathered); each rank
   inserts only the matrix rows it owns; exact zeros (pruned weights) give no edge. g->group_site and
   g->group_role say what each group is (g->branched when the model is not a chain); g->group_layer is the unit layer whose outputs the channels
   are, -1 after a merge. Errors: PETSC_ERR_USER_INPUT if the model has no weight layer or the graph no
   edges; PETSC_ERR_SUP for a Reshape that changes the channel count on a walk; PETSC_ERR_ARG_WRONG for
   kind = activations (mc_graph_build_activations builds those). Collective on comm. Caller owns *out;
   release with mc_graph_destroy(). */
PetscErrorCode mc_graph_build(MPI_Comm comm, const MCGraphOpts *opts, const MCModel *model, MCGraph **out);

/* mc_graph_build_activations - The activation graph of `model` on the examples of `train` (docs/method.md
   section 3): nodes are the units of every hidden Dense and Conv2D layer (with opts->act_include_io also
   the input features, or input channels before a convolution, and the logits); a unit's value on an
   example is its pre-activation (after the bias, before the fused activation), a conv channel's H x W map
   reduced by opts->act_norm; the units are the weight graph's (a CNN's hidden Dense layers only with
   opts->include_dense_head). opts->act_samples examples are drawn without replacement from the stream
   (opts->seed, MC_STREAM_ACTIVATIONS, 0); each rank runs the forward pass on its share. Edge a_ij =
   rho_ij^2 (Spearman: Pearson of the ranks, ties averaged; Pearson; or Kendall's tau-b), diagonal 0, NaN
   to 0, clipped to [0, 1]; units of zero variance are dead (no edges). Spearman and Pearson are one Gram
   product of the standardised values on a ScaLAPACK grid (mc_dense_gram); Kendall is computed pair by pair
   (Knight's algorithm, O(N^2 S log S) over the ranks, every rank holding all units' ranks). The adjacency is
   a MATMPIDENSE in the row blocks of mc_dense_split, never gathered on one rank; with opts->act_knn > 0 the
   correlations are streamed panel by panel instead, each unit keeps its act_knn strongest edges (ties to
   the smaller unit), the lists are united with their transposes and the adjacency is MPIAIJ: the dense
   graph is never held (twice the flops of the dense product).
   Errors (PETSC_ERR_USER_INPUT, naming the file, key or layer): examples whose shape is not the model's
   input, act_samples above the examples available or below 3, a layer whose every unit is dead, a graph
   that does not fit in the memory this node has for each rank (saying how many ranks it needs).
   Collective on comm. Caller owns *out; release with mc_graph_destroy(). */
PetscErrorCode mc_graph_build_activations(MPI_Comm comm, const MCGraphOpts *opts, const MCModel *model, const MCDataset *train, MCGraph **out);

/* mc_graph_from_blocks - A layered graph from group sizes and dense blocks between consecutive groups
   (block b couples groups b and b + 1; mc_graph_from_pairs with those pairs). Takes ownership of the
   arrays passed (block[], the arrays it points to, group sizes are copied).
   Collective on comm. Caller owns *out. */
PetscErrorCode mc_graph_from_blocks(MPI_Comm comm, PetscInt n_groups, const PetscInt group_size[], const PetscInt group_layer[],
                                    PetscReal **block, MCGraph **out);

/* mc_graph_from_pairs - A graph from group sizes and dense blocks between any pairs of groups (as in
   MCGraph: pair[2b] < pair[2b + 1], no pair twice). Copies the sizes, layers and pairs; takes ownership
   of block[] and the arrays it points to (also on error). Errors: PETSC_ERR_USER_INPUT for an empty group
   or a negative, NaN or infinite edge weight; PETSC_ERR_ARG_OUTOFRANGE for a bad pair.
   Collective on comm. Caller owns *out. */
PetscErrorCode mc_graph_from_pairs(MPI_Comm comm, PetscInt n_groups, const PetscInt group_size[], const PetscInt group_layer[], PetscInt n_blocks,
                                   const PetscInt pair[], PetscReal **block, MCGraph **out);

/* mc_graph_block_dims - Rows and columns of block b of g. Not collective. */
void mc_graph_block_dims(const MCGraph *g, PetscInt b, PetscInt *n_row, PetscInt *n_col);

/* mc_graph_groups - The node groups of g (borrowed from it), for the eigensolver; n_groups = 0 (no groups)
   when g has edges other than between consecutive groups. Not collective. */
MCGroups mc_graph_groups(const MCGraph *g);

/* mc_graph_subgraph - The graph induced by node groups [g0, g1) of g: their nodes (renumbered from 0), the
   edges among them (as MPIAIJ, exact zeros dropped), their groups and layers; no blocks. Each rank keeps
   the rows it owns in g. Collective on the communicator of g->adj. Caller owns *out (mc_graph_destroy). */
PetscErrorCode mc_graph_subgraph(const MCGraph *g, PetscInt g0, PetscInt g1, MCGraph **out);

/* mc_graph_node_info - For global node id i, its unit layer and unit index within that layer.
   Not collective. */
void mc_graph_node_info(const MCGraph *g, PetscInt i, PetscInt *layer, PetscInt *unit);

/* mc_graph_group_name - A readable name of group grp of g, a graph of model m: the unit layer's name for a
   chain ("input" for the input features), "input of NAME" / "output of NAME" for the channel walker's
   groups of a branched network. May write into buf (n bytes) and return it. Not collective. */
const char *mc_graph_group_name(const MCGraph *g, const MCModel *m, PetscInt grp, char buf[], size_t n);

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
