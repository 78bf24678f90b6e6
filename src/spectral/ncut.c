/* src/spectral/ncut.c: normalised cut of a labelling (docs/method.md section 5), summed exactly so the value is
   bitwise the same for any rank count (the clusterability p-value compares n-cuts). */
#include <math.h>
#include <stdint.h>
#include "mc/cluster.h"

PetscErrorCode mc_cluster_ncut(Mat adj, const PetscInt labels[], PetscReal *ncut)
{
  MPI_Comm  comm;
  PetscInt  N, rstart, rend, kmax = 0, *count;
  PetscReal *rowd, *rowc, dmax = 0, scale = 1;
  int64_t   *acc;
  PetscMPIInt cnt;

  PetscFunctionBeginUser;
  PetscCall(PetscObjectGetComm((PetscObject)adj, &comm));
  PetscCall(MatGetSize(adj, &N, NULL));
  PetscCall(MatGetOwnershipRange(adj, &rstart, &rend));
  for (PetscInt i = 0; i < N; ++i) kmax = PetscMax(kmax, labels[i] + 1);
  PetscCall(PetscMalloc2(rend - rstart, &rowd, rend - rstart, &rowc));
  /* Per-row degree and cut in the row's (global, sorted) column order: independent of the distribution. */
  for (PetscInt i = rstart; i < rend; ++i) {
    PetscInt           nz;
    const PetscInt    *cols;
    const PetscScalar *vals;
    PetscReal          dsum = 0, csum = 0;
    PetscCall(MatGetRow(adj, i, &nz, &cols, &vals));
    for (PetscInt j = 0; j < nz; ++j) {
      PetscReal v = PetscRealPart(vals[j]);
      dsum += v;
      if (labels[cols[j]] != labels[i]) csum += v;
    }
    PetscCall(MatRestoreRow(adj, i, &nz, &cols, &vals));
    rowd[i - rstart] = dsum;
    rowc[i - rstart] = csum;
    if (labels[i] >= 0) dmax = PetscMax(dmax, PetscAbsReal(dsum));
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &dmax, 1, MPIU_REAL, MPI_MAX, comm));
  if (dmax > 0) {
    int e, l = 0;
    (void)frexp(dmax, &e);
    while (((PetscInt64)1 << l) < (PetscInt64)N + 1) l++;
    scale = ldexp(1.0, 62 - e - l);
  }
  PetscCall(PetscCalloc1(2 * kmax + 1, &acc));
  for (PetscInt i = rstart; i < rend; ++i) {
    PetscInt c = labels[i];
    if (c < 0) continue;
    acc[2 * c] += (int64_t)nearbyint(rowd[i - rstart] * scale);
    acc[2 * c + 1] += (int64_t)nearbyint(rowc[i - rstart] * scale);
  }
  PetscCall(PetscMPIIntCast(2 * kmax, &cnt));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, acc, cnt, MPI_INT64_T, MPI_SUM, comm));
  PetscCall(PetscCalloc1(kmax + 1, &count));
  for (PetscInt i = 0; i < N; ++i)
    if (labels[i] >= 0) count[labels[i]]++;
  *ncut = 0;
  for (PetscInt c = 0; c < kmax; ++c)
    if (count[c] > 0) *ncut += ((PetscReal)acc[2 * c + 1] / scale) / ((PetscReal)acc[2 * c] / scale + 1e-8);
  PetscCall(PetscFree(count));
  PetscCall(PetscFree(acc));
  PetscCall(PetscFree2(rowd, rowc));
  PetscFunctionReturn(0);
}
