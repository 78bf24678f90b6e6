/* src/spectral/dense.c: the embedding from a dense eigensolver (ScaLAPACK's pdsyevx through src/dense) when
   the clusters asked for are a large part of the nodes: Krylov-Schur then needs a basis as large as the
   matrix and restarts without converging (k = 1000 of 1818 nodes: 734 pairs after a minute), while the
   dense solver finds every pair of a few thousand nodes in seconds. */
#include "eps_impl.h"
#include "mc/dense.h"

PetscErrorCode mc__eps_dense_choose(MPI_Comm comm, PetscInt n_kept, PetscInt dim, const char *options_prefix, PetscBool *dense)
{
  PetscInt  max_rows = MC_EPS_DENSE_MAX_ROWS;
  PetscBool set      = PETSC_FALSE;

  PetscFunctionBeginUser;
  PetscCall(PetscOptionsGetInt(NULL, options_prefix, "-mc_eig_dense_max_rows", &max_rows, NULL));
  PetscCall(PetscOptionsGetBool(NULL, options_prefix, "-mc_eig_dense", dense, &set));
  if (!set) *dense = (PetscBool)(dim * MC_EPS_DENSE_FRACTION >= n_kept && n_kept <= max_rows);
  /* Beyond the dense solver's size, a Krylov basis of 3 k or more vectors would hold most of the matrix
     and its restarts stall: refuse now rather than after an hour. */
  PetscCheck(*dense || set || 3 * dim <= n_kept, comm, PETSC_ERR_USER_INPUT,
             "cluster.k = %" PetscInt_FMT " is more than a third of the %" PetscInt_FMT
             " connected nodes, and the graph is beyond the dense eigensolver's %" PetscInt_FMT
             " rows (-mc_eig_dense_max_rows; it holds 3 N^2 doubles over the ranks): lower cluster.k",
             dim, n_kept, max_rows);
  PetscFunctionReturn(0);
}

PetscErrorCode mc__eps_solve_dense(Mat adj, PetscInt n_kept, const PetscInt kept[], PetscInt dim, MCEmbedding *e)
{
  MPI_Comm           comm;
  PetscMPIInt        size, rank;
  PetscInt           start, count, lda, ld;
  IS                 is;
  Mat                S, D;
  Vec                s, x, y;
  MCDenseOpts        o;
  PetscReal         *V, *mu;
  const PetscScalar *a, *sa;

  PetscFunctionBeginUser;
  PetscCall(PetscObjectGetComm((PetscObject)adj, &comm));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  /* M = S A S on the kept nodes, its rows split as ScaLAPACK describes them (one block per rank). Edges
     run between kept nodes only (the others have degree 0), so the row sums of the submatrix are the
     degrees. */
  mc_dense_split(n_kept, size, rank, 1, &start, &count);
  PetscCall(ISCreateGeneral(comm, count, kept + start, PETSC_USE_POINTER, &is));
  PetscCall(MatCreateSubMatrix(adj, is, is, MAT_INITIAL_MATRIX, &S));
  PetscCall(ISDestroy(&is));
  PetscCall(MatCreateVecs(S, &x, &s));
  PetscCall(VecDuplicate(s, &y));
  PetscCall(MatGetRowSum(S, s));
  PetscCall(VecSqrtAbs(s));
  PetscCall(VecReciprocal(s));
  PetscCall(MatDiagonalScale(S, s, s));
  PetscCall(MatConvert(S, MATDENSE, MAT_INITIAL_MATRIX, &D));
  PetscCall(MatDenseGetLDA(D, &ld));
  lda = PetscMax(1, count);
  PetscCheck(count == 0 || ld == lda, comm, PETSC_ERR_PLIB, "dense copy of the graph has leading dimension %" PetscInt_FMT ", not %" PetscInt_FMT, ld, lda);

  PetscCall(mc_dense_options(&o));
  PetscCall(PetscMalloc2(lda * dim, &V, dim, &mu));
  PetscCall(MatDenseGetArrayRead(D, &a));
  PetscCall(mc_dense_eig_top(comm, &o, n_kept, a, dim, mu, V, NULL));
  PetscCall(MatDenseRestoreArrayRead(D, &a));
  PetscCall(MatDestroy(&D));

  /* The embedding in this layout: U = S X, and each residual ||M x - mu x|| from the scaled graph. */
  PetscCall(PetscFree(e->U));
  PetscCall(PetscMalloc1(PetscMax(1, count) * dim, &e->U));
  e->n_local      = count;
  e->rstart       = start;
  e->n_converged  = dim;
  e->max_residual = 0;
  PetscCall(VecGetArrayRead(s, &sa));
  for (PetscInt c = 0; c < dim; ++c) {
    PetscScalar *xa;
    PetscReal    r;

    PetscCall(VecGetArray(x, &xa));
    PetscCall(PetscArraycpy(xa, V + c * lda, count));
    PetscCall(VecRestoreArray(x, &xa));
    PetscCall(MatMult(S, x, y));
    PetscCall(VecAXPY(y, -mu[c], x));
    PetscCall(VecNorm(y, NORM_2, &r));
    e->max_residual   = PetscMax(e->max_residual, r);
    e->eigenvalues[c] = 1 - mu[c];
    for (PetscInt i = 0; i < count; ++i) e->U[i * dim + c] = V[c * lda + i] * PetscRealPart(sa[i]);
  }
  PetscCall(VecRestoreArrayRead(s, &sa));
  PetscCall(PetscFree2(V, mu));
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&y));
  PetscCall(VecDestroy(&s));
  PetscCall(MatDestroy(&S));
  PetscFunctionReturn(0);
}
