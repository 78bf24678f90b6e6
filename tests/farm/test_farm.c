/* tests/farm/test_farm.c: farm results are the same for any rank count and group size, and each task runs
   exactly once. Prints a checksum that the CTest driver compares across rank counts. */
#include <math.h>
#include "mc/farm.h"
#include "mc/sys.h"

/* A task whose result depends only on its index (a random stream keyed by it) and on the group's
   collective sum (which checks the task really ran on the whole group). */
static PetscErrorCode task(void *ctx, MPI_Comm comm, PetscInt t, PetscReal r[])
{
  MCRng       rng;
  PetscMPIInt gsize;
  PetscReal   one = 1, n;

  PetscFunctionBeginUser;
  mc_rng_init(&rng, 7, MC_STREAM_LESION, (uint64_t)t);
  PetscCallMPI(MPI_Allreduce(&one, &n, 1, MPIU_REAL, MPI_SUM, comm));
  PetscCallMPI(MPI_Comm_size(comm, &gsize));
  PetscCheck(n == (PetscReal)gsize, comm, PETSC_ERR_PLIB, "group reduction");
  r[0] = mc_rng_normal(&rng);
  r[1] = (PetscReal)t;
  r[2] = 1;
  (*(PetscInt *)ctx)++;
  PetscFunctionReturn(0);
}

static PetscErrorCode run(void)
{
  const PetscInt n = 37;
  PetscReal      res[3 * 37], ref[3 * 37], cost[37];
  PetscInt       calls = 0, total;
  PetscMPIInt    size;
  MCFarmOpts     opts = {0};
  double         sum = 0;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  for (PetscInt t = 0; t < n; ++t) cost[t] = (PetscReal)((t * 7) % 5 + 1);
  PetscCall(mc_farm_run(PETSC_COMM_WORLD, n, 3, task, &calls, NULL, ref));
  PetscCallMPI(MPI_Allreduce(&calls, &total, 1, MPIU_INT, MPI_SUM, PETSC_COMM_WORLD));
  PetscCheck(total == n, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%" PetscInt_FMT " task calls for %" PetscInt_FMT " tasks", total, n);
  opts.cost = cost;
  for (PetscInt gs = 1; gs <= size; ++gs) {
    PetscCall(mc_farm_run_groups(PETSC_COMM_WORLD, gs, n, 3, task, &calls, &opts, res));
    for (PetscInt i = 0; i < 3 * n; ++i) PetscCheck(res[i] == ref[i], PETSC_COMM_WORLD, PETSC_ERR_PLIB, "group size %" PetscInt_FMT ": slot %" PetscInt_FMT " differs", gs, i);
  }
  for (PetscInt t = 0; t < n; ++t) {
    PetscCheck(ref[3 * t + 1] == (PetscReal)t && ref[3 * t + 2] == 1, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "task %" PetscInt_FMT " slot", t);
    sum += ref[3 * t] * (double)(t + 1);
  }
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "farm checksum %.17g\n", sum));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscErrorCode ierr;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  ierr = mc_sys_initialize();
  if (!ierr) ierr = run();
  if (!ierr) ierr = mc_sys_finalize();
  if (PetscFinalize()) return 1;
  return ierr ? 1 : 0;
}
