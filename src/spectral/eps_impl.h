/* src/spectral/eps_impl.h: internals shared by eps.c (the general eigenproblem) and bipartite.c (the
   half-size problem of layered graphs). */
#pragma once
#include <slepceps.h>
#include "mc/spectral.h"

/* Graphs above this many rows run lean on memory: a smaller Krylov basis and no stored transpose. */
#define MC_EPS_LEAN_ROWS 200000

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
