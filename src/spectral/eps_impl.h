/* src/spectral/eps_impl.h: internals shared by eps.c (the general eigenproblem) and bipartite.c (the
   half-size problem of layered graphs). */
#pragma once
#include <slepceps.h>
#include "mc/spectral.h"

/* Graphs above this many rows run lean on memory: a smaller Krylov basis and no stored transpose. */
#define MC_EPS_LEAN_ROWS 200000

/* The dense eigensolver takes over when k >= n_kept / MC_EPS_DENSE_FRACTION, up to this many kept nodes
   (-mc_eig_dense_max_rows): 3 n^2 doubles over the ranks, 3.5 GB at the default. */
#define MC_EPS_DENSE_FRACTION 5
#define MC_EPS_DENSE_MAX_ROWS 12000

/* mc__eps_dense_choose - Whether the embedding of dim vectors over n_kept nodes goes to the dense solver:
   -[prefix]mc_eig_dense true|false decides when given, else the rule above. Refuses (PETSC_ERR_USER_INPUT,
   naming cluster.k) a dim above n_kept / 3 that the dense solver cannot take. Collective (same answer on
   every rank). */
PetscErrorCode mc__eps_dense_choose(MPI_Comm comm, PetscInt n_kept, PetscInt dim, const char *options_prefix, PetscBool *dense);

/* mc__eps_solve_dense - Fill e (eigenvalues, U before the sign flip, residuals) from every eigenpair of
   D^-1/2 A D^-1/2 on the kept nodes, computed by mc_dense_eig_top. Replaces e->U and sets e->n_local and
   e->rstart to mc_dense_split(n_kept). Collective on adj's communicator. */
PetscErrorCode mc__eps_solve_dense(Mat adj, PetscInt n_kept, const PetscInt kept[], PetscInt dim, MCEmbedding *e);

/* mc__eps_solve_largest - The dim largest eigenpairs of the symmetric operator Op with Krylov-Schur
   (PETSc options, under options_prefix, override), started from v0; fewer than dim converged pairs is an
   error. Caller owns *eps (EPSDestroy). Collective. */
PetscErrorCode mc__eps_solve_largest(MPI_Comm comm, Mat Op, PetscInt dim, PetscReal tol, PetscInt max_it, Vec v0, const char *options_prefix, EPS *eps,
                                     PetscInt *nconv);

/* mc__eps_sort_descending - order[0..n) (initially any permutation) sorted so that v[order[i]] descends;
   insertion sort, n is k. */
void mc__eps_sort_descending(PetscInt n, const PetscReal v[], PetscInt order[]);

/* mc__eps_solve_bipartite - The embedding of a graph whose groups make it bipartite (MCGroups),
   from the top eigenpairs of the half-size matrix C C^T; s is d^-1/2 in the kept layout. Sets *done, or
   leaves it false (and e untouched) when the general eigenproblem must be solved instead. Collective. */
PetscErrorCode mc__eps_solve_bipartite(Mat adj, const MCGroups *groups, Vec s, PetscInt n_kept, const PetscInt kept[], PetscInt dim, PetscReal tol,
                                       PetscInt max_it, uint64_t seed, const char *options_prefix, MCEmbedding *e, PetscBool *done);
