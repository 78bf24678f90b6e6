/* src/spectral/embed.c: the spectral embedding's deterministic sign convention. */
#include "mc/spectral.h"

PetscErrorCode mc_spectral_sign_flip(MPI_Comm comm, PetscInt n_local, PetscInt rstart, PetscInt dim, PetscReal U[])
{
  PetscReal  *amax;
  PetscInt   *first, *sign;
  PetscMPIInt cnt;

  PetscFunctionBeginUser;
  PetscCall(PetscMPIIntCast(dim, &cnt));
  PetscCall(PetscMalloc3(dim, &amax, dim, &first, dim, &sign));
  for (PetscInt c = 0; c < dim; ++c) {
    amax[c]  = 0;
    first[c] = PETSC_MAX_INT;
    sign[c]  = 0;
  }
  for (PetscInt i = 0; i < n_local; ++i)
    for (PetscInt c = 0; c < dim; ++c) amax[c] = PetscMax(amax[c], PetscAbsReal(U[i * dim + c]));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, amax, cnt, MPIU_REAL, MPI_MAX, comm));
  for (PetscInt c = 0; c < dim; ++c)
    for (PetscInt i = 0; i < n_local; ++i)
      if (PetscAbsReal(U[i * dim + c]) == amax[c]) {
        first[c] = rstart + i;
        break;
      }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, first, cnt, MPIU_INT, MPI_MIN, comm));
  for (PetscInt c = 0; c < dim; ++c) {
    PetscInt i = first[c] - rstart;
    if (i >= 0 && i < n_local) sign[c] = U[i * dim + c] < 0 ? -1 : 1;
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, sign, cnt, MPIU_INT, MPI_SUM, comm));
  for (PetscInt i = 0; i < n_local; ++i)
    for (PetscInt c = 0; c < dim; ++c)
      if (sign[c] < 0) U[i * dim + c] = -U[i * dim + c];
  PetscCall(PetscFree3(amax, first, sign));
  PetscFunctionReturn(0);
}
