/* include/mc/spectral.h: the leading eigenvectors of the normalised adjacency (SLEPc) and the spectral
   embedding used by k-means. The spectral module (eps.c, bipartite.c through eps_impl.h) is the only
   includer of slepceps.h. */
#pragma once
#include <petscmat.h>
#include "mc/graph.h"
#include "mc/sys.h"

typedef struct {
  PetscInt   n_kept;       /* rows of the embedding, global: the nodes with non-zero degree */
  PetscInt   n_local;      /* rows on this rank, an even split of the kept nodes in global order */
  PetscInt   rstart;       /* first kept-order row on this rank */
  PetscInt   dim;          /* columns (eigenvectors) */
  PetscReal *U;            /* n_local x dim, row-major: D^-1/2 X, sign-flipped; owned */
  PetscReal *eigenvalues;  /* dim eigenvalues of I - D^-1/2 A D^-1/2, ascending; owned, replicated */
  PetscInt   n_converged;  /* eigenpairs the solver converged */
  PetscReal  max_residual; /* largest residual norm ||M x - mu x|| (||x|| = 1, ||M|| = 1) among the dim used */
} MCEmbedding;

/* mc_spectral_embed - The `dim` eigenvectors of L_sym = I - D^-1/2 A D^-1/2 with the smallest eigenvalues,
   restricted to the kept nodes (kept[], n_kept ascending global ids, replicated, as from
   mc_graph_find_isolated), computed as the largest eigenpairs of M = D^-1/2 A D^-1/2 by SLEPc (EPS_HEP,
   EPS_LARGEST_REAL, Krylov-Schur unless -[prefix]eps_type says otherwise; tol is SLEPc's default test,
   the residual relative to |mu|; -eps_conv_abs judges it against ||M|| = 1 instead, which converges
   faster when some leading mu are near 0 but leaves the eigenvectors less reproducible across rank
   counts). M is applied matrix-free
   (a shell around adj with the diagonal scaling and the kept-node scatter), so adj is neither copied
   nor modified. With `groups` (NULL for a graph of any shape), the half-size bipartite problem is solved
   instead unless -[prefix]mc_bipartite false. Then U = D^-1/2 X and the sign flip of mc_spectral_sign_flip.
   Errors: PETSC_ERR_NOT_CONVERGED if fewer than dim eigenpairs converge.
   Collective on the communicator of adj. Caller owns *out; release with mc_spectral_embedding_destroy(). */
PetscErrorCode mc_spectral_embed(Mat adj, const MCGroups *groups, PetscInt n_kept, const PetscInt kept[], PetscInt dim, PetscReal tol, PetscInt max_it,
                                 uint64_t seed, const char *options_prefix, MCEmbedding **out);

/* mc_spectral_embedding_destroy - Free *e; sets it to NULL; does nothing on NULL. Not collective. */
PetscErrorCode mc_spectral_embedding_destroy(MCEmbedding **e);

/* mc_spectral_sign_flip - Negate each column of U (n_local x dim, rows rstart.. of a global row order)
   whose largest-|.| entry is negative; on ties in |.| the smallest global row decides (scikit-learn's
   _deterministic_vector_sign_flip). Collective on comm. */
PetscErrorCode mc_spectral_sign_flip(MPI_Comm comm, PetscInt n_local, PetscInt rstart, PetscInt dim, PetscReal U[]);
