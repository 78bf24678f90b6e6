/* src/dense/eig.c: the largest eigenpairs of a dense symmetric matrix held by rows, with ScaLAPACK's
   pdsyevx (bisection, inverse iteration) on the 2-D grid: the alternative to SLEPc for dense graphs, measured by
   bench/bench_dense_eig.c (docs/performance.md). */
#include "dense_impl.h"

PetscErrorCode mc_dense_eig_top(MPI_Comm comm, const MCDenseOpts *opts, PetscInt N, const PetscReal M[], PetscInt k, PetscReal eig[], PetscReal V[], PetscLogDouble *seconds)
{
  PetscMPIInt    size;
  MCGrid         byrow, g2;
  int            dm[9], da[9], pr = 1, pc, info = 0, m_found = 0, nz = 0, lwork = -1, liwork = -1, iwq = 0;
  PetscInt       nb = opts && opts->block > 0 ? opts->block : 64, lr, lc;
  PetscReal     *A, *Z, *w, wq = 0, *work, dummy = 0, vl = 0, vu = 0, abstol = 0, orfac = 1e-3, *gap;
  int           *iwork, *ifail, *iclustr;
  PetscBLASInt   n, il, iu;
  const int      one = 1;
  PetscLogDouble t0, t1;

  PetscFunctionBeginUser;
  PetscCall(PetscTime(&t0));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  for (int r = 1; r * r <= size; ++r)
    if (size % r == 0) pr = r;
  pc = size / pr;
  PetscCall(PetscBLASIntCast(N, &n));
  PetscCall(PetscBLASIntCast(N - k + 1, &il));
  iu = n;
  PetscCall(mc__dense_grid_create(comm, size, 1, &byrow));
  PetscCall(mc__dense_grid_create(comm, pr, pc, &g2));
  PetscCall(mc__dense_desc(&byrow, N, N, PetscMax(1, (N + size - 1) / size), N, dm, NULL, NULL));
  PetscCall(mc__dense_desc(&g2, N, N, nb, nb, da, &lr, &lc));
  PetscCall(PetscMalloc3(PetscMax(lr * lc, 1), &A, PetscMax(lr * lc, 1), &Z, N, &w));
  pdgemr2d_(&n, &n, M ? M : &dummy, &one, &one, dm, A, &one, &one, da, &byrow.ctxt);
  /* pdsyevx (bisection and inverse iteration): Debian's pdsyevr (ScaLAPACK 2.2.1) hands its back-transformation
     (PDORMTR) an illegal workspace size whatever the workspace given. */
  PetscCall(PetscMalloc3(N, &ifail, 2 * size, &iclustr, size, &gap));
  pdsyevx_(V ? "V" : "N", "I", "L", &n, A, &one, &one, da, &vl, &vu, &il, &iu, &abstol, &m_found, &nz, w, &orfac, Z, &one, &one, da, &wq, &lwork, &iwq, &liwork, ifail, iclustr,
           gap, &info);
  PetscCheck(info == 0, comm, PETSC_ERR_LIB, "pdsyevx workspace query failed: info %d", info);
  lwork  = (int)wq + 1;
  liwork = iwq + 1;
  PetscCall(PetscMalloc2(lwork, &work, liwork, &iwork));
  pdsyevx_(V ? "V" : "N", "I", "L", &n, A, &one, &one, da, &vl, &vu, &il, &iu, &abstol, &m_found, &nz, w, &orfac, Z, &one, &one, da, work, &lwork, iwork, &liwork, ifail, iclustr,
           gap, &info);
  if (info == 2) {
    /* A cluster of close eigenvalues (a graph with many repeated ones) is reorthogonalized on one process,
       which needs (cluster size - 1) N more workspace than the query can know: once more with that. */
    int most = 1;

    for (int c = 0; c < size && iclustr[2 * c] > 0; ++c) most = PetscMax(most, iclustr[2 * c + 1] - iclustr[2 * c] + 1);
    PetscCall(PetscFree2(work, iwork));
    lwork += (most - 1) * n;
    PetscCall(PetscMalloc2(lwork, &work, liwork, &iwork));
    pdgemr2d_(&n, &n, M ? M : &dummy, &one, &one, dm, A, &one, &one, da, &byrow.ctxt);
    pdsyevx_(V ? "V" : "N", "I", "L", &n, A, &one, &one, da, &vl, &vu, &il, &iu, &abstol, &m_found, &nz, w, &orfac, Z, &one, &one, da, work, &lwork, iwork, &liwork, ifail,
             iclustr, gap, &info);
  }
  PetscCheck(info == 0 && m_found == k, comm, PETSC_ERR_LIB, "pdsyevx failed: info %d, %d of %" PetscInt_FMT " eigenvalues", info, m_found, k);
  PetscCall(PetscFree3(ifail, iclustr, gap));
  PetscCheck(!V || nz == k, comm, PETSC_ERR_LIB, "pdsyevx computed %d of %" PetscInt_FMT " eigenvectors", nz, k);
  for (PetscInt i = 0; i < k; ++i) eig[i] = w[k - 1 - i]; /* largest first */
  if (V) {
    /* Z's first k columns, ascending, back to rows; then largest first. */
    PetscBLASInt kk;
    PetscInt     rows, start;
    int          dv[9];
    PetscReal   *T;

    PetscCall(PetscBLASIntCast(k, &kk));
    mc_dense_split(N, size, byrow.myrow * byrow.npcol + byrow.mycol, 1, &start, &rows);
    PetscCall(mc__dense_desc(&byrow, N, k, PetscMax(1, (N + size - 1) / size), k, dv, NULL, NULL));
    PetscCall(PetscMalloc1(PetscMax(1, rows * k), &T));
    pdgemr2d_(&n, &kk, Z, &one, &one, da, T, &one, &one, dv, &byrow.ctxt);
    for (PetscInt c = 0; c < k; ++c) PetscCall(PetscArraycpy(V + c * PetscMax(1, rows), T + (k - 1 - c) * PetscMax(1, rows), rows));
    PetscCall(PetscFree(T));
  }
  PetscCall(PetscFree2(work, iwork));
  PetscCall(PetscFree3(A, Z, w));
  mc__dense_grid_destroy(&g2);
  mc__dense_grid_destroy(&byrow);
  PetscCall(PetscTime(&t1));
  if (seconds) *seconds = t1 - t0;
  PetscFunctionReturn(0);
}
