/* include/mc/kmeans.h: distributed k-means (greedy k-means++ seeding, Lloyd iterations, restarts) on the
   rows of an embedding that stays distributed over the ranks in contiguous row blocks (rank order = global
   row order). Semantics of scikit-learn's KMeans(init='k-means++', algorithm='lloyd').

   Rank-count independence: every rank draws the same random numbers from the stream
   (seed, MC_STREAM_KMEANS, restart), and a draw names a point by its global row index. Every reduction
   that decides a choice (sums of D(x)^2, candidate potentials, centroid sums, the inertia) is accumulated
   as 64-bit fixed-point integers at a power-of-two scale agreed by all ranks and summed with MPI_SUM on
   int64, which is exact and order-independent. So for the same embedding rows the labels, centres and
   inertia are bitwise identical for any number of ranks. */
#pragma once
#include <petscsys.h>
#include "mc/sys.h"

typedef struct {
  PetscInt  k;        /* clusters, 1 <= k <= global rows */
  PetscInt  n_init;   /* restarts (>= 1); the lowest inertia wins, the lower restart on a tie */
  PetscInt  max_iter; /* Lloyd iterations per restart (>= 1) */
  PetscReal tol;      /* relative tolerance: stop when the squared centre shift <= tol * mean column variance */
  uint64_t  seed;     /* streams (seed, MC_STREAM_KMEANS, restart) */
} MCKMeansOpts;

typedef struct {
  PetscReal inertia;      /* sum of squared distances to the assigned centre, winning restart */
  PetscInt  best_restart; /* index of the winning restart */
  PetscInt  n_iter;       /* Lloyd iterations of the winning restart */
} MCKMeansInfo;

/* mc_kmeans_run - Cluster the n_local rows of U (n_local x dim, row-major, this rank's rows of the global
   row order) into opts->k clusters. labels[] (n_local entries, caller-allocated) receives labels 0..k-1 in
   the order the seeding found the centres (renumber afterwards if needed); centers (k x dim, may be NULL)
   the final centres, replicated. Errors: PETSC_ERR_USER_INPUT if k < 1 or k exceeds the global rows.
   Collective on comm. */
PetscErrorCode mc_kmeans_run(MPI_Comm comm, PetscInt n_local, PetscInt dim, const PetscReal U[], const MCKMeansOpts *opts,
                             PetscInt labels[], PetscReal centers[], MCKMeansInfo *info);
