/* src/dense/dense_impl.h: BLACS process grids and ScaLAPACK descriptors, shared inside the dense module.
   BLACS, PBLAS and ScaLAPACK ship no C header; their Fortran-style entry points are declared here (every
   argument by address, indices 1-based). */
#pragma once
#include "mc/dense.h"

void Cblacs_gridinit(int *ctxt, const char *order, int nprow, int npcol);
void Cblacs_gridinfo(int ctxt, int *nprow, int *npcol, int *myrow, int *mycol);
void Cblacs_gridexit(int ctxt);
int  Csys2blacs_handle(MPI_Comm comm);
void Cfree_blacs_system_handle(int handle);
int  numroc_(const int *n, const int *nb, const int *iproc, const int *isrcproc, const int *nprocs);
void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb, const int *irsrc, const int *icsrc, const int *ctxt, const int *lld,
               int *info);
void pdgemr2d_(const int *m, const int *n, const double *a, const int *ia, const int *ja, const int *desca, double *b, const int *ib, const int *jb,
               const int *descb, const int *ctxt);
void pdgemm_(const char *transa, const char *transb, const int *m, const int *n, const int *k, const double *alpha, const double *a, const int *ia,
             const int *ja, const int *desca, const double *b, const int *ib, const int *jb, const int *descb, const double *beta, double *c,
             const int *ic, const int *jc, const int *descc);
void pdtran_(const int *m, const int *n, const double *alpha, const double *a, const int *ia, const int *ja, const int *desca, const double *beta,
             double *c, const int *ic, const int *jc, const int *descc);

/* A BLACS process grid over every rank of a communicator (row-major: rank = myrow * npcol + mycol). */
typedef struct {
  int handle; /* BLACS system handle of the communicator */
  int ctxt;   /* the grid's context */
  int nprow, npcol, myrow, mycol;
} MCGrid;

/* mc__dense_grid_create - A nprow x npcol grid (nprow * npcol = ranks of comm). Collective on comm. */
PetscErrorCode mc__dense_grid_create(MPI_Comm comm, int nprow, int npcol, MCGrid *g);

/* mc__dense_grid_destroy - Release the grid's context and handle. Collective on the grid. */
void mc__dense_grid_destroy(MCGrid *g);

/* mc__dense_desc - Descriptor of an m x n matrix in mb x nb blocks on grid g, starting at process (0, 0);
   *local_rows, *local_cols (may be NULL) are this rank's part. Not collective. */
PetscErrorCode mc__dense_desc(const MCGrid *g, PetscInt m, PetscInt n, PetscInt mb, PetscInt nb, int desc[9], PetscInt *local_rows, PetscInt *local_cols);

void pdsyevx_(const char *jobz, const char *range, const char *uplo, const int *n, double *a, const int *ia, const int *ja, const int *desca, const double *vl,
              const double *vu, const int *il, const int *iu, const double *abstol, int *m, int *nz, double *w, const double *orfac, double *z, const int *iz,
              const int *jz, const int *descz, double *work, const int *lwork, int *iwork, const int *liwork, int *ifail, int *iclustr, double *gap, int *info);

