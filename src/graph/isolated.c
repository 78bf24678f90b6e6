/* src/graph/isolated.c: degree-0 nodes (dead or pruned units), which are removed before clustering. */
#include "mc/graph.h"
#include "mc/sys.h"

PetscErrorCode mc_graph_find_isolated(Mat adj, PetscInt *n_kept, PetscInt **kept, Vec *degree)
{
  MPI_Comm           comm;
  Vec                d;
  const PetscScalar *dv;
  PetscInt           rstart, rend, nloc, nk = 0, *mine, total = 0;

  PetscFunctionBeginUser;
  PetscCall(PetscObjectGetComm((PetscObject)adj, &comm));
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
  PetscCallMPI(MPI_Allreduce(&nk, &total, 1, MPIU_INT, MPI_SUM, comm));
  PetscCall(PetscMalloc1(total, kept));
  PetscCall(mc_sys_gatherv(comm, -1, mine, nk, MPIU_INT, *kept));
  *n_kept = total;
  PetscCall(PetscFree(mine));
  if (degree) *degree = d;
  else PetscCall(VecDestroy(&d));
  PetscFunctionReturn(0);
}
