/* src/farm/farm.c: independent tasks dealt to ranks or groups of ranks; results gathered exactly. */
#include <stdio.h>
#include "mc/farm.h"
#include "mc/sys.h"

/* Deal tasks to n_workers: longest processing time first (ties by task index), each to the least
   loaded worker (ties by worker index). Deterministic for a given n_workers. */
static PetscErrorCode deal(PetscInt n_tasks, const PetscReal cost[], PetscInt n_workers, PetscInt owner[])
{
  PetscInt  *order;
  PetscReal *load, *key;

  PetscFunctionBeginUser;
  if (!cost) {
    for (PetscInt t = 0; t < n_tasks; ++t) owner[t] = t % n_workers;
    PetscFunctionReturn(0);
  }
  PetscCall(PetscMalloc3(n_tasks, &order, n_workers, &load, n_tasks, &key));
  for (PetscInt t = 0; t < n_tasks; ++t) {
    order[t] = t;
    key[t]   = -cost[t];
  }
  /* PetscSortRealWithPermutation is not stable, so break ties by index explicitly afterwards. */
  PetscCall(PetscSortRealWithPermutation(n_tasks, key, order));
  for (PetscInt i = 0; i < n_tasks;) {
    PetscInt j = i;
    while (j < n_tasks && key[order[j]] == key[order[i]]) ++j;
    PetscCall(PetscSortInt(j - i, order + i));
    i = j;
  }
  for (PetscInt w = 0; w < n_workers; ++w) load[w] = 0;
  for (PetscInt i = 0; i < n_tasks; ++i) {
    PetscInt best = 0;
    for (PetscInt w = 1; w < n_workers; ++w)
      if (load[w] < load[best]) best = w;
    owner[order[i]] = best;
    load[best] += cost[order[i]];
  }
  PetscCall(PetscFree3(order, load, key));
  PetscFunctionReturn(0);
}

/* Progress on stderr from the first worker, at most every 2 s: the tasks done before this run (a
   checkpoint) plus this worker's finished share extrapolated to the rest. Only finished tasks count. */
typedef struct {
  const char    *label;
  PetscLogDouble t0, last;
  PetscInt       n_mine, done_mine, n_total, n_before;
} Progress;

static PetscErrorCode progress_tick(Progress *p)
{
  PetscLogDouble now;

  PetscFunctionBeginUser;
  if (!p->label || p->n_mine == 0) PetscFunctionReturn(0);
  PetscCall(PetscTime(&now));
  if (now - p->last < 2.0 && p->done_mine < p->n_mine) PetscFunctionReturn(0);
  p->last = now;
  {
    double todo = (double)(p->n_total - p->n_before), frac = (double)p->done_mine / (double)p->n_mine, el = now - p->t0;
    double rate = el > 0 ? frac * todo / el : 0, eta = frac > 0 ? el * (1 - frac) / frac : 0;
    fprintf(stderr, "[%s] ~%.0f/%" PetscInt_FMT " tasks, %.1f tasks/s, ETA %.0f s\n", p->label, (double)p->n_before + frac * todo, p->n_total, rate, eta);
    fflush(stderr);
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode farm(MPI_Comm comm, MPI_Comm work, PetscInt n_workers, PetscInt worker, PetscBool keeper, PetscInt n_tasks, PetscInt n_out,
                           MCFarmTaskFn *fn, void *ctx, const MCFarmOpts *opts, PetscReal result[])
{
  PetscInt   *owner;
  PetscReal  *saved = NULL;
  PetscMPIInt n, rank;
  Progress    prog = {0};
  int         stopped = 0;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(PetscMalloc1(n_tasks, &owner));
  PetscCall(deal(n_tasks, opts ? opts->cost : NULL, n_workers, owner));
  if (opts && opts->skip) {
    /* Checkpointed results live on rank 0 of comm; every other slot starts at zero. */
    PetscCall(PetscMalloc1(n_tasks * n_out, &saved));
    PetscCall(PetscArraycpy(saved, result, n_tasks * n_out));
  }
  PetscCall(PetscArrayzero(result, n_tasks * n_out));
  prog.label   = (opts && rank == 0) ? opts->label : NULL;
  prog.n_total = n_tasks;
  for (PetscInt t = 0; t < n_tasks; ++t) {
    if (opts && opts->skip && opts->skip[t]) prog.n_before++;
    else if (owner[t] == worker) prog.n_mine++;
  }
  PetscCall(PetscTime(&prog.t0));
  prog.last = prog.t0;
  for (PetscInt t = 0; t < n_tasks; ++t) {
    if (opts && opts->skip && opts->skip[t]) {
      if (rank == 0) PetscCall(PetscArraycpy(result + t * n_out, saved + t * n_out, n_out));
      continue;
    }
    if (owner[t] != worker) continue;
    if (opts && (opts->stoppable || opts->stop_after > 0)) {
      /* The worker's ranks agree: a signal reaches them at different times. */
      int stop = mc_sys_sigterm_received() || (opts->stop_after > 0 && prog.done_mine >= opts->stop_after), any;

      PetscCallMPI(MPI_Allreduce(&stop, &any, 1, MPI_INT, MPI_LOR, work));
      if (any) {
        stopped = 1;
        break;
      }
    }
    PetscCall(PetscLogEventBegin(MC_EVENTS[MC_EVENT_FARM_TASK], 0, 0, 0, 0));
    PetscCall(fn(ctx, work, t, result + t * n_out));
    PetscCall(PetscLogEventEnd(MC_EVENTS[MC_EVENT_FARM_TASK], 0, 0, 0, 0));
    if (!keeper) PetscCall(PetscArrayzero(result + t * n_out, n_out));
    else if (opts && opts->on_done) PetscCall(opts->on_done(opts->done_ctx, PETSC_COMM_SELF, t, result + t * n_out));
    prog.done_mine++;
    PetscCall(progress_tick(&prog));
  }
  /* One non-zero contributor per slot: the sum is exact in any order. */
  PetscCall(PetscMPIIntCast(n_tasks * n_out, &n));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, result, n, MPIU_REAL, MPI_SUM, comm));
  if (opts && opts->stopped) {
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &stopped, 1, MPI_INT, MPI_LOR, comm));
    *opts->stopped = stopped ? PETSC_TRUE : PETSC_FALSE;
  }
  PetscCall(PetscFree(saved));
  PetscCall(PetscFree(owner));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_farm_run(MPI_Comm comm, PetscInt n_tasks, PetscInt n_out, MCFarmTaskFn *fn, void *ctx, const MCFarmOpts *opts, PetscReal result[])
{
  PetscMPIInt rank, size;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(farm(comm, PETSC_COMM_SELF, size, rank, PETSC_TRUE, n_tasks, n_out, fn, ctx, opts, result));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_farm_run_groups(MPI_Comm comm, PetscInt group_size, PetscInt n_tasks, PetscInt n_out, MCFarmTaskFn *fn, void *ctx, const MCFarmOpts *opts,
                                  PetscReal result[])
{
  PetscMPIInt rank, size, grank;
  PetscInt    gs, n_groups, group;
  MPI_Comm    sub;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  gs       = PetscMax(1, PetscMin(group_size, (PetscInt)size));
  n_groups = (size + gs - 1) / gs;
  group    = rank / gs;
  PetscCallMPI(MPI_Comm_split(comm, (int)group, rank, &sub));
  PetscCallMPI(MPI_Comm_rank(sub, &grank));
  PetscCall(farm(comm, sub, n_groups, group, grank == 0 ? PETSC_TRUE : PETSC_FALSE, n_tasks, n_out, fn, ctx, opts, result));
  PetscCallMPI(MPI_Comm_free(&sub));
  PetscFunctionReturn(0);
}
