/* src/dense/gram.c: the Gram matrix Y Y^T of a tall distributed matrix, on a 2-D block-cyclic grid, returned
   by rows. */
#include <math.h>
#include "dense_impl.h"
#include "mc/sys.h"

/* The most square factorisation rows x cols of size with rows <= cols (or opts' rows). */
static PetscErrorCode grid_shape(MPI_Comm comm, PetscMPIInt size, PetscInt want_rows, int *rows, int *cols)
{
  PetscFunctionBeginUser;
  if (want_rows > 0) {
    PetscCheck(size % want_rows == 0, comm, PETSC_ERR_USER_INPUT, "-mc_dense_grid_rows %" PetscInt_FMT " does not divide the %d ranks", want_rows,
               (int)size);
    *rows = (int)want_rows;
  } else {
    *rows = 1;
    for (int r = 1; r * r <= size; ++r)
      if (size % r == 0) *rows = r;
  }
  *cols = size / *rows;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_dense_gram(MPI_Comm comm, const MCDenseOpts *opts, PetscInt N, PetscInt S, PetscReal **Y, PetscReal G[], MCDenseStats *st)
{
  PetscMPIInt    size;
  MCGrid         g2, byrow;
  int            pr, pc, dy_rows[9], dy[9], dp[9], dt[9], dg[9];
  PetscInt       nb, w, lr, lc, pr_rows, pr_cols, pt_rows, pt_cols, lda;
  PetscReal     *Y2, *P, *T, dummy = 0;
  PetscBLASInt   n, s;
  const int      one = 1;
  const double   d_one = 1.0, d_zero = 0.0;
  PetscLogDouble t0, t1, flops = 0;
  MCDenseStats   stats = {0};

  PetscFunctionBeginUser;
  PetscCall(PetscTime(&t0));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCheck(N >= 1 && S >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "a Gram matrix needs rows and columns, got %" PetscInt_FMT " x %" PetscInt_FMT, N, S);
  PetscCall(PetscBLASIntCast(N, &n));
  PetscCall(PetscBLASIntCast(S, &s));
  PetscCall(grid_shape(comm, size, opts ? opts->grid_rows : 0, &pr, &pc));
  nb = opts && opts->block > 0 ? opts->block : 64;
  /* Panels of about N/16 columns, a multiple of the block and at least 4 blocks. */
  w = opts && opts->panel > 0 ? opts->panel : PetscMax(4 * nb, ((N + 15) / 16 + nb - 1) / nb * nb);
  w = PetscMin(w, N);

  PetscCall(mc__dense_grid_create(comm, size, 1, &byrow));
  PetscCall(mc__dense_grid_create(comm, pr, pc, &g2));
  /* Y by rows, then on the 2-D grid. */
  PetscCall(mc__dense_desc(&byrow, N, S, PetscMax(1, (N + size - 1) / size), S, dy_rows, NULL, NULL));
  PetscCall(mc__dense_desc(&g2, N, S, nb, nb, dy, &lr, &lc));
  PetscCall(PetscMalloc1(PetscMax(lr * lc, 1), &Y2));
  pdgemr2d_(&n, &s, *Y ? *Y : &dummy, &one, &one, dy_rows, Y2, &one, &one, dy, &byrow.ctxt);
  PetscCall(PetscFree(*Y));

  /* The lower panel P = G(j0:N, j0:j0+w) sits in an N x w matrix on the 2-D grid, its mirror T in w x N.
     G is addressed as windows of at most w columns (each an N x width matrix by rows, LLD = lda): pdgemr2d
     sizes its buffers in int, so no descriptor may describe more than a few GB of one rank's memory. */
  PetscCall(mc__dense_desc(&g2, N, w, nb, nb, dp, &pr_rows, &pr_cols));
  PetscCall(mc__dense_desc(&g2, w, N, nb, nb, dt, &pt_rows, &pt_cols));
  {
    PetscMPIInt rank;
    PetscInt    r0, nr;
    PetscCallMPI(MPI_Comm_rank(comm, &rank));
    mc_dense_split(N, size, rank, 1, &r0, &nr);
    lda = PetscMax(1, nr); /* G's local leading dimension, as the windows' descriptors say */
  }
  PetscCall(PetscCalloc2(PetscMax(pr_rows * pr_cols, 1), &P, PetscMax(pt_rows * pt_cols, 1), &T));
  for (PetscInt j0 = 0; j0 < N; j0 += w) {
    PetscBLASInt m, wj, rest, i0, i1;

    PetscCall(PetscBLASIntCast(N - j0, &m));
    PetscCall(PetscBLASIntCast(PetscMin(w, N - j0), &wj));
    PetscCall(PetscBLASIntCast(N - j0 - wj, &rest));
    PetscCall(PetscBLASIntCast(j0 + 1, &i0));
    PetscCall(PetscBLASIntCast(j0 + wj + 1, &i1));
    /* P(j0:N, 0:wj) = Y(j0:N, :) Y(j0:j0+wj, :)^T */
    pdgemm_("N", "T", &m, &wj, &s, &d_one, Y2, &i0, &one, dy, Y2, &i0, &one, dy, &d_zero, P, &i0, &one, dp);
    flops += 2.0 * (PetscLogDouble)m * wj * s / size;
    /* into G(j0:N, j0:j0+wj) */
    PetscCall(mc__dense_desc(&byrow, N, wj, (N + size - 1) / size, wj, dg, NULL, NULL));
    pdgemr2d_(&m, &wj, P, &i0, &one, dp, G ? G + (size_t)j0 * lda : &dummy, &i0, &one, dg, &byrow.ctxt);
    if (rest > 0) {
      /* T(0:wj, j0+wj:N) = P(j0+wj:N, 0:wj)^T, into G(j0:j0+wj, j0+wj:N) window by window */
      pdtran_(&wj, &rest, &d_one, P, &i1, &one, dp, &d_zero, T, &one, &i1, dt);
      for (PetscInt c0 = j0 + wj; c0 < N; c0 += w) {
        PetscBLASInt cw, c1;
        PetscCall(PetscBLASIntCast(PetscMin(w, N - c0), &cw));
        PetscCall(PetscBLASIntCast(c0 + 1, &c1));
        PetscCall(mc__dense_desc(&byrow, N, cw, (N + size - 1) / size, cw, dg, NULL, NULL));
            pdgemr2d_(&wj, &cw, T, &one, &c1, dt, G ? G + (size_t)c0 * lda : &dummy, &i0, &one, dg, &byrow.ctxt);
      }
    }
    stats.n_panels++;
  }
  PetscCall(PetscFree2(P, T));
  PetscCall(PetscFree(Y2));
  mc__dense_grid_destroy(&g2);
  mc__dense_grid_destroy(&byrow);
  PetscCall(PetscLogFlops(flops));
  PetscCall(PetscTime(&t1));
  stats.grid_rows = pr;
  stats.grid_cols = pc;
  stats.block     = nb;
  stats.panel     = w;
  stats.flops     = flops;
  stats.seconds   = t1 - t0;
  if (st) *st = stats;
  PetscFunctionReturn(0);
}
