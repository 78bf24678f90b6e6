/* include/mc/cluster.h: spectral clustering of a graph, end to end: degree-0 removal, the leading
   eigenvectors of the normalised Laplacian (SLEPc), the embedding, distributed k-means, n-cut.
   Semantics of scikit-learn SpectralClustering(affinity='precomputed', assign_labels='kmeans'). */
#pragma once
#include <petscmat.h>
#include "mc/graph.h"
#include "mc/sys.h"

typedef struct {
  PetscInt  k;            /* clusters requested */
  PetscInt  n_init;       /* k-means restarts; 0 = 25, or 100 when more than 2000 nodes */
  PetscInt  max_iter;     /* Lloyd iterations per restart; 0 = 300 */
  PetscReal tol;          /* k-means relative tolerance (scikit-learn's rule), used as given: 0 = until no label changes */
  PetscReal eig_tol;      /* eigensolver tolerance (residual relative to the eigenvalue); 0 = 1e-10, [cluster] eig_tol's default */
  PetscInt  eig_max_it;   /* 0 = SLEPc default */
  uint64_t  seed;         /* k-means streams are (seed, MC_STREAM_KMEANS, restart) */
  const char *options_prefix; /* PETSc options prefix of the EPS, or NULL */
} MCClusterOpts;

typedef struct {
  PetscInt   n_nodes;      /* N, all nodes */
  PetscInt   n_removed;    /* degree-0 nodes, labelled -1 */
  PetscInt  *labels;       /* N labels in 0..k-1 or -1, numbered by smallest member; replicated, owned */
  PetscInt   k;            /* clusters */
  PetscReal  ncut;         /* n-cut over the clusters present (docs/method.md section 5); for a local partitioning
                              the sum of its windows' n-cuts (mc_cluster_local) */
  PetscReal *eigenvalues;  /* k smallest eigenvalues of I - D^-1/2 A D^-1/2 over the kept nodes, ascending; owned */
  PetscInt   n_converged;  /* eigenpairs the solver converged */
  PetscReal  max_residual; /* largest residual norm ||M x - mu x|| among the k used (||M|| = 1, so relative to it) */
  PetscReal  inertia;      /* k-means inertia of the winning restart */
  PetscInt   best_restart; /* index of the winning restart */
  PetscInt   n_init;       /* k-means restarts actually run (opts->n_init, or the automatic choice) */
  PetscInt   n_components_warn; /* 1 if the kept graph has several components (second eigenvalue < 1e-10);
                                   the caller prints the warning (docs/method.md section 2) */
  /* Local partitionings (mc_cluster_local) only; a global one has n_groups = 0, local_k = NULL and its
     eigenvalues; a local one has eigenvalues = NULL (one eigenproblem per window). */
  PetscInt   n_groups;     /* node groups of the graph */
  PetscInt  *local_k;      /* n_groups: the k of the window whose clustering labels that group; owned */
} MCClustering;

/* How a local partitioning chooses each layer's k (the [graph] local_k choices, in that order). */
typedef enum { MC_LOCAL_K_FIXED, MC_LOCAL_K_REFERENCE } MCLocalK;

/* mc_cluster_local_k_name - "fixed" or "reference"; "unknown" out of range. Not collective. */
const char *mc_cluster_local_k_name(MCLocalK mode);

/* mc_cluster_graph - Cluster the symmetric non-negative adjacency `adj` (any distribution) into opts->k
   clusters. `groups` (mc_graph_groups, for graphs from layer blocks; NULL or n_groups = 0 for none) lets the eigensolver solve the
   half-size bipartite problem; NULL for a graph of any other shape. Errors: PETSC_ERR_USER_INPUT if k < 2 or k exceeds the number of nodes left after removing
   degree-0 nodes; PETSC_ERR_NOT_CONVERGED if fewer than k eigenpairs converge.
   n_init = 0 means 25, or 100 when more than 2000 nodes remain after removing the degree-0 nodes.
   Labels are the same for any rank count whenever the embedding is: k-means is exactly rank-independent
   (see mc/kmeans.h); the eigenvectors themselves agree across rank counts only to the solver tolerance,
   which decides nothing on structured graphs but can flip k-means on structureless ones.
   Collective on the communicator of adj. Caller owns *out; release with mc_cluster_destroy(). */
PetscErrorCode mc_cluster_graph(Mat adj, const MCGroups *groups, const MCClusterOpts *opts, MCClustering **out);

/* mc_cluster_local - The local partitioning of g (docs/method.md section 5) from its global partitioning
   `global` (same graph, same options). Group l's k_l is the number of distinct global labels among its
   valid units, clamped to [1, valid units] (mode REFERENCE counts them in the label-vector positions the
   reference code used, see docs/method.md). A layered graph (weights; edges between consecutive groups only)
   clusters, for every interior group l, the three-group window (l-1, l, l+1) with k_l and keeps group l's
   labels (the first and last groups take theirs from the first and last windows; a graph of at most three
   groups is one window, with the largest k_l); any other graph (activations) clusters each group alone
   with its k_l. A window's degree-0 nodes are labelled -1; a k of 1 (or a k as large as the window's kept
   nodes) needs no eigensolve. Labels are renumbered group by group, by smallest member, so no label spans
   two groups. ncut is the sum over the windows of the n-cut of each window's clustering on the window's
   graph (over the whole graph, clusters confined to one layer of a layered graph would always score k). Collective on the communicator of g->adj. Caller owns *out. */
PetscErrorCode mc_cluster_local(const MCGraph *g, const MCClustering *global, const MCClusterOpts *opts, MCLocalK mode, MCClustering **out);

/* mc_cluster_local_given - The same with each group's k given (k_of[g->n_groups], as a local partitioning's
   local_k: the window that labels group l is clustered with k_of[l]; for a layered graph of at most three
   groups, with the largest), not derived from a global partitioning: the clusterability null clusters
   every shuffled network's windows with the true network's k, so the n-cuts (which grow with k) compare.
   Collective on the communicator of g->adj. Caller owns *out. */
PetscErrorCode mc_cluster_local_given(const MCGraph *g, const PetscInt k_of[], const MCClusterOpts *opts, MCClustering **out);

/* mc_cluster_duplicate - A deep copy of c. Not collective. Caller owns *out. */
PetscErrorCode mc_cluster_duplicate(const MCClustering *c, MCClustering **out);

/* mc_cluster_destroy - Free *c; sets it to NULL; does nothing on NULL. */
PetscErrorCode mc_cluster_destroy(MCClustering **c);

/* mc_cluster_ncut - n-cut of `labels` (N replicated labels, -1 ignored) on adj: sum over clusters c of
   cut(c) / (vol(c) + 1e-8). Collective on the communicator of adj. */
PetscErrorCode mc_cluster_ncut(Mat adj, const PetscInt labels[], PetscReal *ncut);
