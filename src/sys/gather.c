/* src/sys/gather.c: the two MPI patterns every distributed stage needs: where this rank's rows start when
   rows are numbered rank after rank, and every rank's rows concatenated in rank order. */
#include "mc/sys.h"

PetscErrorCode mc_sys_ownership_start(MPI_Comm comm, PetscInt n_local, PetscInt *start)
{
  PetscMPIInt rank;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  *start = 0;
  PetscCallMPI(MPI_Exscan(&n_local, start, 1, MPIU_INT, MPI_SUM, comm));
  if (rank == 0) *start = 0; /* MPI_Exscan leaves rank 0's result undefined */
  PetscFunctionReturn(0);
}

PetscErrorCode mc_sys_gatherv(MPI_Comm comm, PetscMPIInt root, const void *in, PetscInt n_local, MPI_Datatype type, void *out)
{
  PetscMPIInt size, rank, n, *counts, *displs;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(PetscMPIIntCast(n_local, &n));
  PetscCall(PetscMalloc2(size, &counts, size, &displs));
  if (root < 0) PetscCallMPI(MPI_Allgather(&n, 1, MPI_INT, counts, 1, MPI_INT, comm));
  else PetscCallMPI(MPI_Gather(&n, 1, MPI_INT, counts, 1, MPI_INT, root, comm));
  if (root < 0 || rank == root) {
    PetscInt64 total = 0;

    for (PetscMPIInt r = 0; r < size; ++r) {
      PetscCall(PetscMPIIntCast(total, &displs[r]));
      total += counts[r];
    }
    PetscCheck(total <= PETSC_MPI_INT_MAX, comm, PETSC_ERR_SUP, "%lld items are too many for one MPI gather", (long long)total);
  }
  if (root < 0) PetscCallMPI(MPI_Allgatherv(in, n, type, out, counts, displs, type, comm));
  else PetscCallMPI(MPI_Gatherv(in, n, type, out, counts, displs, type, root, comm));
  PetscCall(PetscFree2(counts, displs));
  PetscFunctionReturn(0);
}
