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

PetscInt mc_dense_panel_width(PetscInt N, const MCDenseOpts *opts)
{
  PetscInt nb = opts && opts->block > 0 ? opts->block : 64;
  PetscInt w  = opts && opts->panel > 0 ? opts->panel : PetscMax(4 * nb, ((N + 15) / 16 + nb - 1) / nb * nb);

  return PetscMin(w, N);
}

/* What both Gram products share: the grids, Y on the 2-D grid, the panel width. */
typedef struct {
  PetscMPIInt  size;
  MCGrid       g2, byrow;
  int          pr, pc, dy[9];
  PetscInt     nb, w, lda; /* lda: this rank's rows of G (at least 1) */
  PetscReal   *Y2;
  PetscBLASInt n, s;
} Gram;

static PetscErrorCode gram_setup(MPI_Comm comm, const MCDenseOpts *opts, PetscInt N, PetscInt S, PetscReal **Y, Gram *g)
{
  PetscMPIInt rank;
  PetscInt    lr, lc, r0, nr;
  int         dy_rows[9];
  const int   one   = 1;
  PetscReal   dummy = 0;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(comm, &g->size));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCheck(N >= 1 && S >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "a Gram matrix needs rows and columns, got %" PetscInt_FMT " x %" PetscInt_FMT, N, S);
  PetscCall(PetscBLASIntCast(N, &g->n));
  PetscCall(PetscBLASIntCast(S, &g->s));
  PetscCall(grid_shape(comm, g->size, opts ? opts->grid_rows : 0, &g->pr, &g->pc));
  g->nb = opts && opts->block > 0 ? opts->block : 64;
  g->w  = mc_dense_panel_width(N, opts);
  mc_dense_split(N, g->size, rank, 1, &r0, &nr);
  g->lda = PetscMax(1, nr);
  PetscCall(mc__dense_grid_create(comm, g->size, 1, &g->byrow));
  PetscCall(mc__dense_grid_create(comm, g->pr, g->pc, &g->g2));
  /* Y by rows, then on the 2-D grid; the rows are released at once. */
  PetscCall(mc__dense_desc(&g->byrow, N, S, PetscMax(1, (N + g->size - 1) / g->size), S, dy_rows, NULL, NULL));
  PetscCall(mc__dense_desc(&g->g2, N, S, g->nb, g->nb, g->dy, &lr, &lc));
  PetscCall(PetscMalloc1(PetscMax(lr * lc, 1), &g->Y2));
  pdgemr2d_(&g->n, &g->s, *Y ? *Y : &dummy, &one, &one, dy_rows, g->Y2, &one, &one, g->dy, &g->byrow.ctxt);
  PetscCall(PetscFree(*Y));
  PetscFunctionReturn(0);
}

/* Release what gram_setup made, log the flops and fill *st (may be NULL) for a call started at t0. */
static PetscErrorCode gram_finish(Gram *g, PetscInt n_panels, PetscLogDouble flops, PetscLogDouble t0, MCDenseStats *st)
{
  PetscLogDouble t1;

  PetscFunctionBeginUser;
  PetscCall(PetscFree(g->Y2));
  mc__dense_grid_destroy(&g->g2);
  mc__dense_grid_destroy(&g->byrow);
  PetscCall(PetscLogFlops(flops));
  PetscCall(PetscTime(&t1));
  if (st) {
    st->grid_rows = g->pr;
    st->grid_cols = g->pc;
    st->block     = g->nb;
    st->panel     = g->w;
    st->n_panels  = n_panels;
    st->flops     = flops;
    st->seconds   = t1 - t0;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode mc_dense_gram(MPI_Comm comm, const MCDenseOpts *opts, PetscInt N, PetscInt S, PetscReal **Y, PetscReal G[], MCDenseStats *st)
{
  Gram           g;
  int            dp[9], dt[9], dg[9];
  PetscInt       pr_rows, pr_cols, pt_rows, pt_cols, w, lda;
  PetscReal     *P, *T, dummy = 0;
  const int      one = 1;
  const double   d_one = 1.0, d_zero = 0.0;
  PetscLogDouble t0, flops = 0;
  PetscInt       n_panels = 0;

  PetscFunctionBeginUser;
  PetscCall(PetscTime(&t0));
  PetscCall(gram_setup(comm, opts, N, S, Y, &g));
  w   = g.w;
  lda = g.lda;
  /* The lower panel P = G(j0:N, j0:j0+w) sits in an N x w matrix on the 2-D grid, its mirror T in w x N.
     G is addressed as windows of at most w columns (each an N x width matrix by rows, LLD = lda): pdgemr2d
     sizes its buffers in int, so no descriptor may describe more than a few GB of one rank's memory. */
  PetscCall(mc__dense_desc(&g.g2, N, w, g.nb, g.nb, dp, &pr_rows, &pr_cols));
  PetscCall(mc__dense_desc(&g.g2, w, N, g.nb, g.nb, dt, &pt_rows, &pt_cols));
  PetscCall(PetscCalloc2(PetscMax(pr_rows * pr_cols, 1), &P, PetscMax(pt_rows * pt_cols, 1), &T));
  for (PetscInt j0 = 0; j0 < N; j0 += w) {
    PetscBLASInt m, wj, rest, i0, i1;

    PetscCall(PetscBLASIntCast(N - j0, &m));
    PetscCall(PetscBLASIntCast(PetscMin(w, N - j0), &wj));
    PetscCall(PetscBLASIntCast(N - j0 - wj, &rest));
    PetscCall(PetscBLASIntCast(j0 + 1, &i0));
    PetscCall(PetscBLASIntCast(j0 + wj + 1, &i1));
    /* P(j0:N, 0:wj) = Y(j0:N, :) Y(j0:j0+wj, :)^T */
    pdgemm_("N", "T", &m, &wj, &g.s, &d_one, g.Y2, &i0, &one, g.dy, g.Y2, &i0, &one, g.dy, &d_zero, P, &i0, &one, dp);
    flops += 2.0 * (PetscLogDouble)m * wj * g.s / g.size;
    /* into G(j0:N, j0:j0+wj) */
    PetscCall(mc__dense_desc(&g.byrow, N, wj, (N + g.size - 1) / g.size, wj, dg, NULL, NULL));
    pdgemr2d_(&m, &wj, P, &i0, &one, dp, G ? G + (size_t)j0 * lda : &dummy, &i0, &one, dg, &g.byrow.ctxt);
    if (rest > 0) {
      /* T(0:wj, j0+wj:N) = P(j0+wj:N, 0:wj)^T, into G(j0:j0+wj, j0+wj:N) window by window */
      pdtran_(&wj, &rest, &d_one, P, &i1, &one, dp, &d_zero, T, &one, &i1, dt);
      for (PetscInt c0 = j0 + wj; c0 < N; c0 += w) {
        PetscBLASInt cw, c1;
        PetscCall(PetscBLASIntCast(PetscMin(w, N - c0), &cw));
        PetscCall(PetscBLASIntCast(c0 + 1, &c1));
        PetscCall(mc__dense_desc(&g.byrow, N, cw, (N + g.size - 1) / g.size, cw, dg, NULL, NULL));
        pdgemr2d_(&wj, &cw, T, &one, &c1, dt, G ? G + (size_t)c0 * lda : &dummy, &i0, &one, dg, &g.byrow.ctxt);
      }
    }
    n_panels++;
  }
  PetscCall(PetscFree2(P, T));
  PetscCall(gram_finish(&g, n_panels, flops, t0, st));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_dense_gram_stream(MPI_Comm comm, const MCDenseOpts *opts, PetscInt N, PetscInt S, PetscReal **Y, MCDensePanelFn fn, void *ctx, MCDenseStats *st)
{
  Gram           g;
  int            dp[9], db[9];
  PetscInt       pr_rows, pr_cols;
  PetscReal     *P, *B;
  const int      one = 1;
  const double   d_one = 1.0, d_zero = 0.0;
  PetscLogDouble t0, flops = 0;
  PetscInt       n_panels = 0;

  PetscFunctionBeginUser;
  PetscCall(PetscTime(&t0));
  PetscCall(gram_setup(comm, opts, N, S, Y, &g));
  PetscCall(mc__dense_desc(&g.g2, N, g.w, g.nb, g.nb, dp, &pr_rows, &pr_cols));
  PetscCall(PetscMalloc2(PetscMax(pr_rows * pr_cols, 1), &P, g.lda * g.w, &B));
  for (PetscInt c0 = 0; c0 < N; c0 += g.w) {
    PetscBLASInt wc, i0;

    PetscCall(PetscBLASIntCast(PetscMin(g.w, N - c0), &wc));
    PetscCall(PetscBLASIntCast(c0 + 1, &i0));
    /* P(:, 0:wc) = Y Y(c0:c0+wc, :)^T: the whole column panel, both triangles */
    pdgemm_("N", "T", &g.n, &wc, &g.s, &d_one, g.Y2, &one, &one, g.dy, g.Y2, &i0, &one, g.dy, &d_zero, P, &one, &one, dp);
    flops += 2.0 * (PetscLogDouble)g.n * wc * g.s / g.size;
    PetscCall(mc__dense_desc(&g.byrow, N, wc, (N + g.size - 1) / g.size, wc, db, NULL, NULL));
    pdgemr2d_(&g.n, &wc, P, &one, &one, dp, B, &one, &one, db, &g.byrow.ctxt);
    PetscCall(fn(ctx, c0, wc, B, g.lda));
    n_panels++;
  }
  PetscCall(PetscFree2(P, B));
  PetscCall(gram_finish(&g, n_panels, flops, t0, st));
  PetscFunctionReturn(0);
}
