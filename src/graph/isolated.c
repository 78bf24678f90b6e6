/* src/graph/isolated.c: degree-0 nodes (dead or pruned units), which are removed before clustering. */
#include "mc/graph.h"

PetscErrorCode mc_graph_find_isolated(Mat adj, PetscInt *n_kept, PetscInt **kept, Vec *degree)
{
  MPI_Comm           comm;
  Vec                d;
  const PetscScalar *dv;
  PetscInt           rstart, rend, nloc, nk = 0, *mine, total = 0;
  PetscMPIInt        size, *counts, *displs, nk_mpi;

  PetscFunctionBeginUser;
  PetscCall(PetscObjectGetComm((PetscObject)adj, &comm));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(MatCreateVecs(adj, NULL, &d));
  PetscCall(MatGetRowSum(adj, d));
  PetscCall(MatGetOwnershipRange(adj, &rstart, &rend));
  nloc = rend - rstart;
  PetscCall(PetscMalloc1(nloc, &mine));
  PetscCall(VecGetArrayRead(d, &dv));
  /* Weights are non-negative, so a zero row sum means no edge at all. */
  for (PetscInt i = 0; i < nloc; ++i)
    if (PetscRealPart(dv[i]) != 0) mine[nk++] = rstart + i;
  PetscCall(VecRestoreArrayRead(d, &dv));
  PetscCall(PetscMalloc2(size, &counts, size, &displs));
  PetscCall(PetscMPIIntCast(nk, &nk_mpi));
  PetscCallMPI(MPI_Allgather(&nk_mpi, 1, MPI_INT, counts, 1, MPI_INT, comm));
  for (PetscMPIInt r = 0; r < size; ++r) {
    displs[r] = (PetscMPIInt)total;
    total += counts[r];
  }
  PetscCall(PetscMalloc1(total, kept));
  PetscCallMPI(MPI_Allgatherv(mine, nk_mpi, MPIU_INT, *kept, counts, displs, MPIU_INT, comm));
  *n_kept = total;
  PetscCall(PetscFree2(counts, displs));
  PetscCall(PetscFree(mine));
  if (degree) *degree = d;
  else PetscCall(VecDestroy(&d));
  PetscFunctionReturn(0);
}
