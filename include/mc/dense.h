/* include/mc/dense.h: dense matrices on ScaLAPACK's block-cyclic process grids. The dense module is the
   only caller of BLACS, PBLAS and ScaLAPACK. Matrices are double precision and column-major (ScaLAPACK's
   local storage, which is also a MATMPIDENSE's local storage).

   Two 1-D layouts connect the grids to the rest of the program; both use mc_dense_split, which ScaLAPACK
   describes exactly (one block per rank):
   - by rows:    rank r holds rows [start, start + count) of mc_dense_split(M), every column, lda = max(1, count);
   - by columns: rank r holds columns [start, start + count) of mc_dense_split(K) (with some alignment),
     every row, lda = M.
   Row splits below have alignment 1. */
#pragma once
#include <petscsys.h>

typedef struct {
  PetscInt grid_rows; /* process rows of the 2-D grid (its columns: ranks / grid_rows); 0 = the most square
                         factorisation of the rank count, rows <= columns */
  PetscInt block;     /* block size of the 2-D grid, both ways; 0 = 64 */
  PetscInt panel;     /* columns of the Gram matrix formed per step; 0 = automatic (about 1/16 of them,
                         at least 4 blocks), so the step's buffers stay small beside the result */
} MCDenseOpts;

/* What mc_dense_gram did, for -info and the benchmarks. */
typedef struct {
  PetscInt       grid_rows, grid_cols, block, panel, n_panels;
  PetscLogDouble flops;   /* floating-point operations of the products on this rank */
  PetscLogDouble seconds; /* wall time of the whole call */
} MCDenseStats;

/* mc_dense_split - The block split ScaLAPACK describes with one block per part: part p of `size` holds
   [p * b, min(n, (p + 1) * b)) with b = ceil(n / size) rounded up to a multiple of `align` (>= 1); the last
   parts may be short or empty. Not collective. */
void mc_dense_split(PetscInt n, PetscMPIInt size, PetscMPIInt part, PetscInt align, PetscInt *start, PetscInt *count);

/* mc_dense_panel_width - The columns of G formed per step for N units: opts->panel when set, else about
   N/16 rounded up to a multiple of the block and at least 4 blocks; at most N. Not collective. */
PetscInt mc_dense_panel_width(PetscInt N, const MCDenseOpts *opts);

/* mc_dense_options - opts from PETSc's options database: -mc_dense_grid_rows, -mc_dense_block,
   -mc_dense_panel (0 or absent = automatic). Collective (every rank reads the same options). */
PetscErrorCode mc_dense_options(MCDenseOpts *opts);

/* mc_dense_cols_to_rows - Redistribute an M x K matrix held by columns (A, split with alignment col_align)
   to the same matrix held by rows (B), both in the layouts above (through ScaLAPACK's pdgemr2d).
   Collective on comm. */
PetscErrorCode mc_dense_cols_to_rows(MPI_Comm comm, PetscInt M, PetscInt K, PetscInt col_align, const PetscReal A[], PetscReal B[]);

/* mc_dense_gram - G = Y Y^T for Y (N x S) held by rows (*Y, PetscMalloc'ed; freed and set to NULL as soon as
   it is on the grid, to keep the peak low); G (N x N) is returned held by rows (B's layout
   above: this rank's rows, every column, lda = max(1, count)), the local part of a MATMPIDENSE with the
   row sizes of mc_dense_split(N). Y is redistributed onto a 2-D block-cyclic grid (opts), then G is formed
   one column panel at a time: the panel's lower part, G(j0:N, j0:j0+w), by PBLAS pdgemm (so the whole is
   the lower triangle, pdsyrk's operation count, N^2 S flops), moved into place by pdgemr2d and mirrored
   above the diagonal by pdtran. G is handed to pdgemr2d as windows of at most w columns: ScaLAPACK sizes
   its buffers in int and fails (exiting the process) on a descriptor of more than 2 GB on one rank. Peak memory per rank: its share of G and of Y twice (Y once during the
   products), plus two panels (N w / ranks each). Every entry of G is computed once and copied to both places, so G is exactly
   symmetric. st may be NULL. Collective on comm. */
PetscErrorCode mc_dense_gram(MPI_Comm comm, const MCDenseOpts *opts, PetscInt N, PetscInt S, PetscReal **Y, PetscReal G[], MCDenseStats *st);

/* Called by mc_dense_gram_stream once per column panel with this rank's rows of G(:, c0:c0+wc): buf is
   rows x wc, column-major, lda = max(1, rows). */
typedef PetscErrorCode (*MCDensePanelFn)(void *ctx, PetscInt c0, PetscInt wc, const PetscReal buf[], PetscInt lda);

/* mc_dense_gram_stream - G = Y Y^T like mc_dense_gram, but never held: whole column panels (both triangles,
   so 2 N^2 S flops, twice mc_dense_gram's) are handed to fn by rows and dropped, for a consumer that keeps
   only part of each row (the strongest edges). Peak memory per rank: its share of Y on the grid plus two
   panels (2 N w / ranks, w = opts->panel). *Y is released as in mc_dense_gram. Collective on comm. */
PetscErrorCode mc_dense_gram_stream(MPI_Comm comm, const MCDenseOpts *opts, PetscInt N, PetscInt S, PetscReal **Y, MCDensePanelFn fn, void *ctx, MCDenseStats *st);

/* mc_dense_eig_top - The k largest eigenvalues (largest first, into eig[k]) and, when V is not NULL, their
   eigenvectors of the symmetric N x N matrix M held by rows (lower triangle read), with ScaLAPACK's pdsyevx
   on the 2-D grid (Debian's pdsyevr fails in its back-transformation). V receives this rank's rows of the k
   eigenvectors by rows (column c belongs to eig[c]; lda = max(1, count)). Used by the spectral embedding
   when k is a large part of N, and measured against SLEPc's Krylov-Schur by bench/bench_dense_eig.c;
   *seconds (may be NULL) is the wall time including the redistribution. Collective on comm. */
PetscErrorCode mc_dense_eig_top(MPI_Comm comm, const MCDenseOpts *opts, PetscInt N, const PetscReal M[], PetscInt k, PetscReal eig[], PetscReal V[], PetscLogDouble *seconds);
