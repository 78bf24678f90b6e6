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
  PetscReal  ncut;         /* n-cut over the clusters present (docs/method.md section 5) */
  PetscReal *eigenvalues;  /* k smallest eigenvalues of I - D^-1/2 A D^-1/2 over the kept nodes, ascending; owned */
  PetscInt   n_converged;  /* eigenpairs the solver converged */
  PetscReal  max_residual; /* largest residual norm ||M x - mu x|| among the k used (||M|| = 1, so relative to it) */
  PetscReal  inertia;      /* k-means inertia of the winning restart */
  PetscInt   best_restart; /* index of the winning restart */
  PetscInt   n_init;       /* k-means restarts actually run (opts->n_init, or the automatic choice) */
  PetscInt   n_components_warn; /* 1 if the kept graph has several components (second eigenvalue < 1e-10);
                                   the caller prints the warning (docs/method.md section 2) */
} MCClustering;

/* mc_cluster_graph - Cluster the symmetric non-negative adjacency `adj` (any distribution) into opts->k
   clusters. `groups` (mc_graph_groups, for graphs from layer blocks) lets the eigensolver solve the
   half-size bipartite problem; NULL for a graph of any other shape. Errors: PETSC_ERR_USER_INPUT if k < 2 or k exceeds the number of nodes left after removing
   degree-0 nodes; PETSC_ERR_NOT_CONVERGED if fewer than k eigenpairs converge.
   n_init = 0 means 25, or 100 when more than 2000 nodes remain after removing the degree-0 nodes.
   Labels are the same for any rank count whenever the embedding is: k-means is exactly rank-independent
   (see mc/kmeans.h); the eigenvectors themselves agree across rank counts only to the solver tolerance,
   which decides nothing on structured graphs but can flip k-means on structureless ones.
   Collective on the communicator of adj. Caller owns *out; release with mc_cluster_destroy(). */
PetscErrorCode mc_cluster_graph(Mat adj, const MCGroups *groups, const MCClusterOpts *opts, MCClustering **out);

/* mc_cluster_destroy - Free *c; sets it to NULL; does nothing on NULL. */
PetscErrorCode mc_cluster_destroy(MCClustering **c);

/* mc_cluster_ncut - n-cut of `labels` (N replicated labels, -1 ignored) on adj: sum over clusters c of
   cut(c) / (vol(c) + 1e-8). Collective on the communicator of adj. */
PetscErrorCode mc_cluster_ncut(Mat adj, const PetscInt labels[], PetscReal *ncut);
