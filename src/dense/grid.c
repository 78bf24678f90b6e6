/* src/dense/grid.c: BLACS process grids, ScaLAPACK descriptors, the 1-D layouts and the redistribution
   between them. */
#include "dense_impl.h"

/* The block of mc_dense_split. */
static PetscInt split_block(PetscInt n, PetscMPIInt size, PetscInt align)
{
  PetscInt b = (n + size - 1) / size;

  align = PetscMax(align, 1);
  return PetscMax(1, (b + align - 1) / align * align);
}

void mc_dense_split(PetscInt n, PetscMPIInt size, PetscMPIInt part, PetscInt align, PetscInt *start, PetscInt *count)
{
  PetscInt b = split_block(n, size, align), s = PetscMin(n, (PetscInt)part * b);

  *start = s;
  *count = PetscMin(n, s + b) - s;
}

PetscErrorCode mc_dense_options(MCDenseOpts *opts)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(opts, sizeof(*opts)));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-mc_dense_grid_rows", &opts->grid_rows, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-mc_dense_block", &opts->block, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-mc_dense_panel", &opts->panel, NULL));
  PetscFunctionReturn(0);
}

PetscErrorCode mc__dense_grid_create(MPI_Comm comm, int nprow, int npcol, MCGrid *g)
{
  PetscMPIInt size;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCheck(nprow >= 1 && npcol >= 1 && nprow * npcol == size, comm, PETSC_ERR_ARG_OUTOFRANGE,
             "a %d x %d process grid does not match the %d ranks", nprow, npcol, (int)size);
  g->handle = Csys2blacs_handle(comm);
  g->ctxt   = g->handle;
  Cblacs_gridinit(&g->ctxt, "R", nprow, npcol);
  Cblacs_gridinfo(g->ctxt, &g->nprow, &g->npcol, &g->myrow, &g->mycol);
  PetscCheck(g->nprow == nprow && g->npcol == npcol && g->myrow >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "BLACS did not create the %d x %d process grid", nprow,
             npcol);
  PetscFunctionReturn(0);
}

void mc__dense_grid_destroy(MCGrid *g)
{
  if (g->ctxt >= 0) Cblacs_gridexit(g->ctxt);
  Cfree_blacs_system_handle(g->handle);
  g->ctxt = -1;
}

PetscErrorCode mc__dense_desc(const MCGrid *g, PetscInt m, PetscInt n, PetscInt mb, PetscInt nb, int desc[9], PetscInt *local_rows, PetscInt *local_cols)
{
  PetscBLASInt M, N, MB, NB, lr, lc, lld, info = 0;
  const int    zero = 0;

  PetscFunctionBeginUser;
  PetscCall(PetscBLASIntCast(m, &M));
  PetscCall(PetscBLASIntCast(n, &N));
  PetscCall(PetscBLASIntCast(PetscMax(mb, 1), &MB));
  PetscCall(PetscBLASIntCast(PetscMax(nb, 1), &NB));
  lr  = numroc_(&M, &MB, &g->myrow, &zero, &g->nprow);
  lc  = numroc_(&N, &NB, &g->mycol, &zero, &g->npcol);
  lld = PetscMax(1, lr);
  descinit_(desc, &M, &N, &MB, &NB, &zero, &zero, &g->ctxt, &lld, &info);
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "ScaLAPACK descinit rejected argument %d of a %d x %d matrix in %d x %d blocks", (int)-info, (int)M,
             (int)N, (int)MB, (int)NB);
  if (local_rows) *local_rows = lr;
  if (local_cols) *local_cols = lc;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_dense_cols_to_rows(MPI_Comm comm, PetscInt M, PetscInt K, PetscInt col_align, const PetscReal A[], PetscReal B[])
{
  PetscMPIInt size;
  MCGrid      byrow, bycol;
  int         da[9], db[9];
  PetscBLASInt m, k;
  const int    one = 1;
  PetscReal    dummy = 0;

  PetscFunctionBeginUser;
  if (M == 0 || K == 0) PetscFunctionReturn(0);
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(PetscBLASIntCast(M, &m));
  PetscCall(PetscBLASIntCast(K, &k));
  PetscCall(mc__dense_grid_create(comm, size, 1, &byrow));
  PetscCall(mc__dense_grid_create(comm, 1, size, &bycol));
  PetscCall(mc__dense_desc(&bycol, M, K, M, split_block(K, size, col_align), da, NULL, NULL));
  PetscCall(mc__dense_desc(&byrow, M, K, split_block(M, size, 1), K, db, NULL, NULL));
  pdgemr2d_(&m, &k, A ? A : &dummy, &one, &one, da, B ? B : &dummy, &one, &one, db, &byrow.ctxt);
  mc__dense_grid_destroy(&bycol);
  mc__dense_grid_destroy(&byrow);
  PetscFunctionReturn(0);
}
